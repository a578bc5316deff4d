package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// Client-side error kinds, counted beside the protocol's error codes.
const (
	errClosed     = "connection_closed" // the connection ended while a reply was awaited
	errWrite      = "write_failed"      // a frame could not be written
	errAckTimeout = "ack_timeout"       // no reply within -ack-timeout
	errBadFrame   = "bad_frame"         // the server sent something that is not a JSON frame
)

// errKind is a failure of the transport rather than a refusal by the server.
type errKind struct {
	kind string
	err  error
}

func (e *errKind) Error() string {
	if e.err == nil {
		return e.kind
	}
	return e.kind + ": " + e.err.Error()
}

func (e *errKind) Unwrap() error { return e.err }

// body is the message a player sends. T is read on the sender's monotonic
// clock: nanoseconds since the run started.
type body struct {
	Run string `json:"run"`
	Seq int    `json:"seq"`
	T   int64  `json:"t"`
}

// reply is any server frame, with the fields the load generator reads.
type reply struct {
	Type         string          `json:"type"`
	ID           string          `json:"id"`
	MessageID    string          `json:"messageId"`
	Status       string          `json:"status"`
	Code         string          `json:"code"`
	RetryAfterMs int64           `json:"retryAfterMs"`
	Delivered    int             `json:"delivered"`
	Message      json.RawMessage `json:"message"`

	at time.Time // when it was read
}

// player is one WebSocket client. Its read loop hands replies to the
// requests waiting for them and records the messages it receives.
type player struct {
	id      string
	idx     int
	offline bool // offline during the send phase
	rec     *recorder

	conn    *websocket.Conn
	mu      sync.Mutex
	pending map[string]chan reply
	active  atomic.Int64  // when the last frame arrived, unix nanoseconds
	done    chan struct{} // closed when the read loop ends
	err     error         // why it ended; read after done
}

// dial connects p with token and starts its read loop. It returns the HTTP
// status of a refused upgrade.
func (p *player) dial(ctx context.Context, hc *http.Client, wsURL string) (int, error) {
	conn, resp, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{HTTPClient: hc})
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		return status, fmt.Errorf("dial %s: %w", p.id, err)
	}
	conn.SetReadLimit(1 << 20)
	p.conn = conn
	p.pending = map[string]chan reply{}
	p.done = make(chan struct{})
	go p.readLoop()
	return http.StatusSwitchingProtocols, nil
}

func (p *player) readLoop() {
	defer close(p.done)
	for {
		_, data, err := p.conn.Read(context.Background())
		if err != nil {
			p.err = err
			return
		}
		now := time.Now()
		p.active.Store(now.UnixNano())
		var r reply
		if err := json.Unmarshal(data, &r); err != nil {
			p.rec.clientError(errBadFrame)
			continue
		}
		r.at = now
		switch r.Type {
		case "message":
			var b body
			if err := json.Unmarshal(r.Message, &b); err != nil || b.Run != p.rec.run {
				p.rec.foreignMessage()
				continue
			}
			p.rec.receive(p, b.Seq, now.Sub(p.rec.start)-time.Duration(b.T))
		default:
			p.mu.Lock()
			ch := p.pending[r.ID]
			delete(p.pending, r.ID)
			p.mu.Unlock()
			if ch != nil {
				ch <- r
			}
		}
	}
}

// request writes frame, whose id is id, and waits for the reply with that
// id. It returns the reply and the time from writing to reading it. It gives
// up when no frame at all has arrived on the connection for ackTimeout, so
// an inbox request that is still delivering messages is waited for.
func (p *player) request(ctx context.Context, id string, frame any, ackTimeout time.Duration) (reply, time.Duration, error) {
	data, err := json.Marshal(frame)
	if err != nil {
		return reply{}, 0, fmt.Errorf("encode frame %s: %w", id, err)
	}
	ch := make(chan reply, 1)
	p.mu.Lock()
	p.pending[id] = ch
	p.mu.Unlock()
	forget := func() {
		p.mu.Lock()
		delete(p.pending, id)
		p.mu.Unlock()
	}
	// The write has its own deadline: a cancelled write would close the
	// connection, and the end of the run must still close it normally.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ackTimeout)
	defer cancel()
	sent := time.Now()
	if err := p.conn.Write(wctx, websocket.MessageText, data); err != nil {
		forget()
		return reply{}, 0, &errKind{errWrite, err}
	}
	timer := time.NewTimer(ackTimeout)
	defer timer.Stop()
	for {
		select {
		case r := <-ch:
			return r, r.at.Sub(sent), nil
		case <-p.done:
			forget()
			return reply{}, 0, &errKind{errClosed, p.err}
		case <-ctx.Done():
			forget()
			return reply{}, 0, ctx.Err()
		case <-timer.C:
			last := time.Unix(0, p.active.Load())
			if last.Before(sent) {
				last = sent
			}
			if quiet := time.Since(last); quiet < ackTimeout {
				timer.Reset(ackTimeout - quiet)
				continue
			}
			forget()
			return reply{}, 0, &errKind{errAckTimeout, nil}
		}
	}
}

// close closes the connection normally, so the stack runs $disconnect.
func (p *player) close() {
	if p.conn == nil {
		return
	}
	if err := p.conn.Close(websocket.StatusNormalClosure, "load test done"); err != nil {
		p.conn.CloseNow()
	}
}

// connected reports whether p has a connection.
func (p *player) connected() bool { return p.conn != nil }

// transportKind returns the client-side error kind of err, if it is one.
func transportKind(err error) (string, bool) {
	var k *errKind
	if errors.As(err, &k) {
		return k.kind, true
	}
	return "", false
}
