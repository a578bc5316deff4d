package handlers

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/serverless-websockets/serverless-websockets/internal/domain"
)

func connectEvent() events.APIGatewayWebsocketProxyRequest {
	ev := event("$connect", "conn-1=", "alice", "")
	ev.RequestContext.EventType = "CONNECT"
	ev.RequestContext.ConnectedAt = testNow.UnixMilli()
	ev.RequestContext.Identity.SourceIP = "203.0.113.7"
	ev.Headers = map[string]string{"user-agent": "game/1.0"}
	return ev
}

func TestConnect(t *testing.T) {
	tests := []struct {
		name    string
		put     error
		limit   domain.Admission
		limErr  error
		status  int
		code    string
		wantPut bool
	}{
		{name: "stored", limit: domain.Admission{Allowed: true}, status: 200, wantPut: true},
		{name: "connection cap", limit: domain.Admission{Allowed: true}, put: fmt.Errorf("put: %w", domain.ErrConnectionLimit), status: 403, code: "forbidden", wantPut: true},
		{name: "connect rate", limit: domain.Admission{RetryAfter: time.Second}, status: 429, code: "rate_limited"},
		{name: "limiter down", limErr: errors.New("dynamodb: 500"), status: 500, code: "unavailable"},
		{name: "store down", limit: domain.Admission{Allowed: true}, put: errors.New("dynamodb: 500"), status: 500, code: "unavailable", wantPut: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got *domain.Connection
			h := &Connect{
				Connections: &fakeStore{put: func(c domain.Connection) error { got = &c; return tt.put }},
				Limiter:     &fakeLimiter{decision: tt.limit, err: tt.limErr},
				Now:         func() time.Time { return testNow.Add(time.Second) },
				Logger:      testLogger(&bytes.Buffer{}),
			}
			resp, err := h.Handle(context.Background(), connectEvent())
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.status {
				t.Fatalf("status = %d, want %d (%s)", resp.StatusCode, tt.status, resp.Body)
			}
			if tt.code != "" {
				if m := decode(t, resp.Body); m["code"] != tt.code {
					t.Fatalf("body = %v", m)
				}
			}
			if (got != nil) != tt.wantPut {
				t.Fatalf("put called = %v", got != nil)
			}
			if got != nil {
				want := domain.Connection{ID: "conn-1=", PlayerID: "alice", ConnectedAt: time.UnixMilli(testNow.UnixMilli()),
					ExpiresAt: testNow.Add(time.Hour) /* the token's expiry, before connectedAt + TTL */, SourceIP: "203.0.113.7", UserAgent: "game/1.0"}
				if !got.ExpiresAt.Equal(want.ExpiresAt) || !got.ConnectedAt.Equal(want.ConnectedAt) {
					t.Fatalf("row times = %v, %v; want %v, %v", got.ConnectedAt, got.ExpiresAt, want.ConnectedAt, want.ExpiresAt)
				}
				got.ExpiresAt, got.ConnectedAt, want.ExpiresAt, want.ConnectedAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
				if *got != want {
					t.Fatalf("row = %+v\nwant  %+v", *got, want)
				}
			}
		})
	}
}

func TestIdentityFrom(t *testing.T) {
	for _, auth := range []any{
		map[string]any{"principalId": "alice", "playerId": "alice", "groups": "admin ops", "tokenExpiresAt": float64(1800000000)},
		map[string]any{"principalId": "alice", "playerId": "alice", "groups": "admin ops", "tokenExpiresAt": "1800000000"},
	} {
		rc := events.APIGatewayWebsocketProxyRequestContext{Authorizer: auth}
		id, err := identityFrom(rc)
		if err != nil || id.PlayerID != "alice" || len(id.Groups) != 2 || id.TokenExpiresAt.Unix() != 1800000000 {
			t.Fatalf("identity = %+v, %v", id, err)
		}
	}
	for _, bad := range []any{nil, "alice", map[string]any{}, map[string]any{"playerId": "a b"}} {
		if _, err := identityFrom(events.APIGatewayWebsocketProxyRequestContext{Authorizer: bad}); err == nil {
			t.Errorf("identity accepted from %v", bad)
		}
	}
}

