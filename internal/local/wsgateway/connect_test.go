package wsgateway

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/coder/websocket"
)

func TestNewValidates(t *testing.T) {
	auth := newRecorder().authorize
	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"no authorizer", Config{Routes: map[string]Route{RouteDefault: {Handler: ok}}}, false},
		{"nil handler", Config{Authorizer: auth, Routes: map[string]Route{"x": {}}}, false},
		{"negative limit", Config{Authorizer: auth, MaxFrameBytes: -1}, false},
		{"minimal", Config{Authorizer: auth}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := New(tt.cfg)
			if (err == nil) != tt.ok {
				t.Fatalf("New error = %v, want ok=%v", err, tt.ok)
			}
			if tt.ok && (g.cfg.Stage != "local" || g.cfg.MaxFrameBytes != 32<<10 || g.cfg.MaxMessageBytes != 128<<10 ||
				g.cfg.PingInterval != DefaultPingInterval || g.cfg.AccessKeyID != "local") {
				t.Errorf("defaults not applied: %+v", g.cfg)
			}
		})
	}
}

func TestUpgradeRefusals(t *testing.T) {
	tests := []struct {
		name           string
		token          string
		status         int
		body           string // substring of the answer's body
		authorizerRuns bool
		connectRuns    bool
	}{
		{"no token", "", http.StatusUnauthorized, "Unauthorized", false, false},
		{"authorizer says Unauthorized", "unauthorized", http.StatusUnauthorized, "Unauthorized", true, false},
		{"other error text is 500", "wrapped-unauthorized", http.StatusInternalServerError, "Internal server error", true, false},
		{"authorizer error", "error", http.StatusInternalServerError, "Internal server error", true, false},
		{"authorizer panic", "panic", http.StatusInternalServerError, "Internal server error", true, false},
		{"deny", "deny", http.StatusForbidden, "Forbidden", true, false},
		{"allow on another resource", "other-resource", http.StatusForbidden, "Forbidden", true, false},
		{"no principalId", "no-principal", http.StatusInternalServerError, "", true, false},
		{"object in context", "object-context", http.StatusInternalServerError, "", true, false},
		{"$connect 429", "connect-429", http.StatusTooManyRequests, `{"code":"rate_limited"}`, true, true},
		{"$connect 403", "connect-403", http.StatusForbidden, "banned", true, true},
		{"$connect error", "connect-error", http.StatusInternalServerError, "Internal server error", true, true},
		{"$connect panic", "connect-panic", http.StatusInternalServerError, "Internal server error", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, nil)
			_, resp, err := h.tryDial(tt.token, nil)
			if err == nil {
				t.Fatal("the upgrade succeeded")
			}
			if resp == nil || resp.StatusCode != tt.status {
				t.Fatalf("response = %+v, want status %d", resp, tt.status)
			}
			body, _ := io.ReadAll(resp.Body)
			if !strings.Contains(string(body), tt.body) {
				t.Errorf("body = %q, want it to contain %q", body, tt.body)
			}
			if got := h.rec.authorizerCalls() > 0; got != tt.authorizerRuns {
				t.Errorf("authorizer ran = %v, want %v", got, tt.authorizerRuns)
			}
			if got := len(h.rec.events(RouteConnect)) > 0; got != tt.connectRuns {
				t.Errorf("$connect ran = %v, want %v", got, tt.connectRuns)
			}
			if err := h.g.Shutdown(context.Background()); err != nil {
				t.Fatal(err)
			}
			if n := len(h.rec.events(RouteDisconnect)); n != 0 {
				t.Errorf("$disconnect ran %d times for a refused connection", n)
			}
			if n := h.g.ConnectionCount(); n != 0 {
				t.Errorf("ConnectionCount = %d", n)
			}
		})
	}
}

