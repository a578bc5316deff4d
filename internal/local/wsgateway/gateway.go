package wsgateway

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/serverless-websockets/serverless-websockets/internal/local/apigateway"
)

// AuthorizerFunc is a REQUEST authorizer Lambda handler, called before every
// upgrade.
type AuthorizerFunc func(ctx context.Context, req events.APIGatewayCustomAuthorizerRequestTypeRequest) (events.APIGatewayCustomAuthorizerResponse, error)

// HandlerFunc is a WebSocket route's Lambda handler.
type HandlerFunc func(ctx context.Context, req events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error)

// Route is one route of the API.
type Route struct {
	// Handler is the route's integration. It must not be nil.
	Handler HandlerFunc
	// RouteResponse sends the integration's body back to the client as a
	// text frame (API Gateway's RouteResponseSelectionExpression $default).
	// An empty body sends nothing. Ignored for $connect and $disconnect.
	RouteResponse bool
}

// Route keys with a meaning of their own.
const (
	RouteConnect    = "$connect"
	RouteDisconnect = "$disconnect"
	RouteDefault    = "$default"
)

// Config configures a Gateway. Zero values take the documented defaults.
type Config struct {
	// Authorizer is the $connect REQUEST authorizer. Required: New refuses a
	// Config without one, so no connection is ever unauthenticated.
	Authorizer AuthorizerFunc
	// Routes maps route keys ("$connect", "$disconnect", "$default",
	// "sendmessage", ...) to routes. Missing $connect and $disconnect routes
	// simply succeed; a message without a route and no $default route is
	// answered with a Forbidden frame.
	Routes map[string]Route
	// Stage is the stage name in events and method ARNs. Default "local".
	Stage string
	// APIID is the API id in events and method ARNs. Default "local".
	APIID string
	// Region is the region of method ARNs and of the SigV4 credential scope
	// the Management API accepts. Default "us-east-1".
	Region string
	// AccountID is the account in method ARNs. Default "000000000000".
	AccountID string
	// AccessKeyID and SecretAccessKey are the only credentials the
	// Management API accepts (SigV4). Default "local" and "local".
	AccessKeyID, SecretAccessKey string
	// MaxFrameBytes is the largest data frame payload a client may send; a
	// larger one closes the connection with 1009. Default 32 KiB.
	MaxFrameBytes int
	// MaxMessageBytes is the largest message a client may send and the
	// largest body PostToConnection accepts (413 above it); a larger message
	// closes the connection with 1009. Default 128 KiB.
	MaxMessageBytes int
	// IdleTimeout closes (1001 "Going away") a connection whose client has
	// sent no message for this long. Default 10 minutes.
	IdleTimeout time.Duration
	// MaxConnectionDuration closes (1001 "Going away") every connection
	// this long after it opened. Default 2 hours.
	MaxConnectionDuration time.Duration
	// FunctionTimeout bounds every handler and authorizer invocation, as a
	// Lambda function's timeout does: the handler's context ends then, and
	// the gateway stops waiting for it. A message route that runs out of
	// time answers the client {"message":"Internal server error"}, as API
	// Gateway does when its Lambda times out, and the connection goes on
	// with its next message; $connect answers 500. Default 10 seconds, the
	// functions' Timeout in the SAM template.
	FunctionTimeout time.Duration
	// PingInterval is the time between pings, and the time a pong may take;
	// a connection that does not answer is dropped, so a silent drop is
	// noticed within two intervals. Default 30 seconds.
	PingInterval time.Duration
	// DisconnectConcurrency is how many $disconnect invocations run at once,
	// as a Lambda function's reserved concurrency would bound them; more
	// wait their turn. A mass close then queues its $disconnect work instead
	// of crowding out the other connections' messages. Default 8.
	DisconnectConcurrency int
	// MessageConcurrency is how many invocations of the message routes
	// (every route but $connect and $disconnect) run at once across all
	// connections, as a function's reserved concurrency would bound them. A
	// message past the limit waits in its connection's queue (whose bound
	// holds back that client's reads) until a slot frees, and its function
	// timeout starts when it runs. Unbounded, thousands of invocations on a
	// few cores slow each other down until their AWS calls time out. Where
	// Lambda would throttle such an invocation, the local gateway delays it.
	// Default 64.
	MessageConcurrency int
	// MaxOutboundFrames and MaxOutboundBytes bound each connection's
	// outbound buffer: the frames (Management API posts, route responses,
	// error frames) accepted for the client and not yet written to its
	// socket, in order, by a writer goroutine that exists while frames
	// wait. A post that finds the buffer full (MaxOutboundFrames frames, or
	// its data would take the buffer past MaxOutboundBytes) is answered 429
	// LimitExceededException and nothing is queued, so a client that does
	// not read costs its senders a refusal instead of a blocked call; an
	// empty buffer takes any one frame. Default 64 frames and 1 MiB.
	MaxOutboundFrames, MaxOutboundBytes int
	// Now is the clock for event timestamps and SigV4 date checks. Timeouts
	// use Timers. Default time.Now.
	Now func() time.Time
	// Timers runs the idle timeout, the maximum duration and the pings of
	// each connection. Default: real time (time.AfterFunc).
	Timers Timers
	// Logger receives the gateway's logs. Default: discard.
	Logger *slog.Logger
}

