// Command loadtest measures a serverless-websockets stack end to end, the
// way a team sizing a deployment would: real WebSocket clients with real
// tokens, a chosen traffic pattern at a chosen load, and for every step of a
// message's life its count, errors by code and latency percentiles.
//
//	go run ./cmd/loadtest                                            # pairs, embedded stack, 100 players x 50 messages, closed loop
//	go run ./cmd/loadtest -scenario fanin -players 51 -total-rate 500 -duration 30s -ramp 5s
//	go run ./cmd/loadtest -scenario mixed -rate 2 -duration 1m -html report.html
//	go run ./cmd/loadtest -url http://127.0.0.1:8080                 # a running `go run ./cmd/local`
//	go run ./cmd/loadtest -url wss://ID.execute-api.REGION.amazonaws.com/prod -i-own-this-stack \
//	    -cognito-user-pool POOL -cognito-client-id CLIENT -cleanup   # a deployed stack, Cognito users
//
// Scenarios (-scenario): pairs (players in pairs exchange messages), fanin
// (every player sends to player 0), broadcast (player 0 sends one message to
// each other player per round), connect (players connect and disconnect at a
// rate, measuring the authorizer, $connect and the cleanup), and mixed
// (random recipients while players leave and come back, -churn times a
// second, draining their inbox; -offline-fraction start offline).
//
// Load: with -rate (per sender) or -total-rate the loop is open: each
// message is sent at its scheduled time whatever the replies, and its
// latencies run from that time, so a slow stack cannot slow the load down
// and hide its own delay (no coordinated omission). Without a rate the loop
// is closed: each sender waits for a reply before the next message
// (-concurrency in flight), and a rate_limited refusal is sent again after
// retryAfterMs unless -retry=false. -ramp raises the rate from 0 (closed
// loop: starts the senders one after another) over its duration; -duration
// sends for a time, otherwise -messages per sender; -size pads messages.
//
// Steps: connect (the upgrade: authorizer and $connect), send→ack, send→
// delivery (acked delivered, read by the recipient), inbox drain (an inbox
// request to its closing frame) and disconnect→row gone (a close to the
// stack counting the player offline: read from the connections table when
// embedded, asked with presence otherwise). Latencies go into log-bucketed
// histograms (1.6 % precision); every message carries the run id and a
// number, so each one is checked: read once, read twice (a duplicate) or
// never (lost).
//
// Output: a text table on stdout (or -json), a live progress line on stderr
// when it is a terminal, and with -html FILE a self-contained page with the
// settings, the step table, latency histograms and per-second time series,
// all drawn as inline SVG. DynamoDB requests per connect, per message and per
// disconnect come from the embedded stack's counting client or a local
// stack's /metrics; a deployed stack does not expose them.
//
// Targets: without -url the whole stack runs in this process on a loopback
// port (-limits, -env and -dynamodb-endpoint set it up); -url http://… is a
// running local stack on loopback with development tokens; -url ws(s)://…
// is a WebSocket API itself. Players are development users of the local
// stack, or with -cognito-user-pool users of a Cognito pool, created or
// reused under -user-prefix, signed in with USER_PASSWORD_AUTH and deleted by
// -cleanup. A target that is not on loopback needs -i-own-this-stack; the
// expected API Gateway messages, Lambda invocations and DynamoDB requests
// are printed first. The run stops by itself after -timeout and still closes
// its clients and shuts the embedded stack down.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/serverless-websockets/serverless-websockets/internal/loadtest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var progress io.Writer
	if fi, err := os.Stderr.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
		progress = os.Stderr // a terminal: a live progress line
	}
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr, progress); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(1)
	}
}

// run parses args into the load test's options and runs it (package
// loadtest); usage and flag errors go to stderr. An interrupt ends ctx: the
// run stops, cleans up and still writes its partial report.
func run(ctx context.Context, args []string, stdout, stderr, progress io.Writer) error {
	var o loadtest.Options
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o.RegisterFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := o.Validate(fs); err != nil {
		return err
	}
	return loadtest.Run(ctx, o, stdout, stderr, progress)
}