func TestUpgradeRefusesNonWebSocketRequests(t *testing.T) {
	h := newHarness(t, nil)
	noRedirects := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	tests := []struct {
		name   string
		method string
		url    string
		status int
	}{
		{"empty token", http.MethodGet, h.srv.URL + "/ws?token=", http.StatusUnauthorized},
		{"plain GET with a token", http.MethodGet, h.srv.URL + "/ws?token=alice", http.StatusUpgradeRequired},
		{"POST", http.MethodPost, h.srv.URL + "/ws?token=alice", http.StatusMethodNotAllowed},
		{"unknown path", http.MethodGet, h.srv.URL + "/other", http.StatusNotFound},
		{"connections without id", http.MethodGet, h.srv.URL + "/@connections/", http.StatusNotFound},
		{"connections without a slash (no redirect)", http.MethodGet, h.srv.URL + "/@connections", http.StatusNotFound},
		{"stage connections without a slash (no redirect)", http.MethodGet, h.srv.URL + "/local/@connections", http.StatusNotFound},
		{"connections under another stage", http.MethodGet, h.srv.URL + "/prod/@connections/abc", http.StatusNotFound},
		{"an empty path segment (no redirect)", http.MethodGet, h.srv.URL + "//ws?token=alice", http.StatusNotFound},
		{"a dot segment (no redirect)", http.MethodGet, h.srv.URL + "/@connections/./abc", http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, tt.url, nil)
			resp, err := noRedirects.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_ = resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Errorf("status = %d, want %d", resp.StatusCode, tt.status)
			}
		})
	}
	if n := h.rec.authorizerCalls(); n != 0 {
		t.Errorf("the authorizer ran %d times", n)
	}
}

