package wsgateway

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/coder/websocket"

	"github.com/serverless-websockets/serverless-websockets/internal/testsupport/poll"
)

// shutdownAndCheckDisconnects shuts the gateway down and checks that
// $disconnect ran exactly once for every connection $connect accepted.
func (h *harness) shutdownAndCheckDisconnects() {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if err := h.g.Shutdown(ctx); err != nil {
		h.t.Fatalf("Shutdown: %v", err)
	}
	count := map[string]int{}
	for _, ev := range h.rec.events(RouteDisconnect) {
		count[ev.RequestContext.ConnectionID]++
	}
	for _, ev := range h.rec.events(RouteConnect) {
		if n := count[ev.RequestContext.ConnectionID]; n != 1 {
			h.t.Errorf("$disconnect ran %d times for %s", n, ev.RequestContext.ConnectionID)
		}
	}
	if len(count) != len(h.rec.events(RouteConnect)) {
		h.t.Errorf("$disconnect for %d connections, $connect for %d", len(count), len(h.rec.events(RouteConnect)))
	}
}

func checkDisconnectStatus(t *testing.T, h *harness, code int64, reason string) {
	t.Helper()
	ev := h.waitDisconnect()
	rc := ev.RequestContext
	if rc.DisconnectStatusCode != code || rc.DisconnectReason == nil || *rc.DisconnectReason != reason {
		got := "<nil>"
		if rc.DisconnectReason != nil {
			got = *rc.DisconnectReason
		}
		t.Errorf("$disconnect status = %d %q, want %d %q", rc.DisconnectStatusCode, got, code, reason)
	}
	if h.g.lookup(rc.ConnectionID) != nil {
		t.Error("the connection was still registered during $disconnect")
	}
}

// checkClosed reads c until the gateway closes it, and checks that the
// client got code in the close frame and $disconnect saw code and reason.
func checkClosed(t *testing.T, h *harness, c *websocket.Conn, code websocket.StatusCode, reason string) *websocket.CloseError {
	t.Helper()
	err := readUntilClosed(t, c)
	var ce websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != code {
		t.Errorf("client saw %v, want %d", err, code)
	}
	checkDisconnectStatus(t, h, int64(code), reason)
	return &ce
}

func TestDisconnectOnClientClose(t *testing.T) {
	tests := []struct {
		name   string
		code   websocket.StatusCode
		reason string
	}{
		{"normal", websocket.StatusNormalClosure, "bye"},
		{"going away", websocket.StatusGoingAway, ""},
		{"application code", 4001, "game over"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, nil)
			c := h.dial("alice", nil)
			if err := c.Close(tt.code, tt.reason); err != nil {
				t.Fatalf("close: %v", err)
			}
			checkDisconnectStatus(t, h, int64(tt.code), tt.reason)
			h.shutdownAndCheckDisconnects()
		})
	}
}

func TestDisconnectOnTCPDrop(t *testing.T) {
	h := newHarness(t, nil)
	var raw net.Conn // the client's TCP connection, to close without a close frame
	h.dial("alice", &websocket.DialOptions{HTTPClient: &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			raw = c
			return c, err
		},
	}}})
	_ = raw.Close()
	checkDisconnectStatus(t, h, 1006, "")
	h.shutdownAndCheckDisconnects()
}

func TestDisconnectWhenPingsGoUnanswered(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.PingInterval = 50 * time.Millisecond })
	var pings atomic.Int32
	c := h.dial("alice", &websocket.DialOptions{OnPingReceived: func(context.Context, []byte) bool {
		pings.Add(1)
		return false // never pong: the peer has silently gone
	}})
	err := readUntilClosed(t, c)
	if websocket.CloseStatus(err) != -1 {
		t.Errorf("the client got a close frame (%v); a dropped peer gets none", err)
	}
	checkDisconnectStatus(t, h, 1006, "")
	if pings.Load() == 0 {
		t.Error("the gateway never pinged")
	}
	h.shutdownAndCheckDisconnects()
}

