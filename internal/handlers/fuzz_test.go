package handlers

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/serverless-websockets/serverless-websockets/internal/domain"
)

// FuzzMessagesHandle feeds any body on any route to the message handler:
// it must never panic or return an error (API Gateway would answer
// "Internal server error"), and must always answer one frame with a type,
// and an error frame's code must be in the closed set.
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
		fx.store.inboxResult = []domain.QueuedMessage{{To: "alice", ID: "1", From: "bob", Message: []byte(`"q"`)}}
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
	})
}
