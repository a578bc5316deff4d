package wsgateway

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/coder/websocket"

	"github.com/serverless-websockets/serverless-websockets/internal/testsupport/syncbuf"
)

// testTimeout bounds every wait of a test; it is a safety net, never an
// assertion on speed.
const testTimeout = 10 * time.Second

// recorder keeps every event the gateway hands to the authorizer and the
// route handlers.
type recorder struct {
	mu          sync.Mutex
	authorizer  []events.APIGatewayCustomAuthorizerRequestTypeRequest
	byRoute     map[string][]events.APIGatewayWebsocketProxyRequest
	disconnects chan events.APIGatewayWebsocketProxyRequest
}

func newRecorder() *recorder {
	return &recorder{
		byRoute:     make(map[string][]events.APIGatewayWebsocketProxyRequest),
		disconnects: make(chan events.APIGatewayWebsocketProxyRequest, 100),
	}
}

func (r *recorder) add(ev events.APIGatewayWebsocketProxyRequest) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.byRoute[ev.RequestContext.RouteKey] = append(r.byRoute[ev.RequestContext.RouteKey], ev)
}

func (r *recorder) events(route string) []events.APIGatewayWebsocketProxyRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]events.APIGatewayWebsocketProxyRequest(nil), r.byRoute[route]...)
}

func (r *recorder) authorizerCalls() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.authorizer)
}

func (r *recorder) lastAuthorizerEvent() events.APIGatewayCustomAuthorizerRequestTypeRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.authorizer[len(r.authorizer)-1]
}

// allowPolicy allows execute-api:Invoke on resource.
func allowPolicy(effect, resource string) events.APIGatewayCustomAuthorizerPolicy {
	return events.APIGatewayCustomAuthorizerPolicy{
		Version: "2012-10-17",
		Statement: []events.IAMPolicyStatement{{
			Action:   []string{"execute-api:Invoke"},
			Effect:   effect,
			Resource: []string{resource},
		}},
	}
}

// authorize is the tests' authorizer. The token chooses its behaviour;
// any other token is allowed as the player of that name.
func (r *recorder) authorize(_ context.Context, req events.APIGatewayCustomAuthorizerRequestTypeRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
	r.mu.Lock()
	r.authorizer = append(r.authorizer, req)
	r.mu.Unlock()
	token := req.QueryStringParameters["token"]
	resp := events.APIGatewayCustomAuthorizerResponse{
		PrincipalID:    token,
		PolicyDocument: allowPolicy("Allow", req.MethodArn),
		Context:        map[string]any{"playerId": token, "level": 3, "admin": false},
	}
	switch token {
	case "unauthorized":
		return resp, errors.New("Unauthorized")
	case "wrapped-unauthorized":
		return resp, errors.New("verify token: Unauthorized")
	case "error":
		return resp, errors.New("jwks unreachable")
	case "panic":
		panic("authorizer bug")
	case "deny":
		resp.PolicyDocument = allowPolicy("Deny", req.MethodArn)
	case "other-resource":
		resp.PolicyDocument = allowPolicy("Allow", "arn:aws:execute-api:us-east-1:000000000000:other/local/$connect")
	case "no-principal":
		resp.PrincipalID = ""
	case "object-context":
		resp.Context["groups"] = []string{"admin"}
	}
	return resp, nil
}

// connect is the tests' $connect route; tokens starting with "connect-"
// choose its answer.
func (r *recorder) connect(_ context.Context, req events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
	r.add(req)
	switch req.QueryStringParameters["token"] {
	case "connect-429":
		return events.APIGatewayProxyResponse{StatusCode: http.StatusTooManyRequests, Body: `{"code":"rate_limited"}`,
			Headers: map[string]string{"Content-Type": "application/json"}}, nil
	case "connect-403":
		return events.APIGatewayProxyResponse{StatusCode: http.StatusForbidden, Body: "banned"}, nil
	case "connect-error":
		return events.APIGatewayProxyResponse{}, errors.New("dynamodb down")
	case "connect-panic":
		panic("connect bug")
	case "connect-proto":
		return events.APIGatewayProxyResponse{StatusCode: http.StatusOK,
			Headers: map[string]string{"Sec-WebSocket-Protocol": "game.v1"}}, nil
	}
	return events.APIGatewayProxyResponse{StatusCode: http.StatusOK}, nil
}

// ok is a route that only succeeds.
func ok(context.Context, events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
	return events.APIGatewayProxyResponse{StatusCode: http.StatusOK}, nil
}

func (r *recorder) disconnect(_ context.Context, req events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
	r.add(req)
	r.disconnects <- req
	return events.APIGatewayProxyResponse{StatusCode: http.StatusOK}, nil
}