// TestAnsweredPingsKeepTheConnection runs the pings on fake time, so that
// however slow the machine, a pong is never late.
func TestAnsweredPingsKeepTheConnection(t *testing.T) {
	const interval = time.Minute
	h, timers := timedHarness(t, func(c *Config) { c.PingInterval = interval })
	pinged := make(chan struct{}, 100)
	c := h.dial("alice", &websocket.DialOptions{OnPingReceived: func(context.Context, []byte) bool {
		pinged <- struct{}{}
		return true
	}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _, _, _ = c.Read(ctx) }() // answers pings
	timers.awaitArmed(t, 3)
	for range 3 {
		timers.Advance(interval)
		select {
		case <-pinged:
		case <-time.After(testTimeout):
			t.Fatal("no ping")
		}
		timers.awaitArmed(t, 3) // the pong came back: the next ping is armed
	}
	if n := h.g.ConnectionCount(); n != 1 {
		t.Errorf("ConnectionCount = %d after answered pings", n)
	}
	if n := len(h.rec.events(RouteDisconnect)); n != 0 {
		t.Errorf("$disconnect ran %d times for a live connection", n)
	}
}

// fakeTimers is a clock that moves only when a test advances it; due
// timers then run, each in its own goroutine as time.AfterFunc's do.
type fakeTimers struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	c      *fakeTimers
	at     time.Time
	f      func()
	active bool
}

func (c *fakeTimers) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeTimers) AfterFunc(d time.Duration, f func()) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{c: c, at: c.now.Add(d), f: f, active: true}
	c.timers = append(c.timers, t)
	return t
}

func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := t.active
	t.active = false
	return was
}

func (t *fakeTimer) Reset(d time.Duration) bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := t.active
	t.at, t.active = t.c.now.Add(d), true
	return was
}

// Advance moves the clock on by d and starts the timers then due.
func (c *fakeTimers) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	var due []func()
	for _, t := range c.timers {
		if t.active && !t.at.After(c.now) {
			t.active = false
			due = append(due, t.f)
		}
	}
	c.mu.Unlock()
	for _, f := range due {
		go f()
	}
}

// awaitArmed waits until n timers are armed (a connection arms three once
// it is served).
func (c *fakeTimers) awaitArmed(t *testing.T, n int) {
	t.Helper()
	armed := func() int {
		c.mu.Lock()
		defer c.mu.Unlock()
		k := 0
		for _, tm := range c.timers {
			if tm.active {
				k++
			}
		}
		return k
	}
	if !poll.Within(testTimeout, func() bool { return armed() >= n }) {
		t.Fatalf("%d timers armed, want %d", armed(), n)
	}
}

// timedHarness is a harness whose connection timers run on fake time, with
// pings out of the way.
func timedHarness(t *testing.T, configure func(*Config)) (*harness, *fakeTimers) {
	timers := &fakeTimers{now: time.Unix(1700000000, 0)}
	h := newHarness(t, func(c *Config) {
		c.Timers = timers
		c.PingInterval = 24 * time.Hour
		configure(c)
	})
	return h, timers
}

func TestIdleTimeout(t *testing.T) {
	const idle = time.Minute
	h, timers := timedHarness(t, func(c *Config) { c.IdleTimeout = idle })
	c := h.dial("alice", nil)
	timers.awaitArmed(t, 3)
	timers.Advance(idle - time.Second)
	send(t, c, "still here") // a message well before the timeout: the connection lives on
	if got := receive(t, c); got == "" {
		t.Fatal("no reply")
	}
	timers.Advance(idle)
	if ce := checkClosed(t, h, c, websocket.StatusGoingAway, "Going away"); ce.Reason != "Going away" {
		t.Errorf("client saw reason %q, want Going away", ce.Reason)
	}
	h.shutdownAndCheckDisconnects()
}

