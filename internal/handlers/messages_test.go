package handlers

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"
	"unicode/utf8"

	"github.com/serverless-websockets/serverless-websockets/internal/domain"
	"github.com/serverless-websockets/serverless-websockets/internal/metrics"
)

type fixture struct {
	h       *Messages
	store   *fakeStore
	sender  *fakeSender
	limiter *fakeLimiter
	logs    *bytes.Buffer
	metrics *metrics.Counters
}

func newFixture() *fixture {
	f := &fixture{
		store:   &fakeStore{conns: map[string][]domain.Connection{}},
		sender:  &fakeSender{},
		limiter: &fakeLimiter{decision: domain.Admission{Allowed: true}},
		logs:    &bytes.Buffer{},
		metrics: metrics.NewCounters(),
	}
	f.h = &Messages{
		Connections: f.store, Presence: f.store, Mailbox: f.store, Sender: f.sender, Limiter: f.limiter,
		Now: func() time.Time { return testNow }, Logger: testLogger(f.logs), Metrics: f.metrics,
	}
	return f
}

func (f *fixture) call(t *testing.T, route, player, body string) map[string]any {
	t.Helper()
	resp, err := f.h.Handle(context.Background(), event(route, "alice-conn=", player, body))
	if err != nil {
		t.Fatalf("Handle returned an error (API Gateway would answer Internal server error): %v", err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if resp.Body == "" {
		return nil
	}
	return decode(t, resp.Body)
}

func live(ids ...string) []domain.Connection {
	var cs []domain.Connection
	for _, id := range ids {
		cs = append(cs, domain.Connection{ID: id, PlayerID: "bob", ExpiresAt: testNow.Add(time.Hour)})
	}
	return cs
}

func TestSendDeliversToEveryConnection(t *testing.T) {
	f := newFixture()
	f.store.conns["bob"] = live("bob-1=", "bob-2=")
	got := f.call(t, RouteSendMessage, "alice", `{"action":"sendmessage","to":"bob","message":{"move": "e4"},"id":"c-17"}`)
	if got["type"] != "ack" || got["status"] != "delivered" || got["connections"] != float64(2) || got["id"] != "c-17" || got["messageId"] == "" {
		t.Fatalf("ack = %v", got)
	}
	for _, c := range []string{"bob-1=", "bob-2="} {
		if len(f.sender.posts[c]) != 1 {
			t.Fatalf("%s got %d posts", c, len(f.sender.posts[c]))
		}
		m := decode(t, string(f.sender.posts[c][0]))
		if m["type"] != "message" || m["from"] != "alice" || m["id"] != got["messageId"] || m["sentAt"] != "2026-11-28T12:00:00.000Z" {
			t.Fatalf("delivered frame = %v", m)
		}
		if msg, _ := m["message"].(map[string]any); msg["move"] != "e4" {
			t.Fatalf("message = %v", m["message"])
		}
	}
	if len(f.store.queued) != 0 {
		t.Fatal("a delivered message was also queued")
	}
	if f.metrics.Count(metrics.Sent) != 1 || f.metrics.Count(metrics.Delivered) != 2 {
		t.Fatalf("metrics sent=%d delivered=%d", f.metrics.Count(metrics.Sent), f.metrics.Count(metrics.Delivered))
	}
}

func TestSendPrototypeForm(t *testing.T) {
	f := newFixture()
	f.store.conns["bob"] = live("bob-1=")
	got := f.call(t, RouteSendMessage, "alice", `{"action":"sendmessage","message":"hi","playerId":"alice","destinationPlayerId":"bob"}`)
	if got["status"] != "delivered" {
		t.Fatalf("ack = %v", got)
	}
	if m := decode(t, string(f.sender.posts["bob-1="][0])); m["message"] != "hi" || m["from"] != "alice" {
		t.Fatalf("frame = %v", m)
	}
}

func TestSendRefusals(t *testing.T) {
	tests := []struct {
		name     string
		body     string
		setup    func(*fixture)
		code     string
		retry    bool
		limiterN int // limiter calls expected
	}{
		{name: "spoofed sender", body: `{"action":"sendmessage","playerId":"mallory","to":"bob","message":"x","id":"s"}`, code: "forbidden"},
		{name: "no recipient", body: `{"action":"sendmessage","message":"x"}`, code: "bad_request"},
		{name: "invalid recipient", body: `{"action":"sendmessage","to":"bob/../carol","message":"x"}`, code: "bad_request"},
		{name: "no message", body: `{"action":"sendmessage","to":"bob"}`, code: "bad_request"},
		{name: "too large", body: `{"action":"sendmessage","to":"bob","message":"` + strings.Repeat("x", 9000) + `"}`, code: "too_large"},
		{name: "rate limited", body: `{"action":"sendmessage","to":"bob","message":"x"}`, code: "rate_limited", retry: true, limiterN: 1,
			setup: func(f *fixture) { f.limiter.decision = domain.Admission{RetryAfter: 250 * time.Millisecond} }},
		{name: "limiter down fails closed", body: `{"action":"sendmessage","to":"bob","message":"x","id":"u2"}`, code: "unavailable", limiterN: 1,
			setup: func(f *fixture) { f.limiter.err = errors.New("dynamodb: timeout") }},
		{name: "lookup fails", body: `{"action":"sendmessage","to":"bob","message":"x","id":"u"}`, code: "unavailable", limiterN: 1,
			setup: func(f *fixture) { f.store.listErr = errors.New("dynamodb: 500") }},
		{name: "post fails", body: `{"action":"sendmessage","to":"bob","message":"x","id":"u2"}`, code: "unavailable", limiterN: 1,
			setup: func(f *fixture) {
				f.store.conns["bob"] = live("bob-1=")
				f.sender.post = func(string) error { return errors.New("management API: 500") }
			}},
		{name: "queue fails", body: `{"action":"sendmessage","to":"bob","message":"x","id":"u2"}`, code: "unavailable", limiterN: 1,
			setup: func(f *fixture) { f.store.enqueueErr = errors.New("dynamodb: 500") }},
		{name: "invalid UTF-8 in message", body: "{\"action\":\"sendmessage\",\"to\":\"bob\",\"message\":\"a\xff\xfeb\",\"id\":\"u1\"}", code: "bad_request",
			setup: func(f *fixture) { f.store.conns["bob"] = live("bob-1=") }},
		{name: "invalid UTF-8 in to", body: "{\"action\":\"sendmessage\",\"to\":\"bo\xc3\",\"message\":1,\"id\":\"u3\"}", code: "bad_request"},
		{name: "to of the wrong type", body: `{"action":"sendmessage","to":7,"message":1,"id":"s11"}`, code: "bad_request"},
		{name: "playerId of the wrong type", body: `{"action":"sendmessage","playerId":1,"to":"bob","message":1,"id":"s12"}`, code: "bad_request"},
		{name: "message too deep", body: `{"action":"sendmessage","to":"bob","id":"d1","message":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}`, code: "bad_request"},
		{name: "mailbox full", body: `{"action":"sendmessage","to":"bob","message":"x"}`, code: "mailbox_full", limiterN: 1,
			setup: func(f *fixture) { f.store.enqueueErr = fmt.Errorf("enqueue: %w", domain.ErrMailboxFull) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture()
			if tt.setup != nil {
				tt.setup(f)
			}
			got := f.call(t, RouteSendMessage, "alice", tt.body)
			if got["type"] != "error" || got["code"] != tt.code {
				t.Fatalf("frame = %v, want error %s", got, tt.code)
			}
			var sent map[string]any
			_ = json.Unmarshal([]byte(tt.body), &sent)
			if got["id"] != sent["id"] {
				t.Errorf("error frame id = %v, want the client's id %v", got["id"], sent["id"])
			}
			if _, ok := got["retryAfterMs"]; ok != tt.retry {
				t.Errorf("retryAfterMs present=%v, want %v (%v)", ok, tt.retry, got)
			}
			if tt.retry && got["retryAfterMs"] != float64(250) {
				t.Errorf("retryAfterMs = %v", got["retryAfterMs"])
			}
			if strings.Contains(fmt.Sprint(got["message"]), "dynamodb") || strings.Contains(fmt.Sprint(got["message"]), "management") {
				t.Errorf("internal cause leaked: %v", got["message"])
			}
			if len(f.sender.posts) != 0 || len(f.store.queued) != 0 {
				t.Errorf("something was delivered (%d) or queued (%d)", len(f.sender.posts), len(f.store.queued))
			}
			if f.limiter.calls != tt.limiterN {
				t.Errorf("limiter called %d times, want %d", f.limiter.calls, tt.limiterN)
			}
			if f.metrics.RejectedCount(tt.code) != 1 {
				t.Errorf("rejected{%s} = %d", tt.code, f.metrics.RejectedCount(tt.code))
			}
		})
	}
}

func TestSendQueuesWhenOffline(t *testing.T) {
	f := newFixture()
	got := f.call(t, RouteSendMessage, "alice", `{"action":"sendmessage","to":"bob","message":[1,2],"id":"q"}`)
	if got["status"] != "queued" || got["id"] != "q" {
		t.Fatalf("ack = %v", got)
	}
	if len(f.store.queued) != 1 {
		t.Fatalf("queued %d", len(f.store.queued))
	}
	q := f.store.queued[0]
	if q.To != "bob" || q.From != "alice" || string(q.Message) != "[1,2]" || q.ID != got["messageId"] ||
		!q.SentAt.Equal(testNow) || !q.ExpiresAt.Equal(testNow.Add(24*time.Hour)) {
		t.Fatalf("queued = %+v", q)
	}
}

func TestSendRemovesStaleRows(t *testing.T) {
	gone := func(id string) error {
		if strings.HasPrefix(id, "stale") {
			return fmt.Errorf("post: %w", domain.ErrGone)
		}
		return nil
	}
	t.Run("a live connection remains", func(t *testing.T) {
		f := newFixture()
		f.store.conns["bob"] = live("stale-1=", "bob-live=")
		f.sender.post = gone
		got := f.call(t, RouteSendMessage, "alice", `{"action":"sendmessage","to":"bob","message":"x"}`)
		if got["status"] != "delivered" || got["connections"] != float64(1) {
			t.Fatalf("ack = %v", got)
		}
		if strings.Join(f.store.deleted, ",") != "bob/stale-1=" {
			t.Fatalf("deleted %v; want only bob's stale row", f.store.deleted)
		}
		if f.metrics.Count(metrics.Gone) != 1 {
			t.Fatalf("gone = %d", f.metrics.Count(metrics.Gone))
		}
	})
	t.Run("every connection is stale", func(t *testing.T) {
		f := newFixture()
		f.store.conns["bob"] = live("stale-1=", "stale-2=")
		f.sender.post = gone
		got := f.call(t, RouteSendMessage, "alice", `{"action":"sendmessage","to":"bob","message":"x"}`)
		if got["status"] != "queued" || len(f.store.queued) != 1 || len(f.store.deleted) != 2 {
			t.Fatalf("ack = %v, queued %d, deleted %v", got, len(f.store.queued), f.store.deleted)
		}
	})
}

func TestSendToSelf(t *testing.T) {
	f := newFixture()
	f.store.conns["alice"] = []domain.Connection{{ID: "alice-conn=", PlayerID: "alice"}, {ID: "alice-phone=", PlayerID: "alice"}}
	got := f.call(t, RouteSendMessage, "alice", `{"action":"sendmessage","to":"alice","message":"note"}`)
	if got["status"] != "delivered" || got["connections"] != float64(2) {
		t.Fatalf("ack = %v", got)
	}
}

func TestTokenExpiredClosesTheConnection(t *testing.T) {
	f := newFixture()
	f.h.Now = func() time.Time { return testNow.Add(2 * time.Hour) }
	resp, err := f.h.Handle(context.Background(), event(RouteSendMessage, "alice-conn=", "alice", `{"action":"sendmessage","to":"bob","message":"x","id":"e"}`))
	if err != nil || resp.Body != "" {
		t.Fatalf("resp = %+v, %v", resp, err)
	}
	posts := f.sender.posts["alice-conn="]
	if len(posts) != 1 {
		t.Fatalf("posts = %d", len(posts))
	}
	if m := decode(t, string(posts[0])); m["code"] != "token_expired" || m["id"] != "e" {
		t.Fatalf("frame = %v", m)
	}
	if strings.Join(f.sender.closed, ",") != "alice-conn=" {
		t.Fatalf("closed = %v", f.sender.closed)
	}
	if f.limiter.calls != 0 || len(f.store.queued) != 0 {
		t.Fatal("an expired token's message was processed")
	}
}

func TestDefaultPingPresence(t *testing.T) {
	f := newFixture()
	f.store.online = func(ids []string) ([]string, error) {
		if strings.Join(ids, ",") != "bob,carol" {
			return nil, fmt.Errorf("asked for %v", ids)
		}
		return []string{"bob"}, nil
	}
	tests := []struct {
		route, body string
		want        map[string]any
	}{
		{RouteDefault, `not json`, map[string]any{"type": "error", "code": "bad_request"}},
		{RouteDefault, `[1,2]`, map[string]any{"type": "error", "code": "bad_request"}},
		{RouteDefault, `{"action":"fly","id":"f"}`, map[string]any{"type": "error", "code": "unknown_action", "id": "f"}},
		{RouteDefault, `{"id":"n"}`, map[string]any{"type": "error", "code": "unknown_action", "id": "n"}},
		{RoutePing, `{"action":"ping","id":"p1"}`, map[string]any{"type": "pong", "id": "p1", "serverTime": "2026-11-28T12:00:00.000Z"}},
		{RoutePresence, `{"action":"presence","players":["bob","carol"]}`, map[string]any{"type": "presence"}},
		{RoutePresence, `{"action":"presence"}`, map[string]any{"type": "error", "code": "bad_request"}},
		{RoutePresence, `{"action":"presence","players":["bad id"]}`, map[string]any{"type": "error", "code": "bad_request"}},
		{RoutePresence, `{"action":"presence","players":[` + strings.Repeat(`"p",`, 50) + `"p"]}`, map[string]any{"type": "error", "code": "bad_request"}},
	}
	for _, tt := range tests {
		got := f.call(t, tt.route, "alice", tt.body)
		for k, v := range tt.want {
			if got[k] != v {
				t.Errorf("%s %s: %s = %v, want %v (%v)", tt.route, tt.body, k, got[k], v, got)
			}
		}
		if tt.route == RoutePresence && got["type"] == "presence" && fmt.Sprint(got["online"]) != "[bob]" {
			t.Errorf("online = %v", got["online"])
		}
	}
}

func TestInbox(t *testing.T) {
	queued := []domain.QueuedMessage{
		{To: "alice", ID: "001", From: "bob", Message: []byte(`"one"`), SentAt: testNow.Add(-3 * time.Minute)},
		{To: "alice", ID: "002", From: "carol", Message: []byte(`"two"`), SentAt: testNow.Add(-2 * time.Minute)},
		{To: "alice", ID: "003", From: "bob", Message: []byte(`"three"`), SentAt: testNow.Add(-time.Minute)},
	}
	t.Run("all delivered in order", func(t *testing.T) {
		f := newFixture()
		f.store.inboxResult = queued
		got := f.call(t, RouteInbox, "alice", `{"action":"inbox"}`)
		if got["type"] != "inbox" || got["delivered"] != float64(3) {
			t.Fatalf("frame = %v", got)
		}
		posts := f.sender.posts["alice-conn="]
		for i, want := range []string{"one", "two", "three"} {
			m := decode(t, string(posts[i]))
			if m["message"] != want || m["id"] != queued[i].ID || m["sentAt"] != queued[i].SentAt.UTC().Format("2006-01-02T15:04:05.000Z07:00") {
				t.Fatalf("post %d = %v", i, m)
			}
		}
		if strings.Join(f.store.dequeued, ",") != "alice/001,alice/002,alice/003" {
			t.Fatalf("dequeued %v", f.store.dequeued)
		}
	})
	t.Run("an unreadable row is dropped and the rest delivered", func(t *testing.T) {
		f := newFixture()
		f.store.inboxResult = []domain.QueuedMessage{
			queued[0],
			{To: "alice", ID: "bad1", From: "mallory", Message: []byte("\"a\xff\xfeb\""), SentAt: testNow.Add(-150 * time.Second)},
			{To: "alice", ID: "bad2", From: "mallory", Message: []byte(`{"a":`), SentAt: testNow.Add(-140 * time.Second)},
			queued[1], queued[2],
		}
		got := f.call(t, RouteInbox, "alice", `{"action":"inbox","id":"i"}`)
		if got["type"] != "inbox" || got["delivered"] != float64(3) || got["id"] != "i" {
			t.Fatalf("frame = %v", got)
		}
		posts := f.sender.posts["alice-conn="]
		if len(posts) != 3 {
			t.Fatalf("%d posts, want the 3 readable messages", len(posts))
		}
		for i, want := range []string{"one", "two", "three"} {
			if !utf8.Valid(posts[i]) || decode(t, string(posts[i]))["message"] != want {
				t.Fatalf("post %d = %q", i, posts[i])
			}
		}
		if strings.Join(f.store.dequeued, ",") != "alice/001,alice/bad1,alice/bad2,alice/002,alice/003" {
			t.Fatalf("dequeued %v", f.store.dequeued)
		}
		if !strings.Contains(f.logs.String(), "unreadable mailbox entry dropped") {
			t.Fatalf("the drop was not logged: %s", f.logs)
		}
	})
	t.Run("a failed post keeps the rest queued", func(t *testing.T) {
		f := newFixture()
		f.store.inboxResult = queued
		n := 0
		f.sender.post = func(string) error {
			n++
			if n == 2 {
				return errors.New("management API: 500")
			}
			return nil
		}
		got := f.call(t, RouteInbox, "alice", `{"action":"inbox"}`)
		if got["code"] != "unavailable" {
			t.Fatalf("frame = %v", got)
		}
		if strings.Join(f.store.dequeued, ",") != "alice/001" {
			t.Fatalf("dequeued %v; only the delivered message may go", f.store.dequeued)
		}
	})
}

func TestNoIdentityIsInternal(t *testing.T) {
	f := newFixture()
	req := event(RoutePing, "c=", "alice", `{"action":"ping"}`)
	req.RequestContext.Authorizer = nil
	resp, _ := f.h.Handle(context.Background(), req)
	if m := decode(t, resp.Body); m["code"] != "internal" {
		t.Fatalf("frame = %v", m)
	}
}

func TestLogsNeverCarryBodiesOrTokens(t *testing.T) {
	f := newFixture()
	f.store.conns["bob"] = live("bob-1=")
	f.call(t, RouteSendMessage, "alice", `{"action":"sendmessage","to":"bob","message":"secret-move-Qh5"}`)
	f.call(t, RouteDefault, "alice", `secret-garbage`)
	f.store.listErr = errors.New("dynamodb: throttled")
	f.call(t, RouteSendMessage, "alice", `{"action":"sendmessage","to":"bob","message":"secret-move-2"}`)
	logs := f.logs.String()
	if strings.Contains(logs, "secret") {
		t.Fatalf("a message body reached the log:\n%s", logs)
	}
	for _, want := range []string{`"connectionId":"alice-conn="`, `"playerId":"alice"`, `"route":"sendmessage"`, `"code":"unavailable"`, `"code":"ok"`, `dynamodb: throttled`} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %s:\n%s", want, logs)
		}
	}
}

