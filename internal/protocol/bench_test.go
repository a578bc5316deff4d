package protocol

import (
	"encoding/json"
	"strings"
	"testing"
)

// BenchmarkParseRequest compares ParseRequest, with its UTF-8, depth and id
// checks, with decoding the frame into its fields alone, on a small move and
// on a message near the 8 KiB cap.
func BenchmarkParseRequest(b *testing.B) {
	frames := map[string][]byte{
		"small": []byte(`{"action":"sendmessage","to":"bob","message":{"move":"e4","n":[1,2]},"id":"c-17"}`),
		"8KiB": []byte(`{"action":"sendmessage","to":"bob","id":"c-18","message":{"board":[` +
			strings.TrimSuffix(strings.Repeat(`{"sq":"e4","piece":"knight ♞","tags":[1,2,3]},`, 170), ",") + `]}}`),
	}
	for _, name := range []string{"small", "8KiB"} {
		body := frames[name]
		b.Run(name+"/ParseRequest", func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if _, err := ParseRequest(body); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/decode-only", func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				var fields map[string]json.RawMessage
				if err := json.Unmarshal(body, &fields); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
