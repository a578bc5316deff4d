package ratelimit

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/serverless-websockets/serverless-websockets/internal/dynamo"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	miniclient "github.com/truora/minidyn/aws-v2/client"

	"github.com/serverless-websockets/serverless-websockets/internal/testsupport/dynamotest"
	"github.com/serverless-websockets/serverless-websockets/internal/testsupport/fakeclock"
)

var _ API = (*miniclient.Client)(nil)

// t0 is the start of every simulated span.
var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// fakeClock is a clock shared by limiters and moved only by the test,
// starting at t0.
type fakeClock struct{ *fakeclock.Clock }

func newClock() *fakeClock { return &fakeClock{fakeclock.New(t0)} }

func (c *fakeClock) Since0() time.Duration { return c.Now().Sub(t0) }
func (c *fakeClock) Offset(d time.Duration) func() time.Time {
	return func() time.Time { return c.Now().Add(d) }
}

// countingAPI counts the DynamoDB requests a Limiter makes.
type countingAPI struct {
	dynamotest.API
	updates, gets atomic.Int64
}

func (c *countingAPI) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	c.updates.Add(1)
	return c.API.UpdateItem(ctx, in, opts...)
}

func (c *countingAPI) GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	c.gets.Add(1)
	return c.API.GetItem(ctx, in, opts...)
}

func (c *countingAPI) requests() int64 { return c.updates.Load() + c.gets.Load() }

// newTable creates a fresh limiter table on api.
func newTable(t testing.TB, api dynamo.TableAPI) string {
	t.Helper()
	table := dynamotest.TableName("ratelimit")
	if err := dynamo.EnsureTable(context.Background(), api, TableInput(table)); err != nil {
		t.Fatalf("CreateTable: %v", err)
	}
	return table
}

// returnsAllOld reports whether the engine behind api returns the stored
// item on a failed condition (ReturnValuesOnConditionCheckFailure=ALL_OLD).
func returnsAllOld(t testing.TB, api API, table string) bool {
	t.Helper()
	ctx := context.Background()
	key := itemKey("probe#all-old")
	if _, err := api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(table), Key: key,
		UpdateExpression:          aws.String("SET #v = :one"),
		ExpressionAttributeNames:  map[string]string{"#v": "v"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":one": micros(1)},
	}); err != nil {
		t.Fatalf("probe write: %v", err)
	}
	_, err := api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(table), Key: key,
		UpdateExpression:                    aws.String("SET #v = :one"),
		ConditionExpression:                 aws.String("attribute_not_exists(#v)"),
		ExpressionAttributeNames:            map[string]string{"#v": "v"},
		ExpressionAttributeValues:           map[string]types.AttributeValue{":one": micros(1)},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	var ccf *types.ConditionalCheckFailedException
	if !errors.As(err, &ccf) {
		t.Fatalf("probe condition: got %v, want ConditionalCheckFailedException", err)
	}
	return len(ccf.Item) > 0
}

// mustMessage calls AllowMessage and fails the test on an error.
func mustMessage(t testing.TB, l *Limiter, player string, bytes int) Decision {
	t.Helper()
	d, err := l.AllowMessage(context.Background(), player, bytes)
	if err != nil {
		t.Fatalf("AllowMessage(%s, %d): %v", player, bytes, err)
	}
	return d
}