func TestInboxAndPresenceAreRateLimited(t *testing.T) {
	for _, body := range []string{`{"action":"inbox","id":"x"}`, `{"action":"presence","players":["bob"],"id":"x"}`} {
		f := newFixture()
		f.store.online = func([]string) ([]string, error) { t.Fatal("presence read DynamoDB while limited"); return nil, nil }
		f.store.listErr = errors.New("inbox read DynamoDB while limited")
		f.limiter.decision = domain.Admission{RetryAfter: time.Second}
		route := RouteInbox
		if strings.Contains(body, "presence") {
			route = RoutePresence
		}
		got := f.call(t, route, "alice", body)
		if got["code"] != "rate_limited" || got["retryAfterMs"] != float64(1000) || got["id"] != "x" {
			t.Fatalf("%s: frame = %v", route, got)
		}
		if f.limiter.calls != 1 {
			t.Fatalf("%s: limiter calls = %d", route, f.limiter.calls)
		}
	}
	// ping and $default are not charged.
	f := newFixture()
	f.limiter.decision = domain.Admission{RetryAfter: time.Second}
	if got := f.call(t, RoutePing, "alice", `{"action":"ping"}`); got["type"] != "pong" {
		t.Fatalf("ping while limited = %v", got)
	}
	if f.limiter.calls != 0 {
		t.Fatalf("ping charged the limiter")
	}
}

