package protocol

import (
	"encoding/json"
	"errors"
	"time"
	"unicode/utf8"

	"github.com/serverless-websockets/serverless-websockets/internal/domain"
)

// Frame types the server sends.
const (
	TypeMessage  = "message"
	TypeAck      = "ack"
	TypeError    = "error"
	TypePong     = "pong"
	TypeInbox    = "inbox"
	TypePresence = "presence"
)

// Ack statuses.
const (
	StatusDelivered = "delivered" // posted to at least one live connection of the recipient
	StatusQueued    = "queued"    // kept in the recipient's mailbox until it asks for its inbox
)

// Message delivers a player's message.
type Message struct {
	Type    string          `json:"type"`
	ID      string          `json:"id"`
	From    string          `json:"from"`
	Message json.RawMessage `json:"message"`
	SentAt  string          `json:"sentAt"`
}

// Ack acknowledges a sendmessage.
type Ack struct {
	Type        string `json:"type"`
	ID          string `json:"id,omitempty"`
	MessageID   string `json:"messageId"`
	Status      string `json:"status"`
	Connections int    `json:"connections"`
}

// Error reports a refused frame. Message is fixed, client-safe text.
type Error struct {
	Type         string `json:"type"`
	ID           string `json:"id,omitempty"`
	Code         string `json:"code"`
	Message      string `json:"message"`
	RetryAfterMs int64  `json:"retryAfterMs,omitempty"`
	Until        string `json:"until,omitempty"` // banned: when the ban ends (RFC 3339); absent for a ban until lifted
}

// Pong answers ping.
type Pong struct {
	Type       string `json:"type"`
	ID         string `json:"id,omitempty"`
	ServerTime string `json:"serverTime"`
}

// Inbox closes an inbox delivery.
type Inbox struct {
	Type      string `json:"type"`
	ID        string `json:"id,omitempty"`
	Delivered int    `json:"delivered"`
}

// Presence answers presence.
type Presence struct {
	Type   string   `json:"type"`
	ID     string   `json:"id,omitempty"`
	Online []string `json:"online"`
}

// FormatTime is how times appear in frames: RFC 3339 in UTC with milliseconds.
func FormatTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z07:00") }

// NewMessage makes a message frame.
func NewMessage(id, from string, msg json.RawMessage, sentAt time.Time) Message {
	return Message{Type: TypeMessage, ID: id, From: from, Message: msg, SentAt: FormatTime(sentAt)}
}

// ErrorFrame translates err into the error frame a client sees: its code and
// client-safe message, never the internal cause. This is the one place that
// maps domain errors to frames.
func ErrorFrame(clientID string, err error) Error {
	f := Error{Type: TypeError, ID: clientID, Code: string(domain.ErrorCode(err)), Message: domain.ErrorMessage(err)}
	if e, ok := asDomain(err); ok && e.RetryAfter > 0 {
		// Rounded up: a client that waits retryAfterMs is then admitted.
		f.RetryAfterMs = int64((e.RetryAfter + time.Millisecond - 1) / time.Millisecond)
	}
	if e, ok := asDomain(err); ok && !e.Until.IsZero() {
		f.Until = e.Until.UTC().Format(time.RFC3339)
	}
	return f
}

// Encode marshals a frame. Frames are plain structs of strings, numbers and
// raw JSON that was already validated, so it cannot fail in practice; a
// failure yields an internal error frame rather than nothing. Whatever it
// returns is valid UTF-8: a frame that would not be (raw JSON holding
// invalid bytes) is replaced by the internal error frame too, since a client
// fails the whole connection on a text frame that is not UTF-8.
func Encode(frame any) []byte {
	b, err := json.Marshal(frame)
	if err != nil || !utf8.Valid(b) {
		b, _ = json.Marshal(Error{Type: TypeError, Code: string(domain.CodeInternal), Message: "internal error"})
	}
	return b
}

func asDomain(err error) (*domain.Error, bool) {
	var e *domain.Error
	ok := errors.As(err, &e)
	return e, ok
}
