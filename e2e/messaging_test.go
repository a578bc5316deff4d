package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/serverless-websockets/serverless-websockets/internal/domain"
	"github.com/serverless-websockets/serverless-websockets/internal/protocol"
	"github.com/serverless-websockets/serverless-websockets/internal/testsupport/poll"
)

// outgoing is a sendmessage frame with client id to player to.
func outgoing(to, id string, message any) map[string]any {
	return map[string]any{"action": "sendmessage", "to": to, "id": id, "message": message}
}

// sendTo sends message to player with the correlation id id.
func (c *client) sendTo(to string, message any, id string) {
	c.t.Helper()
	c.send(outgoing(to, id, message))
}

// wantAck reads the next frame: an ack of id with status and connections.
// It returns the server's message id.
func (c *client) wantAck(id, status string, connections int) string {
	c.t.Helper()
	f := c.nextOf(protocol.TypeAck)
	if f["id"] != id && !(id == "" && f["id"] == nil) {
		c.t.Fatalf("ack %v: id %v, want %q", f, f["id"], id)
	}
	if f["status"] != status || f["connections"] != float64(connections) {
		c.t.Fatalf("ack %v: want status %s, connections %d", f, status, connections)
	}
	msgID, _ := f["messageId"].(string)
	if msgID == "" {
		c.t.Fatalf("ack %v has no messageId", f)
	}
	return msgID
}

// wantError reads the next frame: an error of id with code.
func (c *client) wantError(id string, code domain.Code) frame {
	c.t.Helper()
	f := c.nextOf(protocol.TypeError)
	if f["code"] != string(code) {
		c.t.Fatalf("error frame %v: want code %s", f, code)
	}
	if f["id"] != id && !(id == "" && f["id"] == nil) {
		c.t.Fatalf("error frame %v: id %v, want %q", f, f["id"], id)
	}
	if m, _ := f["message"].(string); m == "" {
		c.t.Fatalf("error frame %v has no message", f)
	}
	return f
}

// wantMessage reads the next frame: a message from from carrying body, sent
// at sentAt (when not zero). It returns the server's message id.
func (c *client) wantMessage(from string, body any, sentAt time.Time) string {
	c.t.Helper()
	f := c.nextOf(protocol.TypeMessage)
	want := frame{"type": protocol.TypeMessage, "from": from, "message": roundTrip(c.t, body), "id": f["id"], "sentAt": f["sentAt"]}
	if !sentAt.IsZero() {
		want["sentAt"] = protocol.FormatTime(sentAt)
	}
	if !reflect.DeepEqual(f, want) {
		c.t.Fatalf("message frame %v, want %v", f, want)
	}
	id, _ := f["id"].(string)
	at, _ := f["sentAt"].(string)
	if id == "" || at == "" {
		c.t.Fatalf("message frame %v has no id or sentAt", f)
	}
	if _, err := time.Parse(time.RFC3339Nano, at); err != nil {
		c.t.Fatalf("message frame %v: sentAt: %v", f, err)
	}
	return id
}

// pingPong shows the connection is open and served: a ping gets its pong.
func (c *client) pingPong(id string) frame {
	c.t.Helper()
	c.send(map[string]any{"action": "ping", "id": id})
	f := c.nextOf(protocol.TypePong)
	if f["id"] != id {
		c.t.Fatalf("pong %v, want id %q", f, id)
	}
	return f
}

// askPresence asks which of players are online; the answer is sorted.
func (c *client) askPresence(players ...string) []string {
	c.t.Helper()
	if players == nil {
		players = []string{} // an empty list, not null (which is "players" missing)
	}
	c.send(map[string]any{"action": "presence", "players": players, "id": "presence"})
	f := c.nextOf(protocol.TypePresence)
	raw, ok := f["online"].([]any)
	if !ok {
		c.t.Fatalf("presence frame %v has no online list", f)
	}
	online := []string{}
	for _, p := range raw {
		online = append(online, p.(string))
	}
	slices.Sort(online)
	return online
}