// meet blocks until every other side has arrived too, or fails the test
// after a generous bound (a deadlock guard: a sequential handler never lets
// them all arrive).
func meet(t *testing.T, what string, mine chan<- struct{}, others ...<-chan struct{}) {
	close(mine)
	for _, theirs := range others {
		select {
		case <-theirs:
		case <-time.After(10 * time.Second):
			t.Errorf("%s: another request never started while this one was in flight", what)
			return
		}
	}
}

// cancelledSoon reports whether ctx ends within a generous bound (a
// deadlock guard, not a timing assertion).
func cancelledSoon(ctx context.Context) bool {
	select {
	case <-ctx.Done():
		return true
	case <-time.After(10 * time.Second):
		return false
	}
}

// The limiter's write and the recipient's Query are in flight at the same
// time: each fake blocks until the other has started.
func TestSendLimiterAndLookUpConcurrent(t *testing.T) {
	f := newFixture()
	f.store.conns["bob"] = live("bob-1=")
	limiterIn, queryIn := make(chan struct{}), make(chan struct{})
	f.limiter.allow = func(context.Context) { meet(t, "limiter", limiterIn, queryIn) }
	f.store.list = func(context.Context) { meet(t, "query", queryIn, limiterIn) }
	got := f.call(t, RouteSendMessage, "alice", `{"action":"sendmessage","to":"bob","message":1,"id":"c"}`)
	if got["type"] != "ack" || got["status"] != "delivered" {
		t.Fatalf("reply = %v", got)
	}
	if f.limiter.calls != 1 || f.store.lists != 1 {
		t.Fatalf("limiter calls %d, queries %d; want 1 and 1", f.limiter.calls, f.store.lists)
	}
}

