package e2e

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/serverless-websockets/serverless-websockets/internal/local"
	"github.com/serverless-websockets/serverless-websockets/internal/protocol"
)

// TestRestartOnTheSameDataDirectory: a stack stopped and started again on
// the same address and data directory still accepts the tokens of its
// first run, still holds the message queued for a player who was away, and
// still holds the ban.
func TestRestartOnTheSameDataDirectory(t *testing.T) {
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	start := func() (*stack, func()) {
		t.Helper()
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatalf("listen on %s again: %v", addr, err)
		}
		srv := httptest.NewUnstartedServer(nil)
		srv.Listener.Close()
		srv.Listener = ln
		c := &clock{}
		env := map[string]string{"RATE_MESSAGES_PER_SECOND": "0", "RATE_BYTES_PER_SECOND": "0", "RATE_CONNECTS_PER_MINUTE": "0"}
		s, err := local.New(context.Background(), local.Options{BaseURL: "http://" + addr, Now: c.Now, DataDir: dir, Getenv: func(k string) string { return env[k] }})
		if err != nil {
			t.Fatalf("start stack: %v", err)
		}
		srv.Config.Handler = s.Handler
		srv.Start()
		stop := func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := s.Shutdown(ctx); err != nil {
				t.Errorf("shutdown: %v", err)
			}
			srv.Close()
		}
		return &stack{Stack: s, t: t, URL: "http://" + addr, Clock: c}, stop
	}

	first, stop := start()
	aliceToken := first.token("alice", 3600)
	alice, _, err := first.dialToken(aliceToken)
	if err != nil {
		t.Fatal(err)
	}
	alice.sendTo("carol", "while you were away", "q-1")
	alice.wantAck("q-1", protocol.StatusQueued, 0)
	if status, body := first.admin("POST", "/admin/players/bob/ban", first.tokenIn("ops", "admin"), map[string]any{"reason": "cheating"}); status != 200 {
		t.Fatalf("ban = %d %v", status, body)
	}
	stop()
	alice.closed()

	second, stop := start()
	defer stop()
	if _, status, err := second.dialToken(aliceToken); err != nil {
		t.Fatalf("alice's token of the first run: %d %v, want it accepted", status, err)
	}
	carol := second.dial("carol")
	carol.send(map[string]any{"action": "inbox", "id": "i-1"})
	if f := carol.nextOf("message"); f["from"] != "alice" || f["message"] != "while you were away" {
		t.Errorf("carol's inbox gave %v, want alice's queued message", f)
	}
	if status, refusal := second.dialRefused(second.token("bob", 3600)); status != http.StatusForbidden || refusal["code"] != "banned" {
		t.Errorf("bob after the restart = %d %v, want 403 banned", status, refusal)
	}
	if conns := second.connections("alice"); len(conns) != 1 {
		t.Errorf("alice has %d connection rows after the restart, want only the new one", len(conns))
	}
}
