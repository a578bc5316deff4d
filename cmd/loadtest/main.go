// Command loadtest measures the local stack end to end. Players connect over
// real WebSockets (token, authorizer, $connect), send each other messages
// with the sendmessage route, and the report gives connection setup time,
// acknowledgement and delivery latency, throughput, DynamoDB requests per
// message by operation and CPU time per message.
//
//	go run ./cmd/loadtest                                  # embedded stack, 100 players x 50 messages, limits off
//	go run ./cmd/loadtest -limits=default                  # keep the default rate limits (10/s, burst 20)
//	go run ./cmd/loadtest -offline-fraction 0.5            # half the players offline: queue, then drain the inboxes
//	go run ./cmd/loadtest -url http://127.0.0.1:8080       # a running `go run ./cmd/local`
//	go run ./cmd/loadtest -json                            # machine-readable report on stdout
//
// With -embedded (the default when -url is empty) the whole stack runs in
// this process on a loopback port, so one command measures everything; its
// rate limits come from -limits: "off" (the default, for throughput runs)
// sets RATE_MESSAGES_PER_SECOND, RATE_BYTES_PER_SECOND and
// RATE_CONNECTS_PER_MINUTE to 0, "default" leaves the stack's defaults.
// Other settings of the embedded stack can be given with -env KEY=VALUE. With
// -url the running stack's own limits apply; refusals are counted as
// rate_limited and, unless -retry=false, the message is sent again after the
// retryAfterMs the server named.
//
// Phases, each measured on its own:
//   - connect: every online player fetches a token from POST /dev/token, then
//     dials /ws?token=…; the upgrade time includes the authorizer and $connect.
//   - send: each online player sends -messages frames to random other
//     players (online or offline), -concurrency in flight, optionally paced by
//     -rate. Ack latency runs from writing the frame to reading its ack (for a
//     retried message, from its last attempt). Delivery latency runs from
//     writing the frame to the recipient reading it, measured by the message
//     body {"run":…,"seq":…,"t":…}, whose t is read on the sender's monotonic
//     clock (sender and recipient are both in this process).
//   - inbox (with -offline-fraction): the offline players connect and ask for
//     their inbox until they have what was queued for them.
//   - disconnect: every client closes and the tool waits for the stack to
//     have run each $disconnect.
//
// Cost: DynamoDB requests per acknowledged message by operation, read from
// the embedded stack's counting client or, with -url, from the stack's
// /metrics (dynamodb_requests_total); with -url other clients of the same
// stack would be counted too. CPU: the process's user+system CPU time during
// the send phase per acknowledged message; embedded, this is the stack and
// the load generator together; with -url it is the load generator alone.
//
// The tool only targets loopback addresses and stops by itself after
// -timeout; it then still closes its clients and shuts the embedded stack
// down (bounded by a further 15 seconds).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(1)
	}
}

// Values of -limits.
const (
	limitsOff     = "off"
	limitsDefault = "default"
)

// options are the parsed flags.
type options struct {
	url                string
	embedded           bool
	players            int
	messages           int
	concurrency        int
	connectConcurrency int
	rate               float64
	limits             string
	offlineFraction    float64
	retry              bool
	timeout            time.Duration
	ackTimeout         time.Duration
	json               bool
	verbose            bool
	dynamoEndpoint     string
	cpuProfile         string
	env                envFlag
	serveRelay         string
}

// offline returns how many players stay offline during the send phase.
func (o options) offline() int { return int(math.Floor(float64(o.players) * o.offlineFraction)) }

// envFlag collects repeated -env KEY=VALUE flags.
type envFlag map[string]string

func (e envFlag) String() string {
	var kv []string
	for k, v := range e {
		kv = append(kv, k+"="+v)
	}
	return strings.Join(kv, ",")
}