// A message the deny cache refuses costs no Query and no ban read; one the limiter's write
// refuses costs the Query that overlapped it, which is cancelled, and the
// refusal wins over that Query's failure.
func TestSendRefusedLookUps(t *testing.T) {
	body := `{"action":"sendmessage","to":"bob","message":1,"id":"c"}`
	denied := domain.Admission{RetryAfter: 250 * time.Millisecond}

	f := newFixture()
	f.limiter.decision, f.limiter.refuses = denied, true
	bans := &fakeBans{ban: func(string) (domain.Ban, error) { return domain.Ban{}, domain.ErrNotFound }}
	f.h.Bans = bans
	if got := f.call(t, RouteSendMessage, "alice", body); got["code"] != "rate_limited" || got["retryAfterMs"] != float64(250) {
		t.Fatalf("deny cache: reply = %v", got)
	}
	if f.store.lists != 0 || f.limiter.calls != 1 || bans.reads != 0 {
		t.Fatalf("deny cache: %d queries, %d limiter calls and %d ban reads, want 0, 1 and 0", f.store.lists, f.limiter.calls, bans.reads)
	}

	for _, tt := range []struct {
		name     string
		decision domain.Admission
		limErr   error
		code     string
	}{
		{name: "refused by the write", decision: denied, code: "rate_limited"},
		{name: "limiter unavailable", limErr: errors.New("dynamodb: timeout"), code: "unavailable"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture()
			f.limiter.decision, f.limiter.err = tt.decision, tt.limErr
			f.store.listErr = errors.New("query failed")
			started := make(chan struct{})
			f.limiter.allow = func(context.Context) { <-started }
			cancelled := false
			f.store.list = func(ctx context.Context) {
				close(started)
				cancelled = cancelledSoon(ctx)
			}
			got := f.call(t, RouteSendMessage, "alice", body)
			if got["code"] != tt.code {
				t.Fatalf("reply = %v, want %s", got, tt.code)
			}
			if !cancelled {
				t.Error("the Query overlapping a refusal was not cancelled")
			}
			if f.store.lists != 1 {
				t.Errorf("%d queries, want 1", f.store.lists)
			}
		})
	}
}

