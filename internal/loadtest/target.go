package loadtest

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/serverless-websockets/serverless-websockets/internal/dynamo"
	"github.com/serverless-websockets/serverless-websockets/internal/local"
	"github.com/serverless-websockets/serverless-websockets/internal/wsclient"
)

// target is the stack under test: where clients connect, who they are,
// and what the stack lets the run see of itself.
type target struct {
	mode    string // "embedded", "url" (a running local stack) or "deployed"
	display string // the address shown in reports
	base    string // http://host:port of a local stack; empty for a bare WebSocket URL
	wsBase  string // where clients connect, before ?token=
	limits  string // "off", "default" or "stack" (the stack's own)
	engine  string // the embedded stack's DynamoDB engine; empty otherwise
	http    *http.Client

	identities identitySource
	// snapshot reads the stack's counters; reported is false when the
	// stack exposes none.
	snapshot func(ctx context.Context) (counters, error)
	// online returns which of ids the stack counts online; nil asks the
	// stack itself through a presence request, every presenceEvery.
	online        func(ctx context.Context, ids []string) ([]string, error)
	presenceEvery time.Duration
	// close shuts an embedded stack down; a no-op for a running one.
	close func(ctx context.Context) error
}

// counters are the stack's running totals at one instant.
type counters struct {
	dynamo   map[string]int64 // DynamoDB requests by operation
	reported bool             // whether the stack counts DynamoDB requests at all
}

// loopbackClient talks to the stack without any proxy from the environment.
func loopbackClient() *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     30 * time.Second,
	}}
}

func newTarget(ctx context.Context, o Options, stderr io.Writer) (*target, error) {
	var t *target
	if o.embedded {
		var err error
		if t, err = startEmbedded(ctx, o, stderr); err != nil {
			return nil, err
		}
	} else {
		u, err := url.Parse(o.url)
		if err != nil {
			return nil, fmt.Errorf("-url: %w", err)
		}
		t = &target{mode: "url", limits: "stack", http: loopbackClient()}
		switch u.Scheme {
		case "http", "https":
			// A local stack: its WebSocket API at /ws, its counters at /metrics.
			t.base = u.Scheme + "://" + u.Host
			t.snapshot = t.scrape
			if _, err := t.scrape(ctx); err != nil {
				return nil, fmt.Errorf("reach the stack at %s: %w", t.base, err)
			}
		default:
			// A WebSocket API itself, such as API Gateway's stage URL.
			u.RawQuery, u.Fragment = "", ""
			t.wsBase, t.display = u.String(), u.String()
			if !isLoopback(u.Hostname()) {
				t.mode = "deployed"
				t.http = &http.Client{Timeout: 30 * time.Second}
				// API Gateway charges presence as a message: poll gently, within
				// the default limit of 10 messages a second.
				t.presenceEvery = 150 * time.Millisecond
			} else {
				t.base = "http://" + u.Host
			}
		}
	}
	if o.cognito.userPool != "" {
		c, err := newCognito(ctx, o.cognito)
		if err != nil {
			return nil, err
		}
		t.identities = c
	} else if t.base == "" {
		return nil, fmt.Errorf("-url %s: a deployed stack needs Cognito players (-cognito-user-pool, -cognito-client-id)", o.url)
	}
	t.complete()
	return t, nil
}

// complete fills what a target left empty: the local stack's /ws, its
// address as the display, development tokens, no counters, no shutdown.
func (t *target) complete() {
	if t.wsBase == "" && t.base != "" {
		t.wsBase = wsclient.StackURL(t.base)
	}
	t.display = cmp.Or(t.display, t.base, t.wsBase)
	if t.identities == nil {
		t.identities = devTokens{t}
	}
	if t.snapshot == nil {
		t.snapshot = func(context.Context) (counters, error) { return counters{}, nil }
	}
	t.presenceEvery = cmp.Or(t.presenceEvery, 20*time.Millisecond)
	if t.close == nil {
		t.close = func(context.Context) error { return nil }
	}
}

// wsURL is where a client with token connects.
func (t *target) wsURL(token string) string {
	return t.wsBase + "?token=" + url.QueryEscape(token)
}

// isLoopback reports whether host is a loopback name or address.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// checkTargetURL checks -url: a local stack over http(s) on loopback, or a
// WebSocket API over ws(s), which may be elsewhere only when own is set.
func checkTargetURL(raw string, own bool) error {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return fmt.Errorf("%q: %w", raw, err)
	case u.Scheme == "http" || u.Scheme == "https":
		return checkLoopbackURL(raw)
	case u.Scheme != "ws" && u.Scheme != "wss":
		return fmt.Errorf("%q: want http(s):// for a local stack or ws(s):// for a WebSocket API", raw)
	case u.Host == "":
		return fmt.Errorf("%q: no host", raw)
	case !own && !isLoopback(u.Hostname()):
		return fmt.Errorf("%q is not a loopback address: a run against it costs its owner money and load; add -i-own-this-stack if that is you", raw)
	}
	return nil
}

// isLoopbackURL reports whether raw names a loopback host.
func isLoopbackURL(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && isLoopback(u.Hostname())
}