// TestMessagesKeepAConnectionFromIdling sends messages far more often than
// the idle timeout for several timeouts, then stops.
func TestMessagesKeepAConnectionFromIdling(t *testing.T) {
	const idle = time.Minute
	h, timers := timedHarness(t, func(c *Config) { c.IdleTimeout = idle })
	c := h.dial("alice", nil)
	timers.awaitArmed(t, 3)
	for range 8 { // four timeouts' worth
		timers.Advance(idle / 2)
		exchange(t, c, "tick")
	}
	if n := len(h.rec.events(RouteDisconnect)); n != 0 {
		t.Fatalf("the connection was closed while messages flowed")
	}
	// The idle timer's callback may still be re-arming it from the last
	// Advance; advancing before it has would move its deadline past the end.
	timers.awaitArmed(t, 3)
	timers.Advance(idle)
	checkClosed(t, h, c, websocket.StatusGoingAway, "Going away")
}

func TestMaxConnectionDuration(t *testing.T) {
	const most = time.Hour
	h, timers := timedHarness(t, func(c *Config) { c.MaxConnectionDuration = most; c.IdleTimeout = 2 * most })
	c := h.dial("alice", nil)
	timers.awaitArmed(t, 3)
	for range 3 { // busy, never idle
		timers.Advance(most / 4)
		exchange(t, c, "tick")
	}
	timers.Advance(most / 4)
	checkClosed(t, h, c, websocket.StatusGoingAway, "Going away")
	h.shutdownAndCheckDisconnects()
}

func TestShutdown(t *testing.T) {
	h := newHarness(t, nil)
	var clients []*websocket.Conn
	for _, name := range []string{"alice", "bob", "carol"} {
		clients = append(clients, h.dial(name, nil))
	}
	closed := make(chan error, len(clients))
	for _, c := range clients {
		go func() {
			for {
				if _, _, err := c.Read(context.Background()); err != nil {
					closed <- err
					return
				}
			}
		}()
	}
	h.shutdownAndCheckDisconnects() // $disconnect has run for all three on return
	for _, ev := range h.rec.events(RouteDisconnect) {
		if ev.RequestContext.DisconnectStatusCode != 1001 {
			t.Errorf("$disconnect status = %d, want 1001", ev.RequestContext.DisconnectStatusCode)
		}
	}
	for range clients {
		if err := <-closed; websocket.CloseStatus(err) != websocket.StatusGoingAway {
			t.Errorf("client saw %v, want 1001", err)
		}
	}
	if n := h.g.ConnectionCount(); n != 0 {
		t.Errorf("ConnectionCount = %d after Shutdown", n)
	}
	_, resp, err := h.tryDial("dave", nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("dial after Shutdown: %v, %+v; want 503", err, resp)
	}
}

// peak counts the invocations of a blocking handler running at once and
// the most that ever did.
type peak struct{ running, max, ran atomic.Int64 }

// handler blocks until release is closed.
func (p *peak) handler(release <-chan struct{}) HandlerFunc {
	return func(context.Context, events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
		now := p.running.Add(1)
		for m := p.max.Load(); now > m && !p.max.CompareAndSwap(m, now); m = p.max.Load() {
		}
		<-release
		p.running.Add(-1)
		p.ran.Add(1)
		return events.APIGatewayProxyResponse{StatusCode: 200}, nil
	}
}

// check waits until limit invocations run and the other n-limit wait for
// a token of the gateway's semaphore (waiting counts them), so that none
// can start before release; it releases them all, shuts the gateway down
// and fails unless exactly limit ran at once and all n ran.
func (p *peak) check(t *testing.T, h *harness, release chan struct{}, n, limit int64, waiting *atomic.Int64) {
	t.Helper()
	if !poll.Within(testTimeout, func() bool { return p.running.Load() >= limit && waiting.Load() == n-limit }) {
		t.Fatalf("%d invocations running and %d waiting, want %d and %d", p.running.Load(), waiting.Load(), limit, n-limit)
	}
	close(release)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if err := h.g.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if m := p.max.Load(); m != limit {
		t.Fatalf("at most %d ran at once, want %d", m, limit)
	}
	if r := p.ran.Load(); r != n {
		t.Fatalf("%d of %d invocations ran", r, n)
	}
}

