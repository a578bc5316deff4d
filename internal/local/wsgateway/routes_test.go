package wsgateway

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/coder/websocket"
)

func TestRouting(t *testing.T) {
	h := newHarness(t, nil)
	c := h.dial("alice", nil)
	id := h.lastConnectionID()
	tests := []struct {
		name string
		send string
		want string // the first frame the client gets back
	}{
		{"action names a route", `{"action":"sendmessage","to":"bob"}`, `sendmessage:{"action":"sendmessage","to":"bob"}`},
		{"unknown action", `{"action":"nope"}`, `$default:{"action":"nope"}`},
		{"not JSON", `hello`, `$default:hello`},
		// A route without a route response answers nothing: the next
		// frame is the answer to the message after it.
		{"no route response", `{"action":"silent"}`, ``},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			send(t, c, tt.send)
			if tt.want == "" {
				send(t, c, `after`)
				tt.want = `$default:after`
			}
			if got := receive(t, c); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
	for _, tt := range []struct{ name, send string }{
		{"handler error", `{"action":"fail"}`},
		{"handler panic", `{"action":"panic"}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := decodeAPIError(t, exchange(t, c, tt.send))
			if e.Message != "Internal server error" || e.ConnectionID != id || len(e.RequestID) != 16 {
				t.Errorf("error frame = %+v", e)
			}
			if got := exchange(t, c, `still open`); got != `$default:still open` {
				t.Errorf("after the failure got %q", got)
			}
		})
	}
}

func TestNoDefaultRouteAnswersForbidden(t *testing.T) {
	h := newHarness(t, func(c *Config) { delete(c.Routes, RouteDefault) })
	c := h.dial("alice", nil)
	e := decodeAPIError(t, exchange(t, c, `{"action":"unknown"}`))
	if e.Message != "Forbidden" || e.ConnectionID != h.lastConnectionID() {
		t.Errorf("frame = %+v, want Forbidden", e)
	}
	if got := exchange(t, c, `{"action":"sendmessage"}`); got != `sendmessage:{"action":"sendmessage"}` {
		t.Errorf("got %q", got)
	}
}

func TestBinaryRouteResponse(t *testing.T) {
	h := newHarness(t, func(c *Config) {
		c.Routes[RouteDefault] = Route{RouteResponse: true, Handler: func(_ context.Context, req events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
			return events.APIGatewayProxyResponse{StatusCode: 200, Body: req.Body, IsBase64Encoded: req.IsBase64Encoded}, nil
		}}
	})
	c := h.dial("alice", nil)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if err := c.Write(ctx, websocket.MessageBinary, []byte{9, 8, 7}); err != nil {
		t.Fatal(err)
	}
	typ, b, err := c.Read(ctx)
	if err != nil || typ != websocket.MessageBinary || string(b) != "\x09\x08\x07" {
		t.Errorf("got %v %q %v, want the binary frame back", typ, b, err)
	}
}

// TestMessagesOfAConnectionRunInOrder checks that one connection's messages
// are handled one at a time, in order, and that a slow handler does not
// hold up other connections.
func TestMessagesOfAConnectionRunInOrder(t *testing.T) {
	release := make(chan struct{})
	var mu sync.Mutex
	var order []int
	running := 0
	overlap := false
	h := newHarness(t, func(c *Config) {
		c.Routes["block"] = Route{Handler: func(context.Context, events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
			<-release
			return events.APIGatewayProxyResponse{StatusCode: 200}, nil
		}}
		c.Routes["seq"] = Route{RouteResponse: true, Handler: func(_ context.Context, req events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
			mu.Lock()
			running++
			overlap = overlap || running > 1
			n, _ := strconv.Atoi(strings.TrimPrefix(req.Body, `{"action":"seq","n":`)[:2])
			order = append(order, n)
			running--
			mu.Unlock()
			return events.APIGatewayProxyResponse{StatusCode: 200, Body: "ok"}, nil
		}}
	})
	slow := h.dial("alice", nil)
	send(t, slow, `{"action":"block"}`)
	for i := 10; i < 40; i++ {
		send(t, slow, fmt.Sprintf(`{"action":"seq","n":%d}`, i))
	}

	// Another connection is served while alice's handler is blocked.
	other := h.dial("bob", nil)
	if got := exchange(t, other, `ping`); got != `$default:ping` {
		t.Fatalf("bob got %q", got)
	}
	mu.Lock()
	if len(order) != 0 {
		t.Errorf("alice's later messages ran before her blocked one: %v", order)
	}
	mu.Unlock()

	close(release)
	for range 30 {
		receive(t, slow)
	}
	mu.Lock()
	defer mu.Unlock()
	for i, n := range order {
		if n != 10+i {
			t.Fatalf("order = %v", order)
		}
	}
	if overlap {
		t.Error("handlers of one connection overlapped")
	}
}

func TestLogsNeverCarryTokensOrBodies(t *testing.T) {
	const token = "tok-SECRET-7d1f"
	const body = `{"action":"sendmessage","message":"BODY-SECRET-99a2"}`
	h := newHarness(t, func(c *Config) {
		auth := c.Authorizer
		c.Authorizer = func(ctx context.Context, req events.APIGatewayCustomAuthorizerRequestTypeRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
			resp, err := auth(ctx, req)
			if req.QueryStringParameters["token"] == token {
				resp.PrincipalID = "alice" // as a real authorizer: the player, not the token
			}
			return resp, err
		}
	})
	c := h.dial(token, nil)
	id := h.lastConnectionID()
	exchange(t, c, body)
	exchange(t, c, `{"action":"fail","message":"BODY-SECRET-99a2"}`)
	_ = c.Close(websocket.StatusNormalClosure, "")
	h.waitDisconnect()
	_, _, _ = h.tryDial("deny", nil)
	h.shutdownAndCheckDisconnects() // every log line is written

	logs := h.logs.String()
	for _, secret := range []string{"SECRET"} {
		if strings.Contains(logs, secret) {
			t.Errorf("logs contain %q:\n%s", secret, logs)
		}
	}
	for _, want := range []string{`connectionId="` + id + `"`, "route=sendmessage", "route=$disconnect", "status=403"} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %q:\n%s", want, logs)
		}
	}
}
