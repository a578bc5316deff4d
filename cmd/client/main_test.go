package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/coder/websocket"
)

func TestParseLine(t *testing.T) {
	tests := []struct {
		line   string
		action string
		ok     bool
	}{
		{"@bob hello there", "sendmessage", true},
		{"/inbox", "inbox", true},
		{"/ping", "ping", true},
		{"/presence bob carol", "presence", true},
		{`{"action":"ping"}`, "ping", true},
		{"   ", "", false},
		{"hello", "", false}, // not a frame: not sent
		{"/unknown", "", false},
	}
	seq := 0
	for _, tt := range tests {
		frame, ok := parseLine(tt.line, &seq)
		if ok != tt.ok {
			t.Fatalf("%q: ok = %v", tt.line, ok)
		}
		if !ok {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(frame, &m); err != nil || m["action"] != tt.action {
			t.Fatalf("%q → %s", tt.line, frame)
		}
		if tt.action == "sendmessage" && (m["to"] != "bob" || m["message"] != "hello there") {
			t.Fatalf("%q → %s", tt.line, frame)
		}
	}
}

// TestRun: the client fetches a token, connects with it, sends what is
// typed, prints every frame and the server's close status.
func TestRun(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/dev/token" {
			fmt.Fprint(w, `{"token":"t0k"}`)
			return
		}
		if r.URL.Query().Get("token") != "t0k" {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		for {
			_, data, err := c.Read(r.Context())
			if err != nil {
				return
			}
			if strings.Contains(string(data), `"inbox"`) {
				_ = c.Write(r.Context(), websocket.MessageText, []byte(`{"type":"inbox","id":"inbox","delivered":0}`))
				continue
			}
			_ = c.Write(r.Context(), websocket.MessageText, []byte(`{"type":"pong","got":`+string(data)+`}`))
			c.Close(websocket.StatusGoingAway, "bye")
			return
		}
	}))
	defer srv.Close()

	in, typed := io.Pipe()
	defer typed.Close()
	go fmt.Fprintln(typed, "hello without a recipient\n/ping")
	var out strings.Builder
	if err := run(t.Context(), []string{"-url", srv.URL, "-player", "alice"}, in, &out); err != nil {
		t.Fatalf("run: %v", err)
	}
	for _, want := range []string{"connected as alice", `< {"type":"inbox","id":"inbox","delivered":0}`, "not sent: type @player text", `< {"type":"pong","got":{"action":"ping","id":"c-2"}}`, "closed: StatusGoingAway"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output %q lacks %q", out.String(), want)
		}
	}

	err := run(t.Context(), []string{"-url", srv.URL, "-token", "wrong"}, strings.NewReader(""), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "HTTP 401") || strings.Contains(err.Error(), "wrong") {
		t.Errorf("refused run = %v, want HTTP 401 without the token", err)
	}
}

// TestHelp: -h gives main flag.ErrHelp, which it exits 0 on.
func TestHelp(t *testing.T) {
	if err := run(t.Context(), []string{"-h"}, strings.NewReader(""), io.Discard); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("run -h = %v, want flag.ErrHelp", err)
	}
}
