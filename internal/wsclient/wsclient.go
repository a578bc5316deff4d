// Package wsclient is a small client of the messaging protocol over a real
// WebSocket: it dials with a token, writes request frames, matches each reply
// to its request by the echoed id, and hands every other frame (a delivered
// message) to a callback. One read loop per connection; requests may be made
// from many goroutines at once. Against the local stack, DevToken fetches a
// development token and StackURL names its WebSocket API.
package wsclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"
)

// Kinds of client-side failure, reported beside the protocol's error codes.
const (
	KindClosed  = "connection_closed" // the connection ended while a reply was awaited
	KindWrite   = "write_failed"      // the frame could not be written
	KindTimeout = "ack_timeout"       // the connection stayed silent for the request's quiet limit
)

// Error is a failure of the transport rather than a refusal by the server.
type Error struct {
	Kind string
	Err  error
}

func (e *Error) Error() string {
	if e.Err == nil {
		return e.Kind
	}
	return e.Kind + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// Frame is any server frame, with the fields clients read.
type Frame struct {
	Type         string          `json:"type"`
	ID           string          `json:"id"`
	Status       string          `json:"status"`
	Code         string          `json:"code"`
	RetryAfterMs int64           `json:"retryAfterMs"`
	Delivered    int             `json:"delivered"`
	Online       []string        `json:"online"`
	Message      json.RawMessage `json:"message"`

	At  time.Time `json:"-"` // when it was read
	Raw []byte    `json:"-"` // the frame as read
}

// Options configure Dial. Zero values take the documented defaults.
type Options struct {
	// HTTPClient dials; default http.DefaultClient.
	HTTPClient *http.Client
	// OnMessage receives every frame of type "message", on the read loop.
	OnMessage func(Frame)
	// OnUnmatched receives any other frame no request waits for, and frames
	// that are not JSON objects (with Type empty), on the read loop.
	OnUnmatched func(Frame, []byte)
}

// Conn is one client connection.
type Conn struct {
	ws      *websocket.Conn
	o       Options
	mu      sync.Mutex
	pending map[string]chan Frame
	active  atomic.Int64  // when the last frame arrived, unix nanoseconds
	done    chan struct{} // closed when the read loop ends
	err     error         // why it ended; read after done
}

// Dial connects to url (which carries the token) and starts the read loop,
// which reads frames of up to 1 MiB. A refused upgrade returns its HTTP status with the error; any other
// failure returns status 0.
func Dial(ctx context.Context, url string, o Options) (*Conn, int, error) {
	ws, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPClient: o.HTTPClient})
	if err != nil {
		if resp == nil {
			return nil, 0, fmt.Errorf("dial: %w", err)
		}
		return nil, resp.StatusCode, refusal(resp)
	}
	ws.SetReadLimit(1 << 20)
	c := &Conn{ws: ws, o: o, pending: map[string]chan Frame{}, done: make(chan struct{})}
	c.active.Store(time.Now().UnixNano())
	go c.readLoop()
	return c, http.StatusSwitchingProtocols, nil
}

func (c *Conn) readLoop() {
	defer close(c.done)
	for {
		typ, data, err := c.ws.Read(context.Background())
		if err != nil {
			c.err = err
			return
		}
		if typ == websocket.MessageText && !utf8.Valid(data) {
			// What a browser does: fail the connection.
			c.err = fmt.Errorf("the server sent a text frame that is not valid UTF-8: %q", data)
			c.ws.CloseNow()
			return
		}
		now := time.Now()
		c.active.Store(now.UnixNano())
		var f Frame
		if err := json.Unmarshal(data, &f); err != nil {
			if c.o.OnUnmatched != nil {
				c.o.OnUnmatched(Frame{At: now, Raw: data}, data)
			}
			continue
		}
		f.At, f.Raw = now, data
		if f.Type == "message" {
			if c.o.OnMessage != nil {
				c.o.OnMessage(f)
			}
			continue
		}
		c.mu.Lock()
		ch := c.pending[f.ID]
		delete(c.pending, f.ID)
		c.mu.Unlock()
		switch {
		case ch != nil:
			ch <- f
		case c.o.OnUnmatched != nil:
			c.o.OnUnmatched(f, data)
		}
	}
}

