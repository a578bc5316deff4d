package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/serverless-websockets/serverless-websockets/internal/dynamo"

	miniclient "github.com/truora/minidyn/aws-v2/client"

	"github.com/serverless-websockets/serverless-websockets/internal/testsupport/dynamotest"
)

// TestRequestsPerCall counts the DynamoDB requests of each path. A warm,
// single-instance admission costs exactly one; a denial the process already
// knows costs none; learning another instance's writes costs one more write,
// plus a GetItem on engines that do not return ALL_OLD on a failed condition.
func TestRequestsPerCall(t *testing.T) {
	dynamotest.Run(t, func(t *testing.T, open dynamotest.Opener) {
		api := open()
		table := newTable(t, api)
		allOld := returnsAllOld(t, api, table)
		learn := int64(1) // requests to learn the stored state after a failed write
		if !allOld {
			learn = 2
		}
		t.Logf("engine returns ALL_OLD on a failed condition: %v", allOld)

		clock := newClock()
		cfg := Config{
			Table:    table,
			Messages: Limit{Rate: 10, Burst: 3},
			Bytes:    Limit{Rate: 1000, Burst: 1000},
			Now:      clock.Now,
		}
		a := &countingAPI{API: open()}
		b := &countingAPI{API: open()}
		la, lb := New(a, cfg), New(b, cfg)

		steps := []struct {
			name    string
			lim     *Limiter
			api     *countingAPI
			player  string
			advance time.Duration
			allowed bool
			want    int64
		}{
			{"cold, idle player", la, a, "p1", 0, true, 1},
			{"warm, busy bucket", la, a, "p1", 0, true, 1},
			{"cold, player busy on another instance", lb, b, "p1", 0, true, learn + 1},
			{"warm but stale: the other instance took the last token", la, a, "p1", 0, false, learn},
			{"denied by the deny cache", la, a, "p1", 0, false, 0},
			{"denied by the deny cache, other instance", lb, b, "p1", 0, false, 0},
			{"after the wait, warm", la, a, "p1", 100 * time.Millisecond, true, 1},
			{"another player, same limiter", la, a, "p2", 0, true, 1},
			{"idle again after the buckets refilled", la, a, "p1", time.Second, true, 1},
		}
		for _, s := range steps {
			clock.Advance(s.advance)
			before := s.api.requests()
			d := mustMessage(t, s.lim, s.player, 10)
			got := s.api.requests() - before
			if d.Allowed != s.allowed || got != s.want {
				t.Errorf("%s: allowed=%v with %d requests, want allowed=%v with %d", s.name, d.Allowed, got, s.allowed, s.want)
			}
			t.Logf("%-58s allowed=%-5v requests=%d", s.name, d.Allowed, got)
		}
	})
}

// TestSmooth checks GCRA's guarantee directly: over an irregular stream of
// calls, no interval [t_i, t_j] between two admitted calls holds more than
// burst + rate × (t_j - t_i) admissions; a fixed window would allow twice
// the burst across a window edge. The bound is also reached, so the check
// is not vacuous.
func TestSmooth(t *testing.T) {
	const (
		rate  = 10 // per second: one message per 100ms
		burst = 5
	)
	c := miniclient.NewClient()
	clock := newClock()
	l := New(c, Config{Table: newTable(t, c), Messages: Limit{Rate: rate, Burst: burst}, Now: clock.Now})

	rng := rand.New(rand.NewPCG(1, 2))
	var admitted []time.Duration
	for range 1500 {
		// Mostly bursts of calls at one instant, sometimes long pauses.
		switch r := rng.IntN(10); {
		case r < 6:
		case r < 9:
			clock.Advance(time.Duration(rng.IntN(80)) * time.Millisecond)
		default:
			clock.Advance(time.Duration(rng.IntN(1500)) * time.Millisecond)
		}
		if mustMessage(t, l, "smooth", 1).Allowed {
			admitted = append(admitted, clock.Since0())
		}
	}
	interval := time.Second / rate
	tight := 0
	for i := range admitted {
		for j := i; j < len(admitted); j++ {
			n := int64(j - i + 1)
			d := admitted[j] - admitted[i]
			// n <= burst + rate×d, in whole intervals: (n - burst) × interval <= d.
			if limit := time.Duration(n-burst) * interval; limit > d {
				t.Fatalf("%d admissions within %v (from %v to %v), the most allowed is %d", n, d, admitted[i], admitted[j], burst+int64(d/interval))
			} else if limit == d || (n == burst && d == 0) {
				tight++
			}
		}
	}
	if tight == 0 {
		t.Errorf("no interval reached the bound: the stream never exercised the limit")
	}
	t.Logf("%d admitted of 1500 calls over %v; %d intervals at the bound", len(admitted), clock.Since0(), tight)
}

