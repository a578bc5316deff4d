package loadtest

import (
	"errors"
	"flag"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

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

// Options are the settings of a run, one field per flag. They are set by
// the flags RegisterFlags defines and checked by Validate; the zero value is
// not a valid run.
type Options struct {
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
func (o Options) offline() int {
	if o.scenario != scenarioMixed {
		return 0
	}
	return int(math.Floor(float64(o.players) * o.offlineFraction))
}

// senders returns how many players send (mixed: those online at the start;
// connect: every player, connecting).
func (o Options) senders() int {
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
func (o Options) perSlot() int {
	if o.scenario == scenarioBroadcast {
		return o.players - 1
	}
	return 1
}

// perSenderRate is the offered rate of each sender, 0 in a closed loop.
func (o Options) perSenderRate() float64 {
	if o.totalRate > 0 {
		return o.totalRate / float64(o.senders()*o.perSlot())
	}
	return o.rate
}

// RegisterFlags defines the load generator's flags on fs, each with its
// default and help text, setting the fields of o as fs parses them.
func (o *Options) RegisterFlags(fs *flag.FlagSet) {
	o.env = map[string]string{}
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
}

// Validate checks o once fs, on which RegisterFlags defined the flags, has
// parsed the arguments: it refuses arguments that are not flags, then names
// every bad or conflicting flag at once, fs telling which were set. Without
// -url it makes the stack embedded.
func (o *Options) Validate(fs *flag.FlagSet) error {
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
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
		return fmt.Errorf("flags: %w", errors.Join(errs...))
	}
	return nil
}
