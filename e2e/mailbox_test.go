package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/serverless-websockets/serverless-websockets/internal/domain"
	"github.com/serverless-websockets/serverless-websockets/internal/local"
	"github.com/serverless-websockets/serverless-websockets/internal/protocol"
)

// TestMailboxSenderQuota: one sender cannot fill an offline player's
// mailbox for everyone else. With a quota of three and the rate limits off,
// mallory's fourth message for offline bob is refused while alice's is still
// queued; once bob has read his inbox, mallory can queue again.
func TestMailboxSenderQuota(t *testing.T) {
	s := startStack(t, noLimits(), withEnv("MAILBOX_MAX_PER_SENDER", "3"))
	mallory, alice := s.dial("quota-mallory"), s.dial("quota-alice")
	if ids := s.connections("quota-bob"); len(ids) != 0 {
		t.Fatalf("quota-bob has rows %v", ids)
	}

	// queue sends body from c to offline bob and wants it queued.
	queue := func(c *client, body, id string) string {
		t.Helper()
		c.sendTo("quota-bob", body, id)
		return c.wantAck(id, protocol.StatusQueued, 0)
	}
	var want []frame // what bob's inbox should hand over, in order
	for i := range 3 {
		body := fmt.Sprintf("spam %d", i)
		id := queue(mallory, body, fmt.Sprintf("m-%d", i))
		want = append(want, frame{"id": id, "from": "quota-mallory", "message": body})
	}
	mallory.sendTo("quota-bob", "spam 3", "m-3")
	mallory.wantError("m-3", domain.CodeMailboxFull)

	id := queue(alice, "your move", "a-0")
	want = append(want, frame{"id": id, "from": "quota-alice", "message": "your move"})
	mallory.sendTo("quota-bob", "spam 4", "m-4")
	mallory.wantError("m-4", domain.CodeMailboxFull)

	bob := s.dial("quota-bob")
	bob.wantInbox("in-1", want)

	// Bob read everything: with him offline again mallory's quota is whole.
	s.leave(bob, "quota-bob")
	for i := 5; i < 8; i++ {
		queue(mallory, fmt.Sprintf("spam %d", i), fmt.Sprintf("m-%d", i))
	}
	mallory.sendTo("quota-bob", "spam 8", "m-8")
	mallory.wantError("m-8", domain.CodeMailboxFull)
	queue(alice, "still there?", "a-1")
}

// TestMailboxSenderQuotaOverTheCap: a quota larger than the mailbox is a
// configuration problem named when the stack starts.
func TestMailboxSenderQuotaOverTheCap(t *testing.T) {
	env := map[string]string{"MAILBOX_MAX_MESSAGES": "10", "MAILBOX_MAX_PER_SENDER": "11"}
	_, err := local.New(context.Background(), local.Options{
		BaseURL: "http://127.0.0.1:1",
		Getenv:  func(k string) string { return env[k] },
	})
	if err == nil || !strings.Contains(err.Error(), "MAILBOX_MAX_PER_SENDER") {
		t.Fatalf("local.New = %v, want a problem naming MAILBOX_MAX_PER_SENDER", err)
	}
}
