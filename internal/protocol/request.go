package protocol

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/serverless-websockets/serverless-websockets/internal/domain"
)

// MaxClientIDBytes is the longest correlation id ("id") a client may send.
const MaxClientIDBytes = 128

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
// when the body is not a JSON object or a known field has the wrong type; it
// never panics, whatever the input.
func ParseRequest(body []byte) (Request, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil || fields == nil {
		return Request{}, domain.Errorf(domain.CodeBadRequest, "the frame is not a JSON object")
	}
	var r Request
	for _, f := range []struct {
		key string
		dst *string
	}{
		{"action", &r.Action},
		{"id", &r.ID},
		{"to", &r.To},
		{"destinationPlayerId", &r.DestinationPlayerID},
		{"playerId", &r.PlayerID},
	} {
		raw, ok := fields[f.key]
		if !ok || isNull(raw) {
			continue
		}
		if err := json.Unmarshal(raw, f.dst); err != nil {
			return Request{}, domain.Errorf(domain.CodeBadRequest, "%q must be a string", f.key)
		}
	}
	if len(r.ID) > MaxClientIDBytes {
		r.ID = "" // never echo an oversized id
		return r, domain.Errorf(domain.CodeBadRequest, "\"id\" is longer than %d bytes", MaxClientIDBytes)
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

// Recipient returns the recipient named by "to" or its alias
// "destinationPlayerId", validated as a player id.
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
	if err := domain.ValidatePlayerID(to); err != nil {
		return "", domain.Errorf(domain.CodeBadRequest, "\"to\" is not a valid player id")
	}
	return to, nil
}

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

// CompactMessage returns the message with insignificant white space removed,
// which is the size the message cap measures.
func CompactMessage(raw json.RawMessage) (json.RawMessage, error) {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return nil, fmt.Errorf("compact message: %w", err)
	}
	return b.Bytes(), nil
}