// inbox asks for the inbox and returns the message frames handed over,
// checking the closing inbox frame counts them.
func (c *client) inbox(id string) []frame {
	c.t.Helper()
	c.send(map[string]any{"action": "inbox", "id": id})
	var msgs []frame
	for {
		f := c.next()
		switch f["type"] {
		case protocol.TypeMessage:
			msgs = append(msgs, f)
			continue
		case protocol.TypeInbox:
		default:
			c.t.Fatalf("inbox: unexpected frame %v", f)
		}
		if f["id"] != id || f["delivered"] != float64(len(msgs)) {
			c.t.Fatalf("inbox frame %v after %d messages, want id %q", f, len(msgs), id)
		}
		return msgs
	}
}

// wantInbox asks for the inbox and wants exactly the messages of want, in
// order: each frame has the id, from and message of its counterpart.
func (c *client) wantInbox(id string, want []frame) {
	c.t.Helper()
	got := c.inbox(id)
	if len(got) != len(want) {
		c.t.Fatalf("inbox handed over %d messages, want %d: %v", len(got), len(want), got)
	}
	for i, f := range got {
		if w := want[i]; f["id"] != w["id"] || f["from"] != w["from"] || f["message"] != w["message"] {
			c.t.Errorf("inbox message %d = %v, want %v", i, f, w)
		}
	}
}

// leave closes the client's connection cleanly and waits until
// $disconnect has removed the player's row of it.
func (s *stack) leave(c *client, player string) {
	s.t.Helper()
	before := len(s.connections(player))
	_ = c.conn.Close(websocket.StatusNormalClosure, "")
	poll.Until(s.t, player+"'s row is deleted", func() bool { return len(s.connections(player)) == before-1 })
}

// in returns the stack seen from test t: its failures and the cleanup of
// the clients it dials belong to t.
func (s *stack) in(t testing.TB) *stack {
	c := *s
	c.t = t
	return &c
}

