package relay

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

func dial(t *testing.T, srv *httptest.Server, player string) *websocket.Conn {
	t.Helper()
	c, _, err := websocket.Dial(context.Background(), "ws"+strings.TrimPrefix(srv.URL, "http")+"/ws?token="+player, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", player, err)
	}
	t.Cleanup(func() { c.CloseNow() })
	return c
}

func read(t *testing.T, c *websocket.Conn) map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, b, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("frame %q: %v", b, err)
	}
	return m
}

func TestRelay(t *testing.T) {
	r := New()
	srv := httptest.NewServer(r)
	defer srv.Close()

	resp, err := http.Post(srv.URL+"/dev/token", "application/json", strings.NewReader(`{"playerId":"alice"}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), `"token":"alice"`) {
		t.Fatalf("token answer %s", b)
	}

	alice, bob := dial(t, srv, "alice"), dial(t, srv, "bob")
	ctx := context.Background()
	// A reply to bob proves the relay has registered him (before it reads).
	if err := bob.Write(ctx, websocket.MessageText, []byte(`{"action":"ping","id":"p"}`)); err != nil {
		t.Fatal(err)
	}
	if m := read(t, bob); m["code"] != "unknown_action" || m["id"] != "p" {
		t.Fatalf("bob got %v", m)
	}
	send := func(to, id string) {
		if err := alice.Write(ctx, websocket.MessageText, []byte(`{"action":"sendmessage","to":"`+to+`","message":{"n":1},"id":"`+id+`"}`)); err != nil {
			t.Fatal(err)
		}
	}
	send("bob", "c-1")
	if m := read(t, bob); m["type"] != "message" || m["from"] != "alice" || m["message"].(map[string]any)["n"] != float64(1) {
		t.Fatalf("bob got %v", m)
	}
	if m := read(t, alice); m["type"] != "ack" || m["id"] != "c-1" || m["status"] != "delivered" {
		t.Fatalf("alice got %v", m)
	}
	send("carol", "c-2")
	if m := read(t, alice); m["type"] != "error" || m["id"] != "c-2" || m["code"] != "unavailable" {
		t.Fatalf("alice got %v for an absent recipient", m)
	}
	if r.relayed.Load() != 1 {
		t.Fatalf("relayed %d, want 1", r.relayed.Load())
	}
}
