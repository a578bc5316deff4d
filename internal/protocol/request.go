package protocol

import (
	"bytes"
	"encoding/json"
	"fmt"
	"unicode/utf8"

	"github.com/serverless-websockets/serverless-websockets/internal/domain"
)

// MaxClientIDBytes is the longest correlation id ("id") a client may send.
const MaxClientIDBytes = 128

// MaxDepth is how deeply a frame may nest arrays and objects, the frame's
// own object counting as the first level: {"message":{"a":[1]}} is 3 deep.
const MaxDepth = 32

// Request is a client frame, read field by field with exact (case-sensitive)
// key names, as API Gateway reads $request.body.action.
type Request struct {
	Action string // "" when absent
	ID     string // the client's correlation id, echoed in replies

	To                  string          // recipient ("to")
	DestinationPlayerID string          // recipient, prototype form ("destinationPlayerId")
	PlayerID            string          // the claimed sender, prototype form ("playerId")
	Message             json.RawMessage // nil when absent; "null" when null
	Players             []string        // presence
	HasPlayers          bool            // "players" was present
}

// ParseRequest reads a client frame. It fails with a bad_request *domain.Error
// when the body is not valid UTF-8, nests deeper than MaxDepth, is not a JSON
// object, or a known field has the wrong type; it never panics, whatever the
// input. The client's "id" is read first, on its own, so that the returned
// Request carries it with every error it can be echoed with: whenever the
// body is a JSON object whose "id" is a valid UTF-8 string of at most
// MaxClientIDBytes.
func ParseRequest(body []byte) (Request, error) {
	var fields map[string]json.RawMessage
	objErr := json.Unmarshal(body, &fields)
	var r Request
	switch {
	case objErr == nil && fields != nil:
		if err := decodeString(fields, "id", &r.ID); err != nil {
			r.ID = "" // never echo an id that is not a clean string
			return r, err
		}
	case objErr != nil && utf8.Valid(body):
		// Deeper than encoding/json goes (10000): read the id alone.
		r.ID = topLevelID(body)
	}
	if len(r.ID) > MaxClientIDBytes {
		r.ID = "" // never echo an oversized id
		return r, domain.Errorf(domain.CodeBadRequest, "\"id\" is longer than %d bytes", MaxClientIDBytes)
	}
	if !utf8.Valid(body) {
		return r, domain.Errorf(domain.CodeBadRequest, "the frame is not valid UTF-8")
	}
	if depth(body) > MaxDepth {
		return r, domain.Errorf(domain.CodeBadRequest, "the frame nests arrays and objects more than %d deep", MaxDepth)
	}
	if objErr != nil || fields == nil {
		return r, domain.Errorf(domain.CodeBadRequest, "the frame is not a JSON object")
	}
	for _, f := range []struct {
		key string
		dst *string
	}{
		{"action", &r.Action},
		{"to", &r.To},
		{"destinationPlayerId", &r.DestinationPlayerID},
		{"playerId", &r.PlayerID},
	} {
		if err := decodeString(fields, f.key, f.dst); err != nil {
			return r, err
		}
	}
	if raw, ok := fields["message"]; ok {
		r.Message = raw
	}
	if raw, ok := fields["players"]; ok && !isNull(raw) {
		r.HasPlayers = true
		if err := json.Unmarshal(raw, &r.Players); err != nil {
			return r, domain.Errorf(domain.CodeBadRequest, "\"players\" must be an array of strings")
		}
	}
	return r, nil
}

// decodeString sets *dst to the string field key, when present and not
// null. A field of another type, or one whose raw bytes are not valid UTF-8
// (which encoding/json would quietly replace), is a bad_request.
func decodeString(fields map[string]json.RawMessage, key string, dst *string) error {
	raw, ok := fields[key]
	if !ok || isNull(raw) {
		return nil
	}
	if !utf8.Valid(raw) {
		return domain.Errorf(domain.CodeBadRequest, "%q is not valid UTF-8", key)
	}
	if err := json.Unmarshal(raw, dst); err != nil {
		return domain.Errorf(domain.CodeBadRequest, "%q must be a string", key)
	}
	return nil
}

// topLevelID returns the string "id" of a JSON object read token by token,
// which does not limit nesting, or "" when there is none or the object
// breaks off before it.
func topLevelID(body []byte) string {
	dec := json.NewDecoder(bytes.NewReader(body))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return ""
	}
	level, key := 1, true
	for level > 0 {
		t, err := dec.Token()
		if err != nil {
			return ""
		}
		switch t {
		case json.Delim('{'), json.Delim('['):
			level++
		case json.Delim('}'), json.Delim(']'):
			level--
		}
		if level != 1 || t == json.Delim('}') || t == json.Delim(']') {
			key = level == 1 // a nested value just ended: a key comes next
			continue
		}
		if key && t == "id" {
			if v, err := dec.Token(); err == nil {
				if id, ok := v.(string); ok {
					return id
				}
			}
			return ""
		}
		key = !key
	}
	return ""
}

// depth returns how deeply b nests arrays and objects, outside strings. It
// reads any bytes: the caller decides separately whether b is JSON.
func depth(b []byte) int {
	d, deepest := 0, 0
	inString, escaped := false, false
	for _, c := range b {
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			d++
			deepest = max(deepest, d)
		case c == '}' || c == ']':
			d--
		}
	}
	return deepest
}

// Recipient returns the recipient named by "to" or its alias
// "destinationPlayerId", validated as a player id and in canonical form.
func (r Request) Recipient() (string, error) {
	to := r.To
	switch {
	case to == "":
		to = r.DestinationPlayerID
	case r.DestinationPlayerID != "" && r.DestinationPlayerID != to:
		return "", domain.Errorf(domain.CodeBadRequest, "\"to\" and \"destinationPlayerId\" name different players")
	}
	if to == "" {
		return "", domain.Errorf(domain.CodeBadRequest, "\"to\" is required")
	}
	to, err := domain.NormalizePlayerID(to)
	if err != nil {
		return "", domain.Errorf(domain.CodeBadRequest, "\"to\" is not a valid player id")
	}
	return to, nil
}

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

// CompactMessage returns the message with insignificant white space removed,
// which is the size the message cap measures. It fails when raw is not
// valid UTF-8 JSON nesting at most MaxDepth levels, so what it returns is
// safe to store and to post in a text frame.
func CompactMessage(raw json.RawMessage) (json.RawMessage, error) {
	if !utf8.Valid(raw) {
		return nil, fmt.Errorf("compact message: not valid UTF-8")
	}
	if depth(raw) > MaxDepth {
		return nil, fmt.Errorf("compact message: nests more than %d deep", MaxDepth)
	}
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return nil, fmt.Errorf("compact message: %w", err)
	}
	return b.Bytes(), nil
}
