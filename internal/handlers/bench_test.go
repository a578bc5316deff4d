//go:build unix

// The benchmarks read the process's CPU time with getrusage, hence unix.

package handlers

import (
	"context"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/serverless-websockets/serverless-websockets/internal/domain"
	"github.com/serverless-websockets/serverless-websockets/internal/dynamo"
	"github.com/serverless-websockets/serverless-websockets/internal/minidynrouter"
	"github.com/serverless-websockets/serverless-websockets/ratelimit"
)

// Benchmarks of the sendmessage route with the real DynamoDB store and the
// real rate limiter on the local stack's embedded engine (in-process minidyn,
// one instance per partition: package minidynrouter), and a Sender that
// discards posts.
// Besides ns/op and allocs/op they report:
//
//	ddb-req/msg      DynamoDB requests per message, all tables
//	limiter-req/msg  of which the limiter's (UpdateItem, GetItem)
//	ban-req/msg      of which ban reads (GetItem on the bans table)
//	cpu-µs/msg       process CPU time (user + system) per message
//
// The limits are the defaults (10 messages per second, burst 20; 64 KiB per
// second, burst 128 KiB). In the delivered and queued benchmarks the clock
// moves 100 ms per message, the sustained rate, so every message is
// admitted; in the flood it stands still.

// benchDynamoDB is what the store and the limiter need of DynamoDB.
type benchDynamoDB interface {
	dynamo.API
	ratelimit.TableAPI
	ratelimit.API
}

// countingDynamoDB counts requests: the limiter's (UpdateItem, GetItem) and
// the store's (Query, PutItem, DeleteItem).
type countingDynamoDB struct {
	benchDynamoDB
	limiter, store, bans atomic.Int64
}

func (c *countingDynamoDB) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	c.limiter.Add(1)
	return c.benchDynamoDB.UpdateItem(ctx, in, opts...)
}

func (c *countingDynamoDB) GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	if aws.ToString(in.TableName) == benchBansTable {
		c.bans.Add(1)
	} else {
		c.limiter.Add(1)
	}
	return c.benchDynamoDB.GetItem(ctx, in, opts...)
}

func (c *countingDynamoDB) Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	c.store.Add(1)
	return c.benchDynamoDB.Query(ctx, in, opts...)
}

func (c *countingDynamoDB) PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	c.store.Add(1)
	return c.benchDynamoDB.PutItem(ctx, in, opts...)
}

func (c *countingDynamoDB) DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	c.store.Add(1)
	return c.benchDynamoDB.DeleteItem(ctx, in, opts...)
}

func (c *countingDynamoDB) reset() {
	c.limiter.Store(0)
	c.store.Store(0)
	c.bans.Store(0)
}

// benchBansTable is the rig's bans table.
const benchBansTable = "bans"

// benchSender is a Sender of function fields; a nil field discards the
// call and succeeds.
type benchSender struct {
	post func(connectionID string, data []byte) error
}

func (s benchSender) Post(_ context.Context, connectionID string, data []byte) error {
	if s.post != nil {
		return s.post(connectionID, data)
	}
	return nil
}

func (s benchSender) Delete(context.Context, string) error { return nil }

// benchClock is the clock of the handler, the store and the limiter.
type benchClock struct{ ns atomic.Int64 }

func (c *benchClock) Now() time.Time      { return time.Unix(0, c.ns.Load()).UTC() }
func (c *benchClock) Add(d time.Duration) { c.ns.Add(int64(d)) }

// benchStart is the clock's start; rows live for a year from it, longer
// than any benchmark's simulated span.
var benchStart = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// benchRig is a Messages handler on fresh embedded-engine tables, whose
// player bob holds one live connection.
type benchRig struct {
	h      *Messages
	api    *countingDynamoDB
	clock  *benchClock
	store  *dynamo.Store
	tables dynamo.Tables
	limits ratelimit.Config
}

func newBenchRig(b *testing.B) *benchRig {
	b.Helper()
	r := &benchRig{
		api:    &countingDynamoDB{},
		clock:  &benchClock{},
		tables: dynamo.Tables{Connections: "connections", Mailbox: "mailbox", Bans: benchBansTable},
	}
	r.clock.ns.Store(benchStart.UnixNano())
	r.limits = ratelimit.Config{
		Table:    "rate-limits",
		Messages: ratelimit.DefaultMessages, Bytes: ratelimit.DefaultBytes, Connects: ratelimit.DefaultConnects,
		Now: r.clock.Now,
	}
	r.store = dynamo.New(r.api, r.tables, dynamo.Options{Now: r.clock.Now, MailboxMaxPerSender: 50} /* one sender queues 50 per recipient */)
	r.freshEngine(b)
	r.h = &Messages{
		Connections: r.store, Presence: r.store, Mailbox: r.store, Sender: benchSender{},
		Limiter: ratelimit.New(r.api, r.limits), Now: r.clock.Now,
	}
	return r
}

// freshEngine points the rig at a new, empty engine holding only the
// tables and bob's connection (measure counts requests from its start).
func (r *benchRig) freshEngine(b *testing.B) {
	b.Helper()
	ctx := context.Background()
	r.api.benchDynamoDB = minidynrouter.New()
	if err := dynamo.CreateTables(ctx, r.api, r.tables); err != nil {
		b.Fatal(err)
	}
	if err := ratelimit.CreateTable(ctx, r.api, r.limits.Table); err != nil {
		b.Fatal(err)
	}
	if err := r.store.PutConnection(ctx, domain.Connection{
		ID: "bob-conn-0001=", PlayerID: "bob", ConnectedAt: benchStart,
		ExpiresAt: benchStart.Add(365 * 24 * time.Hour), SourceIP: "203.0.113.7", UserAgent: "bench",
	}); err != nil {
		b.Fatal(err)
	}
}

