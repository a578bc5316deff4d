// Package storetest is the contract suite of the connection and mailbox
// store: one suite that every DynamoDB engine must pass, run with a factory
// per engine (see internal/dynamo's tests).
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/serverless-websockets/serverless-websockets/internal/domain"
	"github.com/serverless-websockets/serverless-websockets/internal/dynamo"
	"github.com/serverless-websockets/serverless-websockets/internal/testsupport/fakeclock"
)

// Open returns a Store on one engine's tables through a client of its own,
// as a separate Lambda instance would reach them.
type Open func(opts dynamo.Options) *dynamo.Store

// NewTables creates tables on one engine for t and returns how to open
// stores on them. Run calls it once; its subtests share the tables and keep
// apart by using players of their own.
type NewTables func(t *testing.T) Open

// start is where every suite clock starts: a whole second, so that times
// survive the store's precision (milliseconds, and seconds for expiry).
var start = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// lifetime is how long the suite's connections and messages live.
const lifetime = 2 * time.Hour

// env is one subtest's view of the engine.
type env struct {
	t     *testing.T
	ctx   context.Context
	open  Open
	clock *fakeclock.Clock
	opts  dynamo.Options
	store *dynamo.Store
	name  string // unique per subtest, prefixes player ids
}

// player returns a player id unique to this subtest.
func (e *env) player(name string) string { return e.name + "-" + name }

// another returns a new Store with its own client and the subtest's options
// and clock.
func (e *env) another() *dynamo.Store { return e.open(e.opts) }

func (e *env) conn(player, id string) domain.Connection {
	now := e.clock.Now()
	return domain.Connection{
		ID:          id + "=",
		PlayerID:    player,
		ConnectedAt: now,
		ExpiresAt:   now.Add(lifetime),
		SourceIP:    "203.0.113.7",
		UserAgent:   "storetest/1.0",
	}
}

func (e *env) msg(to, id, from string) domain.QueuedMessage {
	now := e.clock.Now()
	return domain.QueuedMessage{
		To:        to,
		ID:        id,
		From:      from,
		Message:   json.RawMessage(fmt.Sprintf(`{"move":%q,"n":[1,2]}`, id)),
		SentAt:    now,
		ExpiresAt: now.Add(lifetime),
	}
}

func (e *env) mustPut(c domain.Connection) {
	e.t.Helper()
	if err := e.store.PutConnection(e.ctx, c); err != nil {
		e.t.Fatalf("PutConnection(%s, %s): %v", c.PlayerID, c.ID, err)
	}
}

func (e *env) mustEnqueue(m domain.QueuedMessage) {
	e.t.Helper()
	if err := e.store.Enqueue(e.ctx, m); err != nil {
		e.t.Fatalf("Enqueue(%s, %s): %v", m.To, m.ID, err)
	}
}

// mustRefuse checks that Enqueue refuses m as over a cap; why names the case.
func (e *env) mustRefuse(m domain.QueuedMessage, why string) {
	e.t.Helper()
	if err := e.store.Enqueue(e.ctx, m); !errors.Is(err, domain.ErrMailboxFull) {
		e.t.Fatalf("%s: Enqueue(%s, %s) = %v, want ErrMailboxFull", why, m.To, m.ID, err)
	}
}

// dequeue deletes the queued messages ids of player.
func (e *env) dequeue(player string, ids ...string) {
	e.t.Helper()
	for _, id := range ids {
		if err := e.store.DeleteQueued(e.ctx, player, id); err != nil {
			e.t.Fatalf("DeleteQueued(%s, %s): %v", player, id, err)
		}
	}
}

// disconnect deletes connection id of player.
func (e *env) disconnect(player, id string) {
	e.t.Helper()
	if err := e.store.DeleteConnection(e.ctx, player, id); err != nil {
		e.t.Fatalf("DeleteConnection(%s, %s): %v", player, id, err)
	}
}

// ConnIDs returns the ids of player's live connections in s, sorted.
func ConnIDs(t testing.TB, s *dynamo.Store, player string) []string {
	t.Helper()
	conns, err := s.PlayerConnections(t.Context(), player)
	if err != nil {
		t.Fatalf("PlayerConnections(%s): %v", player, err)
	}
	ids := make([]string, 0, len(conns))
	for _, c := range conns {
		if c.PlayerID != player {
			t.Errorf("PlayerConnections(%s) returned a connection of %s", player, c.PlayerID)
		}
		ids = append(ids, c.ID)
	}
	slices.Sort(ids)
	return ids
}

