package wsgateway

import (
	"context"
	"strings"
	"testing"

	"github.com/coder/websocket"
)

func TestInvalidUTF8TextClosesWith1007(t *testing.T) {
	for _, tt := range []struct{ name, msg string }{
		{"in a string", "{\"action\":\"sendmessage\",\"to\":\"bob\",\"message\":\"a\xff\xfeb\",\"id\":\"u1\"}"},
		{"in the action", "{\"action\":\"send\xc3\"}"},
		{"a lone surrogate encoded", "{\"message\":\"\xed\xa0\x80\"}"},
		{"a truncated sequence", "\xe2\x82"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, nil)
			c := h.dial("alice", nil)
			if got := exchange(t, c, `{"action":"sendmessage","id":"before"}`); !strings.HasPrefix(got, "sendmessage:") {
				t.Fatalf("got %q before the invalid frame", got)
			}
			send(t, c, tt.msg)
			checkClosed(t, h, c, websocket.StatusInvalidFramePayloadData, "Invalid UTF-8")
			for _, route := range []string{RouteDefault, "sendmessage"} {
				for _, ev := range h.rec.events(route) {
					if strings.Contains(ev.Body, tt.msg) {
						t.Fatalf("a handler saw the invalid message on %s", route)
					}
				}
			}
		})
	}
}

func TestBinaryMessagesNeedNotBeUTF8(t *testing.T) {
	h := newHarness(t, nil)
	c := h.dial("alice", nil)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if err := c.Write(ctx, websocket.MessageBinary, []byte{0xff, 0xfe}); err != nil {
		t.Fatal(err)
	}
	if got := receive(t, c); got != "$default://4=" {
		t.Fatalf("got %q, want the binary message echoed base64-encoded", got)
	}
}

func TestInvalidCloseReasonClosesWith1007(t *testing.T) {
	h := newHarness(t, nil)
	c := h.dial("alice", nil)
	err := c.Close(websocket.StatusNormalClosure, "bye\xff")
	if got := websocket.CloseStatus(err); got != websocket.StatusInvalidFramePayloadData {
		t.Fatalf("the server answered the close with %d (%v), want 1007", got, err)
	}
	checkDisconnectStatus(t, h, 1007, "")

	// A valid reason is echoed as before.
	c = h.dial("alice", nil)
	if err := c.Close(websocket.StatusNormalClosure, "bye ✓"); err != nil {
		t.Fatalf("close: %v", err)
	}
	checkDisconnectStatus(t, h, 1000, "bye ✓")
}
