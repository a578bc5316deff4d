package gateway

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"net"
	"net/http"
	"time"
)

// hijackWriter hands coder/websocket a hijacked connection whose incoming
// bytes pass through a frameInspector, so that the gateway sees the frame
// boundaries coder/websocket does not expose.
type hijackWriter struct {
	http.ResponseWriter
	frames *frameInspector
}

// Hijack hijacks the underlying connection. The bytes the HTTP server has
// already buffered are read through the inspector too: the returned
// bufio.Reader starts empty and reads from the inspected connection.
func (w *hijackWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	nc, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, fmt.Errorf("hijack: %w", err)
	}
	_ = nc.SetDeadline(time.Time{}) // the server's read/write timeouts do not apply to a WebSocket
	ic := &inspectedConn{Conn: nc, pending: brw.Reader, frames: w.frames}
	return ic, bufio.NewReadWriter(bufio.NewReader(ic), brw.Writer), nil
}

// Unwrap returns the wrapped ResponseWriter (see http.ResponseController).
func (w *hijackWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// inspectedConn is a net.Conn whose reads are shown to a frameInspector.
type inspectedConn struct {
	net.Conn
	pending *bufio.Reader // read ahead by the HTTP server; drained first
	frames  *frameInspector
}

func (c *inspectedConn) Read(p []byte) (int, error) {
	var n int
	var err error
	if c.pending != nil && c.pending.Buffered() > 0 {
		n, err = c.pending.Read(p[:min(len(p), c.pending.Buffered())])
	} else {
		c.pending = nil
		n, err = c.Conn.Read(p)
	}
	c.frames.observe(p[:n])
	return n, err
}

// frameInspector follows the frame headers of a client-to-server WebSocket
// byte stream (RFC 6455 section 5.2) without changing it, and calls onTooBig
// once when a data frame's payload is longer than limit. Reads of one
// connection are serialized by coder/websocket, so it needs no lock.
type frameInspector struct {
	limit    int64
	onTooBig func()

	header  [14]byte // the frame header being read
	n       int      // bytes of it seen so far
	payload uint64   // payload bytes of the current frame still to come
	tripped bool
}

// observe takes the next bytes of the stream.
func (f *frameInspector) observe(b []byte) {
	for len(b) > 0 && !f.tripped {
		if f.payload > 0 {
			skip := min(uint64(len(b)), f.payload)
			f.payload -= skip
			b = b[skip:]
			continue
		}
		f.header[f.n] = b[0]
		f.n++
		b = b[1:]
		if f.n < 2 || f.n < headerLen(f.header[1]) {
			continue
		}
		length := payloadLen(f.header[:f.n])
		isData := f.header[0]&0x08 == 0 // opcodes 0-7: continuation, text, binary, reserved
		f.n = 0
		if isData && length > uint64(f.limit) {
			f.tripped = true
			f.onTooBig()
			return
		}
		f.payload = length
	}
}

// headerLen returns the length of a frame header from its second byte.
func headerLen(b1 byte) int {
	n := 2
	switch b1 & 0x7f {
	case 126:
		n += 2
	case 127:
		n += 8
	}
	if b1&0x80 != 0 {
		n += 4 // masking key
	}
	return n
}

// payloadLen returns the payload length of a complete frame header.
func payloadLen(h []byte) uint64 {
	switch l := h[1] & 0x7f; l {
	case 126:
		return uint64(binary.BigEndian.Uint16(h[2:4]))
	case 127:
		return binary.BigEndian.Uint64(h[2:10])
	default:
		return uint64(l)
	}
}
