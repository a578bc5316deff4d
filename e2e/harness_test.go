package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/coder/websocket"

	"github.com/serverless-websockets/serverless-websockets/internal/local"
	"github.com/serverless-websockets/serverless-websockets/internal/local/wsgateway"
	"github.com/serverless-websockets/serverless-websockets/internal/wsclient"
)

// clock is the stack's clock: real time plus an offset a test can advance,
// so that token expiry and rate-limit refills need no sleeping. Frozen, it
// stands still.
type clock struct {
	mu     sync.Mutex
	offset time.Duration
	frozen time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.frozen.IsZero() {
		return c.frozen.Add(c.offset)
	}
	return time.Now().Add(c.offset)
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

// Freeze stops the clock at its current reading.
func (c *clock) Freeze() {
	now := c.Now()
	c.mu.Lock()
	c.frozen, c.offset = now, 0
	c.mu.Unlock()
}

// stack is the local stack on an httptest server.
type stack struct {
	*local.Stack
	t     testing.TB
	URL   string
	Clock *clock
}

type option func(*local.Options, map[string]string)

func withEnv(k, v string) option {
	return func(_ *local.Options, env map[string]string) { env[k] = v }
}

func withGateway(f func(*wsgateway.Config)) option {
	return func(o *local.Options, _ map[string]string) { f(&o.Gateway) }
}

// noLimits turns every rate limit off.
func noLimits() option {
	return func(_ *local.Options, env map[string]string) {
		for _, k := range []string{"RATE_MESSAGES_PER_SECOND", "RATE_BYTES_PER_SECOND", "RATE_CONNECTS_PER_MINUTE"} {
			env[k] = "0"
		}
	}
}

func startStack(t testing.TB, opts ...option) *stack {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String()
	env := map[string]string{}
	c := &clock{}
	o := local.Options{BaseURL: base, Now: c.Now}
	for _, opt := range opts {
		opt(&o, env)
	}
	o.Getenv = func(k string) string { return env[k] }
	s, err := local.New(context.Background(), o)
	if err != nil {
		t.Fatalf("start stack: %v", err)
	}
	srv.Config.Handler = s.Handler
	srv.Start()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = s.Shutdown(ctx)
		srv.Close()
	})
	return &stack{Stack: s, t: t, URL: base, Clock: c}
}

// token asks the dev issuer for a token of player.
func (s *stack) token(player string, ttlSeconds int) string {
	s.t.Helper()
	body, _ := json.Marshal(map[string]any{"playerId": player, "ttlSeconds": ttlSeconds})
	resp, err := http.Post(s.URL+"/dev/token", "application/json", bytes.NewReader(body))
	if err != nil {
		s.t.Fatalf("dev token: %v", err)
	}
	defer resp.Body.Close()
	var out struct {
		Token string `json:"token"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&out) != nil || out.Token == "" {
		s.t.Fatalf("dev token for %s: status %d", player, resp.StatusCode)
	}
	return out.Token
}

func (s *stack) wsURL(token string) string {
	u := "ws" + strings.TrimPrefix(s.URL, "http") + "/ws"
	if token != "" {
		u += "?token=" + token
	}
	return u
}

// client is a real WebSocket client (package wsclient) whose frames are
// read in the background, in order, into frames.
type client struct {
	t      testing.TB
	ws     *wsclient.Conn
	conn   *websocket.Conn // the socket itself, for raw writes and closes
	frames chan frame
	done   <-chan struct{}
}

type frame map[string]any

// decodeFrame decodes a server frame; one that is not a JSON object is
// {"raw": data}.
func decodeFrame(data []byte) frame {
	var f frame
	if err := json.Unmarshal(data, &f); err != nil {
		f = frame{"raw": string(data)}
	}
	return f
}

// dialToken connects with token; it returns the HTTP status when the upgrade
// is refused.
func (s *stack) dialToken(token string) (*client, int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	frames := make(chan frame, 1024)
	push := func(f wsclient.Frame) { frames <- decodeFrame(f.Raw) }
	ws, status, err := wsclient.Dial(ctx, s.wsURL(token), wsclient.Options{
		OnMessage:   push,
		OnUnmatched: func(f wsclient.Frame, _ []byte) { push(f) },
	})
	if err != nil {
		return nil, status, err
	}
	s.t.Cleanup(func() { ws.Socket().CloseNow() })
	return &client{t: s.t, ws: ws, conn: ws.Socket(), frames: frames, done: ws.Done()}, status, nil
}

// dial connects player with a fresh token and fails the test if refused.
func (s *stack) dial(player string) *client {
	s.t.Helper()
	c, status, err := s.dialToken(s.token(player, 3600))
	if err != nil {
		s.t.Fatalf("dial %s: status %d: %v", player, status, err)
	}
	return c
}

func (c *client) send(v any) {
	c.t.Helper()
	var data []byte
	switch v := v.(type) {
	case string:
		data = []byte(v)
	default:
		data, _ = json.Marshal(v)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.ws.Write(ctx, data); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// next returns the next frame, failing the test after 10 s.
func (c *client) next() frame {
	c.t.Helper()
	select {
	case f := <-c.frames:
		return f
	case <-c.done:
		select {
		case f := <-c.frames:
			return f
		default:
		}
		c.t.Fatalf("connection closed while waiting for a frame: %v", c.ws.Err())
	case <-time.After(10 * time.Second):
		c.t.Fatal("no frame within 10 s")
	}
	return nil
}

// nextOf returns the next frame of type typ, failing on any other.
func (c *client) nextOf(typ string) frame {
	c.t.Helper()
	f := c.next()
	if f["type"] != typ {
		c.t.Fatalf("got frame %v, want type %s", f, typ)
	}
	return f
}

// quiet asserts no frame arrives within d (used to show nothing was delivered).
func (c *client) quiet(d time.Duration) {
	c.t.Helper()
	select {
	case f := <-c.frames:
		c.t.Fatalf("unexpected frame %v", f)
	case <-time.After(d):
	}
}

// closed waits for the server to close the connection and returns the close status.
func (c *client) closed() websocket.StatusCode {
	c.t.Helper()
	select {
	case <-c.done:
		return websocket.CloseStatus(c.ws.Err())
	case <-time.After(10 * time.Second):
		c.t.Fatal("the connection was not closed within 10 s")
	}
	return -1
}

// connections returns the live connection ids of player, from DynamoDB.
func (s *stack) connections(player string) []string {
	s.t.Helper()
	conns, err := s.Store.PlayerConnections(context.Background(), player)
	if err != nil {
		s.t.Fatalf("connections of %s: %v", player, err)
	}
	var ids []string
	for _, c := range conns {
		ids = append(ids, c.ID)
	}
	return ids
}

// management returns a real SDK Management API client signed with secret.
func (s *stack) management(secret string) *apigatewaymanagementapi.Client {
	return apigatewaymanagementapi.New(apigatewaymanagementapi.Options{
		BaseEndpoint: aws.String(s.URL),
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("local", secret, ""),
	})
}

func readAll(r io.Reader) string { b, _ := io.ReadAll(r); return string(b) }
