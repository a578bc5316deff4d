package e2e

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	miniclient "github.com/truora/minidyn/aws-v2/client"
	miniserver "github.com/truora/minidyn/server"

	"github.com/serverless-websockets/serverless-websockets/internal/domain"
	"github.com/serverless-websockets/serverless-websockets/internal/local"
	"github.com/serverless-websockets/serverless-websockets/internal/local/wsgateway"
	"github.com/serverless-websockets/serverless-websockets/internal/protocol"
	"github.com/serverless-websockets/serverless-websockets/internal/testsupport/dynamotest"
	"github.com/serverless-websockets/serverless-websockets/internal/testsupport/syncbuf"
)

// freezable is a DynamoDB engine that can be frozen: while frozen, every
// request blocks until its context ends, as a stopped engine process does.
type freezable struct {
	local.Around
	frozen atomic.Bool
}

func newFreezable(engine local.DynamoDB) *freezable {
	f := &freezable{}
	f.Around = local.Around{DynamoDB: engine, Hook: func(ctx context.Context, _ string, _ any, call func() error) error {
		if f.frozen.Load() {
			<-ctx.Done()
			return ctx.Err()
		}
		return call()
	}}
	return f
}

func withDynamoDB(api local.DynamoDB) option {
	return func(o *local.Options, _ map[string]string) { o.DynamoDB = api }
}

// TestFrozenEngine: with the engine frozen, a sendmessage answers
// unavailable with the client's id, from the handler itself (so before the
// function timeout, when the gateway would answer "Internal server error"
// instead), nothing is delivered, and the next ping on the same connection
// is answered. /metrics answers, and a new connection is refused with 500.
// Thawed, the same connection delivers again.
func TestFrozenEngine(t *testing.T) {
	engine := newFreezable(miniclient.NewClient())
	s := startStack(t, noLimits(), withDynamoDB(engine), withGateway(func(c *wsgateway.Config) { c.FunctionTimeout = time.Second }))
	alice, bob := s.dial("frozen-alice"), s.dial("frozen-bob")
	token := s.token("frozen-carol", 3600)

	engine.frozen.Store(true)
	alice.sendTo("frozen-bob", "lost?", "f-1")
	alice.wantError("f-1", domain.CodeUnavailable)
	alice.pingPong("p-1")
	alice.send(map[string]any{"action": "inbox", "id": "i-1"})
	alice.wantError("i-1", domain.CodeUnavailable)
	alice.pingPong("p-2")

	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(s.URL + "/metrics")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics while frozen: %v, %v", resp, err)
	}
	resp.Body.Close()
	if _, status, err := s.dialToken(token); err == nil || status != http.StatusInternalServerError {
		t.Fatalf("connect while frozen: status %d, %v; want 500", status, err)
	}
	bob.quiet(100 * time.Millisecond)

	engine.frozen.Store(false)
	alice.sendTo("frozen-bob", "thawed", "f-2")
	alice.wantAck("f-2", protocol.StatusDelivered, 1)
	bob.wantMessage("frozen-alice", "thawed", time.Time{})
	if _, status, err := s.dialToken(token); err != nil {
		t.Fatalf("connect after the thaw: status %d, %v", status, err)
	}
}

// TestLostTablesAreRecreated: an engine that loses its tables (an external
// engine restarted) makes the local stack recreate them on the first
// request that finds one missing, log it once, and go on serving: on
// minidyn in process, and on minidyn's HTTP server through the real SDK,
// where the error arrives as DynamoDB's wire error.
func TestLostTablesAreRecreated(t *testing.T) {
	type engine interface {
		local.DynamoDB
		DeleteTable(context.Context, *dynamodb.DeleteTableInput, ...func(*dynamodb.Options)) (*dynamodb.DeleteTableOutput, error)
	}
	for _, tt := range []struct {
		name string
		open func(t *testing.T) engine
	}{
		{"minidyn", func(*testing.T) engine { return miniclient.NewClient() }},
		{"minidyn-http", func(t *testing.T) engine {
			srv := httptest.NewServer(miniserver.NewServer())
			t.Cleanup(srv.Close)
			return dynamotest.NewClient(srv.URL)
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			engine := tt.open(t)
			logs := &syncbuf.Buffer{}
			s := startStack(t, withDynamoDB(engine), func(o *local.Options, _ map[string]string) {
				o.Logger = slog.New(slog.NewTextHandler(logs, nil))
			})
			alice := s.dial("lost-alice")
			for _, table := range []string{local.ConnectionsTable, local.MailboxTable, local.RateLimitTable} {
				if _, err := engine.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(table)}); err != nil {
					t.Fatalf("delete %s: %v", table, err)
				}
			}
			// Every table is gone, with every row: bob is offline for the
			// stack, and alice's message is queued for him.
			alice.sendTo("lost-bob", "after the loss", "l-1")
			alice.wantAck("l-1", protocol.StatusQueued, 0)
			bob := s.dial("lost-bob")
			got := bob.inbox("in-1")
			if len(got) != 1 || got[0]["message"] != "after the loss" {
				t.Fatalf("inbox %v", got)
			}
			alice.sendTo("lost-bob", "live", "l-2")
			alice.wantAck("l-2", protocol.StatusDelivered, 1)
			bob.wantMessage("lost-alice", "live", time.Time{})

			if n := s.Tables.Recoveries(); n != 1 {
				t.Errorf("%d recoveries, want 1", n)
			}
			if n := strings.Count(logs.String(), "recreated the tables"); n != 1 {
				t.Errorf("the recovery was logged %d times, want once:\n%s", n, logs)
			}
		})
	}
}
