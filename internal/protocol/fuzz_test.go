package protocol

import (
	"encoding/json"
	"testing"

	"github.com/serverless-websockets/serverless-websockets/internal/domain"
)

// FuzzParseRequest checks that no frame makes the parser panic, that every
// refusal is a bad_request, and that an accepted frame was a JSON object.
func FuzzParseRequest(f *testing.F) {
	for _, seed := range []string{
		`{"action":"sendmessage","to":"bob","message":{"x":1},"id":"c-1"}`,
		`{"action":"sendmessage","message":"hi","playerId":"alice","destinationPlayerId":"bob"}`,
		`{"action":"presence","players":["bob","carol"]}`,
		`{"action":"ping","id":"p"}`,
		`{"action":"inbox"}`,
		`{"action":null}`, `{}`, `[]`, `null`, `"x"`, `1e999`, `{"a":`, "\xff\xfe", `{"players":{}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := ParseRequest(body)
		if err != nil {
			if domain.ErrorCode(err) != domain.CodeBadRequest {
				t.Fatalf("error code %s for %q", domain.ErrorCode(err), body)
			}
			return
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
	})
}
