package wsgateway

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/coder/websocket"

	"github.com/serverless-websockets/serverless-websockets/internal/local/apigateway"
)

const (
	// queueSize is how many messages of one connection may wait for their
	// handler before the gateway stops reading from that client.
	queueSize = 16
	// writeTimeout bounds the write of one frame to a client; a client
	// that does not read for this long is dropped.
	writeTimeout = 10 * time.Second

	websocketGoingAway = websocket.StatusGoingAway
	reasonGoingAway    = "Going away"
	reasonTooBig       = "Message too big"
	reasonInvalidUTF8  = "Invalid UTF-8"
)

// closeStatus is why a connection ended: $disconnect's
// disconnectStatusCode and disconnectReason.
type closeStatus struct {
	code   websocket.StatusCode
	reason string
}

// inbound is one message from a client.
type inbound struct {
	data   []byte
	binary bool
	at     time.Time // Config.Now when it arrived
}

// outbound is one frame for a client.
type outbound struct {
	typ  websocket.MessageType
	data []byte
}

// errOutboundFull is why send refuses a frame when the connection's
// outbound buffer is full.
var errOutboundFull = errors.New("outbound buffer full")

// conn is one open WebSocket connection.
type conn struct {
	g           *Gateway
	id          string
	identity    identity
	domainName  string
	connectedAt time.Time      // Config.Now at the upgrade request
	authorizer  map[string]any // requestContext.authorizer; read-only once set
	log         *slog.Logger
	ws          *websocket.Conn // set before ready is closed; nil if the upgrade failed
	ready       chan struct{}   // closed once the upgrade has finished or failed
	stop        chan struct{}   // closed once the connection is closing

	started     time.Time    // Config.Timers' time of the upgrade, for timeouts
	lastActive  atomic.Int64 // Config.Now of the last client message, UnixNano
	lastMessage atomic.Int64 // Config.Timers' time of the last client message, as time since started
	queue       chan inbound
	workMu      sync.Mutex     // guards working
	working     bool           // a worker goroutine is running
	workers     sync.WaitGroup // the worker, if any

	outMu      sync.Mutex
	out        []outbound     // frames waiting for the writer, oldest first
	outBytes   int            // their payload bytes
	closeAfter *closeStatus   // the close the writer makes once out is written
	writing    bool           // a writer goroutine is running
	inFlight   bool           // the writer is writing a frame taken from out
	peerClosed bool           // the client's close frame has arrived: send refuses
	flushed    chan struct{}  // closed by the writer once out is written, for flushBeforeClose
	room       chan struct{}  // closed by the writer when it takes a frame, for replyTo
	sealed     bool           // serve is waiting for the writer: no new one starts
	writers    sync.WaitGroup // the writer, if any

	mu     sync.Mutex
	status *closeStatus // set once, by the first cause of the end
	// serverClosed is set when the Management API deleted the connection
	// (a kick or ban, token_expired): its queued frames are dropped. A
	// connection the client closed, or that timed out or was shut down,
	// still has them handled, as API Gateway still invokes the routes of
	// frames it accepted.
	serverClosed atomic.Bool
}

func newConn(g *Gateway, r *http.Request) *conn {
	c := &conn{
		g:           g,
		id:          newID(),
		identity:    requestIdentity(r),
		domainName:  r.Host,
		connectedAt: g.cfg.Now(),
		ready:       make(chan struct{}),
		stop:        make(chan struct{}),
		queue:       make(chan inbound, queueSize),
	}
	c.log = g.log.With("connectionId", c.id)
	c.lastActive.Store(c.connectedAt.UnixNano())
	return c
}

// serve runs an upgraded, registered connection until it ends, then runs
// $disconnect. An idle connection holds this goroutine only: its timers run
// on the runtime's timer heap, its handlers on a worker goroutine that
// exists while messages are waiting, and its writes on a writer goroutine
// that exists while frames are waiting.
func (c *conn) serve() {
	c.started = c.g.cfg.Timers.Now()
	disarm := c.supervise()

	st := c.read()
	disarm()
	c.g.unregister(c)
	c.workers.Wait()
	c.outMu.Lock()
	c.sealed = true // the socket is closed: what is left is discarded
	c.outMu.Unlock()
	c.writers.Wait()
	c.g.disconnect(c, st)
}

// enqueue hands a message to the connection's worker, starting one if none
// is running. It blocks while the queue is full (back-pressure on the
// client) and gives up when the connection is closing.
func (c *conn) enqueue(m inbound) {
	select {
	case c.queue <- m:
	case <-c.stop:
		return
	}
	c.workMu.Lock()
	defer c.workMu.Unlock()
	if !c.working {
		c.working = true
		c.workers.Go(c.work)
	}
}

