package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/serverless-websockets/serverless-websockets/internal/testsupport/poll"
	"github.com/serverless-websockets/serverless-websockets/internal/testsupport/syncbuf"
)

// TestRunServesAndStops starts the command as a user would, on a free
// port, reads the banner, fetches a token with the curl line's request, and
// stops it as Ctrl-C would.
func TestRunServesAndStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncbuf.Buffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-function-timeout", "3s"}, func(string) string { return "" }, &stdout, &stderr)
	}()

	var base string
	banner := regexp.MustCompile(`curl -s -X POST (http://127\.0\.0\.1:\d+)/dev/token`)
	if !poll.Within(20*time.Second, func() bool {
		if m := banner.FindStringSubmatch(stdout.String()); m != nil {
			base = m[1]
		}
		return base != ""
	}) {
		t.Fatalf("no banner; stdout %q stderr %q", stdout.String(), stderr.String())
	}
	for _, want := range []string{"Web client      " + base + "/\n", "/ws?token=", "/@connections/", "/.well-known/jwks.json", "/metrics", "/admin/", "embedded minidyn", "Limits          messages 10/s (burst 20), bytes 65536/s (burst 131072), connects 10/min (burst 10), 5 connections a player, messages up to 8192 bytes"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("banner lacks %q:\n%s", want, stdout.String())
		}
	}
	resp, err := http.Post(base+"/dev/token", "application/json", strings.NewReader(`{"playerId":"alice"}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"token":"`) {
		t.Fatalf("dev token: %d %s", resp.StatusCode, body)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run returned %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("run did not stop")
	}
	if strings.Contains(stderr.String(), string(body[10:40])) {
		t.Fatal("the token reached the log")
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	var out syncbuf.Buffer
	if err := run(context.Background(), []string{"-nope"}, func(string) string { return "" }, &out, &out); err == nil {
		t.Fatal("an unknown flag was accepted")
	}
	if err := run(context.Background(), []string{"-addr", "127.0.0.1:0"}, func(k string) string {
		return map[string]string{"AWS_ACCESS_KEY_ID": "only-one"}[k]
	}, &out, &out); err == nil || !strings.Contains(err.Error(), "AWS_SECRET_ACCESS_KEY") {
		t.Fatalf("half the credentials: %v", err)
	}
	if err := run(context.Background(), []string{"-addr", "127.0.0.1:0", "-function-timeout", "-1s"}, func(string) string { return "" }, &out, &out); err == nil || !strings.Contains(err.Error(), "negative") {
		t.Fatalf("a negative function timeout: %v", err)
	}
}

// TestHelp: -h prints the flags and gives main flag.ErrHelp, which it
// exits 0 on.
func TestHelp(t *testing.T) {
	var stderr bytes.Buffer
	err := run(t.Context(), []string{"-h"}, func(string) string { return "" }, io.Discard, &stderr)
	if !errors.Is(err, flag.ErrHelp) || !strings.Contains(stderr.String(), "-allow-origin") {
		t.Errorf("run -h = %v, printing %q; want flag.ErrHelp and the flags", err, stderr.String())
	}
}
