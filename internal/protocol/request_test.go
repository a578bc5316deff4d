package protocol

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

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
		{name: "invalid UTF-8 in message keeps the id", body: "{\"action\":\"sendmessage\",\"to\":\"bob\",\"message\":\"a\xff\xfeb\",\"id\":\"u1\"}",
			want: Request{ID: "u1"}, wantErr: domain.CodeBadRequest},
		{name: "invalid UTF-8 in to keeps the id", body: "{\"to\":\"b\xffob\",\"id\":\"u2\",\"message\":1}", want: Request{ID: "u2"}, wantErr: domain.CodeBadRequest},
		{name: "invalid UTF-8 in a key", body: "{\"\xc0\":1,\"id\":\"u3\"}", want: Request{ID: "u3"}, wantErr: domain.CodeBadRequest},
		{name: "invalid UTF-8 in the id is not echoed", body: "{\"action\":\"ping\",\"id\":\"\xff\"}", wantErr: domain.CodeBadRequest},
		{name: "invalid UTF-8 outside JSON", body: "\xff\xfe", wantErr: domain.CodeBadRequest},
		{name: "to of the wrong type keeps the id", body: `{"action":"sendmessage","to":7,"id":"s11"}`, want: Request{ID: "s11"}, wantErr: domain.CodeBadRequest},
		{name: "playerId of the wrong type keeps the id", body: `{"action":"sendmessage","playerId":{},"id":"s12"}`, want: Request{ID: "s12"}, wantErr: domain.CodeBadRequest},
		{name: "action of the wrong type keeps the id", body: `{"action":["ping"],"id":"s13"}`, want: Request{ID: "s13"}, wantErr: domain.CodeBadRequest},
		{name: "destinationPlayerId of the wrong type keeps the id", body: `{"destinationPlayerId":true,"id":"s14"}`, want: Request{ID: "s14"}, wantErr: domain.CodeBadRequest},
		{name: "players of the wrong type keeps the id", body: `{"action":"presence","players":"bob","id":"s15"}`, want: Request{ID: "s15"}, wantErr: domain.CodeBadRequest},
		{name: "id of the wrong type", body: `{"action":"ping","id":5}`, wantErr: domain.CodeBadRequest},
		{name: "at the depth limit", body: `{"action":"sendmessage","to":"bob","message":` + nested(MaxDepth-1) + `}`,
			want: Request{Action: "sendmessage", To: "bob", Message: json.RawMessage(nested(MaxDepth - 1))}},
		{name: "too deep keeps the id", body: `{"id":"d1","message":` + nested(MaxDepth) + `}`, want: Request{ID: "d1"}, wantErr: domain.CodeBadRequest},
		{name: "10000 deep", body: `{"id":"d2","message":` + nested(10000) + `}`, want: Request{ID: "d2"}, wantErr: domain.CodeBadRequest},
		{name: "brackets in strings do not count", body: `{"message":"` + strings.Repeat("[{", 100) + `\""}`,
			want: Request{Message: json.RawMessage(`"` + strings.Repeat("[{", 100) + `\""`)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseRequest([]byte(tt.body))
			if tt.wantErr != "" {
				if domain.ErrorCode(err) != tt.wantErr {
					t.Fatalf("err = %v, want code %s", err, tt.wantErr)
				}
				if got.ID != tt.want.ID {
					t.Fatalf("id = %q with the error, want %q", got.ID, tt.want.ID)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
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

// nested returns n nested arrays: nested(2) is [[]].
func nested(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }

func TestParseRequestSaysWhatIsWrong(t *testing.T) {
	for _, tt := range []struct{ body, want string }{
		{"{\"message\":\"\xff\"}", "the frame is not valid UTF-8"},
		{`{"message":` + nested(MaxDepth) + `}`, "the frame nests arrays and objects more than 32 deep"},
		{`{"message":` + nested(10000) + `}`, "the frame nests arrays and objects more than 32 deep"},
		{`[]`, "the frame is not a JSON object"},
		{`{"to":7}`, `"to" must be a string`},
	} {
		_, err := ParseRequest([]byte(tt.body))
		if got := domain.ErrorMessage(err); got != tt.want {
			t.Errorf("message for %.40q = %q, want %q", tt.body, got, tt.want)
		}
	}
}

func TestCompactMessageRefusesWhatCannotBePosted(t *testing.T) {
	for _, raw := range []string{"\"a\xff\"", nested(MaxDepth + 1), `{"a":`, ``} {
		if _, err := CompactMessage(json.RawMessage(raw)); err == nil {
			t.Errorf("CompactMessage(%.40q) accepted it", raw)
		}
	}
	got, err := CompactMessage(json.RawMessage(`{ "a" : [ 1 ] }`))
	if err != nil || string(got) != `{"a":[1]}` {
		t.Fatalf("CompactMessage = %q, %v", got, err)
	}
}

func TestEncodeNeverReturnsInvalidUTF8(t *testing.T) {
	b := Encode(Message{Type: TypeMessage, ID: "1", From: "bob", Message: json.RawMessage("\"\xff\"")})
	var f Error
	if !utf8.Valid(b) || json.Unmarshal(b, &f) != nil || f.Code != "internal" {
		t.Fatalf("Encode = %q, want the internal error frame", b)
	}
	if b := Encode(Error{Type: TypeError, ID: "\xff", Code: "bad_request"}); !utf8.Valid(b) {
		t.Fatalf("Encode = %q, not valid UTF-8", b)
	}
}
