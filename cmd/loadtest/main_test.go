package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"strings"
	"testing"
	"time"
)

// TestRun runs the command as main does: help, refused arguments and a
// small run on the embedded stack, whose text report goes to stdout.
func TestRun(t *testing.T) {
	errText := func(want string) func(error) bool {
		return func(err error) bool { return err != nil && err.Error() == want }
	}
	tests := []struct {
		name   string
		args   []string
		ok     func(error) bool
		stdout string // how stdout starts; empty: nothing is written
		stderr string // how stderr starts; empty: nothing is written
	}{
		{"help", []string{"-h"}, func(err error) bool { return errors.Is(err, flag.ErrHelp) }, "", "Usage of loadtest:\n  -ack-timeout duration\n"},
		{"stray argument", []string{"extra"}, errText(`unexpected arguments ["extra"]`), "", ""},
		{"bad flags", []string{"-players", "3"}, errText("flags: -players=3: pairs wants an even number"), "", ""},
		{"a small run", []string{"-players", "2", "-messages", "1"}, func(err error) bool { return err == nil }, "loadtest pairs: embedded stack at ", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			var stdout, stderr bytes.Buffer
			err := run(ctx, tt.args, &stdout, &stderr, nil)
			if !tt.ok(err) {
				t.Fatalf("run(%q) = %v\nstderr:\n%s", tt.args, err, &stderr)
			}
			for _, out := range []struct {
				name, got, want string
			}{{"stdout", stdout.String(), tt.stdout}, {"stderr", stderr.String(), tt.stderr}} {
				if (out.want == "") != (out.got == "") || !strings.HasPrefix(out.got, out.want) {
					t.Errorf("%s, want it to start with %q:\n%s", out.name, out.want, out.got)
				}
			}
		})
	}
}
