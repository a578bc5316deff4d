package ratelimit

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/serverless-websockets/serverless-websockets/internal/testsupport/dynamotest"
)

// TestExpiry: every write sets the TTL attribute to after the buckets are
// full again, and an item past its expiry that the engine has not deleted
// (none of them does promptly) reads as full buckets.
func TestExpiry(t *testing.T) {
	dynamotest.Run(t, func(t *testing.T, open dynamotest.Opener) {
		ctx := context.Background()
		api := open()
		table := newTable(t, api)
		clock := newClock()
		cfg := Config{Table: table, Messages: Limit{Rate: 10, Burst: 20}, Now: clock.Now}
		l := New(api, cfg)
		for i := 0; i < 20; i++ {
			if d, err := l.AllowMessage(ctx, "alice", 0); err != nil || !d.Allowed {
				t.Fatalf("message %d: %+v %v", i, d, err)
			}
		}
		out, err := api.GetItem(ctx, &dynamodb.GetItemInput{
			TableName: aws.String(table), Key: itemKey(keyMessages + "alice"), ConsistentRead: aws.Bool(true),
		})
		if err != nil {
			t.Fatal(err)
		}
		n, ok := out.Item["expiresAt"].(*types.AttributeValueMemberN)
		if !ok {
			t.Fatalf("no expiresAt on %v", out.Item)
		}
		expires, _ := strconv.ParseInt(n.Value, 10, 64)
		full := clock.Now().Add(2 * time.Second) // 20 messages at 10/s
		if expires < full.Unix() {
			t.Fatalf("expiresAt %d is before the bucket is full again (%d)", expires, full.Unix())
		}
		// Past the expiry, the item is still there (no engine deletes it) and
		// a fresh limiter, with no cache, reads it as a full bucket.
		clock.Set(time.Unix(expires+1, 0))
		fresh := New(open(), cfg)
		for i := 0; i < 20; i++ {
			if d, err := fresh.AllowMessage(ctx, "alice", 0); err != nil || !d.Allowed {
				t.Fatalf("after expiry, message %d: %+v %v", i, d, err)
			}
		}
		if d, _ := fresh.AllowMessage(ctx, "alice", 0); d.Allowed {
			t.Fatal("more than the burst after expiry")
		}
	})
}