// benchMove is the message of every benchmark: a small game move.
const benchMove = `{"move":"e2e4","turn":17,"clock":{"white":298.5,"black":301.2}}`

// sendEvent is alice's sendmessage of benchMove to player to.
func sendEvent(to string) events.APIGatewayWebsocketProxyRequest {
	return events.APIGatewayWebsocketProxyRequest{
		Body: `{"action":"sendmessage","to":"` + to + `","id":"c-1","message":` + benchMove + `}`,
		RequestContext: events.APIGatewayWebsocketProxyRequestContext{
			RouteKey: RouteSendMessage, ConnectionID: "alice-conn-01=", RequestID: "req-1", EventType: "MESSAGE",
			Authorizer: map[string]any{
				"principalId": "alice", "playerId": "alice", "playerName": "alice", "groups": "",
				"tokenExpiresAt": float64(benchStart.Add(365 * 24 * time.Hour).Unix()),
			},
		},
	}
}

// handle runs one event and fails unless the answer contains want.
func (r *benchRig) handle(b *testing.B, ev events.APIGatewayWebsocketProxyRequest, want string) {
	resp, err := r.h.Handle(context.Background(), ev)
	if err != nil || !strings.Contains(resp.Body, want) {
		b.Fatalf("answer %q, error %v; want it to contain %s", resp.Body, err, want)
	}
}

// cpuTime is the CPU time the process has used, user and system.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatalf("getrusage: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// measure runs op in b.Loop and reports the custom metrics per message.
func (r *benchRig) measure(b *testing.B, op func(i int)) {
	b.ReportAllocs()
	r.api.reset()
	cpu := cpuTime(b)
	n := 0
	for b.Loop() {
		op(n)
		n++
	}
	cpu = cpuTime(b) - cpu
	b.ReportMetric(float64(r.api.limiter.Load()+r.api.store.Load()+r.api.bans.Load())/float64(n), "ddb-req/msg")
	b.ReportMetric(float64(r.api.limiter.Load())/float64(n), "limiter-req/msg")
	b.ReportMetric(float64(r.api.bans.Load())/float64(n), "ban-req/msg")
	b.ReportMetric(float64(cpu.Microseconds())/float64(n), "cpu-µs/msg")
}

// BenchmarkSendMessage: a message to a player with one live connection,
// admitted and delivered (1 UpdateItem for the limit, 1 Query for the
// recipient's connections, 1 post).
func BenchmarkSendMessage(b *testing.B) {
	r := newBenchRig(b)
	ev := sendEvent("bob")
	r.measure(b, func(int) {
		r.clock.Add(100 * time.Millisecond)
		r.handle(b, ev, `"status":"delivered"`)
	})
}

// BenchmarkSendMessageQueued: a message to a player who is offline,
// admitted and queued in the mailbox (1 UpdateItem, 1 Query for the
// recipient's connections, 1 Query of the mailbox's slots, 2 PutItems).
// The recipient changes every 50 messages, so each message meets a mailbox
// of 0 to 49 messages (the cap is 100). The table keeps growing with b.N;
// since the engine keeps one minidyn instance per partition, a request
// visits only its own partition's items and the cost per message does not
// grow with it.
func BenchmarkSendMessageQueued(b *testing.B) {
	const perRecipient = 50
	r := newBenchRig(b)
	var ev events.APIGatewayWebsocketProxyRequest
	r.measure(b, func(i int) {
		if i%perRecipient == 0 {
			ev = sendEvent("offline-" + strconv.Itoa(i/perRecipient))
		}
		r.clock.Add(100 * time.Millisecond)
		r.handle(b, ev, `"status":"queued"`)
	})
}

// BenchmarkSendMessageFlood: a player floods at one instant after spending
// the burst outside the timer, so every measured message is refused with
// rate_limited, by the limiter's deny cache, with no DynamoDB request.
func BenchmarkSendMessageFlood(b *testing.B) {
	r := newBenchRig(b)
	ev := sendEvent("bob")
	for range 20 {
		r.handle(b, ev, `"status":"delivered"`)
	}
	r.handle(b, ev, `"code":"rate_limited"`)
	r.measure(b, func(int) {
		r.handle(b, ev, `"code":"rate_limited"`)
	})
}

// BenchmarkSendMessageBanCheck: BenchmarkSendMessage with the ban check on.
// A connection's first message on an instance reads the sender's ban (one
// strongly consistent GetItem); its later messages read nothing. "new
// connection" is the worst case, every message from a connection not seen
// before.
func BenchmarkSendMessageBanCheck(b *testing.B) {
	for _, tt := range []struct {
		name  string
		fresh bool
	}{{"same connection", false}, {"new connection", true}} {
		b.Run(tt.name, func(b *testing.B) {
			r := newBenchRig(b)
			r.h.Bans = r.store
			ev := sendEvent("bob")
			r.measure(b, func(i int) {
				r.clock.Add(100 * time.Millisecond)
				if tt.fresh {
					ev.RequestContext.ConnectionID = "alice-" + strconv.Itoa(i) + "="
				}
				r.handle(b, ev, `"status":"delivered"`)
			})
		})
	}
}
