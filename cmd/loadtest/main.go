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
	"math"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"
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

// Values of -limits.
const (
	limitsOff     = "off"
	limitsDefault = "default"
)

// Scenarios.
const (
	scenarioPairs     = "pairs"
	scenarioFanin     = "fanin"
	scenarioBroadcast = "broadcast"
	scenarioConnect   = "connect"
	scenarioMixed     = "mixed"
)

var scenarios = []string{scenarioPairs, scenarioFanin, scenarioBroadcast, scenarioConnect, scenarioMixed}

// options are the parsed flags.
type options struct {
	scenario           string
	url                string
	embedded           bool
	iOwnThisStack      bool
	players            int
	messages           int
	duration           time.Duration
	rate               float64
	totalRate          float64
	ramp               time.Duration
	size               int
	concurrency        int
	connectConcurrency int
	offlineFraction    float64
	churn              float64
	limits             string
	retry              bool
	timeout            time.Duration
	ackTimeout         time.Duration
	json               bool
	html               string
	verbose            bool
	dynamoEndpoint     string
	cpuProfile         string
	env                map[string]string // -env, repeated
	serveRelay         string
	cognito            cognitoOptions
}

// offline returns how many players start offline (mixed only).
func (o options) offline() int {
	if o.scenario != scenarioMixed {
		return 0
	}
	return int(math.Floor(float64(o.players) * o.offlineFraction))
}

// senders returns how many players send (mixed: those online at the start;
// connect: every player, connecting).
func (o options) senders() int {
	switch o.scenario {
	case scenarioFanin:
		return o.players - 1
	case scenarioBroadcast:
		return 1
	case scenarioMixed:
		return o.players - o.offline()
	}
	return o.players
}

// perSlot returns the messages a sender sends at each of its slots: one, or
// one to each recipient in broadcast.
func (o options) perSlot() int {
	if o.scenario == scenarioBroadcast {
		return o.players - 1
	}
	return 1
}