// fakeBans is a function-field fake of the ban reader that counts reads.
type fakeBans struct {
	ban   func(playerID string) (domain.Ban, error)
	wait  func(ctx context.Context) // called before answering, if set
	reads int
}

func (f *fakeBans) Ban(ctx context.Context, playerID string) (domain.Ban, error) {
	f.reads++
	if f.wait != nil {
		f.wait(ctx)
	}
	return f.ban(playerID)
}

func TestSendMessageBanCheck(t *testing.T) {
	banned := map[string]bool{}
	until := testNow.Add(time.Hour)
	bans := &fakeBans{ban: func(p string) (domain.Ban, error) {
		if banned[p] {
			return domain.Ban{PlayerID: p, Reason: "cheating", Until: until}, nil
		}
		return domain.Ban{}, domain.ErrNotFound
	}}
	store := &fakeStore{}
	h := &Messages{Connections: store, Presence: store, Mailbox: store, Sender: &fakeSender{}, Bans: bans, Now: func() time.Time { return testNow }}
	send := func(conn, player string) map[string]any {
		resp, err := h.Handle(t.Context(), event(RouteSendMessage, conn, player, `{"action":"sendmessage","to":"bob","message":1,"id":"m"}`))
		if err != nil {
			t.Fatal(err)
		}
		return decode(t, resp.Body)
	}

	// A connection that survived a race with its player's ban is refused.
	banned["mallory"] = true
	for range 2 {
		f := send("M1=", "mallory")
		if f["code"] != "banned" || f["message"] != "cheating" || f["until"] != until.UTC().Format(time.RFC3339) {
			t.Fatalf("banned sender got %v", f)
		}
	}
	if bans.reads != 2 {
		t.Errorf("a banned connection's messages made %d ban reads, want one each (2)", bans.reads)
	}
	// A connection whose messages passed the check is refused from the
	// ban on: the ban is read for every message, not only the first.
	for range 3 {
		if f := send("A1=", "alice"); f["type"] != "ack" {
			t.Fatalf("alice got %v, want an ack", f)
		}
	}
	banned["alice"] = true
	if f := send("A1=", "alice"); f["code"] != "banned" {
		t.Fatalf("alice, banned after 3 messages, got %v, want banned", f)
	}
	if bans.reads != 6 {
		t.Errorf("after 6 messages, %d ban reads, want one each (6)", bans.reads)
	}
}

