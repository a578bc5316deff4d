package handlers

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sync"
	"time"
)

// MessageIDs makes server message ids that sort in the order they were made
// within one process: 19 digits of Unix nanoseconds, strictly increasing,
// then 8 random hex digits so that two processes never collide. Mailbox
// entries are kept in id order, so a player's queued messages from one
// sender come back in the order they were sent.
type MessageIDs struct {
	mu   sync.Mutex
	last int64
}

// New returns the next id for a message made at now.
func (g *MessageIDs) New(now time.Time) string {
	g.mu.Lock()
	ns := max(now.UnixNano(), g.last+1)
	g.last = ns
	g.mu.Unlock()
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%019d-%s", ns, hex.EncodeToString(b[:]))
}