// read reads client messages into the queue until the connection ends, and
// returns once the socket is closed.
func (c *conn) read() closeStatus {
	for {
		typ, data, err := c.ws.Read(context.Background())
		if err != nil {
			st := c.ended(err)
			c.closeSocket(st) // completes or waits for the close handshake
			return st
		}
		if c.closing() {
			continue // read while closing, e.g. the rest of an oversized frame: discarded
		}
		if typ == websocket.MessageText && !utf8.Valid(data) {
			// RFC 6455 section 8.1: a text message that is not UTF-8 fails
			// the connection, before any handler sees it.
			c.log.Info("text message is not valid UTF-8; closing", "status", int(websocket.StatusInvalidFramePayloadData))
			c.close(websocket.StatusInvalidFramePayloadData, reasonInvalidUTF8)
			continue
		}
		now := c.g.cfg.Now()
		c.lastActive.Store(now.UnixNano())
		c.lastMessage.Store(int64(c.g.cfg.Timers.Now().Sub(c.started)))
		c.enqueue(inbound{data: data, binary: typ == websocket.MessageBinary, at: now})
	}
}

// ended records the end of the connection, unless the server already chose
// it, and returns its status.
func (c *conn) ended(err error) closeStatus {
	st := closeStatus{code: websocket.StatusAbnormalClosure}
	var ce websocket.CloseError
	switch {
	case errors.As(err, &ce):
		st = closeStatus{code: ce.Code, reason: ce.Reason}
	case errors.Is(err, websocket.ErrMessageTooBig):
		st = closeStatus{code: websocket.StatusMessageTooBig, reason: reasonTooBig}
	}
	if !c.setStatus(st) {
		c.mu.Lock()
		defer c.mu.Unlock()
		return *c.status
	}
	if st.code == websocket.StatusAbnormalClosure {
		c.log.Debug("connection lost", "error", err)
	}
	return st
}

func (c *conn) closing() bool {
	select {
	case <-c.stop:
		return true
	default:
		return false
	}
}

// close closes the connection, the first cause winning: with a close
// frame, written after the frames already in the outbound buffer, or at
// once without one for a code that no frame may carry (1006 drops the
// socket).
func (c *conn) close(code websocket.StatusCode, reason string) {
	st := closeStatus{code: code, reason: reason}
	if !c.setStatus(st) {
		return
	}
	if !validWireCode(code) {
		go func() {
			if c.upgraded() {
				c.closeSocket(st)
			}
		}()
		return
	}
	c.outMu.Lock()
	defer c.outMu.Unlock()
	c.closeAfter = &st
	c.startWriter()
}

// closeSocket closes the socket with a close frame of st, or without one
// when st's code may not be sent.
func (c *conn) closeSocket(st closeStatus) {
	if validWireCode(st.code) {
		_ = c.ws.Close(st.code, st.reason)
	} else {
		_ = c.ws.CloseNow()
	}
}

// upgraded waits for the upgrade to finish and reports whether it succeeded.
func (c *conn) upgraded() bool {
	<-c.ready
	return c.ws != nil
}

func (c *conn) setStatus(st closeStatus) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.status != nil {
		return false
	}
	c.status = &st
	close(c.stop)
	return true
}

// validWireCode reports whether code may be sent in a close frame.
func validWireCode(code websocket.StatusCode) bool {
	switch code {
	case websocket.StatusNoStatusRcvd, websocket.StatusAbnormalClosure, websocket.StatusTLSHandshake:
		return false
	}
	return code >= 1000 && code <= 4999
}

