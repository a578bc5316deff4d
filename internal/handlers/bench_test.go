//go:build unix

// The benchmarks read the process's CPU time with getrusage, hence unix.

package handlers_test

import (
	"context"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/serverless-websockets/serverless-websockets/internal/app"
	"github.com/serverless-websockets/serverless-websockets/internal/config"
	"github.com/serverless-websockets/serverless-websockets/internal/domain"
	"github.com/serverless-websockets/serverless-websockets/internal/dynamo"
	"github.com/serverless-websockets/serverless-websockets/internal/handlers"
	"github.com/serverless-websockets/serverless-websockets/internal/local"
	"github.com/serverless-websockets/serverless-websockets/internal/local/minidynrouter"
	"github.com/serverless-websockets/serverless-websockets/internal/testsupport/fakeclock"
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

// benchSender is a Sender that discards posts.
type benchSender struct{}

func (benchSender) Post(context.Context, string, []byte) error { return nil }
func (benchSender) Delete(context.Context, string) error       { return nil }

// benchStart is the clock's start; rows live for a year from it, longer
// than any benchmark's simulated span.
var benchStart = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// benchRig is a Messages handler on fresh embedded-engine tables, whose
// player bob holds one live connection. Its client counts requests by
// operation, the bans table's reads apart (local.CountingDynamoDB).
type benchRig struct {
	h     *handlers.Messages
	api   *local.CountingDynamoDB
	clock *fakeclock.Clock
	store *dynamo.Store
}

func newBenchRig(b *testing.B) *benchRig {
	b.Helper()
	ctx := context.Background()
	r := &benchRig{api: local.NewCountingDynamoDB(minidynrouter.New()), clock: fakeclock.New(benchStart)}
	// The functions' settings with their defaults; one sender may queue 50
	// messages per recipient.
	cfg, err := config.Load(func(k string) string {
		return map[string]string{
			"CONNECTIONS_TABLE": "connections", "MAILBOX_TABLE": "mailbox", "BANS_TABLE": "bans",
			"RATE_LIMIT_TABLE": "rate-limits", "MAILBOX_MAX_PER_SENDER": "50",
		}[k]
	}, 0)
	if err != nil {
		b.Fatal(err)
	}
	tables := dynamo.Tables{Connections: cfg.ConnectionsTable, Mailbox: cfg.MailboxTable, Bans: cfg.BansTable}
	if err := dynamo.CreateTables(ctx, r.api, tables); err != nil {
		b.Fatal(err)
	}
	if err := dynamo.EnsureTable(ctx, r.api, ratelimit.TableInput(cfg.RateLimitTable)); err != nil {
		b.Fatal(err)
	}
	a, err := app.New(cfg, app.Clients{DynamoDB: r.api, Sender: benchSender{}, Now: r.clock.Now})
	if err != nil {
		b.Fatal(err)
	}
	r.store = a.Store
	if err := r.store.PutConnection(ctx, domain.Connection{
		ID: "bob-conn-0001=", PlayerID: "bob", ConnectedAt: benchStart,
		ExpiresAt: benchStart.Add(365 * 24 * time.Hour), SourceIP: "203.0.113.7", UserAgent: "bench",
	}); err != nil {
		b.Fatal(err)
	}
	if r.h, err = a.Messages(); err != nil {
		b.Fatal(err)
	}
	r.h.Bans = nil // the ban check is BenchmarkSendMessageBanCheck's
	return r
}

// benchMove is the message of every benchmark: a small game move.
const benchMove = `{"move":"e2e4","turn":17,"clock":{"white":298.5,"black":301.2}}`

// sendEvent is alice's sendmessage of benchMove to player to.
func sendEvent(to string) events.APIGatewayWebsocketProxyRequest {
	return events.APIGatewayWebsocketProxyRequest{
		Body: `{"action":"sendmessage","to":"` + to + `","id":"c-1","message":` + benchMove + `}`,
		RequestContext: events.APIGatewayWebsocketProxyRequestContext{
			RouteKey: handlers.RouteSendMessage, ConnectionID: "alice-conn-01=", RequestID: "req-1", EventType: "MESSAGE",
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
	before, total, cpu := r.api.Requests(), r.api.Total(), cpuTime(b)
	n := 0
	for b.Loop() {
		op(n)
		n++
	}
	cpu = cpuTime(b) - cpu
	after := r.api.Requests()
	b.ReportMetric(float64(r.api.Total()-total)/float64(n), "ddb-req/msg")
	b.ReportMetric(float64(after["UpdateItem"]-before["UpdateItem"]+after["GetItem"]-before["GetItem"])/float64(n), "limiter-req/msg")
	b.ReportMetric(float64(after["GetItem:bans"]-before["GetItem:bans"])/float64(n), "ban-req/msg")
	b.ReportMetric(float64(cpu.Microseconds())/float64(n), "cpu-µs/msg")
}

// BenchmarkSendMessage: a message to a player with one live connection,
// admitted and delivered (1 UpdateItem for the limit, 1 Query for the
// recipient's connections, 1 post).
func BenchmarkSendMessage(b *testing.B) {
	r := newBenchRig(b)
	ev := sendEvent("bob")
	r.measure(b, func(int) {
		r.clock.Advance(100 * time.Millisecond)
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
		r.clock.Advance(100 * time.Millisecond)
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
// Every message reads the sender's ban (one strongly consistent GetItem,
// beside the limiter's write and the Query), whether its connection is
// new ("new connection") or has sent before ("same connection").
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
				r.clock.Advance(100 * time.Millisecond)
				if tt.fresh {
					ev.RequestContext.ConnectionID = "alice-" + strconv.Itoa(i) + "="
				}
				r.handle(b, ev, `"status":"delivered"`)
			})
		})
	}
}
