package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/serverless-websockets/serverless-websockets/internal/domain"
	"github.com/serverless-websockets/serverless-websockets/internal/protocol"
	"github.com/serverless-websockets/serverless-websockets/internal/testsupport/poll"
)

// The rate limits through the whole stack: the gateway, the handlers, the
// limiter and its table in the embedded engine. Each test freezes the
// stack's clock, so no bucket refills unless the test advances it.

// retryAfterMs is an error frame's retryAfterMs (0 when absent).
func retryAfterMs(f frame) int64 {
	ms, _ := f["retryAfterMs"].(float64)
	return int64(ms)
}

// limiterRequests counts the DynamoDB requests only the rate limiter makes:
// UpdateItem and GetItem (the connections and mailbox store uses Query,
// PutItem and DeleteItem).
func limiterRequests(s *stack) int64 {
	r := s.DynamoDB.Requests()
	return r["UpdateItem"] + r["GetItem"]
}

// dialRefused dials with token, expecting the upgrade to be refused, and
// returns the HTTP status and the body's error frame.
func (s *stack) dialRefused(token string) (int, frame) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, resp, err := websocket.Dial(ctx, s.wsURL(token), nil)
	if err == nil {
		conn.CloseNow()
		s.t.Fatal("the upgrade was accepted, want it refused")
	}
	if resp == nil {
		s.t.Fatalf("dial failed without a response: %v", err)
	}
	return resp.StatusCode, decodeFrame([]byte(readAll(resp.Body)))
}

// hangUp closes c and waits until $disconnect has deleted every row of
// player, so that the per-player connection cap plays no part.
func (s *stack) hangUp(c *client, player string) {
	s.t.Helper()
	c.conn.Close(websocket.StatusNormalClosure, "")
	poll.Until(s.t, player+"'s rows are deleted", func() bool { return len(s.connections(player)) == 0 })
}

// TestMessageFlood: alice sends 100 messages to bob as fast as she can at a
// frozen instant. Exactly the burst is delivered, in order; every other
// message is refused with rate_limited and the wait one message takes to
// refill; the refusals cost no DynamoDB request (the deny cache); after that
// wait exactly one more message is admitted.
func TestMessageFlood(t *testing.T) {
	const n = 100
	tests := []struct {
		name        string
		opts        []option
		delivered   int
		retryAfter  int64 // ms, of every refusal
		maxLimiterR int64 // limiter requests allowed for the whole flood
	}{
		{name: "default limits", delivered: 20, retryAfter: 100, maxLimiterR: 20 + 2},
		{name: "burst of 5", opts: []option{withEnv("RATE_MESSAGES_BURST", "5")}, delivered: 5, retryAfter: 100, maxLimiterR: 5 + 2},
		{name: "2 per second", opts: []option{withEnv("RATE_MESSAGES_PER_SECOND", "2")}, delivered: 20, retryAfter: 500, maxLimiterR: 20 + 2},
		{name: "limits off", opts: []option{noLimits()}, delivered: n, maxLimiterR: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startStack(t, tt.opts...)
			bob := s.dial("bob")
			alice := s.dial("alice")
			s.Clock.Freeze()
			limiterBefore := limiterRequests(s)

			for i := range n {
				alice.sendTo("bob", map[string]any{"n": i}, fmt.Sprintf("m-%d", i))
			}
			var afterAdmitted int64 // all requests once the last admitted message was answered
			var lastRetry int64
			for i := range n {
				id := fmt.Sprintf("m-%d", i)
				if i < tt.delivered {
					alice.wantAck(id, protocol.StatusDelivered, 1)
					if i == tt.delivered-1 {
						afterAdmitted = s.DynamoDB.Total()
					}
					continue
				}
				lastRetry = retryAfterMs(alice.wantError(id, domain.CodeRateLimited))
				if lastRetry != tt.retryAfter {
					t.Fatalf("%s: retryAfterMs = %d, want %d", id, lastRetry, tt.retryAfter)
				}
			}
			if extra := s.DynamoDB.Total() - afterAdmitted; extra != 0 {
				t.Errorf("the %d refused messages made %d DynamoDB requests, want 0 (deny cache): %v", n-tt.delivered, extra, s.DynamoDB.Requests())
			}
			if got := limiterRequests(s) - limiterBefore; got > tt.maxLimiterR {
				t.Errorf("the limiter made %d requests for the flood, want at most %d", got, tt.maxLimiterR)
			}

			for i := range tt.delivered {
				f := bob.nextOf("message")
				if f["from"] != "alice" || f["message"].(map[string]any)["n"] != float64(i) {
					t.Fatalf("bob's message %d is %v", i, f)
				}
			}
			bob.quiet(200 * time.Millisecond)
			if tt.delivered == n {
				return
			}

			// One refill admits one message, and only one.
			s.Clock.Advance(time.Duration(lastRetry) * time.Millisecond)
			alice.sendTo("bob", "hi", "after-wait")
			alice.wantAck("after-wait", protocol.StatusDelivered, 1)
			if f := bob.nextOf("message"); f["message"] != "hi" {
				t.Fatalf("bob got %v", f)
			}
			alice.sendTo("bob", "hi", "again")
			if ms := retryAfterMs(alice.wantError("again", domain.CodeRateLimited)); ms != tt.retryAfter {
				t.Fatalf("retryAfterMs = %d, want %d", ms, tt.retryAfter)
			}
			bob.quiet(100 * time.Millisecond)
		})
	}
}

