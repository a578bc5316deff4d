package wsclient

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// server answers each request frame {"id":…,"do":…} as it says: "reply"
// sends a message frame and then the reply, "late" replies to the previous
// request, "silent" answers nothing, "junk" sends a non-JSON frame,
// "badutf8" a text frame that is not UTF-8, "close" closes the connection.
func server(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		ctx := r.Context()
		var prev string
		for {
			_, data, err := c.Read(ctx)
			if err != nil {
				return
			}
			var req struct{ ID, Do string }
			_ = json.Unmarshal(data, &req)
			write := func(v any) {
				b, _ := json.Marshal(v)
				_ = c.Write(ctx, websocket.MessageText, b)
			}
			switch req.Do {
			case "reply":
				write(map[string]any{"type": "message", "from": "x", "message": map[string]string{"for": req.ID}})
				write(map[string]any{"type": "ack", "id": req.ID, "status": "delivered"})
			case "late":
				write(map[string]any{"type": "ack", "id": prev, "status": "queued"})
			case "junk":
				_ = c.Write(ctx, websocket.MessageText, []byte("not json"))
			case "badutf8":
				_ = c.Write(ctx, websocket.MessageText, []byte("{\"type\":\"ack\",\"id\":\"\xff\"}"))
			case "close":
				c.Close(websocket.StatusGoingAway, "bye")
				return
			}
			prev = req.ID
		}
	}))
	t.Cleanup(srv.Close)
	return "ws" + strings.TrimPrefix(srv.URL, "http")
}

func TestRequests(t *testing.T) {
	var mu sync.Mutex
	var messages []string
	var unmatched []string
	c, status, err := Dial(context.Background(), server(t), Options{
		OnMessage: func(f Frame) {
			mu.Lock()
			messages = append(messages, string(f.Message))
			if !strings.Contains(string(f.Raw), `"type":"message"`) {
				t.Errorf("message frame read as %q", f.Raw)
			}
			mu.Unlock()
		},
		OnUnmatched: func(f Frame, raw []byte) {
			mu.Lock()
			unmatched = append(unmatched, f.Type+":"+string(raw))
			mu.Unlock()
		},
	})
	if err != nil || status != http.StatusSwitchingProtocols {
		t.Fatalf("dial: %d %v", status, err)
	}
	ctx := context.Background()

	f, sent, err := c.Request(ctx, "a", map[string]string{"id": "a", "do": "reply"}, 5*time.Second)
	if err != nil || f.Type != "ack" || f.ID != "a" || f.Status != "delivered" || f.At.Before(sent) {
		t.Fatalf("reply: %+v, %v", f, err)
	}
	// The request gives up after a quiet spell; its late reply goes to OnUnmatched.
	if _, _, err := c.Request(ctx, "b", map[string]string{"id": "b", "do": "silent"}, 50*time.Millisecond); err == nil {
		t.Fatal("a silent server answered")
	} else if k, ok := Kind(err); !ok || k != KindTimeout {
		t.Fatalf("silent: %v, want %s", err, KindTimeout)
	}
	if _, _, err := c.Request(ctx, "c", map[string]string{"id": "c", "do": "late"}, 50*time.Millisecond); err == nil {
		t.Fatal("request c got b's reply")
	}
	if _, _, err := c.Request(ctx, "d", map[string]string{"id": "d", "do": "junk"}, 50*time.Millisecond); err == nil {
		t.Fatal("junk answered a request")
	}
	c.mu.Lock()
	if n := len(c.pending); n != 0 {
		t.Errorf("%d requests still pending", n)
	}
	c.mu.Unlock()
	_, _, err = c.Request(ctx, "e", map[string]string{"id": "e", "do": "close"}, 5*time.Second)
	if k, ok := Kind(err); !ok || k != KindClosed {
		t.Fatalf("close: %v, want %s", err, KindClosed)
	}
	<-c.Done()
	if code := websocket.CloseStatus(c.Err()); code != websocket.StatusGoingAway {
		t.Errorf("Err() = %v, want the server's close 1001", c.Err())
	}
	mu.Lock()
	defer mu.Unlock()
	if len(messages) != 1 || messages[0] != `{"for":"a"}` {
		t.Errorf("messages %q", messages)
	}
	if len(unmatched) != 2 || !strings.HasPrefix(unmatched[0], "ack:") || unmatched[1] != ":not json" {
		t.Errorf("unmatched %q, want the late ack and the junk", unmatched)
	}
}

func TestDialRefused(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no", http.StatusForbidden)
	}))
	defer srv.Close()
	_, status, err := Dial(context.Background(), "ws"+strings.TrimPrefix(srv.URL, "http"), Options{})
	if err == nil || status != http.StatusForbidden {
		t.Fatalf("dial = %d, %v; want 403", status, err)
	}
}

// TestInvalidUTF8Ends: a text frame that is not UTF-8 fails the connection,
// as a browser does, and reaches no callback.
func TestInvalidUTF8Ends(t *testing.T) {
	var got []string
	c, _, err := Dial(context.Background(), server(t), Options{
		OnUnmatched: func(_ Frame, raw []byte) { got = append(got, string(raw)) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.Err() != nil {
		t.Errorf("Err() = %v on a live connection", c.Err())
	}
	if err := c.Write(context.Background(), []byte(`{"id":"a","do":"badutf8"}`)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-c.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the connection outlived an invalid frame")
	}
	if err := c.Err(); err == nil || !strings.Contains(err.Error(), "not valid UTF-8") {
		t.Errorf("Err() = %v, want the invalid UTF-8", err)
	}
	if got != nil {
		t.Errorf("callbacks got %q", got)
	}
}

// TestDialRefusal: a refused upgrade's error carries the server's reason.
func TestDialRefusal(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusForbidden)
		_, _ = io.WriteString(w, `{"type":"error","code":"banned","message":"cheating"}`)
	}))
	defer srv.Close()
	_, status, err := Dial(t.Context(), "ws"+strings.TrimPrefix(srv.URL, "http"), Options{})
	refused, ok := errors.AsType[*RefusedError](err)
	if status != http.StatusForbidden || !ok || refused.Code != "banned" || refused.Message != "cheating" {
		t.Fatalf("Dial = %d, %v; want 403 refused as banned: cheating", status, err)
	}
	if want := "connect refused: HTTP 403: banned: cheating"; err.Error() != want {
		t.Errorf("the refusal reads %q, want %q", err, want)
	}
}