// perSenderRate is the offered rate of each sender, 0 in a closed loop.
func (o options) perSenderRate() float64 {
	if o.totalRate > 0 {
		return o.totalRate / float64(o.senders()*o.perSlot())
	}
	return o.rate
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	o := options{env: map[string]string{}}
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.scenario, "scenario", scenarioPairs, "pairs, fanin, broadcast, connect or mixed")
	fs.StringVar(&o.url, "url", "", "a running local stack (http://127.0.0.1:8080) or a WebSocket API (wss://…/prod); empty runs the stack embedded")
	fs.BoolVar(&o.embedded, "embedded", false, "run the whole stack in this process (the default when -url is empty)")
	fs.BoolVar(&o.iOwnThisStack, "i-own-this-stack", false, "allow a -url that is not a loopback address: you own it and pay for the run")
	fs.IntVar(&o.players, "players", 100, "number of players (pairs: even; fanin and broadcast: one recipient or sender and the rest)")
	fs.IntVar(&o.messages, "messages", 50, "messages each sender sends (broadcast: rounds, one message to each recipient; connect: connects per player)")
	fs.DurationVar(&o.duration, "duration", 0, "send for this long after the ramp instead of a count of -messages")
	fs.Float64Var(&o.rate, "rate", 0, "open loop: messages (connect: connects; broadcast: rounds) per second per sender, sent on schedule whatever the replies")
	fs.Float64Var(&o.totalRate, "total-rate", 0, "open loop: messages (connect: connects) per second in all, spread over the senders")
	fs.DurationVar(&o.ramp, "ramp", 0, "ramp-up: the rate rises from 0 over this long (closed loop: the senders start spread over it)")
	fs.IntVar(&o.size, "size", 0, "message body bytes (JSON, padded); 0 or less than the bare body sends the bare body (about 40 bytes)")
	fs.IntVar(&o.concurrency, "concurrency", 1, "closed loop: messages in flight per sender (1: wait for each ack before the next send)")
	fs.IntVar(&o.connectConcurrency, "connect-concurrency", 8, "players connecting at once at the start")
	fs.Float64Var(&o.offlineFraction, "offline-fraction", 0.2, "mixed: the fraction of players offline at the start; messages to them are queued")
	fs.Float64Var(&o.churn, "churn", 2, "mixed: times per second an online player leaves and an offline one comes back and drains its inbox")
	fs.StringVar(&o.limits, "limits", limitsOff, `embedded stack's rate limits: "off" or "default" (10 msg/s, burst 20, 64 KiB/s, 10 connects/min)`)
	fs.BoolVar(&o.retry, "retry", true, "closed loop: send a rate_limited message again after the retryAfterMs the server named")
	fs.DurationVar(&o.timeout, "timeout", 2*time.Minute, "stop after this long")
	fs.DurationVar(&o.ackTimeout, "ack-timeout", 10*time.Second, "give up on a frame's reply once its connection has been silent this long")
	fs.BoolVar(&o.json, "json", false, "write the report as JSON instead of text")
	fs.StringVar(&o.html, "html", "", "also write a self-contained HTML report with charts to this file")
	fs.StringVar(&o.dynamoEndpoint, "dynamodb-endpoint", "", "embedded: an external DynamoDB engine on loopback, e.g. dynalite (default: embedded minidyn)")
	fs.BoolVar(&o.verbose, "v", false, "embedded: log the stack at info level to stderr (default: errors only)")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the run phase to this file (go tool pprof)")
	fs.Func("env", "embedded: set a stack environment variable, KEY=VALUE (repeatable); applied after -limits", func(s string) error {
		k, v, ok := strings.Cut(s, "=")
		if !ok || k == "" {
			return fmt.Errorf("want KEY=VALUE, got %q", s)
		}
		o.env[k] = v
		return nil
	})
	fs.StringVar(&o.serveRelay, "serve-relay", "", "serve the raw relay (no auth, no store) on this loopback address until interrupted, instead of measuring; see relay.go")
	fs.StringVar(&o.cognito.userPool, "cognito-user-pool", "", "players are users of this Cognito user pool (default: development tokens)")
	fs.StringVar(&o.cognito.clientID, "cognito-client-id", "", "the pool's app client (no secret, USER_PASSWORD_AUTH allowed)")
	fs.StringVar(&o.cognito.region, "cognito-region", "us-east-1", "the pool's region")
	fs.StringVar(&o.cognito.endpoint, "cognito-endpoint", "", "a Cognito-compatible endpoint on loopback, such as cognito-local (default: AWS)")
	fs.StringVar(&o.cognito.prefix, "user-prefix", "loadtest-", "Cognito user names are this prefix and a number (before the @ of a prefix like loadtest-@example.com); existing ones are reused")
	fs.StringVar(&o.cognito.claim, "player-claim", "username", "the token claim the stack takes player ids from (its PLAYER_ID_CLAIM)")
	fs.BoolVar(&o.cognito.cleanup, "cleanup", false, "delete the Cognito users afterwards")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	var errs []error
	// need records the error of format unless ok, and returns ok.
	need := func(ok bool, format string, a ...any) bool {
		if !ok {
			errs = append(errs, fmt.Errorf(format, a...))
		}
		return ok
	}
	// unset refuses the flags of names that were set, saying why not.
	unset := func(why string, names ...string) {
		for _, name := range names {
			need(!set[name], "-%s %s", name, why)
		}
	}
	need(slices.Contains(scenarios, o.scenario), "-scenario=%q: want one of %s", o.scenario, strings.Join(scenarios, ", "))
	if o.url != "" {
		need(!o.embedded, "-url and -embedded exclude each other")
		unset("applies to the embedded stack only; a running stack keeps its own settings", "limits", "env", "v", "dynamodb-endpoint")
		if err := checkTargetURL(o.url, o.iOwnThisStack); err != nil {
			errs = append(errs, fmt.Errorf("-url: %w", err))
		}
	} else {
		o.embedded = true
	}
	for name, raw := range map[string]string{"dynamodb-endpoint": o.dynamoEndpoint, "cognito-endpoint": o.cognito.endpoint} {
		if err := checkLoopbackURL(raw); raw != "" && err != nil {
			errs = append(errs, fmt.Errorf("-%s: %w", name, err))
		}
	}
	need((o.cognito.userPool == "") == (o.cognito.clientID == ""), "-cognito-user-pool and -cognito-client-id go together")
	if o.cognito.userPool == "" {
		unset("needs -cognito-user-pool", "cognito-region", "cognito-endpoint", "user-prefix", "player-claim", "cleanup")
	}
	need(o.limits == limitsOff || o.limits == limitsDefault, "-limits=%q: want %q or %q", o.limits, limitsOff, limitsDefault)
	minPlayers := 2
	if o.scenario == scenarioConnect {
		minPlayers = 1
	}
	if need(o.players >= minPlayers && o.players <= 100000, "-players=%d: want %d to 100000", o.players, minPlayers) {
		need(o.scenario != scenarioPairs || o.players%2 == 0, "-players=%d: pairs wants an even number", o.players)
	}
	need(o.messages >= 1, "-messages=%d: want at least 1", o.messages)
	need(o.duration >= 0, "-duration=%s: want a positive duration, or 0 to count -messages", o.duration)
	need(o.ramp >= 0, "-ramp=%s: want a positive duration or 0", o.ramp)
	for name, v := range map[string]float64{"rate": o.rate, "total-rate": o.totalRate, "churn": o.churn} {
		need(v >= 0 && !math.IsInf(v, 0), "-%s=%v: want a non-negative number", name, v)
	}
	need(!(o.rate > 0 && o.totalRate > 0), "-rate and -total-rate exclude each other")
	need(o.size >= 0 && o.size <= 32768, "-size=%d: want 0 to 32768", o.size)
	need(o.concurrency >= 1, "-concurrency=%d: want at least 1", o.concurrency)
	need(o.connectConcurrency >= 1, "-connect-concurrency=%d: want at least 1", o.connectConcurrency)
	if need(o.offlineFraction >= 0 && o.offlineFraction < 1, "-offline-fraction=%v: want at least 0 and below 1", o.offlineFraction) {
		need(o.scenario != scenarioMixed || o.players < 2 || o.players > o.offline(), "-offline-fraction leaves no player online")
	}
	if o.scenario != scenarioMixed {
		unset("applies to -scenario mixed only", "offline-fraction", "churn")
	}
	need(o.timeout > 0, "-timeout=%s: want a positive duration", o.timeout)
	need(o.ackTimeout > 0, "-ack-timeout=%s: want a positive duration", o.ackTimeout)
	if len(errs) > 0 {
		return o, fmt.Errorf("flags: %w", errors.Join(errs...))
	}
	return o, nil
}