// roundTrip returns v as encoding/json decodes it into an any.
func roundTrip(t testing.TB, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestMessaging(t *testing.T) {
	s := startStack(t)
	// A frozen clock makes sentAt and serverTime exact; tests advance it
	// where they need time to pass.
	s.Clock.Freeze()

	t.Run("alice to bob is delivered and acknowledged", func(t *testing.T) {
		s := s.in(t)
		alice, bob := s.dial("alice"), s.dial("bob")
		s.Clock.Advance(time.Second)
		body := map[string]any{"text": "hi", "n": 1, "nested": []any{true, nil}}
		alice.sendTo("bob", body, "c-1")
		id := bob.wantMessage("alice", body, s.Clock.Now())
		if got := alice.wantAck("c-1", protocol.StatusDelivered, 1); got != id {
			t.Fatalf("ack messageId %s, delivered id %s", got, id)
		}
		alice.quiet(50 * time.Millisecond)
		bob.quiet(50 * time.Millisecond)
	})

	t.Run("the prototype's format is accepted, with a token", func(t *testing.T) {
		s := s.in(t)
		if _, status, err := s.dialToken(""); err == nil || status != http.StatusUnauthorized {
			t.Fatalf("dial without a token: status %d, err %v; want 401", status, err)
		}
		alice, bob := s.dial("proto-alice"), s.dial("proto-bob")
		alice.send(`{"action":"sendmessage","message":"hi","playerId":"proto-alice","destinationPlayerId":"proto-bob"}`)
		id := bob.wantMessage("proto-alice", "hi", s.Clock.Now())
		if got := alice.wantAck("", protocol.StatusDelivered, 1); got != id {
			t.Fatalf("ack messageId %s, delivered id %s", got, id)
		}
	})

	t.Run("a spoofed sender is forbidden and nothing is delivered", func(t *testing.T) {
		s := s.in(t)
		mallory, bob := s.dial("mallory"), s.dial("spoof-bob")
		s.dial("spoof-alice")
		sent := s.Metrics.Count("Sent")
		mallory.send(`{"action":"sendmessage","message":"I am alice","playerId":"spoof-alice","destinationPlayerId":"spoof-bob","id":"s-1"}`)
		mallory.wantError("s-1", domain.CodeForbidden)
		bob.quiet(200 * time.Millisecond)
		if n := s.Metrics.Count("Sent"); n != sent {
			t.Fatalf("messages_sent_total went from %d to %d", sent, n)
		}
		// The same frame naming the true sender goes through.
		mallory.send(`{"action":"sendmessage","message":"I am mallory","playerId":"mallory","destinationPlayerId":"spoof-bob","id":"s-2"}`)
		bob.wantMessage("mallory", "I am mallory", time.Time{})
		mallory.wantAck("s-2", protocol.StatusDelivered, 1)
	})

	t.Run("every connection of the recipient gets the message", func(t *testing.T) {
		s := s.in(t)
		alice := s.dial("multi-alice")
		bob1, bob2 := s.dial("multi-bob"), s.dial("multi-bob")
		alice.sendTo("multi-bob", []int{1, 2, 3}, "m-1")
		id1 := bob1.wantMessage("multi-alice", []int{1, 2, 3}, s.Clock.Now())
		id2 := bob2.wantMessage("multi-alice", []int{1, 2, 3}, s.Clock.Now())
		ack := alice.wantAck("m-1", protocol.StatusDelivered, 2)
		if id1 != id2 || id1 != ack {
			t.Fatalf("ids: connection 1 %s, connection 2 %s, ack %s", id1, id2, ack)
		}
		// Sending to yourself reaches all your connections, the sending one too.
		bob1.sendTo("multi-bob", "note to self", "self")
		bob1.wantMessage("multi-bob", "note to self", time.Time{})
		bob1.wantAck("self", protocol.StatusDelivered, 2)
		bob2.wantMessage("multi-bob", "note to self", time.Time{})
	})

	t.Run("the mailbox keeps messages for an offline player", func(t *testing.T) {
		s := s.in(t)
		alice, carol := s.dial("mail-alice"), s.dial("mail-carol")
		if ids := s.connections("mail-bob"); len(ids) != 0 {
			t.Fatalf("mail-bob has rows %v", ids)
		}
		type sent struct {
			from, id string
			body     any
			at       time.Time
		}
		var want []sent
		for i, c := range []*client{alice, carol, alice, alice, carol, carol, alice} {
			from := map[*client]string{alice: "mail-alice", carol: "mail-carol"}[c]
			s.Clock.Advance(time.Second)
			body := map[string]any{"seq": i, "from": from}
			c.sendTo("mail-bob", body, "q-"+strconv.Itoa(i))
			id := c.wantAck("q-"+strconv.Itoa(i), protocol.StatusQueued, 0)
			want = append(want, sent{from: from, id: id, body: body, at: s.Clock.Now()})
		}
		s.Clock.Advance(time.Minute)

		bob := s.dial("mail-bob")
		bob.quiet(100 * time.Millisecond) // queued messages wait for the inbox request
		got := bob.inbox("in-1")
		if len(got) != len(want) {
			t.Fatalf("inbox delivered %d messages, want %d: %v", len(got), len(want), got)
		}
		for i, f := range got {
			w := want[i]
			wf := frame{"type": "message", "id": w.id, "from": w.from, "message": roundTrip(t, w.body), "sentAt": protocol.FormatTime(w.at)}
			if !reflect.DeepEqual(f, wf) {
				t.Errorf("inbox message %d = %v, want %v", i, f, wf)
			}
		}
		if got := bob.inbox("in-2"); len(got) != 0 {
			t.Fatalf("second inbox delivered %v", got)
		}
		// With bob online, the next message is delivered, not queued.
		alice.sendTo("mail-bob", "now live", "live")
		bob.wantMessage("mail-alice", "now live", s.Clock.Now())
		alice.wantAck("live", protocol.StatusDelivered, 1)
	})

	t.Run("a stale row is deleted by the next send", func(t *testing.T) {
		s := s.in(t)
		ctx := context.Background()
		const stale1, stale2 = "AAAAAAAAAAAAAAA=", "BBBBBBBBBBBBBBB="
		putStale := func(id string) {
			now := s.Clock.Now()
			if err := s.Store.PutConnection(ctx, domain.Connection{
				ID: id, PlayerID: "stale-bob", ConnectedAt: now, ExpiresAt: now.Add(time.Hour), SourceIP: "127.0.0.1",
			}); err != nil {
				t.Fatalf("put stale row: %v", err)
			}
		}
		alice, bob := s.dial("stale-alice"), s.dial("stale-bob")
		live := s.connections("stale-bob")
		putStale(stale1)
		if ids := s.connections("stale-bob"); len(ids) != 2 || !slices.Contains(ids, stale1) {
			t.Fatalf("rows before the send: %v", ids)
		}
		gone := s.Metrics.Count("Gone")
		alice.sendTo("stale-bob", "still here?", "st-1")
		bob.wantMessage("stale-alice", "still here?", s.Clock.Now())
		alice.wantAck("st-1", protocol.StatusDelivered, 1)
		if ids := s.connections("stale-bob"); !slices.Equal(ids, live) {
			t.Fatalf("rows after the send: %v, want only the live %v", ids, live)
		}
		if n := s.Metrics.Count("Gone"); n != gone+1 {
			t.Fatalf("messages_gone_total went from %d to %d, want +1", gone, n)
		}

		s.leave(bob, "stale-bob")
		putStale(stale2)
		alice.sendTo("stale-bob", "anyone?", "st-2")
		id := alice.wantAck("st-2", protocol.StatusQueued, 0)
		if ids := s.connections("stale-bob"); len(ids) != 0 {
			t.Fatalf("rows after sending to a stale row only: %v", ids)
		}
		bob = s.dial("stale-bob")
		got := bob.inbox("in")
		if len(got) != 1 || got[0]["id"] != id || got[0]["message"] != "anyone?" {
			t.Fatalf("inbox after the stale row: %v, want message %s", got, id)
		}
	})

	t.Run("messages over the limits", func(t *testing.T) {
		s := s.in(t)
		alice, bob := s.dial("big-alice"), s.dial("big-bob")
		limit := s.Config.MaxMessageBytes
		if limit != 8192 {
			t.Fatalf("MAX_MESSAGE_BYTES default is %d, want 8192", limit)
		}
		// The cap measures the compact JSON of "message": a string of
		// limit-2 characters and its quotes fits exactly.
		fits := strings.Repeat("x", limit-2)
		alice.sendTo("big-bob", fits, "fits")
		bob.wantMessage("big-alice", fits, time.Time{})
		alice.wantAck("fits", protocol.StatusDelivered, 1)

		alice.sendTo("big-bob", fits+"x", "over")
		alice.wantError("over", domain.CodeTooLarge)
		alice.pingPong("after-too-large")
		bob.quiet(100 * time.Millisecond)

		// White space outside strings is not counted.
		alice.send(`{"action":"sendmessage","to":"big-bob","id":"spaced","message":   "` + fits + `"   }`)
		bob.wantMessage("big-alice", fits, time.Time{})
		alice.wantAck("spaced", protocol.StatusDelivered, 1)

		// A frame over the gateway's 32 KB frame limit closes the connection.
		huge := `{"action":"sendmessage","to":"big-bob","message":"` + strings.Repeat("y", 33<<10) + `"}`
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = alice.conn.Write(ctx, websocket.MessageText, []byte(huge)) // the server may close before it is all read
		if code := alice.closed(); code != websocket.StatusMessageTooBig {
			t.Fatalf("close status %v, want 1009", code)
		}
		poll.Until(t, "$disconnect removed big-alice's row", func() bool { return len(s.connections("big-alice")) == 0 })
		bob.quiet(100 * time.Millisecond)
	})

	t.Run("malformed frames are refused and the connection stays open", func(t *testing.T) {
		s := s.in(t)
		c := s.dial("clumsy")
		tests := []struct {
			name, frame, id string
			code            domain.Code
		}{
			{"not JSON", `hello`, "", domain.CodeBadRequest},
			{"unknown action", `{"action":"dance","id":"d-1"}`, "d-1", domain.CodeUnknownAction},
			{"no action", `{"id":"n-1","to":"bob"}`, "n-1", domain.CodeUnknownAction},
			{"JSON array", `[{"action":"ping"}]`, "", domain.CodeBadRequest},
			{"JSON string", `"sendmessage"`, "", domain.CodeBadRequest},
			{"action of the wrong type", `{"action":7,"id":"w-1"}`, "w-1", domain.CodeBadRequest},
			{"no recipient", `{"action":"sendmessage","id":"r-1","message":"x"}`, "r-1", domain.CodeBadRequest},
			{"no message", `{"action":"sendmessage","id":"r-2","to":"bob"}`, "r-2", domain.CodeBadRequest},
			{"invalid recipient", `{"action":"sendmessage","id":"r-3","to":"../bob","message":"x"}`, "r-3", domain.CodeBadRequest},
			{"two recipients", `{"action":"sendmessage","id":"r-4","to":"bob","destinationPlayerId":"carol","message":"x"}`, "r-4", domain.CodeBadRequest},
			{"presence without players", `{"action":"presence","id":"p-1"}`, "p-1", domain.CodeBadRequest},
			{"presence of too many", `{"action":"presence","id":"p-2","players":[` + strings.Repeat(`"bob",`, 50) + `"bob"]}`, "p-2", domain.CodeBadRequest},
		}
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				c.t = t
				c.send(tt.frame)
				c.wantError(tt.id, tt.code)
				c.pingPong("still-open-" + strconv.Itoa(i))
			})
		}
	})

	t.Run("presence follows players as they come and go", func(t *testing.T) {
		s := s.in(t)
		alice := s.dial("pres-alice")
		ask := func(want ...string) {
			t.Helper()
			if want == nil {
				want = []string{}
			}
			if got := alice.askPresence("pres-bob", "pres-carol", "pres-dave"); !slices.Equal(got, want) {
				t.Fatalf("online = %v, want %v", got, want)
			}
		}
		ask()
		bob := s.dial("pres-bob")
		ask("pres-bob")
		carol := s.dial("pres-carol")
		ask("pres-bob", "pres-carol")
		bob2 := s.dial("pres-bob")
		s.leave(bob, "pres-bob")
		ask("pres-bob", "pres-carol") // bob's second connection keeps him online
		s.leave(bob2, "pres-bob")
		ask("pres-carol")
		bob = s.dial("pres-bob")
		ask("pres-bob", "pres-carol")
		s.leave(carol, "pres-carol")
		s.leave(bob, "pres-bob")
		ask()
		if got := alice.askPresence("pres-alice", "pres-alice"); !slices.Equal(got, []string{"pres-alice"}) {
			t.Fatalf("alice asking for herself twice: %v", got)
		}
		if got := alice.askPresence(); len(got) != 0 {
			t.Fatalf("presence of nobody: %v", got)
		}
	})

	t.Run("ping answers pong with the server time", func(t *testing.T) {
		s := s.in(t)
		c := s.dial("pinger")
		s.Clock.Advance(1234 * time.Millisecond)
		f := c.pingPong("p-42")
		want := frame{"type": "pong", "id": "p-42", "serverTime": protocol.FormatTime(s.Clock.Now())}
		if !reflect.DeepEqual(f, want) {
			t.Fatalf("pong %v, want %v", f, want)
		}
		c.send(`{"action":"ping"}`)
		if f := c.nextOf("pong"); f["id"] != nil || f["serverTime"] != want["serverTime"] {
			t.Fatalf("pong without id: %v", f)
		}
	})

	t.Run("metrics count messages and DynamoDB requests", func(t *testing.T) {
		s := s.in(t)
		resp, err := http.Get(s.URL + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body := readAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /metrics: %d", resp.StatusCode)
		}
		values := map[string]int64{}
		for line := range strings.Lines(body) {
			name, value, ok := strings.Cut(strings.TrimSpace(line), " ")
			if !ok {
				continue
			}
			n, err := strconv.ParseFloat(value, 64)
			if err != nil {
				t.Fatalf("metrics line %q: %v", line, err)
			}
			values[name] = int64(n)
		}
		for _, name := range []string{
			"messages_sent_total", "messages_delivered_total", "messages_queued_total", "messages_gone_total",
			`messages_rejected_total{code="forbidden"}`, `messages_rejected_total{code="too_large"}`,
			`handler_invocations_total{route="sendmessage"}`,
			`dynamodb_requests_total{op="Query"}`, `dynamodb_requests_total{op="PutItem"}`,
		} {
			if values[name] <= 0 {
				t.Errorf("%s is %d in\n%s", name, values[name], body)
			}
		}
		if got, want := values["messages_sent_total"], s.Metrics.Count("Sent"); got != want {
			t.Errorf("messages_sent_total %d, counters say %d", got, want)
		}
	})
}