// Every message reads its sender's ban while the limiter's write and
// the recipient's Query are in flight: each of the three fakes blocks until
// the other two have started.
func TestSendBanCheckConcurrentWithLimiterAndLookUp(t *testing.T) {
	f := newFixture()
	f.store.conns["bob"] = live("bob-1=")
	banIn, limiterIn, queryIn := make(chan struct{}), make(chan struct{}), make(chan struct{})
	bans := &fakeBans{
		ban:  func(string) (domain.Ban, error) { return domain.Ban{}, domain.ErrNotFound },
		wait: func(context.Context) { meet(t, "ban read", banIn, limiterIn, queryIn) },
	}
	f.h.Bans = bans
	f.limiter.allow = func(context.Context) { meet(t, "limiter", limiterIn, banIn, queryIn) }
	f.store.list = func(context.Context) { meet(t, "query", queryIn, banIn, limiterIn) }
	got := f.call(t, RouteSendMessage, "alice", `{"action":"sendmessage","to":"bob","message":1,"id":"c"}`)
	if got["type"] != "ack" || got["status"] != "delivered" {
		t.Fatalf("reply = %v", got)
	}
	if bans.reads != 1 || f.limiter.calls != 1 || f.store.lists != 1 {
		t.Fatalf("ban reads %d, limiter calls %d, queries %d; want 1 each", bans.reads, f.limiter.calls, f.store.lists)
	}
	if len(f.sender.posts["bob-1="]) != 1 {
		t.Fatalf("posts to bob: %d, want 1", len(f.sender.posts["bob-1="]))
	}
}

