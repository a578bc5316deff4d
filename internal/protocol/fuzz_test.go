package protocol

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/serverless-websockets/serverless-websockets/internal/domain"
)

// FuzzParseRequest checks that no frame makes the parser panic, that every
// refusal is a bad_request, that an accepted frame was a JSON object of
// valid UTF-8 within the depth limit, and that the id to echo is always
// valid UTF-8.
func FuzzParseRequest(f *testing.F) {
	for _, seed := range []string{
		`{"action":"sendmessage","to":"bob","message":{"x":1},"id":"c-1"}`,
		`{"action":"sendmessage","message":"hi","playerId":"alice","destinationPlayerId":"bob"}`,
		`{"action":"presence","players":["bob","carol"]}`,
		`{"action":"ping","id":"p"}`,
		`{"action":"inbox"}`,
		`{"action":null}`, `{}`, `[]`, `null`, `"x"`, `1e999`, `{"a":`, "\xff\xfe", `{"players":{}}`,
		"{\"action\":\"sendmessage\",\"to\":\"bob\",\"message\":\"a\xff\xfeb\",\"id\":\"u1\"}",
		"{\"action\":\"sendmessage\",\"to\":\"b\xc3\",\"message\":1,\"id\":\"u2\"}",
		"{\"id\":\"\xed\xa0\x80\"}", `{"id":"\ud800"}`,
		`{"id":"d","message":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}`,
		`{"id":"d","message":` + strings.Repeat(`{"a":`, 20000) + `1` + strings.Repeat("}", 20000) + `}`,
		`{"to":7,"id":"s11"}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := ParseRequest(body)
		if !utf8.ValidString(r.ID) || len(r.ID) > MaxClientIDBytes {
			t.Fatalf("id to echo %q is not valid UTF-8 or too long", r.ID)
		}
		if err != nil {
			if domain.ErrorCode(err) != domain.CodeBadRequest {
				t.Fatalf("error code %s for %q", domain.ErrorCode(err), body)
			}
			return
		}
		if !utf8.Valid(body) || depth(body) > MaxDepth {
			t.Fatalf("accepted a frame of invalid UTF-8 or too deep: %q", body)
		}
		var obj map[string]json.RawMessage
		if json.Unmarshal(body, &obj) != nil || obj == nil {
			t.Fatalf("accepted a frame that is not a JSON object: %q", body)
		}
		if _, err := r.Recipient(); err != nil && domain.ErrorCode(err) != domain.CodeBadRequest {
			t.Fatalf("Recipient error code %s", domain.ErrorCode(err))
		}
		if r.Message != nil && !json.Valid(r.Message) {
			t.Fatalf("message is not valid JSON: %q", r.Message)
		}
		if m, err := CompactMessage(r.Message); err == nil && (!utf8.Valid(m) || !json.Valid(m)) {
			t.Fatalf("compact message %q is not valid UTF-8 JSON", m)
		}
	})
}
