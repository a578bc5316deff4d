package localstack

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// CountingDynamoDB counts the requests made through a DynamoDB client, by
// operation, so that /metrics and the load generator can show what a message
// costs in DynamoDB requests. With a Latency it also delays every request by
// that much, modelling the round trip to DynamoDB in AWS.
type CountingDynamoDB struct {
	DynamoDB
	// Latency is added before every request (0: none). Set it before use.
	Latency time.Duration

	mu     sync.Mutex
	counts map[string]int64
}

var _ DynamoDB = (*CountingDynamoDB)(nil)

// NewCountingDynamoDB wraps api.
func NewCountingDynamoDB(api DynamoDB) *CountingDynamoDB {
	return &CountingDynamoDB{DynamoDB: api, counts: map[string]int64{}}
}

// request counts one request of op, then waits Latency (or until ctx ends).
func (c *CountingDynamoDB) request(ctx context.Context, op string) error {
	c.mu.Lock()
	c.counts[op]++
	c.mu.Unlock()
	return sleep(ctx, c.Latency)
}

// sleep waits d, or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Requests returns the requests made so far, by operation.
func (c *CountingDynamoDB) Requests() map[string]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int64, len(c.counts))
	for k, v := range c.counts {
		out[k] = v
	}
	return out
}

// Total returns the number of requests made so far.
func (c *CountingDynamoDB) Total() int64 {
	var n int64
	for _, v := range c.Requests() {
		n += v
	}
	return n
}

// Operations returns the operation names seen, sorted.
func (c *CountingDynamoDB) Operations() []string {
	var ops []string
	for op := range c.Requests() {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	return ops
}

func (c *CountingDynamoDB) CreateTable(ctx context.Context, in *dynamodb.CreateTableInput, opts ...func(*dynamodb.Options)) (*dynamodb.CreateTableOutput, error) {
	if err := c.request(ctx, "CreateTable"); err != nil {
		return nil, err
	}
	return c.DynamoDB.CreateTable(ctx, in, opts...)
}

func (c *CountingDynamoDB) DescribeTable(ctx context.Context, in *dynamodb.DescribeTableInput, opts ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error) {
	if err := c.request(ctx, "DescribeTable"); err != nil {
		return nil, err
	}
	return c.DynamoDB.DescribeTable(ctx, in, opts...)
}

func (c *CountingDynamoDB) PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	if err := c.request(ctx, "PutItem"); err != nil {
		return nil, err
	}
	return c.DynamoDB.PutItem(ctx, in, opts...)
}

// GetItem counts reads of the bans table apart, as "GetItem:bans", so that
// the cost of ban checks shows beside the rate limiter's reads.
func (c *CountingDynamoDB) GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	op := "GetItem"
	if in != nil && in.TableName != nil && *in.TableName == BansTable {
		op = "GetItem:bans"
	}
	if err := c.request(ctx, op); err != nil {
		return nil, err
	}
	return c.DynamoDB.GetItem(ctx, in, opts...)
}

func (c *CountingDynamoDB) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	if err := c.request(ctx, "UpdateItem"); err != nil {
		return nil, err
	}
	return c.DynamoDB.UpdateItem(ctx, in, opts...)
}

func (c *CountingDynamoDB) DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	if err := c.request(ctx, "DeleteItem"); err != nil {
		return nil, err
	}
	return c.DynamoDB.DeleteItem(ctx, in, opts...)
}

func (c *CountingDynamoDB) Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	if err := c.request(ctx, "Query"); err != nil {
		return nil, err
	}
	return c.DynamoDB.Query(ctx, in, opts...)
}

func (c *CountingDynamoDB) Scan(ctx context.Context, in *dynamodb.ScanInput, opts ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error) {
	if err := c.request(ctx, "Scan"); err != nil {
		return nil, err
	}
	return c.DynamoDB.Scan(ctx, in, opts...)
}