// TestByteRateLimit: with a 4096-byte burst, a player well under the
// message limit is refused once the bytes are spent; a message larger than
// the whole burst is too_large and charged nothing; a message small enough
// for what is left still passes.
func TestByteRateLimit(t *testing.T) {
	s := startStack(t, withEnv("RATE_BYTES_BURST", "4096"))
	bob := s.dial("bob")
	alice := s.dial("alice")
	s.Clock.Freeze()
	kb := strings.Repeat("x", 998) // 1000 bytes as compact JSON, with its quotes

	steps := []struct {
		id      string
		message any
		code    domain.Code // "" for delivered
	}{
		{"too-large", strings.Repeat("y", 5000), domain.CodeTooLarge}, // over the byte burst, under MAX_MESSAGE_BYTES
		{"kb-1", kb, ""},
		{"kb-2", kb, ""},
		{"kb-3", kb, ""},
		{"kb-4", kb, ""},
		{"kb-5", kb, domain.CodeRateLimited}, // 5 messages of 20, but 5000 bytes of 4096
		{"tiny", 1, ""},                      // 1 byte still fits in what is left
		{"kb-6", kb, domain.CodeRateLimited},
	}
	var retry int64
	for _, st := range steps {
		alice.sendTo("bob", st.message, st.id)
		if st.code == "" {
			alice.wantAck(st.id, protocol.StatusDelivered, 1)
			got, _ := json.Marshal(bob.nextOf("message")["message"])
			if want, _ := json.Marshal(st.message); string(got) != string(want) {
				t.Fatalf("bob got %.40s… for %s", got, st.id)
			}
			continue
		}
		retry = retryAfterMs(alice.wantError(st.id, st.code))
		if st.code == domain.CodeRateLimited && retry <= 0 {
			t.Fatalf("%s: retryAfterMs = %d, want > 0", st.id, retry)
		}
	}
	bob.quiet(100 * time.Millisecond)

	// Waiting as long as the refusal said admits the same message.
	s.Clock.Advance(time.Duration(retry) * time.Millisecond)
	alice.sendTo("bob", kb, "kb-after-wait") // after waiting as long as the refusal asked
	alice.wantAck("kb-after-wait", protocol.StatusDelivered, 1)
}

// TestConnectRateLimit: a reconnect loop at a frozen instant is refused with
// 429 at the eleventh upgrade (RATE_CONNECTS_PER_MINUTE defaults to 10);
// another player is unaffected; a tenth of a minute later one more
// connection is admitted, and only one.
func TestConnectRateLimit(t *testing.T) {
	s := startStack(t)
	s.Clock.Freeze()
	for i := range 10 {
		c, status, err := s.dialToken(s.token("alice", 3600))
		if err != nil {
			t.Fatalf("connection %d: status %d: %v", i+1, status, err)
		}
		s.hangUp(c, "alice")
	}
	status, f := s.dialRefused(s.token("alice", 3600))
	if status != http.StatusTooManyRequests || f["code"] != "rate_limited" || f["retryAfterMs"] != float64(6000) {
		t.Fatalf("eleventh connection: status %d, body %v; want 429 rate_limited after 6000 ms", status, f)
	}
	if ids := s.connections("alice"); len(ids) != 0 {
		t.Fatalf("a refused connection wrote rows %v", ids)
	}

	s.hangUp(s.dial("dave"), "dave")

	s.Clock.Advance(time.Minute / 10)
	s.hangUp(s.dial("alice"), "alice")
	if status, f := s.dialRefused(s.token("alice", 3600)); status != http.StatusTooManyRequests {
		t.Fatalf("second connection after one refill: status %d, body %v; want 429", status, f)
	}
}

// TestRateLimitsArePerPlayer: alice spends her burst; carol still sends her
// whole burst, bob can still answer alice, and alice stays limited.
func TestRateLimitsArePerPlayer(t *testing.T) {
	s := startStack(t)
	bob, alice, carol := s.dial("bob"), s.dial("alice"), s.dial("carol")
	s.Clock.Freeze()

	send := func(c *client, from string, n int, code domain.Code) {
		t.Helper()
		for i := range n {
			c.sendTo("bob", i, fmt.Sprintf("%s-%d", from, i))
		}
		for i := range n {
			id := fmt.Sprintf("%s-%d", from, i)
			if code == "" {
				c.wantAck(id, protocol.StatusDelivered, 1)
			} else {
				c.wantError(id, code)
			}
		}
	}
	send(alice, "alice", 20, "")
	send(alice, "alice-over", 5, domain.CodeRateLimited)
	send(carol, "carol", 20, "")

	from := map[string]int{}
	for range 40 {
		from[bob.nextOf("message")["from"].(string)]++
	}
	if from["alice"] != 20 || from["carol"] != 20 {
		t.Fatalf("bob got %v, want 20 from each", from)
	}

	bob.sendTo("alice", "hello alice", "reply")
	bob.wantAck("reply", protocol.StatusDelivered, 1)
	if f := alice.nextOf("message"); f["from"] != "bob" || f["message"] != "hello alice" {
		t.Fatalf("alice got %v", f)
	}
	alice.sendTo("bob", 1, "still-limited")
	alice.wantError("still-limited", domain.CodeRateLimited)
	bob.quiet(100 * time.Millisecond)
}