// checkLoopbackURL refuses any URL that does not name a loopback host
// (127.0.0.0/8, ::1 or localhost) over http or https: this tool is for the
// local stack only.
func checkLoopbackURL(raw string) error {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return fmt.Errorf("%q: %w", raw, err)
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("%q: want an http:// or https:// URL", raw)
	case !isLoopback(u.Hostname()):
		return fmt.Errorf("%q: host %q is not a loopback address (127.0.0.0/8, ::1 or localhost); this tool measures the local stack only", raw, u.Hostname())
	}
	return nil
}

// startEmbedded runs the whole stack in this process on a loopback port.
func startEmbedded(ctx context.Context, o Options, stderr io.Writer) (*target, error) {
	env := map[string]string{}
	if o.limits == limitsOff {
		for _, k := range []string{"RATE_MESSAGES_PER_SECOND", "RATE_BYTES_PER_SECOND", "RATE_CONNECTS_PER_MINUTE"} {
			env[k] = "0"
		}
	}
	maps.Copy(env, o.env)
	// Refusals such as rate_limited are warnings the run counts itself.
	level := slog.LevelError
	if o.verbose {
		level = slog.LevelInfo
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen on loopback: %w", err)
	}
	base := "http://" + ln.Addr().String()
	stack, err := local.New(ctx, local.Options{
		BaseURL:          base,
		Getenv:           func(k string) string { return env[k] },
		DynamoDBEndpoint: o.dynamoEndpoint,
		Logger:           logger,
	})
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("start the embedded stack: %w", err)
	}
	conns := &connStates{states: map[net.Conn]http.ConnState{}}
	shutdown := serve(&http.Server{Handler: stack.Handler, ReadHeaderTimeout: 10 * time.Second, ConnState: conns.track}, ln)

	t := &target{mode: "embedded", base: base, limits: o.limits, engine: stack.Engine, http: loopbackClient()}
	// The row check reads the connections table past the request counter.
	uncounted := dynamo.New(stack.DynamoDB.DynamoDB, dynamo.Tables{Connections: local.ConnectionsTable, Mailbox: local.MailboxTable}, dynamo.Options{})
	t.online = uncounted.OnlinePlayers
	t.snapshot = func(context.Context) (counters, error) {
		return counters{dynamo: stack.DynamoDB.Requests(), reported: true}, nil
	}
	t.close = func(ctx context.Context) error {
		t.http.CloseIdleConnections()
		gwErr := stack.Shutdown(ctx)
		// An HTTP client that dials while another of its connections
		// frees up keeps the spare one unused; the server counts such a
		// connection as busy for 5 seconds. Nothing is in flight on it.
		conns.closeUnused()
		return errors.Join(gwErr, shutdown(ctx))
	}
	return t, nil
}

// connStates follows the embedded server's connections.
type connStates struct {
	mu     sync.Mutex
	states map[net.Conn]http.ConnState
}

func (c *connStates) track(conn net.Conn, state http.ConnState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch state {
	case http.StateClosed, http.StateHijacked:
		delete(c.states, conn)
	default:
		c.states[conn] = state
	}
}

// closeUnused closes the connections on which no request has been read.
func (c *connStates) closeUnused() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for conn, state := range c.states {
		if state == http.StateNew {
			conn.Close()
		}
	}
}

// scrape reads the counters from the stack's /metrics.
func (t *target) scrape(ctx context.Context) (counters, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.base+"/metrics", nil)
	if err != nil {
		return counters{}, fmt.Errorf("metrics request: %w", err)
	}
	resp, err := t.http.Do(req)
	if err != nil {
		return counters{}, fmt.Errorf("get /metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return counters{}, fmt.Errorf("get /metrics: status %d", resp.StatusCode)
	}
	return parseMetrics(resp.Body)
}

// parseMetrics reads the DynamoDB request counts from the text /metrics
// serves: one "series value" line each, e.g. dynamodb_requests_total{op="Query"} 12.
func parseMetrics(r io.Reader) (counters, error) {
	c := counters{dynamo: map[string]int64{}}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		var op string
		var n float64
		if _, err := fmt.Sscanf(strings.TrimSpace(sc.Text()), "dynamodb_requests_total{op=%q} %g", &op, &n); err == nil {
			c.dynamo[op] = int64(n)
			c.reported = true
		}
	}
	if err := sc.Err(); err != nil {
		return counters{}, fmt.Errorf("read /metrics: %w", err)
	}
	return c, nil
}

// identity is a player and its token.
type identity struct{ player, token string }

// identitySource makes the run's players.
type identitySource interface {
	kind() string
	// players returns n players with tokens for run.
	players(ctx context.Context, run string, n int) ([]identity, error)
}

// devTokens are players named lt-<run>-<n> with tokens from the stack's
// development issuer.
type devTokens struct{ t *target }

func (devTokens) kind() string { return "dev tokens" }

func (d devTokens) players(ctx context.Context, run string, n int) ([]identity, error) {
	out := make([]identity, n)
	errs := make([]error, n)
	forEach(n, 8, func(i int) {
		out[i].player = fmt.Sprintf("lt-%s-%04d", run, i)
		out[i].token, errs[i] = wsclient.DevToken(ctx, d.t.http, d.t.base, out[i].player)
	})
	return out, errors.Join(errs...)
}
