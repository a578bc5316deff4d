package dynamo_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	miniclient "github.com/truora/minidyn/aws-v2/client"

	"github.com/serverless-websockets/serverless-websockets/internal/domain"
	"github.com/serverless-websockets/serverless-websockets/internal/dynamo"
)

// countingAPI counts the DynamoDB requests made through it.
type countingAPI struct {
	dynamo.API
	queries, puts, deletes atomic.Int64
}

func (c *countingAPI) Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	c.queries.Add(1)
	return c.API.Query(ctx, in, opts...)
}

func (c *countingAPI) PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	c.puts.Add(1)
	return c.API.PutItem(ctx, in, opts...)
}

func (c *countingAPI) DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	c.deletes.Add(1)
	return c.API.DeleteItem(ctx, in, opts...)
}

// reset zeroes the counters, after a benchmark's setup.
func (c *countingAPI) reset() {
	c.queries.Store(0)
	c.puts.Store(0)
	c.deletes.Store(0)
}

// report adds the requests per operation to the benchmark's results.
func (c *countingAPI) report(b *testing.B) {
	n := float64(b.N)
	b.ReportMetric(float64(c.queries.Load())/n, "queries/op")
	b.ReportMetric(float64(c.puts.Load())/n, "puts/op")
	b.ReportMetric(float64(c.deletes.Load())/n, "deletes/op")
}

// benchStore returns a Store on fresh in-process minidyn tables, counting.
func benchStore(b *testing.B) (*dynamo.Store, *countingAPI) {
	api := miniclient.NewClient()
	tables := dynamo.Tables{Connections: "connections", Mailbox: "mailbox"}
	if err := dynamo.CreateTables(b.Context(), api, tables); err != nil {
		b.Fatal(err)
	}
	counting := &countingAPI{API: api}
	return dynamo.New(counting, tables, dynamo.Options{}), counting
}

func benchConn(player, id string) domain.Connection {
	now := time.Now()
	return domain.Connection{ID: id, PlayerID: player, ConnectedAt: now, ExpiresAt: now.Add(2 * time.Hour), SourceIP: "203.0.113.7", UserAgent: "bench"}
}

// BenchmarkPutDeleteConnection measures one $connect and its $disconnect for
// a player who already holds two connections.
func BenchmarkPutDeleteConnection(b *testing.B) {
	store, api := benchStore(b)
	ctx := b.Context()
	for i := range 2 {
		if err := store.PutConnection(ctx, benchConn("alice", fmt.Sprintf("held%d=", i))); err != nil {
			b.Fatal(err)
		}
	}
	api.reset()
	for i := 0; b.Loop(); i++ {
		id := fmt.Sprintf("c%d=", i)
		if err := store.PutConnection(ctx, benchConn("alice", id)); err != nil {
			b.Fatal(err)
		}
		if err := store.DeleteConnection(ctx, "alice", id); err != nil {
			b.Fatal(err)
		}
	}
	api.report(b)
}

// BenchmarkPlayerConnections measures the lookup of a recipient holding
// three connections.
func BenchmarkPlayerConnections(b *testing.B) {
	store, api := benchStore(b)
	ctx := b.Context()
	for i := range 3 {
		if err := store.PutConnection(ctx, benchConn("bob", fmt.Sprintf("c%d=", i))); err != nil {
			b.Fatal(err)
		}
	}
	api.reset()
	for b.Loop() {
		conns, err := store.PlayerConnections(ctx, "bob")
		if err != nil || len(conns) != 3 {
			b.Fatal(conns, err)
		}
	}
	api.report(b)
}

// BenchmarkMailboxRoundTrip measures queueing a message for an offline
// player, reading the inbox and deleting the message.
func BenchmarkMailboxRoundTrip(b *testing.B) {
	store, api := benchStore(b)
	ctx := b.Context()
	now := time.Now()
	for i := 0; b.Loop(); i++ {
		id := fmt.Sprintf("%016d", i)
		m := domain.QueuedMessage{To: "carol", ID: id, From: "alice", Message: json.RawMessage(`{"move":"e4"}`), SentAt: now, ExpiresAt: now.Add(time.Hour)}
		if err := store.Enqueue(ctx, m); err != nil {
			b.Fatal(err)
		}
		msgs, err := store.Inbox(ctx, "carol", 10)
		if err != nil || len(msgs) != 1 {
			b.Fatal(msgs, err)
		}
		if err := store.DeleteQueued(ctx, "carol", id); err != nil {
			b.Fatal(err)
		}
	}
	api.report(b)
}

// BenchmarkOnlinePlayers measures a presence request for ten players, half
// of them online.
func BenchmarkOnlinePlayers(b *testing.B) {
	store, api := benchStore(b)
	ctx := b.Context()
	var players []string
	for i := range 10 {
		p := fmt.Sprintf("p%d", i)
		players = append(players, p)
		if i%2 == 0 {
			if err := store.PutConnection(ctx, benchConn(p, "c=")); err != nil {
				b.Fatal(err)
			}
		}
	}
	api.reset()
	for b.Loop() {
		online, err := store.OnlinePlayers(ctx, players)
		if err != nil || len(online) != 5 {
			b.Fatal(online, err)
		}
	}
	api.report(b)
}