// A ban, or a ban read that fails, found while the limiter's write and the
// Query are still in flight refuses the message: those two are cancelled,
// nothing is posted or queued, and the refusal wins over their outcomes. A
// frame refused on its own makes no request at all.
func TestSendBannedWhileAdmitting(t *testing.T) {
	until := testNow.Add(time.Hour)
	banned := func(p string) (domain.Ban, error) {
		return domain.Ban{PlayerID: p, Reason: "cheating", Until: until}, nil
	}
	for _, tt := range []struct {
		name string
		body string
		ban  func(string) (domain.Ban, error)
		code string
	}{
		{
			name: "banned", body: `{"action":"sendmessage","to":"bob","message":1,"id":"c"}`,
			ban: banned, code: "banned",
		},
		{
			name: "ban read failed", body: `{"action":"sendmessage","to":"bob","message":1,"id":"c"}`,
			ban:  func(string) (domain.Ban, error) { return domain.Ban{}, errors.New("dynamodb: timeout") },
			code: "unavailable",
		},
		{
			name: "banned, recipient offline", body: `{"action":"sendmessage","to":"carol","message":1,"id":"c"}`,
			ban: banned, code: "banned",
		},
		{
			// A frame refused on its own is refused before any request,
			// the ban read included: it could deliver nothing anyway.
			name: "banned, frame without a recipient", body: `{"action":"sendmessage","message":1,"id":"c"}`,
			ban: banned, code: "bad_request",
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture()
			f.store.conns["bob"] = live("bob-1=")
			started := make(chan struct{}, 2)
			var limiterCancelled, queryCancelled bool
			blockUntilCancelled := func(ctx context.Context, cancelled *bool) {
				started <- struct{}{}
				*cancelled = cancelledSoon(ctx)
			}
			f.limiter.allow = func(ctx context.Context) { blockUntilCancelled(ctx, &limiterCancelled) }
			f.store.list = func(ctx context.Context) { blockUntilCancelled(ctx, &queryCancelled) }
			admitting := tt.name != "banned, frame without a recipient"
			bans := &fakeBans{ban: tt.ban, wait: func(context.Context) {
				for range 2 {
					if !admitting {
						return
					}
					select {
					case <-started:
					case <-time.After(10 * time.Second):
						t.Error("the limiter's write and the Query did not start while the ban was read")
						return
					}
				}
			}}
			f.h.Bans = bans
			got := f.call(t, RouteSendMessage, "mallory", tt.body)
			if got["code"] != tt.code {
				t.Fatalf("reply = %v, want %s", got, tt.code)
			}
			if !admitting && (bans.reads != 0 || f.limiter.calls != 0 || f.store.lists != 0) {
				t.Errorf("a frame without a recipient made %d ban reads, %d limiter calls and %d queries, want none", bans.reads, f.limiter.calls, f.store.lists)
			}
			if len(f.sender.posts) != 0 || len(f.store.queued) != 0 {
				t.Fatalf("posted %v and queued %v for a refused sender", f.sender.posts, f.store.queued)
			}
			if admitting && (!limiterCancelled || !queryCancelled) {
				t.Errorf("limiter cancelled %v, query cancelled %v; want both", limiterCancelled, queryCancelled)
			}
		})
	}
}

