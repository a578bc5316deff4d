package handlers

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/serverless-websockets/serverless-websockets/internal/domain"
)

// FuzzMessagesHandle feeds any body on any route to the message handler:
// it must never panic or return an error (API Gateway would answer
// "Internal server error"), and must always answer one frame with a type,
// and an error frame's code must be in the closed set. Whatever it answers or
// posts to any connection is valid UTF-8 JSON, whatever the body held, and
// nothing it queues could break the recipient's inbox.
func FuzzMessagesHandle(f *testing.F) {
	for _, seed := range []struct{ route, body string }{
		{RouteSendMessage, `{"action":"sendmessage","to":"bob","message":{"x":1},"id":"c-1"}`},
		{RouteSendMessage, `{"action":"sendmessage","message":"hi","playerId":"alice","destinationPlayerId":"bob"}`},
		{RouteSendMessage, `{"action":"sendmessage","to":"carol","message":null}`},
		{RoutePresence, `{"action":"presence","players":["bob","carol"]}`},
		{RouteInbox, `{"action":"inbox","id":"i"}`},
		{RoutePing, `{"action":"ping"}`},
		{RouteDefault, `not json`},
		{"unknown", `{}`},
		{RouteSendMessage, "{\"action\":\"sendmessage\",\"to\":\"bob\",\"message\":\"a\xff\xfeb\",\"id\":\"u1\"}"},
		{RouteSendMessage, "{\"action\":\"sendmessage\",\"to\":\"carol\",\"message\":[\"\xc3\"],\"id\":\"u2\"}"},
		{RouteSendMessage, `{"action":"sendmessage","to":"carol","message":"\ud800","id":"u3"}`},
		{RouteSendMessage, `{"action":"sendmessage","to":"bob","id":"d","message":` + strings.Repeat("[", 33) + strings.Repeat("]", 33) + `}`},
		{RouteSendMessage, `{"action":"sendmessage","to":"bob","id":"d","message":` + strings.Repeat(`{"a":`, 12000) + `1` + strings.Repeat("}", 12000) + `}`},
		{RouteSendMessage, `{"action":"sendmessage","to":7,"id":"s11"}`},
	} {
		f.Add(seed.route, seed.body)
	}
	codes := map[string]bool{}
	for _, c := range []domain.Code{domain.CodeBadRequest, domain.CodeUnknownAction, domain.CodeForbidden, domain.CodeTooLarge,
		domain.CodeRateLimited, domain.CodeTokenExpired, domain.CodeMailboxFull, domain.CodeUnavailable, domain.CodeInternal} {
		codes[string(c)] = true
	}
	f.Fuzz(func(t *testing.T, route, body string) {
		fx := newFixture()
		fx.store.conns["bob"] = live("bob-1=")
		fx.store.online = func(ids []string) ([]string, error) { return ids[:len(ids)/2], nil }
		fx.store.inboxResult = []domain.QueuedMessage{
			{To: "alice", ID: "1", From: "bob", Message: []byte(`"q"`)},
			{To: "alice", ID: "2", From: "mallory", Message: []byte("\"\xff\"")},
		}
		resp, err := fx.h.Handle(context.Background(), event(route, "alice-conn=", "alice", body))
		if err != nil {
			t.Fatalf("Handle(%q, %q) returned error %v", route, body, err)
		}
		var frame map[string]any
		if err := json.Unmarshal([]byte(resp.Body), &frame); err != nil || frame["type"] == nil {
			t.Fatalf("Handle(%q, %q) answered %q", route, body, resp.Body)
		}
		if frame["type"] == "error" && !codes[frame["code"].(string)] {
			t.Fatalf("code %v is not in the closed set", frame["code"])
		}
		if !utf8.ValidString(resp.Body) {
			t.Fatalf("Handle(%q, %q) answered invalid UTF-8 %q", route, body, resp.Body)
		}
		for conn, posts := range fx.sender.posts {
			for _, p := range posts {
				if !utf8.Valid(p) || !json.Valid(p) {
					t.Fatalf("posted %q to %s: not valid UTF-8 JSON", p, conn)
				}
			}
		}
		for _, m := range fx.store.queued {
			if !utf8.Valid(m.Message) || !json.Valid(m.Message) {
				t.Fatalf("queued %q: not valid UTF-8 JSON", m.Message)
			}
		}
	})
}
