package wsgateway

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// stuck is a handler whose backend never answers: it returns only when its
// context ends, or, with ignoreCtx, when release is closed.
func stuck(release chan struct{}, ignoreCtx bool) HandlerFunc {
	return func(ctx context.Context, _ events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
		if ignoreCtx {
			<-release
		} else {
			<-ctx.Done()
		}
		return events.APIGatewayProxyResponse{StatusCode: http.StatusOK, Body: "too late"}, nil
	}
}

func TestFunctionTimeoutBoundsEveryMessage(t *testing.T) {
	for _, ignoreCtx := range []bool{false, true} {
		name := map[bool]string{false: "handler honours its context", true: "handler ignores its context"}[ignoreCtx]
		t.Run(name, func(t *testing.T) {
			release := make(chan struct{})
			defer close(release)
			var deadline atomic.Int64 // time left in the handler's context
			h := newHarness(t, func(c *Config) {
				c.FunctionTimeout = 100 * time.Millisecond
				inner := stuck(release, ignoreCtx)
				c.Routes["stuck"] = Route{RouteResponse: true, Handler: func(ctx context.Context, req events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
					d, _ := ctx.Deadline()
					deadline.Store(int64(time.Until(d)))
					return inner(ctx, req)
				}}
			})
			c := h.dial("alice", nil)
			send(t, c, `{"action":"stuck"}`)
			send(t, c, `{"action":"sendmessage","n":2}`)
			if e := decodeAPIError(t, receive(t, c)); e.Message != "Internal server error" {
				t.Fatalf("first answer %+v, want Internal server error", e)
			}
			if got := receive(t, c); got != `sendmessage:{"action":"sendmessage","n":2}` {
				t.Fatalf("second answer %q: the next message was not served", got)
			}
			if d := time.Duration(deadline.Load()); d <= 0 || d > 100*time.Millisecond {
				t.Fatalf("the handler's context had %v left, want at most the function timeout", d)
			}
			if !strings.Contains(h.logs.String(), "task timed out after 100ms") {
				t.Fatalf("the timeout was not logged: %s", h.logs)
			}
		})
	}
}

func TestFunctionTimeoutBoundsConnect(t *testing.T) {
	for _, tt := range []struct {
		name string
		edit func(*Config, chan struct{})
	}{
		{"authorizer", func(c *Config, release chan struct{}) {
			c.Authorizer = func(ctx context.Context, _ events.APIGatewayCustomAuthorizerRequestTypeRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
				<-release
				return events.APIGatewayCustomAuthorizerResponse{}, nil
			}
		}},
		{"$connect", func(c *Config, release chan struct{}) {
			c.Routes[RouteConnect] = Route{Handler: stuck(release, true)}
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			release := make(chan struct{})
			defer close(release)
			h := newHarness(t, func(c *Config) {
				c.FunctionTimeout = 100 * time.Millisecond
				tt.edit(c, release)
			})
			_, resp, err := h.tryDial("alice", nil)
			if err == nil || resp == nil || resp.StatusCode != http.StatusInternalServerError {
				t.Fatalf("dial = %v, %v; want 500", resp, err)
			}
		})
	}
}
