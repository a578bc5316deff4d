package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	miniclient "github.com/truora/minidyn/aws-v2/client"

	"github.com/serverless-websockets/serverless-websockets/internal/domain"
	"github.com/serverless-websockets/serverless-websockets/internal/local"
	"github.com/serverless-websockets/serverless-websockets/internal/local/devissuer"
	"github.com/serverless-websockets/serverless-websockets/internal/protocol"
	"github.com/serverless-websockets/serverless-websockets/internal/testsupport/poll"
)

// tokenIn asks the dev issuer for a token of player in groups.
func (s *stack) tokenIn(player string, groups ...string) string {
	s.t.Helper()
	tok, _, err := s.Issuer.Issue(devissuer.TokenRequest{PlayerID: player, Groups: groups, TTLSeconds: 3600})
	if err != nil {
		s.t.Fatalf("dev token: %v", err)
	}
	return tok
}

// admin calls the admin API and returns the status and the decoded body.
func (s *stack) admin(method, path, token string, body any) (int, map[string]any) {
	s.t.Helper()
	var payload []byte
	if body != nil {
		payload, _ = json.Marshal(body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, s.URL+path, bytes.NewReader(payload))
	if err != nil {
		s.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out := map[string]any{}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		s.t.Fatalf("%s %s: status %d, body not JSON: %v", method, path, resp.StatusCode, err)
	}
	return resp.StatusCode, out
}

func TestAdminAccessControl(t *testing.T) {
	s := startStack(t, noLimits())
	other, err := devissuer.New(devissuer.Config{Issuer: "http://127.0.0.1:1/other", ClientID: "local-client"})
	if err != nil {
		t.Fatal(err)
	}
	foreign, _, err := other.Issue(devissuer.TokenRequest{PlayerID: "root", Groups: []string{"admin"}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, token string
		status      int
		code        string
	}{
		{"no token", "", http.StatusUnauthorized, ""},
		{"garbage token", "not.a.token", http.StatusUnauthorized, ""},
		{"admin token from another issuer", foreign, http.StatusUnauthorized, ""},
		{"player without groups", s.tokenIn("alice"), http.StatusForbidden, "forbidden"},
		{"player in another group", s.tokenIn("alice", "ops", "admins"), http.StatusForbidden, "forbidden"},
		{"admin", s.tokenIn("root", "ops", "admin"), http.StatusOK, ""},
	}
	for _, tt := range tests {
		for _, r := range [][2]string{{"GET", "/admin/players/bob"}, {"DELETE", "/admin/players/bob/connections"}, {"GET", "/admin/bans"}} {
			status, body := s.admin(r[0], r[1], tt.token, nil)
			if status != tt.status || (tt.code != "" && body["code"] != tt.code) {
				t.Errorf("%s: %s %s = %d %v, want %d %s", tt.name, r[0], r[1], status, body, tt.status, tt.code)
			}
		}
	}
	// Bad input is 400 and touches nothing.
	root := s.tokenIn("root", "admin")
	for _, c := range []struct {
		method, path string
		body         any
	}{
		{"GET", "/admin/players/" + url.PathEscape("bob smith"), nil},
		{"POST", "/admin/players/bob/ban", map[string]any{"reason": ""}},
		{"POST", "/admin/players/bob/ban", map[string]any{"reason": "x", "durationSeconds": -5}},
		{"POST", "/admin/players/bob/ban", map[string]any{"reason": "x", "extra": 1}},
		{"POST", "/admin/players/bob/ban", "just a string"},
		{"GET", "/admin/bans?limit=0", nil},
		{"GET", "/admin/bans?next=%25%25", nil},
	} {
		if status, body := s.admin(c.method, c.path, root, c.body); status != http.StatusBadRequest || body["code"] != "bad_request" {
			t.Errorf("%s %s %v = %d %v, want 400 bad_request", c.method, c.path, c.body, status, body)
		}
	}
	if status, body := s.admin("GET", "/admin/players/bob", root, nil); status != 200 || body["ban"] != nil {
		t.Errorf("after refused bans, bob = %d %v, want no ban", status, body)
	}
}

func TestAdminKick(t *testing.T) {
	s := startStack(t, noLimits())
	root := s.tokenIn("root", "admin")
	alice := s.dial("alice")
	bobs := []*client{s.dial("bob"), s.dial("bob"), s.dial("bob")}

	status, body := s.admin("GET", "/admin/players/bob", root, nil)
	conns, _ := body["connections"].([]any)
	if status != 200 || body["online"] != true || len(conns) != 3 || body["ban"] != nil {
		t.Fatalf("GET bob = %d %v, want online with 3 connections", status, body)
	}
	for _, c := range conns {
		m := c.(map[string]any)
		if m["connectionId"] == "" || m["connectedAt"] == "" || m["sourceIp"] != "127.0.0.1" {
			t.Errorf("connection %v lacks its details", m)
		}
	}

	alice.sendTo("bob", map[string]any{"n": 1}, "before")
	alice.wantAck("before", protocol.StatusDelivered, 3)
	for _, b := range bobs {
		b.nextOf("message")
	}

	status, body = s.admin("DELETE", "/admin/players/bob/connections", root, nil)
	if status != 200 || body["closed"] != float64(3) {
		t.Fatalf("kick = %d %v, want closed 3", status, body)
	}
	for i, b := range bobs {
		f := b.nextOf("error")
		if f["code"] != "kicked" || f["message"] != "an operator closed this connection" {
			t.Errorf("bob %d got %v, want the kicked frame", i, f)
		}
		b.closed()
	}
	// The admin API deletes no rows itself: $disconnect ran for each.
	poll.Until(t, "$disconnect deleted bob's rows", func() bool { return len(s.connections("bob")) == 0 })

	alice.sendTo("bob", map[string]any{"n": 2}, "after")
	alice.wantAck("after", protocol.StatusQueued, 0) // bob was kicked
	alice.pingPong("p")
	if len(s.connections("alice")) != 1 {
		t.Error("alice's connection was touched by bob's kick")
	}
	if status, body := s.admin("DELETE", "/admin/players/bob/connections", root, nil); status != 200 || body["closed"] != float64(0) {
		t.Errorf("a second kick = %d %v, want closed 0", status, body)
	}
}

func TestAdminCloseOneConnection(t *testing.T) {
	s := startStack(t, noLimits())
	root := s.tokenIn("root", "admin")
	b1, b2 := s.dial("bob"), s.dial("bob")
	poll.Until(t, "two rows", func() bool { return len(s.connections("bob")) == 2 })
	ids := s.connections("bob")

	status, body := s.admin("DELETE", "/admin/connections/"+url.PathEscape(ids[0]), root, nil)
	if status != 200 || body["closed"] != float64(1) {
		t.Fatalf("close %s = %d %v", ids[0], status, body)
	}
	poll.Until(t, "one row left", func() bool { return slices.Equal(s.connections("bob"), ids[1:]) })
	// Whichever socket it was is closed; the other still answers.
	var open *client
	select {
	case <-b1.done:
		open = b2
	case <-b2.done:
		open = b1
	case <-time.After(10 * time.Second):
		t.Fatal("no socket closed")
	}
	open.pingPong("p")

	for _, id := range []string{ids[0], "unknownConnection="} {
		if status, body := s.admin("DELETE", "/admin/connections/"+url.PathEscape(id), root, nil); status != 404 || body["code"] != "not_found" {
			t.Errorf("close %s = %d %v, want 404 not_found", id, status, body)
		}
	}
}

func TestAdminBan(t *testing.T) {
	s := startStack(t, noLimits())
	root := s.tokenIn("root", "admin")
	alice := s.dial("alice")
	bob := s.dial("bob")

	status, body := s.admin("POST", "/admin/players/bob/ban", root, map[string]any{"reason": "cheating", "durationSeconds": 60})
	ban, _ := body["ban"].(map[string]any)
	steps, _ := body["steps"].(map[string]any)
	if status != 200 || body["closed"] != float64(1) || ban["reason"] != "cheating" || ban["bannedBy"] != "root" || ban["until"] == nil ||
		steps["record"] != "ok" || steps["disconnect"] != "ok" || steps["signOut"] != "skipped" || steps["disable"] != "skipped" {
		t.Fatalf("ban = %d %v", status, body)
	}
	f := bob.nextOf("error")
	if f["code"] != "banned" || f["message"] != "cheating" || f["until"] != ban["until"].(string)[:19]+"Z" {
		t.Errorf("bob got %v, want the banned frame with reason and until %v", f, ban["until"])
	}
	bob.closed()
	// $disconnect runs after the socket is gone: wait for it, so that a row
	// seen below can only be the refused connect's.
	poll.Until(t, "$disconnect deleted bob's kicked row", func() bool { return len(s.connections("bob")) == 0 })

	// Reconnecting is refused with the reason; alice and carol are not.
	status, refusal := s.dialRefused(s.token("bob", 3600))
	if status != http.StatusForbidden || refusal["code"] != "banned" || refusal["message"] != "cheating" || refusal["until"] == nil {
		t.Errorf("bob's reconnect = %d %v, want 403 banned with the reason", status, refusal)
	}
	if len(s.connections("bob")) != 0 {
		t.Error("the refused connect left a row")
	}
	// A connect costs one ban read, after the slot claim's Query and PutItem
	// (the connect rate limit is off here).
	before := s.DynamoDB.Requests()
	carol := s.dial("carol")
	after := s.DynamoDB.Requests()
	if bans := after["GetItem:bans"] - before["GetItem:bans"]; bans != 1 {
		t.Errorf("carol's connect read the bans %d times, want 1", bans)
	}
	if total, q, p := sum(after)-sum(before), after["Query"]-before["Query"], after["PutItem"]-before["PutItem"]; total != 3 || q != 1 || p != 1 {
		t.Errorf("carol's connect made %d DynamoDB requests (%d Query, %d PutItem), want 3 (1, 1, and the ban read)", total, q, p)
	}
	carol.sendTo("alice", "hi", "c1")
	carol.wantAck("c1", protocol.StatusDelivered, 1)
	alice.nextOf("message")

	status, body = s.admin("GET", "/admin/bans", root, nil)
	if bans, _ := body["bans"].([]any); status != 200 || len(bans) != 1 || bans[0].(map[string]any)["playerId"] != "bob" {
		t.Errorf("GET /admin/bans = %d %v, want bob's ban", status, body)
	}
	if status, body := s.admin("GET", "/admin/players/bob", root, nil); status != 200 || body["online"] != false || body["ban"] == nil {
		t.Errorf("GET bob while banned = %d %v", status, body)
	}

	// The ban ends on time, though its row is still in the table.
	s.Clock.Advance(59 * time.Second)
	if status, _ := s.dialRefused(s.token("bob", 3600)); status != http.StatusForbidden {
		t.Errorf("a second before the end, bob's connect = %d, want 403", status)
	}
	s.Clock.Advance(time.Second)
	b := s.dial("bob")
	b.sendTo("alice", "back", "b1")
	b.wantAck("b1", protocol.StatusDelivered, 1)
	alice.nextOf("message")
	if status, body := s.admin("GET", "/admin/bans", root, nil); status != 200 || len(body["bans"].([]any)) != 0 {
		t.Errorf("bans after the end = %d %v, want none", status, body)
	}

	// A ban until lifted, then the unban.
	status, body = s.admin("POST", "/admin/players/bob/ban", root, map[string]any{"reason": "abuse"})
	if status != 200 || body["ban"].(map[string]any)["until"] != nil || body["closed"] != float64(1) {
		t.Fatalf("second ban = %d %v", status, body)
	}
	b.closed()
	s.Clock.Advance(30 * time.Minute)
	if status, refusal := s.dialRefused(s.token("bob", 3600)); status != http.StatusForbidden || refusal["message"] != "abuse" || refusal["until"] != nil {
		t.Errorf("half an hour later, bob's connect = %d %v, want 403 banned without until", status, refusal)
	}
	status, body = s.admin("DELETE", "/admin/players/bob/ban", root, nil)
	if status != 200 || body["lifted"] != true {
		t.Fatalf("unban = %d %v", status, body)
	}
	s.dial("bob")
	if status, body := s.admin("DELETE", "/admin/players/bob/ban", root, nil); status != 200 || body["lifted"] != false {
		t.Errorf("a second unban = %d %v, want lifted false", status, body)
	}
}

func sum(m map[string]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}

// TestBanRaceSurvivor: a connection that was still in $connect when its
// player's ban tried to close it (here: a ban written straight into the
// table, closing nothing) cannot send.
func TestBanRaceSurvivor(t *testing.T) {
	s := startStack(t, noLimits())
	alice, bob := s.dial("alice"), s.dial("bob")
	now := s.Clock.Now()
	if err := s.Store.PutBan(t.Context(), domain.Ban{PlayerID: "bob", Reason: "cheating", BannedBy: "root", BannedAt: now, Until: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"b1", "b2"} {
		bob.sendTo("alice", "hi", id)
		if f := bob.wantError(id, domain.CodeBanned); f["message"] != "cheating" || f["until"] == nil {
			t.Fatalf("bob's message %s got %v, want banned", id, f)
		}
	}
	alice.quiet(200 * time.Millisecond)
	alice.sendTo("alice", "self", "a1")
	if f := alice.next(); f["type"] != "message" && f["type"] != "ack" {
		t.Fatalf("alice got %v", f)
	}
}

// TestAdminBanAnyCase bans "Bob": player ids are case-insensitive, so the
// ban holds for the "bob" who connects, and "BOB" lifts it.
func TestAdminBanAnyCase(t *testing.T) {
	s := startStack(t, noLimits())
	root := s.tokenIn("root", "admin")
	status, body := s.admin("POST", "/admin/players/Bob/ban", root, map[string]any{"reason": "cheating"})
	if ban, _ := body["ban"].(map[string]any); status != 200 || ban["playerId"] != "bob" {
		t.Fatalf("ban of Bob = %d %v, want the ban of bob", status, body)
	}
	if status, refusal := s.dialRefused(s.token("bob", 3600)); status != http.StatusForbidden || refusal["code"] != "banned" {
		t.Errorf("bob's connect = %d %v, want 403 banned", status, refusal)
	}
	if status, body := s.admin("DELETE", "/admin/players/BOB/ban", root, nil); status != 200 || body["lifted"] != true {
		t.Fatalf("unban of BOB = %d %v", status, body)
	}
	s.dial("bob")
}

// TestBannedOperatorHasNoAdminAPI: a banned operator's token still names the
// admin group, but the admin API refuses it everywhere, so it can neither
// lift its own ban nor ban the operator who banned it; nobody lifts its own
// ban.
func TestBannedOperatorHasNoAdminAPI(t *testing.T) {
	s := startStack(t, noLimits())
	ops, rogue := s.tokenIn("ops", "admin"), s.tokenIn("rogue", "admin")
	if status, body := s.admin("DELETE", "/admin/players/ops/ban", ops, nil); status != http.StatusForbidden || body["code"] != "forbidden" {
		t.Errorf("ops lifting its own ban = %d %v, want 403 forbidden", status, body)
	}
	if status, body := s.admin("POST", "/admin/players/rogue/ban", ops, map[string]any{"reason": "compromised"}); status != 200 {
		t.Fatalf("ban of rogue = %d %v", status, body)
	}
	for _, r := range []struct {
		method, path string
		body         any
	}{
		{"DELETE", "/admin/players/rogue/ban", nil},
		{"POST", "/admin/players/ops/ban", map[string]any{"reason": "revenge"}},
		{"GET", "/admin/players/ops", nil},
		{"DELETE", "/admin/players/ops/connections", nil},
		{"GET", "/admin/bans", nil},
	} {
		if status, body := s.admin(r.method, r.path, rogue, r.body); status != http.StatusForbidden || body["code"] != "banned" || body["message"] != "the caller is banned: compromised" {
			t.Errorf("rogue: %s %s = %d %v, want 403 banned", r.method, r.path, status, body)
		}
	}
	status, body := s.admin("GET", "/admin/bans", ops, nil)
	if bans, _ := body["bans"].([]any); status != 200 || len(bans) != 1 || bans[0].(map[string]any)["playerId"] != "rogue" {
		t.Errorf("bans = %d %v, want rogue's alone", status, body)
	}
	if status, body := s.admin("DELETE", "/admin/players/rogue/ban", ops, nil); status != 200 || body["lifted"] != true {
		t.Errorf("another operator's unban = %d %v, want lifted", status, body)
	}
}

// TestBanStopsAcceptedFrames: frames a connection had sent before its
// player's ban, already accepted by the gateway, are not delivered or
// queued once the ban is recorded. The first of them is held in the
// recipient's Query (its ban read done, finding none) until the ban has
// answered: that one may still be delivered, as documented; none of the 18
// behind it may.
func TestBanStopsAcceptedFrames(t *testing.T) {
	held, release := make(chan struct{}), make(chan struct{})
	var armed, once atomic.Bool
	engine := &local.Around{DynamoDB: miniclient.NewClient(), Hook: func(ctx context.Context, op string, in any, call func() error) error {
		if q, ok := in.(*dynamodb.QueryInput); ok && op == "Query" && strings.Contains(aws.ToString(q.TableName), "connections") && queriesFor(q, "bob") && armed.Load() && once.CompareAndSwap(false, true) {
			close(held)
			select {
			case <-release:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return call()
	}}
	s := startStack(t, noLimits(), withDynamoDB(engine))
	ops := s.tokenIn("ops", "admin")
	bob, mallory := s.dial("bob"), s.dial("mallory")
	armed.Store(true)
	const sent = 19
	for i := range sent {
		mallory.sendTo("bob", map[string]any{"n": i}, fmt.Sprintf("m-%d", i))
	}
	<-held // the first message's recipient Query is waiting
	status, body := s.admin("POST", "/admin/players/mallory/ban", ops, map[string]any{"reason": "cheating"})
	if status != 200 || body["closed"] != float64(1) {
		t.Fatalf("ban = %d %v", status, body)
	}
	close(release)
	mallory.closed()
	poll.Until(t, "mallory's row is gone", func() bool { return len(s.connections("mallory")) == 0 })

	// $disconnect runs once the connection's handlers are done, so every
	// frame of mallory's has been handled or dropped, and its posts are
	// ahead of the pong: bob has at most the held message, and nothing is
	// queued for him.
	bob.send(map[string]any{"action": "ping", "id": "after"})
	var got []frame
	for f := bob.next(); f["type"] != protocol.TypePong; f = bob.next() {
		got = append(got, f)
	}
	if len(got) > 1 {
		t.Errorf("bob got %d of mallory's %d messages after her ban was recorded, want at most the one held: %v", len(got), sent, got)
	}
	if msgs, err := s.Store.Inbox(t.Context(), "bob", 100); err != nil || len(msgs) != 0 {
		t.Errorf("bob's mailbox = %v, %v; want empty", msgs, err)
	}
}

// queriesFor reports whether q reads the items of player.
func queriesFor(q *dynamodb.QueryInput, player string) bool {
	for _, v := range q.ExpressionAttributeValues {
		if s, ok := v.(*types.AttributeValueMemberS); ok && s.Value == player {
			return true
		}
	}
	return false
}

// TestManagementOverHTTP: with the handlers posting through the AWS SDK and
// signed HTTP to /@connections, as the functions do in AWS, a message is
// delivered, a queued one waits for its player, and a kick closes.
func TestManagementOverHTTP(t *testing.T) {
	s := startStack(t, noLimits(), func(o *local.Options, _ map[string]string) { o.ManagementOverHTTP = true })
	alice, bob := s.dial("alice"), s.dial("bob")
	alice.sendTo("bob", "over http", "h-1")
	alice.wantAck("h-1", protocol.StatusDelivered, 1)
	if f := bob.nextOf("message"); f["message"] != "over http" {
		t.Fatalf("bob got %v", f)
	}
	alice.sendTo("carol", "later", "h-2")
	alice.wantAck("h-2", protocol.StatusQueued, 0)
	if status, body := s.admin("DELETE", "/admin/players/bob/connections", s.tokenIn("ops", "admin"), nil); status != 200 || body["closed"] != float64(1) {
		t.Fatalf("kick = %d %v", status, body)
	}
	if f := bob.nextOf("error"); f["code"] != "kicked" {
		t.Errorf("bob got %v, want kicked", f)
	}
	bob.closed()
}
