package e2e

import (
	"slices"
	"testing"

	"github.com/serverless-websockets/serverless-websockets/internal/protocol"
)

// TestPlayerIDsAreCaseInsensitive: "Alice" and "alice" are one player, as
// they are one user in a case-insensitive Cognito pool: whatever case the
// token, "to", "players" or "playerId" use, messages reach the one player.
func TestPlayerIDsAreCaseInsensitive(t *testing.T) {
	s := startStack(t)
	bob := s.dial("bob")
	alice := s.dial("Alice") // the token's claim says Alice

	alice.sendTo("BOB", map[string]any{"move": "e4"}, "c-1")
	alice.wantAck("c-1", "delivered", 1)
	if f := bob.nextOf(protocol.TypeMessage); f["from"] != "alice" {
		t.Fatalf("bob got %v, want a message from alice", f)
	}

	if got := bob.askPresence("ALICE", "Carol"); !slices.Equal(got, []string{"alice"}) {
		t.Fatalf("presence = %v, want [alice]", got)
	}

	// The prototype's form names the sender; another case of the same
	// player is the same player, not forbidden.
	alice.send(map[string]any{"action": "sendmessage", "playerId": "ALICE", "destinationPlayerId": "Bob", "message": "hi", "id": "c-2"})
	alice.wantAck("c-2", "delivered", 1)
}
