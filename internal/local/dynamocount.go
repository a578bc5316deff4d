package local

import (
	"context"
	"maps"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// CountingDynamoDB counts the requests made through a DynamoDB client, by
// operation, so that /metrics and the load generator can show what a message
// costs in DynamoDB requests. With a Latency it also delays every request by
// that much, modelling the round trip to DynamoDB in AWS.
type CountingDynamoDB struct {
	*Around // its DynamoDB is the client counted
	// Latency is added before every request (0: none). Set it before use.
	Latency time.Duration

	mu     sync.Mutex
	counts map[string]int64
}

var _ DynamoDB = (*CountingDynamoDB)(nil)

// NewCountingDynamoDB wraps api.
func NewCountingDynamoDB(api DynamoDB) *CountingDynamoDB {
	c := &CountingDynamoDB{counts: map[string]int64{}}
	c.Around = &Around{DynamoDB: api, Hook: c.request}
	return c
}

// request counts one request of op, waits Latency (or until ctx ends), then
// makes it. Reads of the bans table count apart, as "GetItem:bans", so that
// the cost of ban checks shows beside the rate limiter's reads.
func (c *CountingDynamoDB) request(ctx context.Context, op string, in any, call func() error) error {
	if get, ok := in.(*dynamodb.GetItemInput); ok && get != nil && aws.ToString(get.TableName) == BansTable {
		op = "GetItem:bans"
	}
	c.mu.Lock()
	c.counts[op]++
	c.mu.Unlock()
	if err := sleep(ctx, c.Latency); err != nil {
		return err
	}
	return call()
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
	return maps.Clone(c.counts)
}

// Total returns the number of requests made so far.
func (c *CountingDynamoDB) Total() int64 {
	var n int64
	for _, v := range c.Requests() {
		n += v
	}
	return n
}