// At most DisconnectConcurrency $disconnect invocations, and at most
// MessageConcurrency message-route invocations across connections, run at
// once; the others wait their turn and all of them run.
func TestInvocationConcurrency(t *testing.T) {
	const n, limit = 6, 2
	for _, tt := range []struct {
		name  string
		route string
		set   func(*Config)
		// use makes the connection invoke the route once.
		use func(t *testing.T, c *websocket.Conn)
		// waiting counts the invocations waiting for the route's token.
		waiting func(*Gateway) *atomic.Int64
	}{
		{
			name: "$disconnect", route: RouteDisconnect,
			set:     func(c *Config) { c.DisconnectConcurrency = limit },
			use:     func(_ *testing.T, c *websocket.Conn) { c.Close(websocket.StatusNormalClosure, "") },
			waiting: func(g *Gateway) *atomic.Int64 { return &g.waitingDisconnect },
		},
		{
			name: "message routes", route: "sendmessage",
			set: func(c *Config) { c.MessageConcurrency = limit },
			use: func(t *testing.T, c *websocket.Conn) {
				if err := c.Write(context.Background(), websocket.MessageText, []byte(`{"action":"sendmessage"}`)); err != nil {
					t.Fatal(err)
				}
				c.CloseRead(context.Background()) // answers the close at Shutdown
			},
			waiting: func(g *Gateway) *atomic.Int64 { return &g.waitingInvoke },
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var p peak
			release := make(chan struct{})
			h := newHarness(t, func(c *Config) {
				tt.set(c)
				c.Routes[tt.route] = Route{Handler: p.handler(release)}
			})
			for i := range n {
				tt.use(t, h.dial(fmt.Sprintf("player-%d", i), nil))
			}
			p.check(t, h, release, n, limit, tt.waiting(h.g))
		})
	}
}

// TestDeleteDropsQueuedMessages deletes a connection whose messages wait
// behind a slow handler: that handler finishes, the queued ones never run.
func TestDeleteDropsQueuedMessages(t *testing.T) {
	const queued = 5
	release, started := make(chan struct{}), make(chan struct{})
	var counted atomic.Int32
	h := newHarness(t, func(c *Config) {
		c.Routes["block"] = Route{Handler: func(context.Context, events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
			close(started)
			<-release
			return events.APIGatewayProxyResponse{StatusCode: 200}, nil
		}}
		c.Routes["count"] = Route{Handler: func(context.Context, events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
			counted.Add(1)
			return events.APIGatewayProxyResponse{StatusCode: 200}, nil
		}}
	})
	c := h.dial("alice", nil)
	id := h.lastConnectionID()
	send(t, c, `{"action":"block"}`)
	<-started
	for range queued {
		send(t, c, `{"action":"count"}`)
	}
	// The gateway reads a ping after the frames before it, so once the
	// pong is back they are all in the connection's queue.
	ctx, cancel := context.WithTimeout(c.CloseRead(context.Background()), testTimeout)
	defer cancel()
	if err := c.Ping(ctx); err != nil {
		t.Fatalf("ping: %v", err)
	}
	api := managementClient(h.srv.URL, "us-east-1", "local", "local")
	_, err := api.DeleteConnection(context.Background(), &apigatewaymanagementapi.DeleteConnectionInput{ConnectionId: aws.String(id)})
	close(release)
	if err != nil {
		t.Fatalf("DeleteConnection: %v", err)
	}
	checkDisconnectStatus(t, h, int64(websocket.StatusNormalClosure), "") // after the worker is done
	if n := counted.Load(); n != 0 {
		t.Errorf("%d of the %d messages queued at the DELETE were handled, want none", n, queued)
	}
	if want := fmt.Sprintf("dropped=%d", queued); !strings.Contains(h.logs.String(), want) {
		t.Errorf("the logs lack %q", want)
	}
}
