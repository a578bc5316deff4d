package admin

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"unicode/utf8"
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
		if resp.StatusCode != http.StatusOK && store.ban != nil {
			t.Fatalf("status %d but a ban was recorded: %+v", resp.StatusCode, store.ban)
		}
	})
}