// InboxIDs returns the ids of player's live queued messages in s, at most
// limit (0: all), in the order Inbox returns them.
func InboxIDs(t testing.TB, s *dynamo.Store, player string, limit int) []string {
	t.Helper()
	msgs, err := s.Inbox(t.Context(), player, limit)
	if err != nil {
		t.Fatalf("Inbox(%s, %d): %v", player, limit, err)
	}
	ids := make([]string, 0, len(msgs))
	for _, m := range msgs {
		if m.To != player {
			t.Errorf("Inbox(%s) returned a message for %s", player, m.To)
		}
		ids = append(ids, m.ID)
	}
	return ids
}

func (e *env) connIDs(player string) []string {
	e.t.Helper()
	return ConnIDs(e.t, e.store, player)
}

func (e *env) inboxIDs(player string, limit int) []string {
	e.t.Helper()
	return InboxIDs(e.t, e.store, player, limit)
}

func (e *env) online(players ...string) []string {
	e.t.Helper()
	got, err := e.store.OnlinePlayers(e.ctx, players)
	if err != nil {
		e.t.Fatalf("OnlinePlayers(%v): %v", players, err)
	}
	return got
}

// listBans pages through ListBans, limit bans a page, and returns the ids
// of this subtest's players banned, sorted; a ban listed twice is there
// twice.
func (e *env) listBans(limit int) []string {
	e.t.Helper()
	ids := []string{}
	cursor := ""
	for pages := 0; ; pages++ {
		if pages == 1000 { // the table is shared: other cases' bans count too
			e.t.Fatalf("ListBans(%d) still paging after %d pages", limit, pages)
		}
		bans, next, err := e.store.ListBans(e.ctx, limit, cursor)
		if err != nil {
			e.t.Fatalf("ListBans(%d, %q): %v", limit, cursor, err)
		}
		if len(bans) > limit {
			e.t.Errorf("ListBans(%d) returned a page of %d bans", limit, len(bans))
		}
		if next != "" && len(bans) < limit {
			// Ended rows are skipped server-side: only a page that reached
			// the table's end may be short (no case leaves 500 ended rows
			// in a row).
			e.t.Errorf("ListBans(%d) returned a page of %d bans before the last", limit, len(bans))
		}
		for _, b := range bans {
			if strings.HasPrefix(b.PlayerID, e.name+"-") {
				ids = append(ids, b.PlayerID)
			}
		}
		if cursor = next; cursor == "" {
			break
		}
	}
	slices.Sort(ids)
	return ids
}

func equal(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

// test is one case of the suite.
type test struct {
	name string
	opts dynamo.Options // Now is set by the suite
	run  func(e *env)
}

// Run runs the contract suite on the engine newTables creates tables on.
func Run(t *testing.T, newTables NewTables) {
	open := newTables(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clock := fakeclock.New(start)
			opts := tt.opts
			opts.Now = clock.Now
			e := &env{
				t:     t,
				ctx:   t.Context(),
				open:  open,
				clock: clock,
				opts:  opts,
				store: open(opts),
				name:  strings.NewReplacer(" ", "_", "/", "_", ",", "", "'", "").Replace(tt.name),
			}
			tt.run(e)
		})
	}
}