// echo answers "<route>:<body>".
func (r *recorder) echo(_ context.Context, req events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
	r.add(req)
	return events.APIGatewayProxyResponse{StatusCode: http.StatusOK, Body: req.RequestContext.RouteKey + ":" + req.Body}, nil
}

// testRoutes are the routes of most tests.
func (r *recorder) testRoutes() map[string]Route {
	return map[string]Route{
		RouteConnect:    {Handler: r.connect},
		RouteDisconnect: {Handler: r.disconnect},
		RouteDefault:    {Handler: r.echo, RouteResponse: true},
		"sendmessage":   {Handler: r.echo, RouteResponse: true},
		"silent":        {Handler: r.echo},
		"fail": {Handler: func(_ context.Context, req events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
			r.add(req)
			return events.APIGatewayProxyResponse{}, errors.New("handler failed")
		}, RouteResponse: true},
		"panic": {Handler: func(context.Context, events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
			panic("handler bug")
		}, RouteResponse: true},
	}
}

// harness is a Gateway on an httptest server.
type harness struct {
	t    testing.TB
	g    *Gateway
	srv  *httptest.Server
	rec  *recorder
	logs *syncbuf.Buffer
}

// fixedStart is the start of the tests' fake clock.
var fixedStart = time.Date(2024, 1, 20, 11, 54, 57, 419_000_000, time.UTC)

// newHarness starts a Gateway with the test routes; edit adjusts its
// Config. The gateway is shut down and the server closed when the test ends.
func newHarness(t testing.TB, edit func(*Config)) *harness {
	t.Helper()
	rec := newRecorder()
	logs := &syncbuf.Buffer{}
	cfg := Config{
		Authorizer: rec.authorize,
		Routes:     rec.testRoutes(),
		Logger:     slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if edit != nil {
		edit(&cfg)
	}
	g, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		if err := g.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return &harness{t: t, g: g, srv: srv, rec: rec, logs: logs}
}

func (h *harness) wsURL(token string) string {
	u := "ws" + strings.TrimPrefix(h.srv.URL, "http") + "/ws"
	if token != "" {
		u += "?token=" + url.QueryEscape(token)
	}
	return u
}

// dial opens a WebSocket through the gateway and fails the test if it is
// refused. The client is closed at the end of the test.
func (h *harness) dial(token string, opts *websocket.DialOptions) *websocket.Conn {
	h.t.Helper()
	c, resp, err := h.tryDial(token, opts)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		h.t.Fatalf("dial %q: status %d: %v", token, status, err)
	}
	return c
}

func (h *harness) tryDial(token string, opts *websocket.DialOptions) (*websocket.Conn, *http.Response, error) {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if opts == nil {
		opts = &websocket.DialOptions{}
	}
	if opts.HTTPHeader == nil {
		opts.HTTPHeader = http.Header{"User-Agent": {"gateway-test/1.0"}}
	}
	c, resp, err := websocket.Dial(ctx, h.wsURL(token), opts)
	if err == nil {
		h.t.Cleanup(func() { _ = c.CloseNow() })
	}
	return c, resp, err
}

// connectionID returns the id of the client's connection: the one of the
// latest $connect.
func (h *harness) lastConnectionID() string {
	h.t.Helper()
	evs := h.rec.events(RouteConnect)
	if len(evs) == 0 {
		h.t.Fatal("no $connect ran")
	}
	return evs[len(evs)-1].RequestContext.ConnectionID
}

// waitDisconnect waits for the next $disconnect.
func (h *harness) waitDisconnect() events.APIGatewayWebsocketProxyRequest {
	h.t.Helper()
	select {
	case ev := <-h.rec.disconnects:
		return ev
	case <-time.After(testTimeout):
		h.t.Fatal("no $disconnect")
		return events.APIGatewayWebsocketProxyRequest{}
	}
}

// send writes a text message.
func send(t *testing.T, c *websocket.Conn, msg string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if err := c.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
		t.Fatalf("write: %v", err)
	}
}

// receive reads one message.
func receive(t *testing.T, c *websocket.Conn) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	_, b, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return string(b)
}

// exchange sends msg and returns the reply.
func exchange(t *testing.T, c *websocket.Conn, msg string) string {
	t.Helper()
	send(t, c, msg)
	return receive(t, c)
}

// readUntilClosed reads until the server closes the connection and returns
// the read error.
func readUntilClosed(t *testing.T, c *websocket.Conn) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	for {
		if _, _, err := c.Read(ctx); err != nil {
			if ctx.Err() != nil {
				t.Fatal("the server did not close the connection")
			}
			return err
		}
	}
}

// decodeAPIError decodes API Gateway's error frame.
func decodeAPIError(t *testing.T, s string) apiError {
	t.Helper()
	var e apiError
	if err := json.Unmarshal([]byte(s), &e); err != nil {
		t.Fatalf("frame %q is not an API Gateway error: %v", s, err)
	}
	return e
}
