package admin

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/serverless-websockets/serverless-websockets/internal/domain"
)

func TestParseGroups(t *testing.T) {
	tests := []struct {
		claim string
		want  []string
	}{
		{"[admin ops]", []string{"admin", "ops"}}, // as an HTTP API JWT authorizer passes an array
		{"[admin]", []string{"admin"}},
		{"[]", nil},
		{"", nil},
		{"[x,admin ops]", []string{"x,admin", "ops"}}, // a group name may hold a comma: it is one group
		{"[administrators]", []string{"administrators"}},
		{"[a] [b]", []string{"a]", "[b"}},  // brackets inside names: only the outer pair is the list's
		{`["admin"]`, []string{`"admin"`}}, // a group literally named "admin", quotes included, is not admin
		{`["admin","ops"]`, []string{`"admin","ops"`}},
		// Ambiguous forms grant nothing: a Cognito group name holds no
		// white space, so these cannot come from a list of group names.
		{"[x  admin]", nil},
		{"[x\tadmin]", nil},
		{"[x\nadmin]", nil},
		{"[x\u00a0admin]", nil},
		{"[ admin]", nil},
		{"[admin ]", nil},
		{"admin", nil},
		{" [admin]", nil},
		{"[admin]\n", nil},
		{"[" + strings.Repeat("a", domain.MaxGroupNameRunes+1) + "]", nil},
		{"[adm\xffin]", nil},
	}
	for _, tt := range tests {
		if got := ParseGroups(tt.claim); !slices.Equal(got, tt.want) {
			t.Errorf("ParseGroups(%q) = %q, want %q", tt.claim, got, tt.want)
		}
	}
}

// fakeStore is a function-field fake of the DynamoDB adapter.
type fakeStore struct {
	conns   []domain.Connection
	bans    map[string]domain.Ban // by player
	putErr  error
	listErr error
	connErr error
	banErr  error // of Ban
}

func (f *fakeStore) PlayerConnections(context.Context, string) ([]domain.Connection, error) {
	return f.conns, f.connErr
}

func (f *fakeStore) Ban(_ context.Context, player string) (domain.Ban, error) {
	if f.banErr != nil {
		return domain.Ban{}, f.banErr
	}
	b, ok := f.bans[player]
	if !ok {
		return domain.Ban{}, domain.ErrNotFound
	}
	return b, nil
}

func (f *fakeStore) PutBan(_ context.Context, b domain.Ban) error {
	if f.putErr != nil {
		return f.putErr
	}
	if f.bans == nil {
		f.bans = map[string]domain.Ban{}
	}
	f.bans[b.PlayerID] = b
	return nil
}

func (f *fakeStore) DeleteBan(_ context.Context, player string) (bool, error) {
	_, had := f.bans[player]
	delete(f.bans, player)
	return had, nil
}

func (f *fakeStore) ListBans(context.Context, int, string) ([]domain.Ban, string, error) {
	return nil, "", f.listErr
}

// fakeConns is the Management API: ids in open exist. calls records each
// request ("POST id", "DELETE id"). The handler closes a player's
// connections concurrently, so it locks.
type fakeConns struct {
	mu     sync.Mutex
	open   map[string]bool
	posted []string
	calls  []string
}

func (f *fakeConns) Post(_ context.Context, id string, data []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "POST "+id)
	f.posted = append(f.posted, id+" "+string(data))
	return nil
}

func (f *fakeConns) Delete(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "DELETE "+id)
	if !f.open[id] {
		return domain.ErrGone
	}
	delete(f.open, id)
	return nil
}

// fakeAccounts records the account steps in the order they ran; each
// fails with err.
type fakeAccounts struct {
	calls []string
	err   error
}

func (f *fakeAccounts) step(name string) error {
	f.calls = append(f.calls, name)
	return f.err
}

func (f *fakeAccounts) SignOut(_ context.Context, u string) error { return f.step("signOut " + u) }
func (f *fakeAccounts) Disable(_ context.Context, u string) error { return f.step("disable " + u) }
func (f *fakeAccounts) Enable(_ context.Context, u string) error  { return f.step("enable " + u) }

var errBadCursor = errors.New("bad cursor")

func request(route string, claims map[string]string, params map[string]string, body string) events.APIGatewayV2HTTPRequest {
	req := events.APIGatewayV2HTTPRequest{RouteKey: route, PathParameters: params, Body: body, QueryStringParameters: map[string]string{}}
	if claims != nil {
		req.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: claims},
		}
	}
	return req
}

func TestHandler(t *testing.T) {
	root := map[string]string{"username": "root", "cognito:groups": "[ops admin]"} // in one group of several
	var logs bytes.Buffer
	store := &fakeStore{conns: []domain.Connection{{ID: "b1=", PlayerID: "bob"}, {ID: "b2=", PlayerID: "bob"}}}
	conns := &fakeConns{open: map[string]bool{"b1=": true}} // b2= is a stale row
	h := &Handler{
		Store: store, Connections: conns, BadCursor: errBadCursor, PlayerIDClaim: "username",
		Now:    func() time.Time { return time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC) },
		Logger: slog.New(slog.NewJSONHandler(&logs, nil)),
	}
	call := func(req events.APIGatewayV2HTTPRequest) (int, map[string]any) { return serve(t, h, req) }
	for _, c := range []struct {
		name   string
		req    events.APIGatewayV2HTTPRequest
		status int
		code   string
	}{
		{"no claims", request(RouteGetPlayer, nil, bob, ""), 401, "unauthorized"},
		{"no player id claim", request(RouteGetPlayer, map[string]string{"sub": "root", "cognito:groups": "[admin]"}, bob, ""), 401, "unauthorized"},
		{"not an admin", request(RouteGetPlayer, map[string]string{"username": "eve", "cognito:groups": "[administrators]"}, bob, ""), 403, "forbidden"},
		{"bad player id", request(RouteGetPlayer, root, map[string]string{"playerId": "bob/../x"}, ""), 400, "bad_request"},
		{"bad connection id", request(RouteCloseConnection, root, map[string]string{"connectionId": "a b"}, ""), 400, "bad_request"},
		{"unknown connection", request(RouteCloseConnection, root, map[string]string{"connectionId": "zz="}, ""), 404, "not_found"},
		{"ban body not JSON", request(RouteBanPlayer, root, bob, "{"), 400, "bad_request"},
		{"ban reason with a control character", request(RouteBanPlayer, root, bob, `{"reason":"a\u0007b"}`), 400, "bad_request"},
		{"ban reason with a C1 control character", request(RouteBanPlayer, root, bob, `{"reason":"a\u0085b"}`), 400, "bad_request"},
		{"ban reason with a bidirectional override", request(RouteBanPlayer, root, bob, `{"reason":"a\u202eb"}`), 400, "bad_request"},
		{"ban too long", request(RouteBanPlayer, root, bob, `{"reason":"x","durationSeconds":315360001}`), 400, "bad_request"},
		{"ban duration not a number", request(RouteBanPlayer, root, bob, `{"reason":"x","durationSeconds":"60"}`), 400, "bad_request"},
		{"two values", request(RouteBanPlayer, root, bob, `{"reason":"x"}{"reason":"y"}`), 400, "bad_request"},
		{"unknown route", request("GET /admin/else", root, nil, ""), 404, "not_found"},
	} {
		if status, m := call(c.req); status != c.status || m["code"] != c.code {
			t.Errorf("%s: %d %v, want %d %s", c.name, status, m, c.status, c.code)
		}
	}
	if len(store.bans) != 0 {
		t.Fatal("a refused ban was recorded")
	}

	conns.posted = nil // the unknown connection got the kicked frame, which the gateway refuses
	status, m := call(request(RouteBanPlayer, root, bob, `{"reason":"cheating","durationSeconds":60}`))
	if status != 200 || m["closed"] != float64(1) {
		t.Fatalf("ban = %d %v", status, m)
	}
	ban, stored := m["ban"].(map[string]any), store.bans["bob"]
	if ban["bannedBy"] != "root" || ban["until"] != "2030-01-02T03:05:05.000Z" || stored.Until != stored.BannedAt.Add(time.Minute) {
		t.Errorf("ban = %v, stored %+v", ban, stored)
	}
	if len(conns.posted) != 2 || !strings.Contains(conns.posted[0], `"code":"banned"`) || !strings.Contains(conns.posted[0], `"until":"2030-01-02T03:05:05Z"`) {
		t.Errorf("posted %v, want the banned frame to both", conns.posted)
	}

	store.connErr = errors.New("dynamodb: 500")
	if status, m := call(request(RouteKickPlayer, root, bob, "")); status != 503 || m["code"] != "unavailable" || m["message"] == nil || m["closed"] != float64(0) {
		t.Errorf("kick with DynamoDB down = %d %v, want 503 unavailable with closed 0", status, m)
	}
	store.connErr = nil
	store.putErr = errors.New("dynamodb: 500")
	if status, m := call(request(RouteBanPlayer, root, bob, `{"reason":"again"}`)); status != 503 || m["code"] != "unavailable" || m["ban"] != nil {
		t.Errorf("ban with DynamoDB down = %d %v, want 503 without a ban", status, m)
	}
	store.listErr = errBadCursor
	req := request(RouteListBans, root, nil, "")
	req.QueryStringParameters["next"] = "x"
	if status, m := call(req); status != 400 {
		t.Errorf("bad cursor = %d %v, want 400", status, m)
	}

	// One audit line per request, with actor, action, target and outcome.
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 18 {
		t.Errorf("%d log lines for 18 requests", len(lines))
	}
	var banLine map[string]any
	for _, l := range lines {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil && m["outcome"] == "ok" && m["action"] == RouteBanPlayer {
			banLine = m
		}
	}
	if banLine == nil || banLine["actor"] != "root" || banLine["target"] != "bob" || banLine["msg"] != "admin action" || banLine["reason"] != "cheating" {
		t.Errorf("audit line of the ban = %v", banLine)
	}
}

var (
	root = map[string]string{"username": "root", "cognito:groups": "[admin]"}
	bob  = map[string]string{"playerId": "bob"}
)

// serve runs req through h and decodes the JSON answer.
func serve(t *testing.T, h *Handler, req events.APIGatewayV2HTTPRequest) (int, map[string]any) {
	t.Helper()
	resp, err := h.Handle(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(resp.Body), &m); err != nil {
		t.Fatalf("body %q: %v", resp.Body, err)
	}
	return resp.StatusCode, m
}

// TestCloseOneConnection: closing one connection makes two Management API
// calls, the kicked frame and the DELETE, whose 410 tells an unknown
// connection (404).
func TestCloseOneConnection(t *testing.T) {
	for _, c := range []struct {
		id     string
		status int
		want   string // "closed" of the answer, or its code
	}{
		{"a1=", 200, "1"},
		{"zz=", 404, "not_found"},
	} {
		conns := &fakeConns{open: map[string]bool{"a1=": true}}
		h := &Handler{Store: &fakeStore{}, Connections: conns, PlayerIDClaim: "username"}
		status, m := serve(t, h, request(RouteCloseConnection, root, map[string]string{"connectionId": c.id}, ""))
		if got := fmt.Sprint(cmp.Or(m["code"], m["closed"])); status != c.status || got != c.want {
			t.Errorf("close %s = %d %v, want %d %s", c.id, status, m, c.status, c.want)
		}
		if want := []string{"POST " + c.id, "DELETE " + c.id}; !slices.Equal(conns.calls, want) {
			t.Errorf("close %s made the Management API calls %q, want %q", c.id, conns.calls, want)
		}
	}
}

// TestBanSignsOutBeforeDisabling: the refresh tokens end while the user is
// still enabled, since Cognito may refuse to act on a disabled user.
func TestBanSignsOutBeforeDisabling(t *testing.T) {
	accounts := &fakeAccounts{}
	h := &Handler{Store: &fakeStore{}, Connections: &fakeConns{}, Accounts: accounts, PlayerIDClaim: "username"}
	status, m := serve(t, h, request(RouteBanPlayer, root, bob, `{"reason":"cheating"}`))
	if want := []string{"signOut bob", "disable bob"}; status != 200 || !slices.Equal(accounts.calls, want) {
		t.Errorf("ban = %d %v with the account steps %q, want 200 and %q", status, m, accounts.calls, want)
	}
}

// deadlineStore records the deadline of the context its first call gets.
type deadlineStore struct {
	fakeStore
	deadline time.Time
}

func (s *deadlineStore) PlayerConnections(ctx context.Context, p string) ([]domain.Connection, error) {
	s.deadline, _ = ctx.Deadline()
	return s.fakeStore.PlayerConnections(ctx, p)
}

// TestHandlerKeepsTimeToAnswer: the calls of a request end before the
// function's deadline by the handlers' shared reserve (a tenth of the time
// left, at most 1 s), so that the answer and the audit line still go out.
func TestHandlerKeepsTimeToAnswer(t *testing.T) {
	store := &deadlineStore{}
	h := &Handler{Store: store, Connections: &fakeConns{}, PlayerIDClaim: "username"}
	deadline := time.Now().Add(time.Minute)
	ctx, cancel := context.WithDeadline(t.Context(), deadline)
	defer cancel()
	if _, err := h.Handle(ctx, request(RouteGetPlayer, root, bob, "")); err != nil {
		t.Fatal(err)
	}
	if !store.deadline.Equal(deadline.Add(-time.Second)) {
		t.Errorf("the store's deadline is %v before the function's, want 1s", deadline.Sub(store.deadline))
	}
}

// TestAccountStepsFailing: a ban or an unban whose record is done answers
// 503 naming the account steps that failed, with the steps in the body.
func TestAccountStepsFailing(t *testing.T) {
	h := &Handler{Store: &fakeStore{}, Connections: &fakeConns{}, Accounts: &fakeAccounts{err: errors.New("cognito: 500")}, PlayerIDClaim: "username"}
	for _, c := range []struct {
		req   events.APIGatewayV2HTTPRequest
		msg   string
		steps map[string]any
	}{
		{request(RouteBanPlayer, root, bob, `{"reason":"cheating"}`), "the ban is recorded, but these steps failed: signOut, disable",
			map[string]any{"record": "ok", "disconnect": "ok", "disable": "failed", "signOut": "failed"}},
		{request(RouteUnbanPlayer, root, bob, ""), "the ban is lifted, but these steps failed: enable",
			map[string]any{"record": "ok", "enable": "failed"}},
	} {
		status, m := serve(t, h, c.req)
		if steps, _ := m["steps"].(map[string]any); status != 503 || m["code"] != "unavailable" || m["message"] != c.msg || !maps.Equal(steps, c.steps) {
			t.Errorf("%s = %d %v, want 503 %q with the steps %v", c.req.RouteKey, status, m, c.msg, c.steps)
		}
	}
}

// TestBannedOperator: a banned operator's token still carries the admin
// group for up to an hour, but the admin API refuses every route to it,
// its own unban included; a ban read that fails refuses the request too.
func TestBannedOperator(t *testing.T) {
	rogue := map[string]string{"username": "rogue", "cognito:groups": "[admin]"}
	store := &fakeStore{bans: map[string]domain.Ban{"rogue": {PlayerID: "rogue", Reason: "compromised", BannedBy: "ops"}}}
	h := &Handler{Store: store, Connections: &fakeConns{}, PlayerIDClaim: "username"}
	for _, req := range []events.APIGatewayV2HTTPRequest{
		request(RouteUnbanPlayer, rogue, map[string]string{"playerId": "rogue"}, ""),
		request(RouteBanPlayer, rogue, map[string]string{"playerId": "ops"}, `{"reason":"revenge"}`),
		request(RouteGetPlayer, rogue, bob, ""),
		request(RouteKickPlayer, rogue, bob, ""),
		request(RouteCloseConnection, rogue, map[string]string{"connectionId": "b1="}, ""),
		request(RouteListBans, rogue, nil, ""),
	} {
		if status, m := serve(t, h, req); status != 403 || m["code"] != "banned" {
			t.Errorf("%s by a banned operator = %d %v, want 403 banned", req.RouteKey, status, m)
		}
	}
	if _, ok := store.bans["rogue"]; !ok || len(store.bans) != 1 {
		t.Errorf("bans after the banned operator's requests: %v, want rogue's alone", store.bans)
	}

	store.banErr = errors.New("dynamodb: 500")
	if status, m := serve(t, h, request(RouteGetPlayer, root, bob, "")); status != 503 || m["code"] != "unavailable" {
		t.Errorf("a request whose caller's ban cannot be read = %d %v, want 503", status, m)
	}
}

// TestNoSelfUnban: lifting a ban takes another operator than the one it
// names, whatever the ban table says.
func TestNoSelfUnban(t *testing.T) {
	store := &fakeStore{}
	h := &Handler{Store: store, Connections: &fakeConns{}, PlayerIDClaim: "username"}
	if status, m := serve(t, h, request(RouteUnbanPlayer, root, map[string]string{"playerId": "Root"}, "")); status != 403 || m["code"] != "forbidden" {
		t.Errorf("an operator's own unban = %d %v, want 403 forbidden", status, m)
	}
	if status, m := serve(t, h, request(RouteUnbanPlayer, root, bob, "")); status != 200 {
		t.Errorf("another player's unban = %d %v, want 200", status, m)
	}
}

// TestStatuses: one table turns codes into statuses; an error without a
// code is a bug, answered 500 internal, never 503 as if a service failed.
func TestStatuses(t *testing.T) {
	for _, c := range []struct {
		err  error
		want int
	}{
		{domain.Errorf(domain.CodeBadRequest, "x"), 400},
		{domain.Errorf(domain.CodeUnauthorized, "x"), 401},
		{domain.Errorf(domain.CodeForbidden, "x"), 403},
		{domain.Errorf(domain.CodeBanned, "x"), 403},
		{domain.Errorf(domain.CodeNotFound, "x"), 404},
		{unavailable(errors.New("dynamodb: 500")), 503},
		{errors.New("a bug"), 500},
		{domain.Errorf(domain.CodeRateLimited, "not an admin code"), 500},
	} {
		if got := status(c.err); got != c.want {
			t.Errorf("status(%v) = %d, want %d", c.err, got, c.want)
		}
	}
}