var tests = []test{
	{name: "put list delete", run: func(e *env) {
		alice := e.player("alice")
		c1 := e.conn(alice, "c1")
		e.clock.Advance(1500 * time.Millisecond)
		c2 := e.conn(alice, "c2")
		c2.SourceIP, c2.UserAgent = "", ""
		e.mustPut(c2)
		e.mustPut(c1)

		conns, err := e.store.PlayerConnections(e.ctx, alice)
		if err != nil {
			e.t.Fatal(err)
		}
		want := []domain.Connection{c1, c2} // oldest first
		if len(conns) != len(want) {
			e.t.Fatalf("PlayerConnections = %+v, want %+v", conns, want)
		}
		for i := range want {
			// Times are kept to the millisecond, expiry to the second.
			g, w := conns[i], want[i]
			if g.ID != w.ID || g.PlayerID != w.PlayerID || g.SourceIP != w.SourceIP || g.UserAgent != w.UserAgent ||
				!g.ConnectedAt.Equal(w.ConnectedAt) || !g.ExpiresAt.Equal(w.ExpiresAt.Truncate(time.Second)) {
				e.t.Errorf("connection %d = %+v, want %+v", i, g, w)
			}
		}

		e.disconnect(alice, c1.ID)
		equal(e.t, "after deleting c1", e.connIDs(alice), []string{c2.ID})
		e.disconnect(alice, c2.ID)
		equal(e.t, "after deleting c2", e.connIDs(alice), []string{})
	}},

	{name: "put of a held connection id keeps one row", opts: dynamo.Options{MaxConnectionsPerPlayer: 2}, run: func(e *env) {
		alice := e.player("alice")
		c1, c2 := e.conn(alice, "c1"), e.conn(alice, "c2")
		e.mustPut(c1)
		e.mustPut(c2)
		c1.UserAgent = "retried"
		e.mustPut(c1) // at the cap, yet the same connection
		conns, err := e.store.PlayerConnections(e.ctx, alice)
		if err != nil {
			e.t.Fatal(err)
		}
		if len(conns) != 2 || conns[0].ID != c1.ID || conns[0].UserAgent != "retried" {
			e.t.Errorf("PlayerConnections = %+v, want c1 (rewritten) and c2", conns)
		}
	}},

	{name: "delete is idempotent and removes only its connection", run: func(e *env) {
		alice, bob := e.player("alice"), e.player("bob")
		a1, a2, b1 := e.conn(alice, "a1"), e.conn(alice, "a2"), e.conn(bob, "b1")
		e.mustPut(a1)
		e.mustPut(a2)
		e.mustPut(b1)
		deletes := []struct{ player, id string }{
			{alice, a1.ID},
			{alice, a1.ID},              // again
			{alice, "unknown="},         // never stored
			{alice, b1.ID},              // another player's connection under alice
			{e.player("nobody"), a2.ID}, // a player without rows
		}
		for _, d := range deletes {
			if err := e.store.DeleteConnection(e.ctx, d.player, d.id); err != nil {
				e.t.Errorf("DeleteConnection(%s, %s) = %v, want nil", d.player, d.id, err)
			}
		}
		equal(e.t, "alice", e.connIDs(alice), []string{a2.ID})
		equal(e.t, "bob", e.connIDs(bob), []string{b1.ID})
	}},

	{name: "late delete after the slot was reused", opts: dynamo.Options{MaxConnectionsPerPlayer: 1}, run: func(e *env) {
		alice := e.player("alice")
		old := e.conn(alice, "old")
		old.ExpiresAt = e.clock.Now().Add(time.Minute)
		e.mustPut(old)
		e.clock.Advance(time.Minute)
		fresh := e.conn(alice, "fresh")
		e.mustPut(fresh) // takes the only slot, which old held
		if err := e.store.DeleteConnection(e.ctx, alice, old.ID); err != nil {
			e.t.Fatalf("late DeleteConnection = %v, want nil", err)
		}
		equal(e.t, "after the late delete", e.connIDs(alice), []string{fresh.ID})
	}},

	{name: "expired connections are absent and their slots reusable", opts: dynamo.Options{MaxConnectionsPerPlayer: 2}, run: func(e *env) {
		alice, bob := e.player("alice"), e.player("bob")
		short, long := e.conn(alice, "short"), e.conn(alice, "long")
		short.ExpiresAt = e.clock.Now().Add(10 * time.Second)
		e.mustPut(short)
		e.mustPut(long)
		b := e.conn(bob, "b")
		b.ExpiresAt = short.ExpiresAt
		e.mustPut(b)

		e.clock.Advance(10*time.Second - time.Millisecond)
		equal(e.t, "just before expiry", e.connIDs(alice), []string{long.ID, short.ID})
		equal(e.t, "online just before expiry", e.online(alice, bob), []string{alice, bob})

		e.clock.Advance(time.Millisecond) // expiresAt <= now: expired
		equal(e.t, "at expiry", e.connIDs(alice), []string{long.ID})
		equal(e.t, "online at expiry", e.online(alice, bob), []string{alice})

		next := e.conn(alice, "next")
		e.mustPut(next) // the expired slot is free again
		equal(e.t, "after reuse", e.connIDs(alice), []string{long.ID, next.ID})
		err := e.store.PutConnection(e.ctx, e.conn(alice, "over"))
		if !errors.Is(err, domain.ErrConnectionLimit) {
			e.t.Errorf("third live connection: %v, want ErrConnectionLimit", err)
		}

		dead := e.conn(alice, "dead")
		dead.ExpiresAt = e.clock.Now()
		if err := e.store.PutConnection(e.ctx, dead); err == nil || errors.Is(err, domain.ErrConnectionLimit) {
			e.t.Errorf("PutConnection of an expired connection = %v, want a plain error", err)
		}
	}},

	{name: "the connection cap", run: func(e *env) {
		alice := e.player("alice")
		for i := range domain.DefaultMaxConnectionsPerPlayer {
			e.mustPut(e.conn(alice, fmt.Sprintf("c%d", i)))
		}
		err := e.store.PutConnection(e.ctx, e.conn(alice, "sixth"))
		if !errors.Is(err, domain.ErrConnectionLimit) {
			e.t.Fatalf("sixth PutConnection = %v, want ErrConnectionLimit", err)
		}
		if ids := e.connIDs(alice); len(ids) != 5 || slices.Contains(ids, "sixth=") {
			e.t.Fatalf("connections = %v, want the first five", ids)
		}
		e.disconnect(alice, "c2=")
		e.mustPut(e.conn(alice, "sixth"))
		equal(e.t, "after a disconnect", e.connIDs(alice), []string{"c0=", "c1=", "c3=", "c4=", "sixth="})
	}},

	{name: "the connection cap under concurrency", run: func(e *env) {
		race(e, domain.DefaultMaxConnectionsPerPlayer)
	}},

	{name: "the connection cap under concurrency over expired slots", run: func(e *env) {
		alice := e.player("alice")
		for i := range domain.DefaultMaxConnectionsPerPlayer {
			c := e.conn(alice, fmt.Sprintf("old%d", i))
			c.ExpiresAt = e.clock.Now().Add(time.Minute)
			e.mustPut(c)
		}
		e.clock.Advance(time.Minute)
		race(e, domain.DefaultMaxConnectionsPerPlayer)
	}},

	{name: "presence", run: func(e *env) {
		alice, bob, carol, dave := e.player("alice"), e.player("bob"), e.player("carol"), e.player("dave")
		e.mustPut(e.conn(dave, "d"))
		e.mustPut(e.conn(alice, "a1"))
		e.mustPut(e.conn(alice, "a2"))
		gone := e.conn(carol, "c")
		gone.ExpiresAt = e.clock.Now().Add(time.Second)
		e.mustPut(gone)
		e.clock.Advance(time.Second)

		equal(e.t, "online", e.online(bob, dave, alice, carol, alice, dave), []string{dave, alice})
		equal(e.t, "online, reordered", e.online(alice, bob, dave), []string{alice, dave})
		equal(e.t, "nobody asked", e.online(), []string{})

		e.disconnect(dave, "d=")
		equal(e.t, "after dave left", e.online(dave, alice), []string{alice})

		many := make([]string, domain.MaxPresencePlayers+1)
		for i := range many {
			many[i] = e.player(fmt.Sprintf("p%d", i))
		}
		if got, err := e.store.OnlinePlayers(e.ctx, many[:domain.MaxPresencePlayers]); err != nil || len(got) != 0 {
			e.t.Errorf("OnlinePlayers(%d offline) = %v, %v", domain.MaxPresencePlayers, got, err)
		}
		if _, err := e.store.OnlinePlayers(e.ctx, many); err == nil {
			e.t.Errorf("OnlinePlayers(%d players) = nil error, want one", len(many))
		}
	}},

	{name: "mailbox oldest first", run: func(e *env) {
		bob, alice := e.player("bob"), e.player("alice")
		ids := []string{"0003", "0001", "0004", "0002"}
		sent := map[string]domain.QueuedMessage{}
		for _, id := range ids {
			m := e.msg(bob, id, alice)
			e.clock.Advance(time.Millisecond)
			e.mustEnqueue(m)
			sent[id] = m
		}
		msgs, err := e.store.Inbox(e.ctx, bob, 0)
		if err != nil {
			e.t.Fatal(err)
		}
		var got []string
		for _, m := range msgs {
			got = append(got, m.ID)
			w := sent[m.ID]
			if m.To != w.To || m.From != w.From || string(m.Message) != string(w.Message) ||
				!m.SentAt.Equal(w.SentAt) || !m.ExpiresAt.Equal(w.ExpiresAt.Truncate(time.Second)) {
				e.t.Errorf("message %s = %+v, want %+v", m.ID, m, w)
			}
		}
		equal(e.t, "inbox", got, []string{"0001", "0002", "0003", "0004"})
		equal(e.t, "inbox limit 2", e.inboxIDs(bob, 2), []string{"0001", "0002"})
		equal(e.t, "alice's inbox", e.inboxIDs(alice, 0), []string{})
	}},

	{name: "mailbox TTL", opts: dynamo.Options{MailboxMaxMessages: 2}, run: func(e *env) {
		bob, alice := e.player("bob"), e.player("alice")
		short := e.msg(bob, "0001", alice)
		short.ExpiresAt = e.clock.Now().Add(time.Minute)
		e.mustEnqueue(short)
		e.mustEnqueue(e.msg(bob, "0002", alice))
		e.clock.Advance(time.Minute - time.Millisecond)
		equal(e.t, "before expiry", e.inboxIDs(bob, 0), []string{"0001", "0002"})
		e.clock.Advance(time.Millisecond)
		equal(e.t, "at expiry", e.inboxIDs(bob, 0), []string{"0002"})
		equal(e.t, "at expiry, limit 1", e.inboxIDs(bob, 1), []string{"0002"})

		e.mustEnqueue(e.msg(bob, "0003", alice)) // the expired message's slot
		equal(e.t, "after reuse", e.inboxIDs(bob, 0), []string{"0002", "0003"})
		e.mustRefuse(e.msg(bob, "0004", alice), "third live message")

		dead := e.msg(bob, "0005", alice)
		dead.ExpiresAt = e.clock.Now()
		if err := e.store.Enqueue(e.ctx, dead); err == nil || errors.Is(err, domain.ErrMailboxFull) {
			e.t.Errorf("Enqueue of an expired message = %v, want a plain error", err)
		}
		for _, body := range []string{"\"a\xff\xfeb\"", `{"move":`} {
			bad := e.msg(bob, "0006", alice)
			bad.Message = json.RawMessage(body)
			if err := e.store.Enqueue(e.ctx, bad); err == nil || errors.Is(err, domain.ErrMailboxFull) {
				e.t.Errorf("Enqueue of %q = %v, want a plain error", body, err)
			}
		}
		equal(e.t, "after the refusals", e.inboxIDs(bob, 0), []string{"0002", "0003"})
	}},

	{name: "DeleteQueued", opts: dynamo.Options{MailboxMaxMessages: 2}, run: func(e *env) {
		bob, alice := e.player("bob"), e.player("alice")
		e.mustEnqueue(e.msg(bob, "0001", alice))
		e.mustEnqueue(e.msg(bob, "0002", alice))
		e.mustRefuse(e.msg(bob, "0003", alice), "over the cap")
		e.dequeue(bob, "0001", "0001") // the second time is a no-op
		e.dequeue(alice, "0002")       // another player's message id
		equal(e.t, "after delete", e.inboxIDs(bob, 0), []string{"0002"})
		e.mustEnqueue(e.msg(bob, "0003", alice)) // the freed slot
		equal(e.t, "after refill", e.inboxIDs(bob, 0), []string{"0002", "0003"})
	}},

	{name: "the mailbox cap", opts: dynamo.Options{MailboxMaxMessages: 3}, run: func(e *env) {
		bob, alice := e.player("bob"), e.player("alice")
		for _, id := range []string{"0001", "0002", "0003"} {
			e.mustEnqueue(e.msg(bob, id, alice))
		}
		e.mustRefuse(e.msg(bob, "0004", alice), "fourth Enqueue")
		again := e.msg(bob, "0002", alice)
		again.Message = json.RawMessage(`"retried"`)
		e.mustEnqueue(again) // the same message again: no second slot
		msgs, err := e.store.Inbox(e.ctx, bob, 0)
		if err != nil {
			e.t.Fatal(err)
		}
		if len(msgs) != 3 || string(msgs[1].Message) != `"retried"` {
			e.t.Errorf("inbox = %+v, want three messages with 0002 rewritten", msgs)
		}
	}},

	{name: "the mailbox cap under concurrency", opts: dynamo.Options{MailboxMaxMessages: 5}, run: func(e *env) {
		bob := e.player("bob")
		const senders = 20
		queued := e.concurrently(senders, domain.ErrMailboxFull, func(i int) (string, func(*dynamo.Store) error) {
			m := e.msg(bob, fmt.Sprintf("%04d", i), e.player(fmt.Sprintf("sender%d", i)))
			return m.ID, func(s *dynamo.Store) error { return s.Enqueue(e.ctx, m) }
		})
		if len(queued) != 5 {
			e.t.Errorf("%d messages queued, want exactly 5", len(queued))
		}
		equal(e.t, "inbox", e.inboxIDs(bob, 0), queued)
	}},

	{name: "the sender quota", opts: dynamo.Options{MailboxMaxPerSender: 2}, run: func(e *env) {
		bob, carol, mallory, alice, dave := e.player("bob"), e.player("carol"), e.player("mallory"), e.player("alice"), e.player("dave")
		e.mustEnqueue(e.msg(bob, "0001", mallory))
		e.mustEnqueue(e.msg(bob, "0002", mallory))
		e.mustRefuse(e.msg(bob, "0003", mallory), "third message from one sender")
		again := e.msg(bob, "0002", mallory)
		again.Message = json.RawMessage(`"retried"`)
		e.mustEnqueue(again)                     // the same message again: no second sender slot
		e.mustEnqueue(e.msg(bob, "0004", alice)) // other senders still queue
		e.mustEnqueue(e.msg(bob, "0005", alice))
		e.mustEnqueue(e.msg(bob, "0006", dave))
		e.mustEnqueue(e.msg(carol, "0007", mallory)) // the quota is per recipient
		e.mustRefuse(e.msg(bob, "0008", mallory), "sender at its quota")
		equal(e.t, "inbox", e.inboxIDs(bob, 0), []string{"0001", "0002", "0004", "0005", "0006"})

		// Deleting another sender's message frees nothing of mallory's.
		e.dequeue(bob, "0004")
		e.mustRefuse(e.msg(bob, "0009", mallory), "after another sender's message was read")
		// The inbox reads one of mallory's: the quota has room for one.
		e.dequeue(bob, "0001")
		e.mustEnqueue(e.msg(bob, "0010", mallory))
		e.mustRefuse(e.msg(bob, "0011", mallory), "back at the quota")
		equal(e.t, "inbox after the reads", e.inboxIDs(bob, 0), []string{"0002", "0005", "0006", "0010"})
	}},

	{name: "a refused message holds no slot", opts: dynamo.Options{MailboxMaxMessages: 3, MailboxMaxPerSender: 2}, run: func(e *env) {
		bob, alice, carol, dave := e.player("bob"), e.player("alice"), e.player("carol"), e.player("dave")
		e.mustEnqueue(e.msg(bob, "0001", alice))
		e.mustEnqueue(e.msg(bob, "0002", alice))
		e.mustEnqueue(e.msg(bob, "0003", carol)) // the mailbox is full
		for i := range 3 {
			// Refused by the mailbox cap after carol's sender slot was
			// claimed, and by alice's quota before any: neither keeps one.
			e.mustRefuse(e.msg(bob, fmt.Sprintf("10%02d", i), carol), "carol into a full mailbox")
			e.mustRefuse(e.msg(bob, fmt.Sprintf("20%02d", i), alice), "alice over her quota")
		}
		e.dequeue(bob, "0001", "0002")
		// Two mailbox slots are free and carol holds one sender slot of two.
		e.mustEnqueue(e.msg(bob, "0004", carol))
		e.mustRefuse(e.msg(bob, "0005", carol), "carol's third")
		e.mustEnqueue(e.msg(bob, "0006", dave))
		e.mustRefuse(e.msg(bob, "0007", alice), "a fourth message")
		equal(e.t, "inbox", e.inboxIDs(bob, 0), []string{"0003", "0004", "0006"})
	}},

	{name: "expired messages free both slots", opts: dynamo.Options{MailboxMaxMessages: 3, MailboxMaxPerSender: 2}, run: func(e *env) {
		bob, alice, carol := e.player("bob"), e.player("alice"), e.player("carol")
		for _, id := range []string{"0001", "0002"} {
			m := e.msg(bob, id, alice)
			m.ExpiresAt = e.clock.Now().Add(time.Minute)
			e.mustEnqueue(m)
		}
		e.mustEnqueue(e.msg(bob, "0003", carol))
		e.mustRefuse(e.msg(bob, "0004", alice), "before expiry")
		e.clock.Advance(time.Minute)
		e.mustEnqueue(e.msg(bob, "0005", alice)) // alice's expired sender slots and the mailbox's
		e.mustEnqueue(e.msg(bob, "0006", alice))
		e.mustRefuse(e.msg(bob, "0007", carol), "a fourth live message")
		equal(e.t, "inbox", e.inboxIDs(bob, 0), []string{"0003", "0005", "0006"})

		// The late delete of an expired message frees nothing its
		// successors now hold.
		e.dequeue(bob, "0001", "0002")
		e.mustRefuse(e.msg(bob, "0008", alice), "after a late delete")
		e.dequeue(bob, "0003")
		e.mustRefuse(e.msg(bob, "0009", alice), "alice at her quota with a slot free")
		e.mustEnqueue(e.msg(bob, "0010", carol))
		equal(e.t, "inbox at the end", e.inboxIDs(bob, 0), []string{"0005", "0006", "0010"})
	}},

	{name: "the sender quota under concurrency", opts: dynamo.Options{MailboxMaxPerSender: 5}, run: func(e *env) {
		bob, mallory := e.player("bob"), e.player("mallory")
		queued := raceEnqueue(e, bob, mallory, "m", 20)
		if len(queued) != 5 {
			e.t.Errorf("%d messages queued from one sender, want exactly 5", len(queued))
		}
		equal(e.t, "inbox", e.inboxIDs(bob, 0), queued)
	}},

	{name: "both caps under concurrency", opts: dynamo.Options{MailboxMaxMessages: 6, MailboxMaxPerSender: 4}, run: func(e *env) {
		bob, alice, carol := e.player("bob"), e.player("alice"), e.player("carol")
		var fromAlice, fromCarol []string
		var wg sync.WaitGroup
		wg.Go(func() { fromAlice = raceEnqueue(e, bob, alice, "a", 10) })
		wg.Go(func() { fromCarol = raceEnqueue(e, bob, carol, "c", 10) })
		wg.Wait()
		if len(fromAlice) > 4 || len(fromCarol) > 4 || len(fromAlice)+len(fromCarol) != 6 {
			e.t.Fatalf("queued %v from alice and %v from carol, want 6 in all, at most 4 each", fromAlice, fromCarol)
		}
		// Empty the mailbox: every slot comes back, none was kept by the
		// refused racers, so each sender queues exactly its quota again.
		e.dequeue(bob, e.inboxIDs(bob, 0)...)
		for _, from := range []struct{ player, prefix string }{{alice, "x"}, {carol, "y"}} {
			for i := range 3 {
				e.mustEnqueue(e.msg(bob, fmt.Sprintf("%s%02d", from.prefix, i), from.player))
			}
		}
		for _, from := range []string{alice, carol} {
			e.mustRefuse(e.msg(bob, "z", from), "a seventh message")
		}
		equal(e.t, "inbox after the refill", e.inboxIDs(bob, 0), []string{"x00", "x01", "x02", "y00", "y01", "y02"})
	}},

	{name: "bans", run: func(e *env) {
		alice, bob, carol := e.player("alice"), e.player("bob"), e.player("carol")
		now := e.clock.Now()
		timed := domain.Ban{PlayerID: bob, Reason: "cheating", BannedBy: alice, BannedAt: now, Until: now.Add(time.Hour)}
		forever := domain.Ban{PlayerID: carol, Reason: "abuse", BannedBy: alice, BannedAt: now}
		for _, b := range []domain.Ban{timed, forever} {
			if err := e.store.PutBan(e.ctx, b); err != nil {
				e.t.Fatalf("PutBan(%s): %v", b.PlayerID, err)
			}
		}
		if _, err := e.store.Ban(e.ctx, alice); !errors.Is(err, domain.ErrNotFound) {
			e.t.Errorf("Ban(alice) = %v, want ErrNotFound", err)
		}
		got, err := e.another().Ban(e.ctx, bob)
		if err != nil || got != timed {
			e.t.Errorf("Ban(bob) = %+v, %v; want %+v", got, err, timed)
		}
		if got, err := e.store.Ban(e.ctx, carol); err != nil || !got.Until.IsZero() || got.Reason != "abuse" {
			e.t.Errorf("Ban(carol) = %+v, %v; want a ban until lifted", got, err)
		}
		equal(e.t, "bans in force", e.listBans(1), []string{bob, carol})

		// The row is still there, but a ban that has ended is absent.
		e.clock.Advance(time.Hour)
		if _, err := e.store.Ban(e.ctx, bob); !errors.Is(err, domain.ErrNotFound) {
			e.t.Errorf("Ban(bob) at its end = %v, want ErrNotFound", err)
		}
		equal(e.t, "bans in force after bob's ended", e.listBans(1), []string{carol})

		for _, want := range []bool{true, false} {
			lifted, err := e.store.DeleteBan(e.ctx, carol)
			if err != nil || lifted != want {
				e.t.Errorf("DeleteBan(carol) = %v, %v; want %v", lifted, err, want)
			}
		}
		if _, err := e.store.Ban(e.ctx, carol); !errors.Is(err, domain.ErrNotFound) {
			e.t.Errorf("Ban(carol) after the lift = %v, want ErrNotFound", err)
		}
		if _, _, err := e.store.ListBans(e.ctx, 10, "not a cursor!"); !errors.Is(err, dynamo.ErrBadCursor) {
			e.t.Errorf("ListBans with a bad cursor = %v, want ErrBadCursor", err)
		}
		if _, _, err := e.store.ListBans(e.ctx, domain.MaxBansPage+1, ""); err == nil {
			e.t.Error("ListBans over the page limit succeeded")
		}
	}},

	{name: "bans listed page by page", run: func(e *env) {
		var want []string
		for i := range 7 {
			b := domain.Ban{PlayerID: e.player(fmt.Sprintf("p%d", i)), Reason: "flood", BannedBy: "admin", BannedAt: e.clock.Now()}
			if i%3 == 0 {
				b.Until = e.clock.Now().Add(time.Minute) // ends before the listing
			} else {
				want = append(want, b.PlayerID)
			}
			if err := e.store.PutBan(e.ctx, b); err != nil {
				e.t.Fatalf("PutBan(%s): %v", b.PlayerID, err)
			}
		}
		e.clock.Advance(time.Minute)
		slices.Sort(want)
		for _, limit := range []int{1, 2, 3, domain.MaxBansPage} {
			equal(e.t, fmt.Sprintf("bans listed %d a page", limit), e.listBans(limit), want)
		}
	}},

	{name: "ended bans do not thin the pages", run: func(e *env) {
		var want []string
		for i := range 125 {
			b := domain.Ban{PlayerID: e.player(fmt.Sprintf("p%03d", i)), Reason: "flood", BannedBy: "admin", BannedAt: e.clock.Now()}
			if i%25 == 0 {
				want = append(want, b.PlayerID)
			} else {
				b.Until = e.clock.Now().Add(time.Minute) // ends before the listing
			}
			if err := e.store.PutBan(e.ctx, b); err != nil {
				e.t.Fatalf("PutBan(%s): %v", b.PlayerID, err)
			}
		}
		e.clock.Advance(time.Minute)
		slices.Sort(want)
		for _, limit := range []int{1, 5, 50} {
			equal(e.t, fmt.Sprintf("bans listed %d a page", limit), e.listBans(limit), want)
		}
	}},

	{name: "players are isolated", opts: dynamo.Options{MaxConnectionsPerPlayer: 1, MailboxMaxMessages: 1}, run: func(e *env) {
		alice, bob := e.player("alice"), e.player("bob")
		e.mustPut(e.conn(alice, "a"))
		e.mustPut(e.conn(bob, "b")) // alice's full slots are not bob's
		e.mustEnqueue(e.msg(alice, "0001", bob))
		e.mustEnqueue(e.msg(bob, "0001", alice)) // same message id, other mailbox
		equal(e.t, "alice", e.connIDs(alice), []string{"a="})
		equal(e.t, "bob", e.connIDs(bob), []string{"b="})
		e.disconnect(alice, "a=")
		e.dequeue(alice, "0001")
		equal(e.t, "bob after alice left", e.connIDs(bob), []string{"b="})
		msgs, err := e.store.Inbox(e.ctx, bob, 0)
		if err != nil {
			e.t.Fatal(err)
		}
		if len(msgs) != 1 || msgs[0].From != alice {
			e.t.Errorf("bob's inbox = %+v, want alice's message", msgs)
		}
		equal(e.t, "alice's inbox", e.inboxIDs(alice, 0), []string{})
	}},
}