func TestAuthorizerEvent(t *testing.T) {
	h := newHarness(t, func(c *Config) {
		c.Stage, c.APIID, c.Region, c.AccountID = "prod", "abc123", "eu-west-1", "123456789012"
	})
	c := h.dial("alice", &websocket.DialOptions{HTTPHeader: http.Header{"User-Agent": {"ua/1"}, "X-Extra": {"a", "b"}}})
	_ = c.Close(websocket.StatusNormalClosure, "")

	ev := h.rec.lastAuthorizerEvent()
	checks := []struct {
		name      string
		got, want any
	}{
		{"type", ev.Type, "REQUEST"},
		{"methodArn", ev.MethodArn, "arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/$connect"},
		{"token", ev.QueryStringParameters["token"], "alice"},
		{"multi token", strings.Join(ev.MultiValueQueryStringParameters["token"], ","), "alice"},
		{"host", ev.Headers["Host"], strings.TrimPrefix(h.srv.URL, "http://")},
		{"user agent", ev.Headers["User-Agent"], "ua/1"},
		{"multi-value header", strings.Join(ev.MultiValueHeaders["X-Extra"], ","), "a,b"},
		{"X-Forwarded-For", ev.Headers["X-Forwarded-For"], "127.0.0.1"},
		{"stage", ev.RequestContext.Stage, "prod"},
		{"apiId", ev.RequestContext.APIID, "abc123"},
		{"sourceIp", ev.RequestContext.Identity.SourceIP, "127.0.0.1"},
		{"requestId length", len(ev.RequestContext.RequestID), 16},
		{"stage variables present", ev.StageVariables != nil, true},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestAuthorizerContextReachesEveryRoute(t *testing.T) {
	h := newHarness(t, nil)
	c := h.dial("alice", nil)
	exchange(t, c, `{"action":"sendmessage"}`)
	_ = c.Close(websocket.StatusNormalClosure, "")
	h.waitDisconnect()

	want := map[string]any{"principalId": "alice", "playerId": "alice", "level": float64(3), "admin": false}
	for _, route := range []string{RouteConnect, "sendmessage", RouteDisconnect} {
		evs := h.rec.events(route)
		if len(evs) != 1 {
			t.Fatalf("%s ran %d times", route, len(evs))
		}
		got, ok := evs[0].RequestContext.Authorizer.(map[string]any)
		if !ok {
			t.Fatalf("%s: authorizer is a %T", route, evs[0].RequestContext.Authorizer)
		}
		if len(got) != len(want) {
			t.Errorf("%s: authorizer = %v, want %v", route, got, want)
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s: authorizer[%q] = %#v, want %#v", route, k, got[k], v)
			}
		}
	}
}

func TestConnectChoosesSubprotocol(t *testing.T) {
	h := newHarness(t, nil)
	c := h.dial("connect-proto", &websocket.DialOptions{Subprotocols: []string{"game.v1"}})
	if got := c.Subprotocol(); got != "game.v1" {
		t.Errorf("subprotocol = %q, want game.v1", got)
	}
}

func TestPolicyAllows(t *testing.T) {
	const arn = "arn:aws:execute-api:us-east-1:000000000000:local/local/$connect"
	st := func(effect string, actions, resources []string) events.IAMPolicyStatement {
		return events.IAMPolicyStatement{Effect: effect, Action: actions, Resource: resources}
	}
	invoke := []string{"execute-api:Invoke"}
	tests := []struct {
		name       string
		statements []events.IAMPolicyStatement
		want       bool
	}{
		{"exact allow", []events.IAMPolicyStatement{st("Allow", invoke, []string{arn})}, true},
		{"wildcard resource", []events.IAMPolicyStatement{st("Allow", invoke, []string{"arn:aws:execute-api:us-east-1:000000000000:local/*"})}, true},
		{"star everything", []events.IAMPolicyStatement{st("Allow", []string{"*"}, []string{"*"})}, true},
		{"service wildcard action, any case", []events.IAMPolicyStatement{st("Allow", []string{"Execute-API:*"}, []string{arn})}, true},
		{"question mark", []events.IAMPolicyStatement{st("Allow", invoke, []string{"arn:aws:execute-api:us-east-1:000000000000:loca?/local/$connect"})}, true},
		{"empty policy", nil, false},
		{"deny", []events.IAMPolicyStatement{st("Deny", invoke, []string{arn})}, false},
		{"deny wins over allow", []events.IAMPolicyStatement{st("Allow", invoke, []string{"*"}), st("Deny", invoke, []string{arn})}, false},
		{"other action", []events.IAMPolicyStatement{st("Allow", []string{"execute-api:ManageConnections"}, []string{arn})}, false},
		{"other stage", []events.IAMPolicyStatement{st("Allow", invoke, []string{"arn:aws:execute-api:us-east-1:000000000000:local/prod/*"})}, false},
		{"resource case matters", []events.IAMPolicyStatement{st("Allow", invoke, []string{strings.ToUpper(arn)})}, false},
		{"effect case matters", []events.IAMPolicyStatement{st("allow", invoke, []string{arn})}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := events.APIGatewayCustomAuthorizerPolicy{Version: "2012-10-17", Statement: tt.statements}
			if got := policyAllows(doc, "execute-api:Invoke", arn); got != tt.want {
				t.Errorf("policyAllows = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestWildcardMatch(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"", "", true},
		{"*", "", true},
		{"*", "a/b/c", true},
		{"a*c", "abbbc", true},
		{"a*c", "abbb", false},
		{"a?c", "abc", true},
		{"a?c", "ac", false},
		{"*/$connect", "api/stage/$connect", true},
		{"*/$connect", "api/stage/$default", false},
		{"a**b", "ab", true},
		{"abc", "abcd", false},
	}
	for _, tt := range tests {
		if got := wildcardMatch(tt.pattern, tt.s); got != tt.want {
			t.Errorf("wildcardMatch(%q, %q) = %v, want %v", tt.pattern, tt.s, got, tt.want)
		}
	}
}

// TestDuplicatedTokenLastValueWins: a query parameter given twice counts
// with its last value, in the gateway's own token check and in the
// authorizer's event alike, as API Gateway's queryStringParameters do.
func TestDuplicatedTokenLastValueWins(t *testing.T) {
	h := newHarness(t, nil)
	base := "ws" + strings.TrimPrefix(h.srv.URL, "http") + "/ws"
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()

	c, _, err := websocket.Dial(ctx, base+"?token=&token=alice", nil)
	if err != nil {
		t.Fatalf("?token=&token=alice: %v", err)
	}
	defer c.CloseNow()
	ev := h.rec.lastAuthorizerEvent()
	if ev.QueryStringParameters["token"] != "alice" || strings.Join(ev.MultiValueQueryStringParameters["token"], ",") != ",alice" {
		t.Fatalf("authorizer saw %v / %v", ev.QueryStringParameters, ev.MultiValueQueryStringParameters)
	}

	calls := h.rec.authorizerCalls()
	_, resp, err := websocket.Dial(ctx, base+"?token=alice&token=", nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("?token=alice&token=: %v, %v; want 401", resp, err)
	}
	if h.rec.authorizerCalls() != calls {
		t.Fatal("the authorizer ran for a request whose last token is empty")
	}
}
