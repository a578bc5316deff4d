package domain

import (
	"encoding/json"
	"time"
)

// Connection is one live WebSocket connection of a player.
type Connection struct {
	ID          string    // API Gateway connection id
	PlayerID    string    // the token's player
	ConnectedAt time.Time // when $connect ran
	ExpiresAt   time.Time // connectedAt + maximum duration + margin; the TTL
	SourceIP    string
	UserAgent   string
}

// Live reports whether the connection has not yet expired at now. An expired
// row is treated as absent everywhere, because neither the local engines nor
// DynamoDB delete expired items promptly.
func (c Connection) Live(now time.Time) bool { return now.Before(c.ExpiresAt) }

// QueuedMessage is a message kept in a player's mailbox while that player
// was offline.
type QueuedMessage struct {
	To        string          // recipient player id
	ID        string          // server message id; sorts in queue order
	From      string          // sender player id
	Message   json.RawMessage // the message as the sender sent it
	SentAt    time.Time
	ExpiresAt time.Time // the TTL
}

// MaxPresencePlayers is the most players one presence request asks about.
const MaxPresencePlayers = 50

// Defaults of the settings of connections and mailboxes. internal/config
// names them for its variables and the handlers and the store apply them to
// zero options; they live here so that config needs neither.
const (
	// DefaultConnectionTTL is API Gateway's 2-hour maximum connection
	// duration plus a margin: a row that outlives it belongs to a
	// connection that is certainly gone.
	DefaultConnectionTTL           = 2*time.Hour + 10*time.Minute
	DefaultMaxConnectionsPerPlayer = 5
	DefaultMaxMessageBytes         = 8 << 10 // of a message's compact JSON
	DefaultMailboxTTL              = 24 * time.Hour
	DefaultMailboxMaxMessages      = 100
	DefaultMailboxMaxPerSender     = 20
)