// TestExpiredTokenClosesConnection: once a connection's token has expired
// the player counts as offline; the connection's next frame is answered
// token_expired and the server closes it.
func TestExpiredTokenClosesConnection(t *testing.T) {
	s := startStack(t)
	alice := s.dial("alice") // a token for an hour
	bob, status, err := s.dialToken(s.token("bob", 4*3600))
	if err != nil {
		t.Fatalf("bob: %d %v", status, err)
	}
	alice.pingPong("before")
	s.Clock.Advance(2 * time.Hour)
	// The row expired with the token: alice counts as offline, so bob's
	// message waits in her mailbox instead of reaching a client that only
	// listens.
	if ids := s.connections("alice"); len(ids) != 0 {
		t.Fatalf("alice's row outlived her token: %v", ids)
	}
	bob.sendTo("alice", "queued for later", "q")
	bob.wantAck("q", protocol.StatusQueued, 0)
	alice.quiet(50 * time.Millisecond)
	alice.sendTo("bob", "too late", "late")
	alice.wantError("late", domain.CodeTokenExpired)
	if code := alice.closed(); code != websocket.StatusNormalClosure {
		t.Fatalf("close status %v, want 1000", code)
	}
	poll.Until(t, "$disconnect removed alice's row", func() bool { return len(s.connections("alice")) == 0 })
	bob.quiet(100 * time.Millisecond)
	if n := s.Metrics.Count("Sent"); n != 1 {
		t.Fatalf("messages_sent_total = %d, want only bob's message", n)
	}
	if n := s.Metrics.RejectedCount(string(domain.CodeTokenExpired)); n != 1 {
		t.Fatalf("token_expired rejections = %d", n)
	}
}

// TestBinaryFrame: a binary frame holding JSON (as some engines' WebSocket
// libraries send by default) reaches $default and is answered bad_request
// naming binary, with its id; nothing is delivered, and the connection
// goes on.
func TestBinaryFrame(t *testing.T) {
	s := startStack(t, noLimits())
	alice, bob := s.dial("alice"), s.dial("bob")
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := alice.conn.Write(ctx, websocket.MessageBinary, []byte(`{"action":"sendmessage","to":"bob","message":"hi","id":"b-1"}`)); err != nil {
		t.Fatal(err)
	}
	if f := alice.wantError("b-1", domain.CodeBadRequest); !strings.Contains(fmt.Sprint(f["message"]), "binary") {
		t.Errorf("the answer %v does not name binary", f)
	}
	alice.pingPong("p")
	bob.quiet(100 * time.Millisecond)
}
