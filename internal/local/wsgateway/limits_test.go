package wsgateway

import (
	"bytes"
	"context"
	"encoding/binary"
	"strings"
	"testing"

	"github.com/coder/websocket"
)

// wireFrame encodes a client frame header (masked) followed by n payload
// bytes of 0xff, which look like a header with the largest lengths.
func wireFrame(opcode byte, fin bool, n int) []byte {
	var b []byte
	first := opcode
	if fin {
		first |= 0x80
	}
	b = append(b, first)
	switch {
	case n <= 125:
		b = append(b, 0x80|byte(n))
	case n <= 0xffff:
		b = append(b, 0x80|126)
		b = binary.BigEndian.AppendUint16(b, uint16(n))
	default:
		b = append(b, 0x80|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	b = append(b, 1, 2, 3, 4) // masking key
	return append(b, bytes.Repeat([]byte{0xff}, n)...)
}

// feedInChunks feeds stream to f in chunks of size bytes and returns what
// it passes on.
func feedInChunks(f *frameInspector, stream []byte, size int) []byte {
	var out []byte
	for rest := stream; len(rest) > 0; {
		n := min(size, len(rest))
		out = f.feed(out, rest[:n])
		rest = rest[n:]
	}
	return out
}

func TestFrameInspector(t *testing.T) {
	const (
		opCont, opText, opBinary, opPing = 0, 1, 2, 9
	)
	tests := []struct {
		name   string
		limit  int64
		frames [][]byte
		trips  bool
	}{
		{"small frames", 100, [][]byte{wireFrame(opText, true, 10), wireFrame(opBinary, true, 0)}, false},
		{"exactly the limit", 100, [][]byte{wireFrame(opText, true, 100), wireFrame(opText, true, 100)}, false},
		{"7-bit length over", 100, [][]byte{wireFrame(opText, true, 101)}, true},
		{"16-bit length over", 100, [][]byte{wireFrame(opText, true, 300)}, true},
		{"16-bit length at the limit", 300, [][]byte{wireFrame(opText, true, 300)}, false},
		{"64-bit length over", 66000, [][]byte{wireFrame(opBinary, true, 70000)}, true},
		{"64-bit length under", 70000, [][]byte{wireFrame(opBinary, true, 70000)}, false},
		{"continuation over", 100, [][]byte{wireFrame(opText, false, 100), wireFrame(opCont, true, 101)}, true},
		{"control frames are not data", 100, [][]byte{wireFrame(opPing, true, 125), wireFrame(opText, true, 5)}, false},
		{"over after many frames", 50, [][]byte{wireFrame(opText, true, 50), wireFrame(opPing, true, 3), wireFrame(opText, true, 49), wireFrame(opText, true, 51)}, true},
	}
	for _, tt := range tests {
		stream := bytes.Join(tt.frames, nil)
		for _, chunk := range []int{1, 2, 3, 7, 64, len(stream)} {
			trips := 0
			out := feedInChunks(&frameInspector{limit: tt.limit, onTooBig: func() { trips++ }}, stream, chunk)
			if !bytes.Equal(out, stream) {
				t.Errorf("%s, chunks of %d: the inspector changed the stream", tt.name, chunk)
			}
			if want := map[bool]int{false: 0, true: 1}[tt.trips]; trips != want {
				t.Errorf("%s, chunks of %d: onTooBig ran %d times, want %d", tt.name, chunk, trips, want)
			}
		}
	}
}

// closeFrame encodes a masked client close frame.
func closeFrame(code uint16, reason string) []byte {
	key := [4]byte{0x11, 0x22, 0x33, 0x44}
	payload := binary.BigEndian.AppendUint16(nil, code)
	payload = append(payload, reason...)
	b := []byte{0x88, 0x80 | byte(len(payload))}
	b = append(b, key[:]...)
	for i, c := range payload {
		b = append(b, c^key[i%4])
	}
	return b
}

func TestFrameInspectorChecksCloseReasons(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want []byte
	}{
		{"valid reason", closeFrame(1000, "bye"), closeFrame(1000, "bye")},
		{"no reason", closeFrame(1001, ""), closeFrame(1001, "")},
		{"invalid reason", closeFrame(1000, "a\xff\xfeb"), closeFrame(1007, "")},
		{"truncated UTF-8", closeFrame(4000, "\xe2\x82"), closeFrame(1007, "")},
		{"after a text frame", append(wireFrame(1, true, 3), closeFrame(1000, "\xc0")...), append(wireFrame(1, true, 3), closeFrame(1007, "")...)},
	}
	for _, tt := range tests {
		for _, chunk := range []int{1, 2, 5, len(tt.in)} {
			out := feedInChunks(&frameInspector{limit: 100, onTooBig: func() { t.Fatal("too big") }}, tt.in, chunk)
			if !bytes.Equal(out, tt.want) {
				t.Errorf("%s, chunks of %d: passed on %x, want %x", tt.name, chunk, out, tt.want)
			}
		}
	}
}

// writeFragmented writes one message as frames of the given sizes.
func writeFragmented(t *testing.T, c *websocket.Conn, sizes ...int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	w, err := c.Writer(ctx, websocket.MessageText)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range sizes {
		if _, err := w.Write([]byte(strings.Repeat("x", n))); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestSizeLimits(t *testing.T) {
	const frame, message = 1024, 4096
	tests := []struct {
		name   string
		frames []int // frame sizes of one message
		closes bool
	}{
		{"one frame at the limit", []int{frame}, false},
		{"one frame over", []int{frame + 1}, true},
		{"fragments up to the message limit", []int{frame, frame, frame, frame}, false},
		{"fragments over the message limit", []int{frame, frame, frame, frame, 1}, true},
		{"a later fragment over the frame limit", []int{10, frame + 1}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, func(c *Config) { c.MaxFrameBytes, c.MaxMessageBytes = frame, message })
			c := h.dial("alice", nil)
			writeFragmented(t, c, tt.frames...)
			total := 0
			for _, n := range tt.frames {
				total += n
			}
			if !tt.closes {
				if got := receive(t, c); got != "$default:"+strings.Repeat("x", total) {
					t.Errorf("echo has %d bytes, want %d", len(got), len("$default:")+total)
				}
				return
			}
			checkClosed(t, h, c, websocket.StatusMessageTooBig, "Message too big")
			if n := len(h.rec.events(RouteDefault)); n != 0 {
				t.Errorf("the oversized message reached $default")
			}
			h.shutdownAndCheckDisconnects()
		})
	}
}

func TestDefaultFrameLimit(t *testing.T) {
	h := newHarness(t, nil)
	c := h.dial("alice", nil)
	c.SetReadLimit(-1)
	if got := exchange(t, c, strings.Repeat("y", 32<<10)); len(got) != len("$default:")+32<<10 {
		t.Fatalf("32 KiB frame: echo of %d bytes", len(got))
	}
	send(t, c, strings.Repeat("y", 32<<10+1))
	if err := readUntilClosed(t, c); websocket.CloseStatus(err) != websocket.StatusMessageTooBig {
		t.Errorf("32 KiB + 1 frame: client saw %v, want 1009", err)
	}
}
