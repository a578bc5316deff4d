package wsgateway

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"net"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"
)

// connBufferSize is the size of each of a connection's read, write and
// inspection buffers (net/http's are 4 KiB): an idle connection keeps them
// all its life.
const connBufferSize = 1024

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
	ic := &inspectedConn{Conn: nc, frames: w.frames}
	if brw.Reader.Buffered() > 0 {
		ic.pending = brw.Reader
	}
	// Small buffers: an idle connection keeps them for its lifetime, and
	// reads or writes larger than a buffer bypass it.
	return ic, bufio.NewReadWriter(bufio.NewReaderSize(ic, connBufferSize), bufio.NewWriterSize(nc, connBufferSize)), nil
}

// Unwrap returns the wrapped ResponseWriter (see http.ResponseController).
func (w *hijackWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// inspectedConn is a net.Conn whose reads pass through a frameInspector,
// which may hold bytes back (an incomplete close frame) or rewrite them.
type inspectedConn struct {
	net.Conn
	pending *bufio.Reader // read ahead by the HTTP server; drained first
	frames  *frameInspector

	scratch [connBufferSize]byte
	ready   []byte // inspected bytes not yet returned
	out     []byte // ready's storage, reused by every read
	err     error  // the read error to return once ready is drained
}

func (c *inspectedConn) Read(p []byte) (int, error) {
	for len(c.ready) == 0 && c.err == nil {
		var n int
		if c.pending != nil && c.pending.Buffered() > 0 {
			n, c.err = c.pending.Read(c.scratch[:min(len(c.scratch), c.pending.Buffered())])
		} else {
			c.pending = nil
			n, c.err = c.Conn.Read(c.scratch[:])
		}
		c.ready = c.frames.feed(c.out[:0], c.scratch[:n])
		c.out = c.ready[:0] // ready is sliced as it is read; out keeps its start
	}
	if len(c.ready) == 0 {
		return 0, c.err
	}
	n := copy(p, c.ready)
	c.ready = c.ready[n:]
	return n, nil
}

// maxControlPayload is the longest payload of a control frame (RFC 6455
// section 5.5).
const maxControlPayload = 125

// frameInspector follows the frame headers of a client-to-server WebSocket
// byte stream (RFC 6455 section 5.2). It calls onTooBig once when a data
// frame's payload is longer than limit, and it reads every close frame whole
// before passing it on: one whose reason is not valid UTF-8 is passed on as
// a close frame with code 1007 and no reason, so that coder/websocket answers
// 1007 (section 7.4.1) instead of echoing the invalid reason. It calls
// onClose, if set, before it passes on a close frame: coder/websocket
// answers a close frame as soon as it reads it. Reads of one connection are
// serialized by coder/websocket, so it needs no lock.
type frameInspector struct {
	limit    int64
	onTooBig func()
	onClose  func()

	header  [14]byte // the frame header being read
	n       int      // bytes of it seen so far
	payload uint64   // payload bytes of the current frame still to come
	held    []byte   // the close frame being read, header included
	closing bool     // the payload is a close frame's, held until complete
	tripped bool     // a frame was too big: the rest passes unread
	invalid int      // close frames passed on as 1007
}

// feed takes the next bytes of the stream and appends to dst those that may
// pass on.
func (f *frameInspector) feed(dst, b []byte) []byte {
	for len(b) > 0 {
		if f.tripped {
			return append(dst, b...)
		}
		if f.payload > 0 {
			take := min(uint64(len(b)), f.payload)
			f.payload -= take
			if !f.closing {
				dst, b = append(dst, b[:take]...), b[take:]
				continue
			}
			f.held, b = append(f.held, b[:take]...), b[take:]
			if f.payload == 0 {
				out, ok := checkClose(f.held)
				if !ok {
					f.invalid++
				}
				f.closeArrives()
				dst = append(dst, out...)
				f.held, f.closing = f.held[:0], false
			}
			continue
		}
		f.header[f.n] = b[0]
		f.n++
		b = b[1:]
		if f.n < 2 || f.n < headerLen(f.header[1]) {
			continue
		}
		header := f.header[:f.n]
		length := payloadLen(header)
		opcode := f.header[0] & 0x0f
		f.n = 0
		f.payload = length
		switch {
		case opcode < 8 && length > uint64(f.limit): // opcodes 0-7: continuation, text, binary, reserved
			f.tripped = true
			f.onTooBig()
			dst = append(dst, header...)
		case opcode == 8 && length >= 2 && length <= maxControlPayload:
			f.held, f.closing = append(f.held[:0], header...), true
		default:
			if opcode == 8 {
				f.closeArrives()
			}
			dst = append(dst, header...)
		}
	}
	return dst
}

func (f *frameInspector) closeArrives() {
	if f.onClose != nil {
		f.onClose()
	}
}

// checkClose returns a complete close frame as it may pass on: itself and
// true, or, when its reason is not valid UTF-8, a close frame with code 1007
// and no reason, masked with the same key, and false.
func checkClose(frame []byte) ([]byte, bool) {
	hl := headerLen(frame[1])
	var key [4]byte
	masked := frame[1]&0x80 != 0
	if masked {
		copy(key[:], frame[hl-4:hl])
	}
	payload := frame[hl:]
	reason := make([]byte, len(payload)-2)
	for i := range reason {
		reason[i] = payload[2+i] ^ key[(2+i)%4]
	}
	if utf8.Valid(reason) {
		return frame, true
	}
	out := []byte{frame[0], 2}
	if masked {
		out[1] |= 0x80
		out = append(out, key[:]...)
	}
	code := binary.BigEndian.AppendUint16(nil, uint16(websocket.StatusInvalidFramePayloadData))
	for i := range code {
		code[i] ^= key[i%4]
	}
	return append(out, code...), false
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