func (e envFlag) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return fmt.Errorf("want KEY=VALUE, got %q", s)
	}
	e[k] = v
	return nil
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	o := options{env: envFlag{}}
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.url, "url", "", "base URL of a running local stack, e.g. http://127.0.0.1:8080 (loopback only); empty runs the stack embedded")
	fs.BoolVar(&o.embedded, "embedded", false, "run the whole stack in this process (the default when -url is empty)")
	fs.IntVar(&o.players, "players", 100, "number of players (at least 2)")
	fs.IntVar(&o.messages, "messages", 50, "messages each online player sends")
	fs.IntVar(&o.concurrency, "concurrency", 1, "messages in flight per player (1: wait for each ack before the next send)")
	fs.IntVar(&o.connectConcurrency, "connect-concurrency", 8, "players connecting at once")
	fs.Float64Var(&o.rate, "rate", 0, "messages per second per player (0: as fast as acks allow)")
	fs.StringVar(&o.limits, "limits", limitsOff, `embedded stack's rate limits: "off" or "default" (10 msg/s, burst 20, 64 KiB/s, 10 connects/min)`)
	fs.Float64Var(&o.offlineFraction, "offline-fraction", 0, "fraction of players offline during the send phase; their messages are queued, then drained from their inbox")
	fs.BoolVar(&o.retry, "retry", true, "send a rate_limited message again after the retryAfterMs the server named")
	fs.DurationVar(&o.timeout, "timeout", 2*time.Minute, "stop measuring after this long")
	fs.DurationVar(&o.ackTimeout, "ack-timeout", 10*time.Second, "give up on a frame's reply once its connection has been silent this long")
	fs.BoolVar(&o.json, "json", false, "write the report as JSON instead of text")
	fs.StringVar(&o.dynamoEndpoint, "dynamodb-endpoint", "", "embedded: an external DynamoDB engine on loopback, e.g. dynalite (default: embedded minidyn)")
	fs.BoolVar(&o.verbose, "v", false, "embedded: log the stack at info level to stderr (default: errors only)")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the send phase to this file (go tool pprof)")
	fs.Var(o.env, "env", "embedded: set a stack environment variable, KEY=VALUE (repeatable); applied after -limits")
	fs.StringVar(&o.serveRelay, "serve-relay", "", "serve the raw relay (no auth, no store) on this loopback address until interrupted, instead of measuring; see relay.go")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	var errs []error
	if o.url != "" {
		if o.embedded {
			errs = append(errs, errors.New("-url and -embedded exclude each other"))
		}
		for _, name := range []string{"limits", "env", "v", "dynamodb-endpoint"} {
			if set[name] {
				errs = append(errs, fmt.Errorf("-%s applies to the embedded stack only; a running stack keeps its own settings", name))
			}
		}
		if err := checkLoopbackURL(o.url); err != nil {
			errs = append(errs, fmt.Errorf("-url: %w", err))
		}
	} else {
		o.embedded = true
	}
	if o.dynamoEndpoint != "" {
		if err := checkLoopbackURL(o.dynamoEndpoint); err != nil {
			errs = append(errs, fmt.Errorf("-dynamodb-endpoint: %w", err))
		}
	}
	if o.limits != limitsOff && o.limits != limitsDefault {
		errs = append(errs, fmt.Errorf("-limits=%q: want %q or %q", o.limits, limitsOff, limitsDefault))
	}
	if o.players < 2 {
		errs = append(errs, fmt.Errorf("-players=%d: want at least 2", o.players))
	}
	if o.messages < 1 {
		errs = append(errs, fmt.Errorf("-messages=%d: want at least 1", o.messages))
	}
	if o.concurrency < 1 {
		errs = append(errs, fmt.Errorf("-concurrency=%d: want at least 1", o.concurrency))
	}
	if o.connectConcurrency < 1 {
		errs = append(errs, fmt.Errorf("-connect-concurrency=%d: want at least 1", o.connectConcurrency))
	}
	if o.rate < 0 || math.IsInf(o.rate, 0) || math.IsNaN(o.rate) {
		errs = append(errs, fmt.Errorf("-rate=%v: want a non-negative number", o.rate))
	}
	if !(o.offlineFraction >= 0 && o.offlineFraction < 1) {
		errs = append(errs, fmt.Errorf("-offline-fraction=%v: want at least 0 and below 1", o.offlineFraction))
	} else if o.players >= 2 && o.players-o.offline() < 1 {
		errs = append(errs, errors.New("-offline-fraction leaves no player online"))
	}
	if o.timeout <= 0 {
		errs = append(errs, fmt.Errorf("-timeout=%s: want a positive duration", o.timeout))
	}
	if o.ackTimeout <= 0 {
		errs = append(errs, fmt.Errorf("-ack-timeout=%s: want a positive duration", o.ackTimeout))
	}
	if len(errs) > 0 {
		return o, fmt.Errorf("flags: %w", errors.Join(errs...))
	}
	return o, nil
}

// run parses args, starts or reaches the stack, measures, writes the report
// to stdout and cleans up: every client is closed and an embedded stack is
// shut down, even after a timeout or an error.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) (err error) {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	if o.serveRelay != "" {
		return serveRelay(ctx, o.serveRelay, stdout)
	}
	tgt, err := newTarget(ctx, o, stderr)
	if err != nil {
		return err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
		defer cancel()
		if cerr := tgt.close(cctx); cerr != nil {
			err = errors.Join(err, fmt.Errorf("shut the stack down: %w", cerr))
		}
	}()

	rep, measureErr := measure(ctx, o, tgt)
	if o.json {
		if werr := rep.writeJSON(stdout); werr != nil {
			return errors.Join(measureErr, werr)
		}
	} else {
		rep.writeText(stdout)
	}
	return measureErr
}