// frozenConnections is a connections table whose engine never answers: every
// lookup returns only when its context ends.
type frozenConnections struct{ *fakeStore }

func (frozenConnections) PlayerConnections(ctx context.Context, _ string) ([]domain.Connection, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

// A frozen backend costs a sendmessage its deadline less the reserve (a
// tenth of 2 s), not the deadline: the handler answers unavailable with the
// client's id itself. The bubble's clock makes the wait exact and instant.
func TestFrozenBackendAnswersUnavailableBeforeTheDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture()
		f.h.Connections = frozenConnections{f.store}
		start := time.Now()
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
		defer cancel()
		resp, err := f.h.Handle(ctx, event(RouteSendMessage, "alice-conn=", "alice", `{"action":"sendmessage","to":"bob","message":"x","id":"t-1"}`))
		if err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took != 1800*time.Millisecond {
			t.Errorf("the handler answered after %v, want the deadline less the reserve, 1.8s", took)
		}
		got := decode(t, resp.Body)
		if got["code"] != "unavailable" || got["id"] != "t-1" {
			t.Fatalf("frame = %v, want unavailable with the client's id", got)
		}
		if len(f.sender.posts) != 0 || len(f.store.queued) != 0 {
			t.Fatalf("something was delivered (%d) or queued (%d)", len(f.sender.posts), len(f.store.queued))
		}
	})
}

// Every post that fails is reported, not only the last: the answer is
// unavailable when none succeeded, and the log names each failure.
func TestSendReportsEveryFailedPost(t *testing.T) {
	f := newFixture()
	f.store.conns["bob"] = live("bob-1=", "bob-2=")
	f.sender.post = func(id string) error { return errors.New("post to " + id + " throttled") }
	if got := f.call(t, RouteSendMessage, "alice", `{"action":"sendmessage","to":"bob","message":1,"id":"c"}`); got["code"] != "unavailable" {
		t.Fatalf("reply = %v, want unavailable", got)
	}
	for _, id := range []string{"bob-1=", "bob-2="} {
		if !strings.Contains(f.logs.String(), "post to "+id+" throttled") {
			t.Errorf("the log does not name the failed post to %s:\n%s", id, f.logs)
		}
	}
}

// A deny-cache refusal that ends between RefusesMessage and AllowMessage
// (its time passed) admits the message: it is charged once and delivered,
// never answered with nothing.
func TestSendDenyCacheRefusalEndingMeanwhile(t *testing.T) {
	f := newFixture()
	f.store.conns["bob"] = live("bob-1=")
	f.limiter.refuses, f.limiter.decision = true, domain.Admission{Allowed: true}
	got := f.call(t, RouteSendMessage, "alice", `{"action":"sendmessage","to":"bob","message":1,"id":"c"}`)
	if got["type"] != "ack" || got["status"] != "delivered" {
		t.Fatalf("reply = %v, want an ack delivered", got)
	}
	if f.limiter.calls != 1 || len(f.sender.posts["bob-1="]) != 1 {
		t.Errorf("%d limiter calls and %d posts to bob, want 1 and 1", f.limiter.calls, len(f.sender.posts["bob-1="]))
	}
}

// A binary frame, which API Gateway routes to $default, is refused with a
// message naming binary and the id it holds.
func TestBinaryFrameIsRefusedWithItsID(t *testing.T) {
	f := newFixture()
	for _, tt := range []struct {
		data, id string
	}{
		{`{"action":"sendmessage","to":"bob","message":1,"id":"b-1"}`, "b-1"},
		{"\x00\x01 not json", ""},
	} {
		ev := event(RouteDefault, "alice-conn=", "alice", base64.StdEncoding.EncodeToString([]byte(tt.data)))
		ev.IsBase64Encoded = true
		resp, err := f.h.Handle(t.Context(), ev)
		if err != nil {
			t.Fatal(err)
		}
		got := decode(t, resp.Body)
		if got["code"] != "bad_request" || !strings.Contains(fmt.Sprint(got["message"]), "binary") || (tt.id != "" && got["id"] != tt.id) || (tt.id == "" && got["id"] != nil) {
			t.Errorf("binary %q: reply %v, want bad_request naming binary with id %q", tt.data, got, tt.id)
		}
	}
	if len(f.sender.posts) != 0 {
		t.Errorf("a binary frame posted %v", f.sender.posts)
	}
}