// The defaults of Config.
const (
	DefaultStage                 = "local"
	DefaultAPIID                 = "local"
	DefaultRegion                = "us-east-1"
	DefaultAccountID             = "000000000000"
	DefaultAccessKeyID           = "local"
	DefaultSecretAccessKey       = "local"
	DefaultMaxFrameBytes         = 32 << 10
	DefaultMaxMessageBytes       = 128 << 10
	DefaultIdleTimeout           = 10 * time.Minute
	DefaultMaxConnectionDuration = 2 * time.Hour
	DefaultPingInterval          = 30 * time.Second
	DefaultDisconnectConcurrency = 8
	DefaultMessageConcurrency    = 64
	DefaultFunctionTimeout       = 10 * time.Second
	DefaultMaxOutboundFrames     = 64
	DefaultMaxOutboundBytes      = 1 << 20
)

// Gateway serves the WebSocket upgrade and the Management API. Create it
// with New; it is an http.Handler.
type Gateway struct {
	cfg        Config
	log        *slog.Logger
	connectARN string

	mu      sync.Mutex
	conns   map[string]*conn
	closing bool
	wg      sync.WaitGroup // upgrades in progress and live connections

	disconnecting chan struct{} // one token per running $disconnect
	invoking      chan struct{} // one token per running message route
	// waiting counts the invocations waiting for a token of disconnecting
	// and of invoking, for the tests.
	waitingDisconnect, waitingInvoke atomic.Int64
	mux                              *http.ServeMux
}