// supervise arms the idle timeout, the maximum duration and the pings on
// timers, so that an idle connection needs no goroutine for them; the
// returned func disarms them. The next ping is sent an interval after the
// previous one was answered.
func (c *conn) supervise() (disarm func()) {
	cfg := c.g.cfg
	var (
		mu                     sync.Mutex
		disarmed               bool
		idle, maxDuration, png Timer
	)
	rearm := func(t Timer, d time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		if !disarmed {
			t.Reset(d)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	idle = cfg.Timers.AfterFunc(cfg.IdleTimeout, func() {
		quiet := cfg.Timers.Now().Sub(c.started) - time.Duration(c.lastMessage.Load())
		if quiet >= cfg.IdleTimeout {
			c.log.Info("idle timeout")
			c.close(websocketGoingAway, reasonGoingAway)
			return
		}
		rearm(idle, cfg.IdleTimeout-quiet)
	})
	maxDuration = cfg.Timers.AfterFunc(cfg.MaxConnectionDuration, func() {
		c.log.Info("maximum connection duration reached")
		c.close(websocketGoingAway, reasonGoingAway)
	})
	png = cfg.Timers.AfterFunc(cfg.PingInterval, func() {
		ctx, cancel := context.WithTimeout(context.Background(), cfg.PingInterval)
		err := c.ws.Ping(ctx)
		cancel()
		if c.closing() {
			return
		}
		if err != nil {
			c.log.Info("no pong; dropping the connection")
			c.close(websocket.StatusAbnormalClosure, "")
			return
		}
		rearm(png, cfg.PingInterval)
	})
	return func() {
		mu.Lock()
		defer mu.Unlock()
		disarmed = true
		idle.Stop()
		maxDuration.Stop()
		png.Stop()
	}
}

// work runs the handlers of the connection's queued messages, in order,
// and returns once the queue is empty. Once the Management API has deleted
// the connection (a kick or ban, token_expired) it drops what is still
// queued instead, and so does a frame still waiting for an invocation
// slot: a deleted connection's frames must not act for it. The handler
// running at that moment finishes. Frames of a connection the client
// closed, or that ended otherwise, are still handled.
func (c *conn) work() {
	dropped := 0
	defer func() {
		if dropped > 0 {
			c.log.Debug("queued messages dropped: the connection is closing", "dropped", dropped)
		}
	}()
	for {
		select {
		case m := <-c.queue:
			if c.serverClosed.Load() || !c.dispatch(m) {
				dropped++
			}
			continue
		default:
		}
		c.workMu.Lock()
		if len(c.queue) == 0 {
			c.working = false
			c.workMu.Unlock()
			return
		}
		c.workMu.Unlock()
	}
}

// apiError is the frame API Gateway sends a client when a route cannot be
// run or fails.
type apiError struct {
	Message      string `json:"message"`
	ConnectionID string `json:"connectionId"`
	RequestID    string `json:"requestId"`
}

// dispatch routes one message and runs its handler. It reports false,
// having run nothing, when the server closed the connection while the
// message waited for an invocation slot.
func (c *conn) dispatch(m inbound) bool {
	key := RouteDefault
	if !m.binary {
		key = routeKey(m.data, c.g.cfg.Routes)
	}
	requestID := newID()
	route, ok := c.g.cfg.Routes[key]
	if !ok {
		c.log.Info("no route", "route", key, "requestId", requestID, "status", http.StatusForbidden)
		c.sendError("Forbidden", requestID)
		return true
	}
	acquire(c.g.invoking, &c.g.waitingInvoke)
	if c.serverClosed.Load() {
		<-c.g.invoking
		return false
	}
	resp, err := call(c.g, requestID, route.Handler, c.g.messageEvent(c, key, requestID, m))
	<-c.g.invoking
	if err != nil {
		c.log.Error("route failed", "route", key, "requestId", requestID, "status", http.StatusInternalServerError, "error", err)
		c.sendError("Internal server error", requestID)
		return true
	}
	c.log.Debug("message handled", "route", key, "requestId", requestID, "status", resp.StatusCode)
	if !route.RouteResponse || resp.Body == "" {
		return true
	}
	typ, body := websocket.MessageText, []byte(resp.Body)
	if resp.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(resp.Body)
		if err != nil {
			c.log.Error("route response is not base64", "route", key, "requestId", requestID)
			c.sendError("Internal server error", requestID)
			return true
		}
		typ, body = websocket.MessageBinary, b
	}
	if err := c.reply(typ, body); err != nil {
		c.log.Debug("route response not delivered", "route", key, "requestId", requestID, "error", err)
	}
	return true
}

func (c *conn) sendError(message, requestID string) {
	b, err := json.Marshal(apiError{Message: message, ConnectionID: c.id, RequestID: requestID})
	if err == nil {
		err = c.reply(websocket.MessageText, b)
	}
	if err != nil {
		c.log.Debug("error frame not delivered", "requestId", requestID, "error", err)
	}
}

// send queues one frame for the client, after every frame queued before
// it, and starts the writer if none is running. It refuses the frame
// (errOutboundFull) when the outbound buffer is full, and (net.ErrClosed)
// once the connection is closing or the client's close frame has arrived.
// An empty buffer takes any one frame.
func (c *conn) send(typ websocket.MessageType, data []byte) error {
	c.outMu.Lock()
	defer c.outMu.Unlock()
	return c.sendLocked(typ, data)
}

// sendLocked is send with outMu held.
func (c *conn) sendLocked(typ websocket.MessageType, data []byte) error {
	if c.closing() || c.peerClosed {
		return fmt.Errorf("write to connection %s: %w", c.id, net.ErrClosed)
	}
	if len(c.out) > 0 && (len(c.out) >= c.g.cfg.MaxOutboundFrames || c.outBytes+len(data) > c.g.cfg.MaxOutboundBytes) {
		return fmt.Errorf("write to connection %s: %d frames, %d bytes waiting: %w", c.id, len(c.out), c.outBytes, errOutboundFull)
	}
	c.out = append(c.out, outbound{typ: typ, data: data})
	c.outBytes += len(data)
	c.startWriter()
	return nil
}

// reply queues the answer to one of the client's own frames. Where a post
// to a full buffer is refused (LimitExceededException), a reply waits for
// room, at most writeTimeout: a client that sends faster than it reads is
// slowed down (its next frame waits for this one's answer), and loses no
// answer, while the posts of other players to it are refused.
func (c *conn) reply(typ websocket.MessageType, data []byte) error {
	deadline := time.NewTimer(writeTimeout)
	defer deadline.Stop()
	for {
		c.outMu.Lock()
		err := c.sendLocked(typ, data)
		if !errors.Is(err, errOutboundFull) {
			c.outMu.Unlock()
			return err
		}
		if c.room == nil {
			c.room = make(chan struct{})
		}
		room := c.room
		c.outMu.Unlock()
		select {
		case <-room:
		case <-c.stop:
		case <-deadline.C:
			return err
		}
	}
}

// startWriter starts the writer goroutine unless it runs already. outMu
// must be held.
func (c *conn) startWriter() {
	if !c.writing && !c.sealed {
		c.writing = true
		c.writers.Go(c.write)
	}
}

// write writes the queued frames in order, each within writeTimeout, then
// the queued close, and returns once nothing is left. A write that fails
// drops the connection (1006), and the frames after it are discarded, as
// they are when the upgrade failed.
func (c *conn) write() {
	broken := !c.upgraded()
	for {
		c.outMu.Lock()
		c.inFlight = false
		if len(c.out) == 0 {
			c.out = nil
			if c.flushed != nil {
				close(c.flushed)
				c.flushed = nil
			}
			st := c.closeAfter
			c.closeAfter = nil
			if st == nil {
				c.writing = false
				c.outMu.Unlock()
				return
			}
			c.outMu.Unlock()
			if !broken {
				c.closeSocket(*st) // send refuses frames from now on
			}
			continue
		}
		m := c.out[0]
		c.out[0] = outbound{}
		c.out = c.out[1:]
		c.outBytes -= len(m.data)
		c.inFlight = true
		if c.room != nil {
			close(c.room)
			c.room = nil
		}
		c.outMu.Unlock()
		if broken {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
		err := c.ws.Write(ctx, m.typ, m.data)
		cancel()
		if err != nil {
			c.log.Info("write to client failed; dropping the connection", "error", err)
			c.setStatus(closeStatus{code: websocket.StatusAbnormalClosure})
			_ = c.ws.CloseNow()
			broken = true
		}
	}
}

// flushBeforeClose runs when the client's close frame arrives, before
// coder/websocket reads it and answers with its own close frame: from then
// on send refuses frames, and it returns once the frames already accepted
// have been written (or the connection dropped), so that a client reading
// until the server's close frame gets every frame a post was answered 200
// for.
func (c *conn) flushBeforeClose() {
	c.outMu.Lock()
	c.peerClosed = true
	if len(c.out) == 0 && !c.inFlight {
		c.outMu.Unlock()
		return
	}
	done := make(chan struct{})
	c.flushed = done
	c.outMu.Unlock()
	<-done
}

// acquire takes a token of sem, counting itself in waiting until it has one.
func acquire(sem chan struct{}, waiting *atomic.Int64) {
	select {
	case sem <- struct{}{}:
		return
	default:
	}
	waiting.Add(1)
	sem <- struct{}{}
	waiting.Add(-1)
}

// call invokes the authorizer or a route handler with a Lambda context
// carrying requestID and ending after the function timeout.
func call[Req, Resp any](g *Gateway, requestID string, fn func(context.Context, Req) (Resp, error), req Req) (Resp, error) {
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: requestID})
	return apigateway.Invoke(ctx, g.cfg.FunctionTimeout, fn, req)
}

// disconnect runs the $disconnect route for a connection that has ended.
func (g *Gateway) disconnect(c *conn, st closeStatus) {
	route, ok := g.cfg.Routes[RouteDisconnect]
	if !ok {
		c.log.Info("disconnected", "disconnectStatusCode", int(st.code))
		return
	}
	acquire(g.disconnecting, &g.waitingDisconnect)
	defer func() { <-g.disconnecting }()
	requestID := newID()
	resp, err := call(g, requestID, route.Handler, g.disconnectEvent(c, requestID, st))
	if err != nil {
		c.log.Error("route failed", "route", RouteDisconnect, "requestId", requestID, "disconnectStatusCode", int(st.code), "error", err)
		return
	}
	c.log.Info("disconnected", "route", RouteDisconnect, "requestId", requestID, "disconnectStatusCode", int(st.code), "status", resp.StatusCode)
}