// race has 20 clients, each with a store of its own, connect one player at
// once, and checks that exactly max of them succeed.
func race(e *env, max int) {
	alice := e.player("alice")
	const racers = 20
	won := e.concurrently(racers, domain.ErrConnectionLimit, func(i int) (string, func(*dynamo.Store) error) {
		c := e.conn(alice, fmt.Sprintf("r%02d", i))
		return c.ID, func(s *dynamo.Store) error { return s.PutConnection(e.ctx, c) }
	})
	if len(won) != max {
		e.t.Errorf("%d racers connected, want exactly %d", len(won), max)
	}
	equal(e.t, "connections", e.connIDs(alice), won)
}

// raceEnqueue has n clients, each with a store of its own, queue a message
// from sender for to at once, with ids prefix00, prefix01, ...; it returns
// the ids queued, in order, and fails the test on any error but
// ErrMailboxFull.
func raceEnqueue(e *env, to, sender, prefix string, n int) []string {
	return e.concurrently(n, domain.ErrMailboxFull, func(i int) (string, func(*dynamo.Store) error) {
		m := e.msg(to, fmt.Sprintf("%s%02d", prefix, i), sender)
		return m.ID, func(s *dynamo.Store) error { return s.Enqueue(e.ctx, m) }
	})
}

// concurrently prepares n calls, then makes them all at once, each on a
// store of its own. It returns the ids of the calls that succeeded, in
// order, and fails the test on any error but refused.
func (e *env) concurrently(n int, refused error, prepare func(i int) (id string, call func(*dynamo.Store) error)) []string {
	ids := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		s := e.another()
		id, call := prepare(i)
		ids[i] = id
		wg.Go(func() { errs[i] = call(s) })
	}
	wg.Wait()
	var ok []string
	for i, err := range errs {
		switch {
		case err == nil:
			ok = append(ok, ids[i])
		case !errors.Is(err, refused):
			e.t.Errorf("call %s: %v, want nil or %v", ids[i], err, refused)
		}
	}
	return ok
}
