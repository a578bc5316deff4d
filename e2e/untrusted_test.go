package e2e

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/coder/websocket"

	"github.com/serverless-websockets/serverless-websockets/internal/domain"
	"github.com/serverless-websockets/serverless-websockets/internal/local"
	"github.com/serverless-websockets/serverless-websockets/internal/protocol"
)

// TestInvalidUTF8IsNeverRelayed: a text frame holding bytes that are not
// UTF-8, anywhere, closes the sender's connection with 1007 before any
// handler sees it. The recipient stays connected, receives nothing, and
// the sender can connect again.
func TestInvalidUTF8IsNeverRelayed(t *testing.T) {
	s := startStack(t, noLimits())
	bob := s.dial("utf-bob")
	for _, tt := range []struct{ name, frame string }{
		{"in message", "{\"action\":\"sendmessage\",\"to\":\"utf-bob\",\"message\":\"a\xff\xfeb\",\"id\":\"u1\"}"},
		{"in to", "{\"action\":\"sendmessage\",\"to\":\"utf-bob\xff\",\"message\":\"hi\",\"id\":\"u2\"}"},
		{"in a nested key", "{\"action\":\"sendmessage\",\"to\":\"utf-bob\",\"message\":{\"\xc0\":1},\"id\":\"u3\"}"},
		{"the whole frame", "\xff\xfe\xfd"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := s.in(t)
			alice := s.dial("utf-alice")
			alice.pingPong("before")
			alice.send(tt.frame)
			if got := alice.closed(); got != websocket.StatusInvalidFramePayloadData {
				t.Fatalf("sender closed with %d, want 1007", got)
			}
			bob.quiet(100 * time.Millisecond)
			bob.pingPong("bob-" + tt.name)
			alice = s.dial("utf-alice")
			alice.sendTo("utf-bob", "a\u00ffb", "after")
			alice.wantAck("after", protocol.StatusDelivered, 1)
			bob.wantMessage("utf-alice", "a\u00ffb", time.Time{})
		})
	}
	if got := s.Metrics.RejectedCount(string(domain.CodeBadRequest)); got != 0 {
		t.Errorf("a handler saw %d of the invalid frames", got)
	}
}

// TestMailboxHandsOverEveryValidMessage: bob is offline while carol, alice
// and mallory write to him, and mallory also tries invalid bytes. A row
// that could not be read (put in the table behind the handlers' back) sits
// among them. Bob's inbox hands over every valid message, in order, and
// drops the unreadable one; nothing valid is lost.
func TestMailboxHandsOverEveryValidMessage(t *testing.T) {
	s := startStack(t, noLimits())
	carol, alice, mallory := s.dial("mb-carol"), s.dial("mb-alice"), s.dial("mb-mallory")
	var want []frame
	queue := func(c *client, from, body, id string) {
		t.Helper()
		c.sendTo("mb-bob", body, id)
		want = append(want, frame{"id": c.wantAck(id, protocol.StatusQueued, 0), "from": from, "message": body})
	}
	queue(carol, "mb-carol", "c1", "c-1")
	mallory.send("{\"action\":\"sendmessage\",\"to\":\"mb-bob\",\"message\":\"m\xff\xfe\",\"id\":\"m-bad\"}")
	if got := mallory.closed(); got != websocket.StatusInvalidFramePayloadData {
		t.Fatalf("mallory closed with %d, want 1007", got)
	}
	// A row no handler would write: its message is not UTF-8.
	_, err := s.DynamoDB.PutItem(context.Background(), &dynamodb.PutItemInput{
		TableName: aws.String(local.MailboxTable),
		Item: map[string]types.AttributeValue{
			"playerId":  &types.AttributeValueMemberS{Value: "mb-bob"},
			"messageId": &types.AttributeValueMemberS{Value: want[0]["id"].(string) + "-x"},
			"from":      &types.AttributeValueMemberS{Value: "mb-mallory"},
			"message":   &types.AttributeValueMemberS{Value: "\"\xff\xfe\""},
			"sentAt":    &types.AttributeValueMemberN{Value: strconv.FormatInt(time.Now().UnixMilli(), 10)},
			"expiresAt": &types.AttributeValueMemberN{Value: strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10)},
		},
	})
	if err != nil {
		t.Fatalf("put the unreadable row: %v", err)
	}
	mallory = s.dial("mb-mallory")
	queue(mallory, "mb-mallory", "m1", "m-1")
	queue(alice, "mb-alice", "a1", "a-1")
	queue(carol, "mb-carol", "c2", "c-2")

	bob := s.dial("mb-bob")
	bob.wantInbox("in-1", want)
	if again := bob.inbox("in-2"); len(again) != 0 {
		t.Fatalf("the second inbox handed over %v", again)
	}
	bob.pingPong("still-open")
}

// TestIDEchoedForWronglyTypedFields: the client's id comes back with the
// bad_request of every wrongly typed field, and a frame nested too deep is
// refused as such.
func TestIDEchoedForWronglyTypedFields(t *testing.T) {
	s := startStack(t, noLimits())
	alice := s.dial("id-alice")
	deep := strings.Repeat("[", 10000) + strings.Repeat("]", 10000)
	for _, tt := range []struct{ id, frame, message string }{
		{"s11", `{"action":"sendmessage","to":7,"message":"x","id":"s11"}`, `"to" must be a string`},
		{"s12", `{"action":"sendmessage","to":"id-bob","playerId":["id-alice"],"message":"x","id":"s12"}`, `"playerId" must be a string`},
		{"s13", `{"action":{"name":"sendmessage"},"id":"s13"}`, `"action" must be a string`},
		{"s14", `{"action":"sendmessage","destinationPlayerId":false,"message":"x","id":"s14"}`, `"destinationPlayerId" must be a string`},
		{"s15", `{"action":"presence","players":"id-bob","id":"s15"}`, `"players" must be an array of strings`},
		{"s16", `{"action":"presence","players":[1],"id":"s16"}`, `"players" must be an array of strings`},
		{"d1", `{"action":"sendmessage","to":"id-bob","message":` + deep + `,"id":"d1"}`, "the frame nests arrays and objects more than 32 deep"},
		{"d2", `{"id":"d2","action":"sendmessage","to":"id-bob","message":{"a":` + strings.Repeat("[", 32) + strings.Repeat("]", 32) + `}}`, "the frame nests arrays and objects more than 32 deep"},
	} {
		alice.send(tt.frame)
		f := alice.wantError(tt.id, domain.CodeBadRequest)
		if f["message"] != tt.message {
			t.Errorf("%s: message %q, want %q", tt.id, f["message"], tt.message)
		}
	}
	alice.pingPong("after")
}