// New validates cfg, applies its defaults and returns a Gateway.
func New(cfg Config) (*Gateway, error) {
	var problems []string
	if cfg.Authorizer == nil {
		problems = append(problems, "Authorizer is required")
	}
	for key, r := range cfg.Routes {
		if r.Handler == nil {
			problems = append(problems, fmt.Sprintf("route %q has no handler", key))
		}
	}
	if cfg.MaxFrameBytes < 0 || cfg.MaxMessageBytes < 0 || cfg.IdleTimeout < 0 ||
		cfg.MaxConnectionDuration < 0 || cfg.PingInterval < 0 || cfg.FunctionTimeout < 0 || cfg.DisconnectConcurrency < 0 || cfg.MessageConcurrency < 0 ||
		cfg.MaxOutboundFrames < 0 || cfg.MaxOutboundBytes < 0 {
		problems = append(problems, "limits and durations must not be negative")
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("gateway config: %s", strings.Join(problems, "; "))
	}
	cfg.Stage = cmp.Or(cfg.Stage, DefaultStage)
	cfg.APIID = cmp.Or(cfg.APIID, DefaultAPIID)
	cfg.Region = cmp.Or(cfg.Region, DefaultRegion)
	cfg.AccountID = cmp.Or(cfg.AccountID, DefaultAccountID)
	cfg.AccessKeyID = cmp.Or(cfg.AccessKeyID, DefaultAccessKeyID)
	cfg.SecretAccessKey = cmp.Or(cfg.SecretAccessKey, DefaultSecretAccessKey)
	cfg.MaxFrameBytes = cmp.Or(cfg.MaxFrameBytes, DefaultMaxFrameBytes)
	cfg.MaxMessageBytes = cmp.Or(cfg.MaxMessageBytes, DefaultMaxMessageBytes)
	cfg.IdleTimeout = cmp.Or(cfg.IdleTimeout, DefaultIdleTimeout)
	cfg.MaxConnectionDuration = cmp.Or(cfg.MaxConnectionDuration, DefaultMaxConnectionDuration)
	cfg.PingInterval = cmp.Or(cfg.PingInterval, DefaultPingInterval)
	cfg.DisconnectConcurrency = cmp.Or(cfg.DisconnectConcurrency, DefaultDisconnectConcurrency)
	cfg.MessageConcurrency = cmp.Or(cfg.MessageConcurrency, DefaultMessageConcurrency)
	cfg.FunctionTimeout = cmp.Or(cfg.FunctionTimeout, DefaultFunctionTimeout)
	cfg.MaxOutboundFrames = cmp.Or(cfg.MaxOutboundFrames, DefaultMaxOutboundFrames)
	cfg.MaxOutboundBytes = cmp.Or(cfg.MaxOutboundBytes, DefaultMaxOutboundBytes)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Timers == nil {
		cfg.Timers = realTimers{}
	}
	g := &Gateway{
		cfg:        cfg,
		log:        cfg.Logger,
		connectARN: fmt.Sprintf("arn:aws:execute-api:%s:%s:%s/%s/%s", cfg.Region, cfg.AccountID, cfg.APIID, cfg.Stage, RouteConnect),
		conns:      make(map[string]*conn),

		disconnecting: make(chan struct{}, cfg.DisconnectConcurrency),
		invoking:      make(chan struct{}, cfg.MessageConcurrency),
		mux:           http.NewServeMux(),
	}
	g.mux.HandleFunc("/ws", g.serveUpgrade)
	g.mux.HandleFunc("/@connections/{id}", g.serveConnections)
	g.mux.HandleFunc("/{stage}/@connections/{id}", g.serveConnections)
	g.mux.HandleFunc("/", notFound)
	return g, nil
}

func notFound(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusNotFound, apiMessage{Message: "Not Found"})
}

// ServeHTTP serves GET /ws (the WebSocket upgrade) and /@connections/{id}
// (the Management API, also under /{stage}/@connections/{id}); anything else
// is 404.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !apigateway.CleanPath(r.URL.Path) {
		notFound(w, r)
		return
	}
	g.mux.ServeHTTP(w, r)
}

// ConnectionCount returns the number of open connections.
func (g *Gateway) ConnectionCount() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.conns)
}

// Shutdown refuses new connections (503), closes every client with 1001
// "Going away" and returns once $disconnect has run for each of them, or
// with ctx's error when ctx ends first. Management API calls are still
// answered meanwhile.
func (g *Gateway) Shutdown(ctx context.Context) error {
	g.mu.Lock()
	g.closing = true
	open := make([]*conn, 0, len(g.conns))
	for _, c := range g.conns {
		open = append(open, c)
	}
	g.mu.Unlock()

	for _, c := range open {
		c.close(websocketGoingAway, reasonGoingAway)
	}
	done := make(chan struct{})
	go func() {
		g.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("gateway shutdown: %w", ctx.Err())
	}
}

// begin registers an upgrade in progress; false when shutting down.
func (g *Gateway) begin() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closing {
		return false
	}
	g.wg.Add(1)
	return true
}

// register adds a connection whose $connect succeeded; false when the
// gateway is shutting down (the caller then closes it at once).
func (g *Gateway) register(c *conn) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.conns[c.id] = c
	return !g.closing
}

func (g *Gateway) unregister(c *conn) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.conns[c.id] == c {
		delete(g.conns, c.id)
	}
}

func (g *Gateway) lookup(id string) *conn {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.conns[id]
}

// Timers is a monotonic clock with timers. *time.Timer is a Timer.
type Timers interface {
	Now() time.Time
	// AfterFunc calls f in its own goroutine once d has passed.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a timer from Timers.AfterFunc.
type Timer interface {
	Stop() bool
	Reset(d time.Duration) bool
}

// realTimers are time.Now and time.AfterFunc.
type realTimers struct{}

func (realTimers) Now() time.Time                            { return time.Now() }
func (realTimers) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }
