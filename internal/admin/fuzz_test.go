package admin

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/serverless-websockets/serverless-websockets/internal/domain"
	"github.com/serverless-websockets/serverless-websockets/internal/local/httpapi"
)

// FuzzHandle feeds hostile route keys, ids, bodies, queries and group
// claims to the handler: it must never panic, must answer one of its
// documented statuses with a JSON body of valid UTF-8, and must record no
// ban from a body it refused.
func FuzzHandle(f *testing.F) {
	f.Add(RouteBanPlayer, "bob", `{"reason":"cheating","durationSeconds":3600}`, "[admin]", "")
	f.Add(RouteBanPlayer, "bob", `{"reason":"\ud800","durationSeconds":1e400}`, "[admin ops]", "")
	f.Add(RouteCloseConnection, "b1=", "", "admin", "")
	f.Add(RouteListBans, "", "", `["admin"]`, "%%")
	f.Add(RouteGetPlayer, "\xff\xfe", "", "[admin", "")
	f.Fuzz(func(t *testing.T, route, id, body, groups, next string) {
		store := &fakeStore{}
		h := &Handler{Store: store, Connections: &fakeConns{open: map[string]bool{"b1=": true}}, BadCursor: errBadCursor}
		req := request(route, map[string]string{"sub": "root", "cognito:groups": groups}, map[string]string{"playerId": id, "connectionId": id}, body)
		req.QueryStringParameters = map[string]string{"next": next, "limit": id}
		resp, err := h.Handle(t.Context(), req)
		if err != nil {
			t.Fatal(err)
		}
		ok := []int{http.StatusOK, http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusServiceUnavailable}
		if !slices.Contains(ok, resp.StatusCode) {
			t.Fatalf("status %d", resp.StatusCode)
		}
		if !utf8.ValidString(resp.Body) || !json.Valid([]byte(resp.Body)) {
			t.Fatalf("body %q", resp.Body)
		}
		if resp.StatusCode != http.StatusOK && len(store.bans) != 0 {
			t.Fatalf("status %d but a ban was recorded: %+v", resp.StatusCode, store.bans)
		}
		if resp.StatusCode != http.StatusForbidden && resp.StatusCode != http.StatusUnauthorized && !slices.Contains(ParseGroups(groups), "admin") {
			t.Fatalf("status %d for the groups %q, which do not hold admin", resp.StatusCode, groups)
		}
	})
}

// FuzzParseGroups: a claim reads as groups only in the one form an HTTP
// API JWT authorizer gives a list of Cognito group names, and every list of
// such names, passed the way the HTTP API passes it (httpapi.StringClaims,
// the local stand-in), reads back as exactly that list.
func FuzzParseGroups(f *testing.F) {
	for _, s := range []string{"[admin ops]", "[x admin]", "[x\tadmin]", `["admin"]`, "[a] [b]", "[x\u00a0admin]", "[]", "admin", "[admin\x00]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, claim string) {
		groups := ParseGroups(claim)
		for _, g := range groups {
			if !domain.ValidGroupName(g) {
				t.Fatalf("ParseGroups(%q) holds %q, not a group name", claim, g)
			}
		}
		if groups != nil && "["+strings.Join(groups, " ")+"]" != claim {
			t.Fatalf("ParseGroups(%q) = %q, which is not what the claim lists", claim, groups)
		}

		// The claim's bytes cut at NULs as a list of names, as a token
		// would carry them.
		var list []any
		var names []string
		for _, n := range strings.Split(claim, "\x00") {
			if domain.ValidGroupName(n) {
				list, names = append(list, n), append(names, n)
			}
		}
		passed := httpapi.StringClaims(map[string]any{"cognito:groups": list})["cognito:groups"]
		if got := ParseGroups(passed); !slices.Equal(got, names) {
			t.Fatalf("the groups %q, passed as %q, read back as %q", names, passed, got)
		}
	})
}