// TestDenyCache: after a denial, the same Limiter refuses that player until
// the retry time without asking DynamoDB; at that time it asks again, and
// the cache never admits on its own: another instance's writes still deny.
func TestDenyCache(t *testing.T) {
	dynamotest.Run(t, func(t *testing.T, open dynamotest.Opener) {
		clock := newClock()
		cfg := Config{Table: newTable(t, open()), Messages: Limit{Rate: 10, Burst: 2}, Now: clock.Now}
		a, b := &countingAPI{API: open()}, &countingAPI{API: open()}
		la, lb := New(a, cfg), New(b, cfg)

		for i := range 2 {
			if !mustMessage(t, la, "deny", 1).Allowed {
				t.Fatalf("call %d of the burst denied", i)
			}
		}
		d := mustMessage(t, la, "deny", 1)
		if d.Allowed || d.RetryAfter != 100*time.Millisecond {
			t.Fatalf("after the burst: %+v, want denied for 100ms", d)
		}
		until := clock.Now().Add(d.RetryAfter)

		before := a.requests()
		for clock.Now().Before(until) {
			d := mustMessage(t, la, "deny", 1)
			if d.Allowed || d.RetryAfter != until.Sub(clock.Now()) {
				t.Fatalf("at %v: %+v, want denied until %v", clock.Since0(), d, until.Sub(t0))
			}
			clock.Advance(7 * time.Millisecond)
			if clock.Now().After(until) {
				clock.Set(until.Add(-time.Microsecond))
				if mustMessage(t, la, "deny", 1).Allowed {
					t.Fatalf("admitted 1µs before the retry time")
				}
				break
			}
		}
		if got := a.requests() - before; got != 0 {
			t.Fatalf("%d DynamoDB requests while the player was denied, want 0", got)
		}

		// At the retry time another instance takes the token first: the
		// cache, which would admit, asks DynamoDB and is denied.
		clock.Set(until)
		if !mustMessage(t, lb, "deny", 1).Allowed {
			t.Fatalf("other instance denied at the retry time")
		}
		before = a.requests()
		d = mustMessage(t, la, "deny", 1)
		if d.Allowed {
			t.Fatalf("admitted from a stale cache after another instance spent the token")
		}
		if a.requests() == before {
			t.Fatalf("the deny cache answered past its retry time without asking DynamoDB")
		}
		if d.RetryAfter != 100*time.Millisecond {
			t.Errorf("RetryAfter %v, want 100ms", d.RetryAfter)
		}

		// At the new retry time the same Limiter asks once and is admitted.
		clock.Advance(d.RetryAfter)
		before = a.requests()
		if !mustMessage(t, la, "deny", 1).Allowed || a.requests()-before != 1 {
			t.Fatalf("at the retry time: want admitted with 1 request, got %d requests", a.requests()-before)
		}
	})
}

// TestFailsClosed: when DynamoDB fails, every call that needs it returns an
// unavailable error and a denial, never an unlimited pass.
func TestFailsClosed(t *testing.T) {
	c := miniclient.NewClient()
	clock := newClock()
	cfg := Config{
		Table:    newTable(t, c),
		Messages: Limit{Rate: 10, Burst: 5},
		Bytes:    Limit{Rate: 1000, Burst: 1000},
		Connects: Limit{Rate: 1, Burst: 1},
		Now:      clock.Now,
	}
	l := New(c, cfg)
	if !mustMessage(t, l, "warm", 10).Allowed {
		t.Fatal("first message denied")
	}
	miniclient.EmulateFailure(c, miniclient.FailureConditionInternalServerError)
	defer miniclient.EmulateFailure(c, miniclient.FailureConditionNone)

	calls := []struct {
		name string
		call func() (Decision, error)
	}{
		{"message, cold player", func() (Decision, error) { return l.AllowMessage(context.Background(), "cold", 10) }},
		{"message, warm player", func() (Decision, error) { return l.AllowMessage(context.Background(), "warm", 10) }},
		{"connect", func() (Decision, error) { return l.AllowConnect(context.Background(), "cold") }},
	}
	for _, tc := range calls {
		d, err := tc.call()
		if err == nil || d.Allowed {
			t.Errorf("%s: %+v, %v; want denied with an error", tc.name, d, err)
			continue
		}
		if errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "rate limit") {
			t.Errorf("%s: error %v, want the engine's failure wrapped by the limiter", tc.name, err)
		}
	}
}

