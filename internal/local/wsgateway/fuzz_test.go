package wsgateway

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzRouteKey checks route selection against a decoding of its own: the
// route is the top-level string "action" when it names a selectable route,
// $default otherwise, and no body makes it fail.
func FuzzRouteKey(f *testing.F) {
	for _, seed := range []string{
		`{"action":"sendmessage","to":"bob","message":"hi"}`,
		`{"action":"ping"}`,
		`{"action":"$connect"}`,
		`{"action":"$disconnect"}`,
		`{"action":"sendmessage","action":"nope"}`,
		`{"action":1}`,
		`{"action":{"action":"ping"}}`,
		`{"ACTION":"ping"}`,
		`{"action":"p\u0069ng"}`,
		`{"action":"ping\u0000"}`,
		`["ping"]`,
		`null`,
		`{"action":"ping"`,
		"\xff\xfe{\"action\":\"ping\"}",
		``,
		`hello`,
	} {
		f.Add([]byte(seed))
	}
	routes := map[string]Route{"sendmessage": {}, "ping": {}, RouteDefault: {}, RouteConnect: {}, RouteDisconnect: {}}
	f.Fuzz(func(t *testing.T, body []byte) {
		got := routeKey(body, routes)
		want := RouteDefault
		var obj map[string]any
		if err := json.Unmarshal(body, &obj); err == nil {
			if action, ok := obj["action"].(string); ok && action != RouteConnect && action != RouteDisconnect {
				if _, ok := routes[action]; ok {
					want = action
				}
			}
		}
		if got != want {
			t.Errorf("routeKey(%q) = %q, want %q", body, got, want)
		}
	})
}

// FuzzFrameInspector feeds arbitrary byte streams to the frame inspector,
// whole and one byte at a time: it must not fail, must reach the same
// verdict and pass on the same bytes either way, and must pass the stream on
// unchanged (or a prefix of it, while a frame is incomplete) unless it
// rewrote a close frame with an invalid reason.
func FuzzFrameInspector(f *testing.F) {
	f.Add([]byte{0x81, 0x85, 1, 2, 3, 4, 'h', 'e', 'l', 'l', 'o'}, uint16(4))
	f.Add(append([]byte{0x82, 0xfe, 0x01, 0x00, 1, 2, 3, 4}, bytes.Repeat([]byte{0}, 256)...), uint16(255))
	f.Add([]byte{0x02, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, uint16(1000))
	f.Add([]byte{0x89, 0x80, 1, 2, 3, 4, 0x80, 0x81, 1, 2, 3, 4, 'x'}, uint16(0))
	f.Add(closeFrame(1000, "\xff\xfe"), uint16(100))
	f.Add(append(closeFrame(1000, "bye"), wireFrame(1, true, 3)...), uint16(100))
	f.Fuzz(func(t *testing.T, stream []byte, limit uint16) {
		whole, bytewise := 0, 0
		a := &frameInspector{limit: int64(limit), onTooBig: func() { whole++ }}
		outA := a.feed(nil, stream)
		b := &frameInspector{limit: int64(limit), onTooBig: func() { bytewise++ }}
		outB := feedInChunks(b, stream, 1)
		if !bytes.Equal(outA, outB) {
			t.Fatalf("passed on %x whole, %x byte by byte", outA, outB)
		}
		if a.invalid == 0 && !bytes.HasPrefix(stream, outA) {
			t.Fatalf("changed a stream without an invalid close reason: %x became %x", stream, outA)
		}
		if a.invalid != b.invalid {
			t.Fatalf("%d invalid close frames whole, %d byte by byte", a.invalid, b.invalid)
		}
		if whole > 1 || whole != bytewise {
			t.Errorf("onTooBig ran %d times on the whole stream, %d byte by byte", whole, bytewise)
		}
		if !a.tripped && (a.n != b.n || a.payload != b.payload) {
			t.Errorf("states differ: %d/%d header bytes, %d/%d payload bytes", a.n, b.n, a.payload, b.payload)
		}
	})
}
