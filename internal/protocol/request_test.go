package protocol

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/serverless-websockets/serverless-websockets/internal/domain"
)

func TestParseRequest(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		want    Request
		wantErr domain.Code
	}{
		{name: "sendmessage", body: `{"action":"sendmessage","to":"bob","message":{"move":"e4"},"id":"c-17"}`,
			want: Request{Action: "sendmessage", To: "bob", ID: "c-17", Message: json.RawMessage(`{"move":"e4"}`)}},
		{name: "prototype form", body: `{"action":"sendmessage","message":"hi","playerId":"alice","destinationPlayerId":"bob"}`,
			want: Request{Action: "sendmessage", PlayerID: "alice", DestinationPlayerID: "bob", Message: json.RawMessage(`"hi"`)}},
		{name: "presence", body: `{"action":"presence","players":["bob","carol"]}`,
			want: Request{Action: "presence", Players: []string{"bob", "carol"}, HasPlayers: true}},
		{name: "null fields are absent", body: `{"action":null,"id":null,"to":null}`, want: Request{}},
		{name: "keys are case-sensitive", body: `{"Action":"ping","TO":"bob"}`, want: Request{}},
		{name: "message null is kept", body: `{"message":null}`, want: Request{Message: json.RawMessage(`null`)}},
		{name: "not JSON", body: `hello`, wantErr: domain.CodeBadRequest},
		{name: "empty", body: ``, wantErr: domain.CodeBadRequest},
		{name: "array", body: `["sendmessage"]`, wantErr: domain.CodeBadRequest},
		{name: "string", body: `"sendmessage"`, wantErr: domain.CodeBadRequest},
		{name: "null", body: `null`, wantErr: domain.CodeBadRequest},
		{name: "trailing data", body: `{"action":"ping"} {"action":"ping"}`, wantErr: domain.CodeBadRequest},
		{name: "action not a string", body: `{"action":5}`, wantErr: domain.CodeBadRequest},
		{name: "to not a string", body: `{"action":"sendmessage","to":["bob"]}`, wantErr: domain.CodeBadRequest},
		{name: "players not strings", body: `{"action":"presence","players":[1,2]}`, wantErr: domain.CodeBadRequest},
		{name: "oversized id", body: `{"action":"ping","id":"` + strings.Repeat("x", 129) + `"}`, wantErr: domain.CodeBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseRequest([]byte(tt.body))
			if tt.wantErr != "" {
				if domain.ErrorCode(err) != tt.wantErr {
					t.Fatalf("err = %v, want code %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error %v", err)
			}
			if got.Action != tt.want.Action || got.ID != tt.want.ID || got.To != tt.want.To ||
				got.PlayerID != tt.want.PlayerID || got.DestinationPlayerID != tt.want.DestinationPlayerID ||
				string(got.Message) != string(tt.want.Message) || got.HasPlayers != tt.want.HasPlayers ||
				strings.Join(got.Players, ",") != strings.Join(tt.want.Players, ",") {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestRecipient(t *testing.T) {
	tests := []struct {
		to, dest string
		want     string
		ok       bool
	}{
		{"bob", "", "bob", true},
		{"", "bob", "bob", true},
		{"bob", "bob", "bob", true},
		{"bob", "carol", "", false},
		{"", "", "", false},
		{"bob smith", "", "", false},
		{strings.Repeat("b", 200), "", "", false},
	}
	for _, tt := range tests {
		got, err := Request{To: tt.to, DestinationPlayerID: tt.dest}.Recipient()
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("Recipient(%q,%q) = %q, %v; want %q ok=%v", tt.to, tt.dest, got, err, tt.want, tt.ok)
		}
		if err != nil && domain.ErrorCode(err) != domain.CodeBadRequest {
			t.Errorf("code = %s, want bad_request", domain.ErrorCode(err))
		}
	}
}

func TestErrorFrame(t *testing.T) {
	err := &domain.Error{Code: domain.CodeRateLimited, Message: "slow down", RetryAfter: 1500000000, Err: errors.New("secret table name")}
	f := ErrorFrame("c-1", err)
	if f.Type != "error" || f.ID != "c-1" || f.Code != "rate_limited" || f.RetryAfterMs != 1500 || f.Message != "slow down" {
		t.Fatalf("frame = %+v", f)
	}
	if strings.Contains(string(Encode(f)), "secret") {
		t.Fatal("internal cause leaked into the frame")
	}
	for _, tt := range []struct {
		d    time.Duration
		want int64
	}{{time.Nanosecond, 1}, {time.Millisecond, 1}, {1500 * time.Microsecond, 2}, {250 * time.Millisecond, 250}} {
		if got := ErrorFrame("", &domain.Error{Code: domain.CodeRateLimited, RetryAfter: tt.d}).RetryAfterMs; got != tt.want {
			t.Errorf("retryAfter %v → %d ms, want %d (rounded up)", tt.d, got, tt.want)
		}
	}
	internal := ErrorFrame("", errors.New("boom: arn:aws:dynamodb:..."))
	if internal.Code != "internal" || strings.Contains(internal.Message, "arn") {
		t.Fatalf("internal frame = %+v", internal)
	}
}