// TestBytes: the byte limit denies a player under the message limit; a
// denied message is charged to neither bucket; a message over the byte
// burst is refused as too large without a request.
func TestBytes(t *testing.T) {
	dynamotest.Run(t, func(t *testing.T, open dynamotest.Opener) {
		clock := newClock()
		api := &countingAPI{API: open()}
		table := newTable(t, api)
		slow := 0.001 // nothing refills during the test
		both := Config{Table: table, Now: clock.Now, Messages: Limit{Rate: slow, Burst: 3}, Bytes: Limit{Rate: slow, Burst: 1000}}
		bytesOnly := both
		bytesOnly.Messages = Limit{}
		messagesOnly := both
		messagesOnly.Bytes = Limit{}
		l, lb, lm := New(api, both), New(api, bytesOnly), New(api, messagesOnly)

		type step struct {
			name  string
			lim   *Limiter
			bytes int
			want  bool
		}
		run := func(player string, steps []step) {
			t.Helper()
			for _, s := range steps {
				if got := mustMessage(t, s.lim, player, s.bytes).Allowed; got != s.want {
					t.Errorf("%s: allowed=%v, want %v", s.name, got, s.want)
				}
			}
		}
		run("bytes", []step{
			{"600 of 1000 bytes", l, 600, true},
			{"600 more: over the bytes, under the messages", l, 600, false},
			{"400: the denied 600 bytes were not charged", l, 400, true},
			{"1 byte: bytes spent", l, 1, false},
			{"messages only: the byte denials charged no message (2 of 3 used)", lm, 1, true},
			{"messages only: now spent", lm, 1, false},
		})
		// A message denied by the message limit charges no bytes.
		run("bytes2", []step{
			{"100 bytes", l, 100, true},
			{"100 bytes", l, 100, true},
			{"100 bytes", l, 100, true},
			{"message limit spent", l, 100, false},
			{"bytes only: 700 bytes left", lb, 700, true},
			{"bytes only: spent", lb, 1, false},
		})

		before := api.requests()
		d, err := l.AllowMessage(context.Background(), "big", 1001)
		if d.Allowed || !errors.Is(err, ErrTooLarge) {
			t.Errorf("1001 bytes over a 1000-byte burst: %+v, %v; want denied, ErrTooLarge", d, err)
		}
		if api.requests() != before {
			t.Errorf("a too-large message made %d DynamoDB requests", api.requests()-before)
		}
		if !mustMessage(t, l, "big", 1000).Allowed {
			t.Errorf("a message of exactly the byte burst was denied on a full bucket")
		}
	})
}

// TestOff: a rate of 0 turns a limit off; with every limit of a call off,
// the call makes no request.
func TestOff(t *testing.T) {
	api := &countingAPI{API: miniclient.NewClient()}
	table := newTable(t, api)
	clock := newClock()
	tests := []struct {
		name     string
		cfg      Config
		bytes    int
		connect  bool
		requests int64 // per call
		allowed  int   // of 10 calls at one instant
	}{
		{"all off, message", Config{}, 1 << 20, false, 0, 10},
		{"all off, connect", Config{}, 0, true, 0, 10},
		{"messages only, huge message", Config{Messages: Limit{Rate: 1, Burst: 3}}, 1 << 20, false, 1, 3},
		{"bytes only", Config{Bytes: Limit{Rate: 1, Burst: 40}}, 10, false, 1, 4},
		{"connects off, messages on", Config{Messages: Limit{Rate: 1, Burst: 1}}, 0, true, 0, 10},
		{"zero-byte message, bytes only", Config{Bytes: Limit{Rate: 1, Burst: 1}}, 0, false, 0, 10},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			cfg.Table, cfg.Now = table, clock.Now
			l := New(api, cfg)
			player := fmt.Sprintf("off-%d", i)
			allowed := 0
			for range 10 {
				before := api.requests()
				var d Decision
				var err error
				if tc.connect {
					d, err = l.AllowConnect(context.Background(), player)
				} else {
					d, err = l.AllowMessage(context.Background(), player, tc.bytes)
				}
				if err != nil {
					t.Fatal(err)
				}
				if d.Allowed {
					allowed++
					if got := api.requests() - before; got != tc.requests {
						t.Errorf("admitted call made %d requests, want %d", got, tc.requests)
					}
				}
			}
			if allowed != tc.allowed {
				t.Errorf("allowed %d of 10, want %d", allowed, tc.allowed)
			}
		})
	}
}