// run parses args, starts or reaches the stack, measures, writes the report
// to stdout (and -html) and cleans up: every client is closed, an embedded
// stack is shut down and, with -cleanup, the Cognito users are deleted, even
// after a timeout or an error. A progress line goes to progress (nil: none).
func run(ctx context.Context, args []string, stdout, stderr, progress io.Writer) (err error) {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	if o.serveRelay != "" {
		return serveRelay(ctx, o.serveRelay, stdout)
	}
	var est *Estimate
	if o.url != "" && !isLoopbackURL(o.url) {
		est = new(estimate(o))
		est.writeText(stderr)
	}
	tgt, err := newTarget(ctx, o, stderr)
	if err != nil {
		return err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 60*time.Second)
		defer cancel()
		if c, ok := tgt.identities.(*cognitoPlayers); ok && o.cognito.cleanup {
			if cerr := c.cleanup(cctx); cerr != nil {
				err = errors.Join(err, fmt.Errorf("cleanup: %w", cerr))
			}
		}
		if cerr := tgt.close(cctx); cerr != nil {
			err = errors.Join(err, fmt.Errorf("shut the stack down: %w", cerr))
		}
	}()

	rep, measureErr := measure(ctx, o, tgt, progress)
	rep.Estimate = est
	if o.html != "" {
		if werr := writeHTMLFile(o.html, rep); werr != nil {
			measureErr = errors.Join(measureErr, werr)
		}
	}
	if o.json {
		if werr := rep.writeJSON(stdout); werr != nil {
			return errors.Join(measureErr, werr)
		}
	} else {
		rep.writeText(stdout)
	}
	return measureErr
}
