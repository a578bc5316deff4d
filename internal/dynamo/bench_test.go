package dynamo_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	miniclient "github.com/truora/minidyn/aws-v2/client"

	"github.com/serverless-websockets/serverless-websockets/internal/domain"
	"github.com/serverless-websockets/serverless-websockets/internal/dynamo"
	"github.com/serverless-websockets/serverless-websockets/internal/local"
)

// benchStore returns a Store on fresh in-process minidyn tables, and its
// client, which counts the requests it makes.
func benchStore(b *testing.B) (*dynamo.Store, *local.CountingDynamoDB) {
	api := local.NewCountingDynamoDB(miniclient.NewClient())
	tables := dynamo.Tables{Connections: "connections", Mailbox: "mailbox"}
	if err := dynamo.CreateTables(b.Context(), api.DynamoDB, tables); err != nil {
		b.Fatal(err)
	}
	return dynamo.New(api, tables, dynamo.Options{}), api
}

// measure runs op in b.Loop, the i-th time with i, and adds the requests
// per operation it made to the benchmark's results, as "Query/op" and so on
// (none for an operation not made).
func measure(b *testing.B, api *local.CountingDynamoDB, op func(ctx context.Context, i int)) {
	ctx, before := b.Context(), api.Requests()
	for i := 0; b.Loop(); i++ {
		op(ctx, i)
	}
	for op, n := range api.Requests() {
		if n > before[op] {
			b.ReportMetric(float64(n-before[op])/float64(b.N), op+"/op")
		}
	}
}

// connect stores a connection of player for each of ids.
func connect(b *testing.B, store *dynamo.Store, player string, ids ...string) {
	now := time.Now()
	for _, id := range ids {
		c := domain.Connection{ID: id, PlayerID: player, ConnectedAt: now, ExpiresAt: now.Add(2 * time.Hour), SourceIP: "203.0.113.7", UserAgent: "bench"}
		if err := store.PutConnection(b.Context(), c); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPutDeleteConnection measures one $connect and its $disconnect for
// a player who already holds two connections.
func BenchmarkPutDeleteConnection(b *testing.B) {
	store, api := benchStore(b)
	connect(b, store, "alice", "held0=", "held1=")
	measure(b, api, func(ctx context.Context, i int) {
		id := fmt.Sprintf("c%d=", i)
		connect(b, store, "alice", id)
		if err := store.DeleteConnection(ctx, "alice", id); err != nil {
			b.Fatal(err)
		}
	})
}

// BenchmarkPlayerConnections measures the lookup of a recipient holding
// three connections.
func BenchmarkPlayerConnections(b *testing.B) {
	store, api := benchStore(b)
	connect(b, store, "bob", "c0=", "c1=", "c2=")
	measure(b, api, func(ctx context.Context, _ int) {
		conns, err := store.PlayerConnections(ctx, "bob")
		if err != nil || len(conns) != 3 {
			b.Fatal(conns, err)
		}
	})
}

// BenchmarkMailboxRoundTrip measures queueing a message for an offline
// player, reading the inbox and deleting the message.
func BenchmarkMailboxRoundTrip(b *testing.B) {
	store, api := benchStore(b)
	now := time.Now()
	measure(b, api, func(ctx context.Context, i int) {
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
	})
}

// BenchmarkOnlinePlayers measures a presence request for ten players, half
// of them online.
func BenchmarkOnlinePlayers(b *testing.B) {
	store, api := benchStore(b)
	var players []string
	for i := range 10 {
		p := fmt.Sprintf("p%d", i)
		players = append(players, p)
		if i%2 == 0 {
			connect(b, store, p, "c=")
		}
	}
	measure(b, api, func(ctx context.Context, _ int) {
		online, err := store.OnlinePlayers(ctx, players)
		if err != nil || len(online) != 5 {
			b.Fatal(online, err)
		}
	})
}