// TestCreateTableIdempotent: creating the limiter's table (TableInput) a
// second time succeeds and leaves it usable.
func TestCreateTableIdempotent(t *testing.T) {
	dynamotest.Run(t, func(t *testing.T, open dynamotest.Opener) {
		api := open()
		table := newTable(t, api)
		if err := dynamo.EnsureTable(context.Background(), api, TableInput(table)); err != nil {
			t.Fatalf("second EnsureTable: %v", err)
		}
		cfg := Config{Table: table, Messages: Limit{Rate: 1, Burst: 1}}
		if !mustMessage(t, New(api, cfg), "p", 1).Allowed {
			t.Fatal("first message on the new table denied")
		}
	})
}

// TestCreateTableWaitsUntilActive: creating the limiter's table polls a
// CREATING table until it is ACTIVE, and gives up when its context ends.
func TestCreateTableWaitsUntilActive(t *testing.T) {
	api := &dynamotest.Creating{API: miniclient.NewClient(), Times: 2}
	if err := dynamo.EnsureTable(t.Context(), api, TableInput("limits")); err != nil {
		t.Fatalf("EnsureTable: %v", err)
	}
	if api.Described != 3 {
		t.Errorf("described %d times, want 3 (two CREATING, then ACTIVE)", api.Described)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	stuck := &dynamotest.Creating{API: miniclient.NewClient(), Times: 1 << 30}
	if err := dynamo.EnsureTable(ctx, stuck, TableInput("limits")); err == nil || !strings.Contains(err.Error(), "to be active") {
		t.Errorf("EnsureTable on a table that stays CREATING = %v, want a wait error", err)
	}
}

// TestClockSkew: two instances whose clocks differ by skew share one
// player. Over a span, they admit at most burst + rate × (span + skew), the
// bound stated in the package comment, and at least what one honest clock
// would.
func TestClockSkew(t *testing.T) {
	const (
		rate  = 10
		burst = 5
		skew  = 350 * time.Millisecond
	)
	c := miniclient.NewClient()
	clock := newClock()
	cfg := Config{Table: newTable(t, c), Messages: Limit{Rate: rate, Burst: burst}, Now: clock.Now}
	honest := New(c, cfg)
	cfg.Now = clock.Offset(skew)
	fast := New(c, cfg)

	admitted := 0
	const span = 3 * time.Second
	for clock.Since0() <= span {
		for _, l := range []*Limiter{honest, fast} {
			for mustMessage(t, l, "skew", 1).Allowed {
				admitted++
			}
		}
		clock.Advance(10 * time.Millisecond)
	}
	high := burst + int(rate*(span+skew).Seconds())
	low := burst + int(rate*span.Seconds())
	if admitted > high || admitted < low {
		t.Errorf("admitted %d over %v with %v of skew, want between %d and %d", admitted, span, skew, low, high)
	}
	t.Logf("admitted %d; honest clocks alone: %d; bound with skew: %d", admitted, low, high)
}

// TestRefusesMessage: RefusesMessage says "refused" exactly when
// AllowMessage would refuse without DynamoDB (a cached denial, a message over
// the byte burst), charges nothing and makes no request.
func TestRefusesMessage(t *testing.T) {
	clock := newClock()
	api := &countingAPI{API: miniclient.NewClient()}
	l := New(api, Config{Table: newTable(t, api), Messages: Limit{Rate: 10, Burst: 2}, Bytes: Limit{Rate: 100, Burst: 100}, Now: clock.Now})

	if !l.RefusesMessage("p", 101) {
		t.Fatal("a message over the byte burst is not refused")
	}
	for i := range 2 {
		if l.RefusesMessage("p", 1) {
			t.Fatalf("message %d of the burst refused in advance", i)
		}
		if !mustMessage(t, l, "p", 1).Allowed {
			t.Fatalf("message %d of the burst denied", i)
		}
	}
	before := api.requests()
	// The limiter has not seen a denial yet, but its cache knows the
	// bucket is empty: that is enough to refuse without asking.
	for range 3 {
		if !l.RefusesMessage("p", 1) {
			t.Fatal("the spent bucket is not refused in advance")
		}
	}
	if d := mustMessage(t, l, "p", 1); d.Allowed {
		t.Fatal("AllowMessage admitted what RefusesMessage refused")
	}
	if got := api.requests() - before; got != 0 {
		t.Fatalf("%d DynamoDB requests for refusals known in advance, want 0", got)
	}
	if l.RefusesMessage("q", 1) {
		t.Fatal("another player is refused")
	}
	clock.Advance(100 * time.Millisecond)
	if l.RefusesMessage("p", 1) {
		t.Fatal("refused after the retry time")
	}
	if !mustMessage(t, l, "p", 1).Allowed {
		t.Fatal("denied after the retry time: RefusesMessage charged the bucket")
	}
}
