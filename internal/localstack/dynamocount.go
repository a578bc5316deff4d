package localstack

import (
	"context"
	"sort"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// CountingDynamoDB counts the requests made through a DynamoDB client, by
// operation, so that /metrics and the load generator can show what a message
// costs in DynamoDB requests.
type CountingDynamoDB struct {
	DynamoDB

	mu     sync.Mutex
	counts map[string]int64
}

var _ DynamoDB = (*CountingDynamoDB)(nil)

// NewCountingDynamoDB wraps api.
func NewCountingDynamoDB(api DynamoDB) *CountingDynamoDB {
	return &CountingDynamoDB{DynamoDB: api, counts: map[string]int64{}}
}

func (c *CountingDynamoDB) count(op string) {
	c.mu.Lock()
	c.counts[op]++
	c.mu.Unlock()
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
	c.count("CreateTable")
	return c.DynamoDB.CreateTable(ctx, in, opts...)
}

func (c *CountingDynamoDB) DescribeTable(ctx context.Context, in *dynamodb.DescribeTableInput, opts ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error) {
	c.count("DescribeTable")
	return c.DynamoDB.DescribeTable(ctx, in, opts...)
}

func (c *CountingDynamoDB) PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	c.count("PutItem")
	return c.DynamoDB.PutItem(ctx, in, opts...)
}

// GetItem counts reads of the bans table apart, as "GetItem:bans", so that
// the cost of ban checks shows beside the rate limiter's reads.
func (c *CountingDynamoDB) GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	if in != nil && in.TableName != nil && *in.TableName == BansTable {
		c.count("GetItem:bans")
	} else {
		c.count("GetItem")
	}
	return c.DynamoDB.GetItem(ctx, in, opts...)
}

func (c *CountingDynamoDB) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	c.count("UpdateItem")
	return c.DynamoDB.UpdateItem(ctx, in, opts...)
}

func (c *CountingDynamoDB) DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	c.count("DeleteItem")
	return c.DynamoDB.DeleteItem(ctx, in, opts...)
}

func (c *CountingDynamoDB) Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	c.count("Query")
	return c.DynamoDB.Query(ctx, in, opts...)
}

func (c *CountingDynamoDB) Scan(ctx context.Context, in *dynamodb.ScanInput, opts ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error) {
	c.count("Scan")
	return c.DynamoDB.Scan(ctx, in, opts...)
}