func TestConnectRowExpiresWithTheToken(t *testing.T) {
	var got domain.Connection
	h := &Connect{Connections: &fakeStore{put: func(c domain.Connection) error { got = c; return nil }}, Now: func() time.Time { return testNow }}
	ev := connectEvent() // the token expires an hour after testNow
	if resp, _ := h.Handle(context.Background(), ev); resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if want := testNow.Add(time.Hour); !got.ExpiresAt.Equal(want) {
		t.Fatalf("row expires at %v, want the token's expiry %v", got.ExpiresAt, want)
	}
	ev.RequestContext.Authorizer.(map[string]any)["tokenExpiresAt"] = float64(testNow.Add(5 * time.Hour).Unix())
	h.Handle(context.Background(), ev)
	if want := time.UnixMilli(testNow.UnixMilli()).Add(domain.DefaultConnectionTTL); !got.ExpiresAt.Equal(want) {
		t.Fatalf("row expires at %v, want connectedAt + TTL %v", got.ExpiresAt, want)
	}
}

func TestConnectRefusesATokenJustExpired(t *testing.T) {
	put := false
	h := &Connect{
		Connections: &fakeStore{put: func(domain.Connection) error { put = true; return nil }},
		Limiter:     &fakeLimiter{decision: domain.Admission{Allowed: true}},
		Now:         func() time.Time { return testNow.Add(time.Hour + 2*time.Second) }, // the token expired 2 s ago
	}
	resp, err := h.Handle(context.Background(), connectEvent())
	if err != nil || resp.StatusCode != 403 {
		t.Fatalf("resp = %+v, %v; want 403", resp, err)
	}
	if m := decode(t, resp.Body); m["code"] != "token_expired" {
		t.Fatalf("body = %v", m)
	}
	if put {
		t.Fatal("a row was written for an expired token")
	}
}

// TestConnectBan: the ban is read after the row is written; a banned
// player, or a ban that cannot be read, is refused and the row removed.
func TestConnectBan(t *testing.T) {
	until := testNow.Add(time.Hour)
	tests := []struct {
		name    string
		ban     domain.Ban
		banErr  error
		status  int
		code    string
		message string
		until   any
		deleted bool
	}{
		{name: "not banned", banErr: domain.ErrNotFound, status: 200},
		{name: "banned for an hour", ban: domain.Ban{PlayerID: "alice", Reason: "cheating", Until: until}, status: 403, code: "banned", message: "cheating", until: until.UTC().Format(time.RFC3339), deleted: true},
		{name: "banned until lifted", ban: domain.Ban{PlayerID: "alice", Reason: "abuse"}, status: 403, code: "banned", message: "abuse", deleted: true},
		{name: "bans unreadable", banErr: errors.New("dynamodb: 500"), status: 500, code: "unavailable", deleted: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var order []string
			store := &fakeStore{put: func(domain.Connection) error { order = append(order, "put"); return nil }}
			bans := &fakeBans{ban: func(p string) (domain.Ban, error) {
				order = append(order, "ban "+p)
				return tt.ban, tt.banErr
			}}
			h := &Connect{Connections: store, Bans: bans, Now: func() time.Time { return testNow.Add(time.Second) }}
			resp, err := h.Handle(context.Background(), connectEvent())
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.status {
				t.Fatalf("status = %d, want %d (%s)", resp.StatusCode, tt.status, resp.Body)
			}
			if len(order) != 2 || order[0] != "put" || order[1] != "ban alice" {
				t.Errorf("calls %v, want the row written, then the ban read", order)
			}
			if tt.code != "" {
				m := decode(t, resp.Body)
				if m["code"] != tt.code || (tt.message != "" && m["message"] != tt.message) || m["until"] != tt.until {
					t.Errorf("body = %v, want code %s, message %q, until %v", m, tt.code, tt.message, tt.until)
				}
			}
			if got := len(store.deleted) == 1 && store.deleted[0] == "alice/conn-1="; got != tt.deleted {
				t.Errorf("deleted %v, want the row deleted: %v", store.deleted, tt.deleted)
			}
		})
	}
}