// Request writes frame, whose id is id, and waits for the reply carrying
// that id. It returns the reply and when the frame was written. It gives up
// with KindTimeout once no frame at all has arrived on the connection for
// quiet, so a request whose reply follows a long stream of messages (an
// inbox) is still waited for; with KindClosed when the connection ends; and
// with ctx's error when ctx ends. Ids must be unique among the requests in
// flight.
func (c *Conn) Request(ctx context.Context, id string, frame any, quiet time.Duration) (Frame, time.Time, error) {
	data, err := json.Marshal(frame)
	if err != nil {
		return Frame{}, time.Time{}, fmt.Errorf("encode frame %s: %w", id, err)
	}
	ch := make(chan Frame, 1)
	c.mu.Lock()
	c.pending[id] = ch
	c.mu.Unlock()
	defer func() { // a no-op once the read loop has handed the reply over
		c.mu.Lock()
		delete(c.pending, id)
		c.mu.Unlock()
	}()
	// The write has its own deadline: a cancelled write would close the
	// connection, and the caller must still be able to close it normally.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), quiet)
	defer cancel()
	sent := time.Now()
	if err := c.Write(wctx, data); err != nil {
		return Frame{}, sent, err
	}
	timer := time.NewTimer(quiet)
	defer timer.Stop()
	for {
		select {
		case f := <-ch:
			return f, sent, nil
		case <-c.done:
			return Frame{}, sent, &Error{KindClosed, c.err}
		case <-ctx.Done():
			return Frame{}, sent, ctx.Err()
		case <-timer.C:
			last := time.Unix(0, c.active.Load())
			if last.Before(sent) {
				last = sent
			}
			if q := time.Since(last); q < quiet {
				timer.Reset(quiet - q)
				continue
			}
			return Frame{}, sent, &Error{KindTimeout, nil}
		}
	}
}

// Done is closed when the connection has ended.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Err returns why the connection ended (websocket.CloseStatus reads the
// server's close code from it); nil before Done is closed.
func (c *Conn) Err() error {
	select {
	case <-c.done:
		return c.err
	default:
		return nil
	}
}

// Write writes data as one text frame, as it is.
func (c *Conn) Write(ctx context.Context, data []byte) error {
	if err := c.ws.Write(ctx, websocket.MessageText, data); err != nil {
		return &Error{KindWrite, err}
	}
	return nil
}

// Socket returns the WebSocket connection itself, for frames of other
// types or a close with a chosen status. Reading from it is the read
// loop's alone.
func (c *Conn) Socket() *websocket.Conn { return c.ws }

// Close closes the connection normally (status 1000), so the server runs
// its disconnect handling, and waits for the read loop to end.
func (c *Conn) Close() error {
	err := c.ws.Close(websocket.StatusNormalClosure, "")
	if err != nil {
		c.ws.CloseNow()
	}
	<-c.done
	if err != nil {
		return fmt.Errorf("close: %w", err)
	}
	return nil
}

// Kind returns the client-side failure kind of err, if it is one.
func Kind(err error) (string, bool) {
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Kind, true
	}
	return "", false
}

// StackURL is the WebSocket API of the local stack at base
// (http://host:port): its /ws, to which ?token= is added.
func StackURL(base string) string {
	return "ws" + strings.TrimPrefix(strings.TrimRight(base, "/"), "http") + "/ws"
}

// DevToken asks the development issuer of the local stack at base for a
// token of player (of the issuer's default lifetime, an hour), over hc, within
// 10 seconds.
func DevToken(ctx context.Context, hc *http.Client, base, player string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	base = strings.TrimRight(base, "/")
	body, _ := json.Marshal(map[string]string{"playerId": player})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/dev/token", bytes.NewReader(body))
	if err != nil {
		return "", fmt.Errorf("token for %s: %w", player, err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return "", fmt.Errorf("token for %s: %w", player, err)
	}
	defer resp.Body.Close()
	var out struct {
		Token string `json:"token"`
		Error string `json:"error"`
	}
	derr := json.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&out)
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return "", fmt.Errorf("token for %s: %s has no /dev/token (does it trust an external issuer?)", player, base)
	case resp.StatusCode != http.StatusOK:
		return "", fmt.Errorf("token for %s: HTTP %d %s", player, resp.StatusCode, out.Error)
	case derr != nil:
		return "", fmt.Errorf("token for %s: unreadable answer: %w", player, derr)
	case out.Token == "":
		return "", fmt.Errorf("token for %s: the answer holds no token", player)
	}
	return out.Token, nil
}

// RefusedError is a refused upgrade: its HTTP status and, when the body
// was an error frame (a ban's, for one), its code and message.
type RefusedError struct {
	Status        int
	Code, Message string
}

func (e *RefusedError) Error() string {
	if e.Code == "" {
		return fmt.Sprintf("connect refused: HTTP %d", e.Status)
	}
	return fmt.Sprintf("connect refused: HTTP %d: %s: %s", e.Status, e.Code, e.Message)
}

// refusal reads a refused upgrade's answer (its first 4 KiB).
func refusal(resp *http.Response) error {
	e := &RefusedError{Status: resp.StatusCode}
	var f struct{ Code, Message string }
	if resp.Body != nil {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
		if json.Unmarshal(body, &f) == nil && utf8.ValidString(f.Code+f.Message) {
			e.Code, e.Message = strings.ToValidUTF8(f.Code, ""), f.Message
		}
	}
	return e
}
