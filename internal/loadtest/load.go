package loadtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	mrand "math/rand/v2"
	"os"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/serverless-websockets/serverless-websockets/internal/wsclient"
)

// deliveryGrace bounds the wait for deliveries, inbox messages and rows that
// the stack has acknowledged or begun but the clients have not seen yet.
const deliveryGrace = 5 * time.Second

// Player states.
const (
	stateOffline int32 = iota // no connection, its row gone
	stateOnline               // connected, may send
	stateBusy                 // connecting, draining or leaving
)

// player is one identity and, while online, its connection.
type player struct {
	id    string
	idx   int
	token string
	state atomic.Int32
	// sending is held shared by each send and exclusively to hang up, so
	// a player leaves only between its messages.
	sending sync.RWMutex

	conn atomic.Pointer[wsclient.Conn]
}

// body is the message a player sends: the run, the message's number and
// padding up to -size.
type body struct {
	Run string `json:"run"`
	Seq int64  `json:"seq"`
	Pad string `json:"pad,omitempty"`
}

// request is a frame the run sends: sendmessage, inbox or presence.
type request struct {
	Action  string   `json:"action"`
	ID      string   `json:"id"`
	To      string   `json:"to,omitempty"`
	Message *body    `json:"message,omitempty"`
	Players []string `json:"players,omitempty"`
}

// load is one measurement run.
type load struct {
	o        Options
	t        *target
	rec      *recorder
	players  []*player
	observer *player // asks presence for the disconnect→row gone step when the target cannot look itself
	watcher  *goneWatcher
	rep      *report
	ids      atomic.Int64 // request ids
	pad      string
}

// measure runs every phase within o.timeout and reports what it saw. The
// clients are always closed before it returns.
func measure(parent context.Context, o Options, t *target, progress io.Writer) (*report, error) {
	ctx, cancel := context.WithTimeout(parent, o.timeout)
	defer cancel()
	l := &load{o: o, t: t, rec: newRecorder()}
	l.rep = &report{Settings: l.settings()}
	l.pad = padding(o.size, l.rec.run)
	sized, _ := json.Marshal(body{Run: l.rec.run, Seq: 100000, Pad: l.pad})
	l.rep.Settings.Size = len(sized)

	err := l.setup(ctx, parent)
	if err == nil {
		if progress != nil {
			stop := l.progress(progress)
			defer stop()
		}
		err = l.connectPhase(ctx)
	}
	if err == nil {
		err = l.runPhase(ctx)
	}
	if err == nil {
		err = l.drainPhase(ctx)
	}
	switch {
	case parent.Err() != nil:
		l.rep.Interrupted = true
		err = errors.New("interrupted")
	case ctx.Err() != nil:
		l.rep.TimedOut = true
		err = fmt.Errorf("stopped after -timeout %s", o.timeout)
	}
	if l.watcher == nil {
		return l.rep, err
	}
	defer l.watcher.stop()
	dctx, dcancel := context.WithTimeout(context.WithoutCancel(parent), deliveryGrace+10*time.Second)
	defer dcancel()
	if derr := l.disconnectPhase(dctx); derr != nil {
		err = errors.Join(err, derr)
	}
	l.finish()
	return l.rep, err
}

// setup makes the players, the observer and the row watcher, which runs
// until l.watcher.stop.
func (l *load) setup(ctx, parent context.Context) error {
	n := l.o.players
	if l.t.online == nil {
		n++ // the observer
	}
	idents, err := l.t.identities.players(ctx, l.rec.run, n)
	if err != nil {
		return fmt.Errorf("players: %w", err)
	}
	for i := range l.o.players {
		l.players = append(l.players, &player{id: idents[i].player, idx: i, token: idents[i].token})
	}
	if l.t.online == nil {
		l.observer = &player{id: idents[l.o.players].player, idx: -1, token: idents[l.o.players].token}
		l.t.online = l.presence
	}
	l.watcher = newGoneWatcher(l)
	l.watcher.start(context.WithoutCancel(parent))
	return nil
}

// padding returns filler that brings a message body (its JSON, with a
// six-digit seq) to size bytes; nothing when size is smaller than the body.
func padding(size int, run string) string {
	base, _ := json.Marshal(body{Run: run, Seq: 100000, Pad: "x"})
	return strings.Repeat("x", max(0, size-len(base)+1))
}

// senders returns the players that send in the scenario.
func (l *load) senders() []*player {
	switch l.o.scenario {
	case scenarioFanin:
		return l.players[1:]
	case scenarioBroadcast:
		return l.players[:1]
	}
	return l.players
}

// recipients returns whom sender p sends message k to.
func (l *load) recipients(p *player, k int) []int {
	switch l.o.scenario {
	case scenarioPairs:
		return []int{p.idx ^ 1}
	case scenarioFanin:
		return []int{0}
	case scenarioBroadcast:
		out := make([]int, 0, len(l.players)-1)
		for i := 1; i < len(l.players); i++ {
			out = append(out, i)
		}
		return out
	}
	to := mrand.IntN(len(l.players) - 1)
	if to >= p.idx {
		to++
	}
	return []int{to}
}

// slotTime returns when slot x (k plus the sender's phase, in [0, 1)) of a
// sender at rate per second is due, the rate rising linearly from 0 over
// ramp: the cumulative count of slots is rate*t²/(2*ramp) during the ramp.
func slotTime(x float64, rate float64, ramp time.Duration) time.Duration {
	r := ramp.Seconds()
	var s float64
	if half := rate * r / 2; x < half {
		s = math.Sqrt(2 * r * x / rate)
	} else {
		s = r + (x-half)/rate
	}
	return time.Duration(s * float64(time.Second))
}

// dial connects p, recording the connect step.
func (l *load) dial(ctx context.Context, p *player, record bool) error {
	if record {
		l.rec.attempt(stepConnect)
	}
	t0 := time.Now()
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	c, status, err := wsclient.Dial(dctx, l.t.wsURL(p.token), wsclient.Options{
		HTTPClient:  l.t.http,
		OnMessage:   l.onMessage,
		OnUnmatched: l.onUnmatched,
	})
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		code := errDialError
		if status != 0 {
			code = "status_" + strconv.Itoa(status)
		}
		if record {
			l.rec.fail(stepConnect, code)
		}
		return fmt.Errorf("connect %s: %s: %w", p.id, code, err)
	}
	if record {
		l.rec.ok(stepConnect, time.Since(t0))
	}
	l.rec.connected.Add(1)
	p.conn.Store(c)
	p.state.Store(stateOnline)
	return nil
}

func (l *load) onMessage(f wsclient.Frame) {
	var b body
	if err := json.Unmarshal(f.Message, &b); err != nil || b.Run != l.rec.run {
		l.rec.foreign.Add(1)
		return
	}
	l.rec.read(b.Seq, f.At)
}

// onUnmatched counts frames that are not JSON; a late reply to a request
// given up is ignored.
func (l *load) onUnmatched(f wsclient.Frame, _ []byte) {
	if f.Type == "" {
		l.rec.badFrames.Add(1)
	}
}

// hangUp closes p's connection normally and starts watching for its row to
// go; the channel is closed once it has, or once the grace period ends.
func (l *load) hangUp(p *player) <-chan struct{} {
	c := p.conn.Load()
	if c == nil {
		return closed
	}
	p.state.Store(stateBusy)
	now := time.Now()
	l.rec.closing(p.idx, now)
	_ = c.Close()
	p.conn.Store(nil)
	l.rec.connected.Add(-1)
	return l.watcher.watch(p, now)
}

// closed is an already closed channel: a wait that is over.
var closed = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// forEach runs f(i) for i in [0, n) with at most conc running at once.
func forEach(n, conc int, f func(i int)) {
	var g errgroup.Group
	g.SetLimit(conc)
	for i := range n {
		g.Go(func() error { f(i); return nil })
	}
	_ = g.Wait()
}

// phase measures the DynamoDB requests of f per unit of work it returns.
func (l *load) phase(ctx context.Context, name, unit string, f func() (int64, error)) error {
	before, err := l.t.snapshot(ctx)
	if err != nil {
		return err
	}
	units, ferr := f()
	after, err := l.t.snapshot(context.WithoutCancel(ctx))
	if err != nil {
		return errors.Join(ferr, err)
	}
	c := cost(before, after, units)
	if units == 0 && c.Requests == 0 {
		return ferr
	}
	l.rep.DynamoDB = append(l.rep.DynamoDB, phaseCost{Phase: name, Unit: unit, Units: units, dynamoCost: c})
	return ferr
}

// connectPhase connects the players online at the start (none in the
// connect scenario) and the observer.
func (l *load) connectPhase(ctx context.Context) error {
	if l.observer != nil {
		if err := l.dial(ctx, l.observer, false); err != nil {
			return fmt.Errorf("observer: %w", err)
		}
	}
	if l.o.scenario == scenarioConnect {
		return nil
	}
	online := l.players[:l.o.players-l.o.offline()]
	return l.phase(ctx, "connect", "connect", func() (int64, error) {
		var failed atomic.Int64
		forEach(len(online), l.o.connectConcurrency, func(i int) {
			if ctx.Err() == nil && l.dial(ctx, online[i], true) != nil {
				failed.Add(1)
			}
		})
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		if n := failed.Load(); n > 0 {
			return int64(len(online)) - n, fmt.Errorf("connect: %d of %d players could not connect", n, len(online))
		}
		return int64(len(online)), nil
	})
}

// runPhase sends the scenario's traffic.
func (l *load) runPhase(ctx context.Context) error {
	if l.o.cpuProfile != "" {
		f, err := os.Create(l.o.cpuProfile)
		if err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	unit := "message"
	if l.o.scenario == scenarioConnect {
		unit = "connect+disconnect"
	}
	return l.phase(ctx, "run", unit, func() (int64, error) {
		cpu0, cpuOK := processCPU()
		start := time.Now()
		var cycles atomic.Int64
		rctx, stopRun := context.WithCancel(ctx)
		defer stopRun()
		var churned sync.WaitGroup
		if l.o.scenario == scenarioMixed && l.o.churn > 0 {
			churned.Go(func() { l.churn(rctx) })
		}
		var wg sync.WaitGroup
		rate := l.o.perSenderRate()
		for _, p := range l.senders() {
			// A random phase spreads the senders over each interval.
			s := schedule{start: start, rate: rate, phase: mrand.Float64()}
			workers := 1
			if rate == 0 && l.o.scenario != scenarioConnect {
				workers = l.o.concurrency
			}
			var next atomic.Int64
			for w := range workers {
				wg.Go(func() {
					if rate == 0 && l.o.ramp > 0 {
						// Closed loop: the senders start spread over the ramp.
						k := p.idx*workers + w
						if !sleepUntil(ctx, start.Add(time.Duration(float64(l.o.ramp)*float64(k)/float64(len(l.players)*workers)))) {
							return
						}
					}
					if l.o.scenario == scenarioConnect {
						l.cycles(ctx, p, s, &cycles)
					} else {
						l.sender(ctx, p, &next, s)
					}
				})
			}
		}
		wg.Wait()
		stopRun()
		churned.Wait()
		// The stack posts to the recipient before it acks the sender, but
		// the two frames travel apart: wait for acknowledged deliveries.
		l.waitFor(ctx, func() bool { return l.rec.unread(statusDelivered) == 0 })
		cpu1, _ := processCPU()
		// Messages: first send to the last ack or read; connects: to now.
		end := time.Now()
		l.rec.mu.Lock()
		if l.o.scenario != scenarioConnect && !l.rec.last.IsZero() {
			end = l.rec.last
		}
		l.rec.mu.Unlock()
		l.rep.Rates.Seconds = end.Sub(start).Seconds()
		if cpuOK {
			l.rep.CPU = cpuUse{Measured: true, TotalMs: float64((cpu1 - cpu0).Microseconds()) / 1000}
		}
		if l.o.scenario == scenarioConnect {
			return cycles.Load(), ctx.Err()
		}
		return l.rec.acked.Load(), ctx.Err()
	})
}

// schedule is when the slots of a sender are due.
type schedule struct {
	start time.Time
	rate  float64 // slots per second; 0: a closed loop, each slot due at once
	phase float64 // in [0, 1): where in each interval the sender's slots fall
}

// slot waits until slot k of s is due and returns when that was; false once
// the sender is past its last slot or ctx has ended.
func (l *load) slot(ctx context.Context, s schedule, k int) (time.Time, bool) {
	due := time.Now()
	if s.rate > 0 {
		due = s.start.Add(slotTime(float64(k)+s.phase, s.rate, l.o.ramp))
	}
	past := k >= l.o.messages
	if l.o.duration > 0 {
		past = due.Sub(s.start) >= l.o.duration+l.o.ramp
	}
	return due, !past && ctx.Err() == nil && sleepUntil(ctx, due)
}

// sender sends p's messages: in an open loop each at its slot whatever the
// replies; in a closed loop each after the previous one's reply, the
// workers of one player taking slot numbers from next.
func (l *load) sender(ctx context.Context, p *player, next *atomic.Int64, s schedule) {
	var inflight sync.WaitGroup
	defer inflight.Wait()
	for {
		k := int(next.Add(1) - 1)
		due, ok := l.slot(ctx, s, k)
		if !ok {
			return
		}
		if p.state.Load() != stateOnline {
			// mixed: p is offline for now and skips this slot.
			if s.rate == 0 && !sleepUntil(ctx, time.Now().Add(10*time.Millisecond)) {
				return
			}
			continue
		}
		for _, to := range l.recipients(p, k) {
			if s.rate > 0 {
				inflight.Go(func() { l.send(ctx, p, to, due, false) })
			} else {
				l.send(ctx, p, to, time.Time{}, l.o.retry)
			}
		}
	}
}

// send sends one message from p to player to. Open loop: due is when it
// was scheduled, and its latencies run from then, so a late write counts
// against the stack (no coordinated omission). Closed loop (due zero): they
// run from the write of its last attempt, and a rate_limited refusal is
// sent again after the retryAfterMs named when retry is set.
func (l *load) send(ctx context.Context, p *player, to int, due time.Time, retry bool) {
	p.sending.RLock()
	defer p.sending.RUnlock()
	c := p.conn.Load()
	if c == nil || p.state.Load() != stateOnline {
		return // it left meanwhile
	}
	seq := l.ids.Add(1)
	for attempt := 0; ; attempt++ {
		at := due
		if at.IsZero() || attempt > 0 {
			at = time.Now()
		}
		f := request{
			Action:  "sendmessage",
			ID:      strconv.FormatInt(seq, 10) + "." + strconv.Itoa(attempt),
			To:      l.players[to].id,
			Message: &body{Run: l.rec.run, Seq: seq, Pad: l.pad},
		}
		l.rec.message(seq, to, at, attempt == 0)
		r, _, err := c.Request(ctx, f.ID, f, l.o.ackTimeout)
		if err != nil {
			if kind, ok := wsclient.Kind(err); ok {
				l.rec.refused(seq, kind)
			}
			return // otherwise ctx ended: no_reply
		}
		switch {
		case r.Type == "ack":
			l.rec.ackd(seq, r.Status, r.At)
			return
		case r.Type == "error" && r.Code == "rate_limited" && retry:
			if !sleepUntil(ctx, retryAt(r)) {
				return
			}
		case r.Type == "error":
			l.rec.refused(seq, r.Code)
			return
		default:
			l.rec.refused(seq, "unexpected_"+r.Type)
			return
		}
	}
}

// cycles is the connect scenario: p connects at each of its slots, closes
// at once and waits for its row to go before the next.
func (l *load) cycles(ctx context.Context, p *player, s schedule, n *atomic.Int64) {
	for k := 0; ; k++ {
		if _, ok := l.slot(ctx, s, k); !ok {
			return
		}
		if l.dial(ctx, p, true) != nil {
			continue
		}
		n.Add(1)
		<-l.hangUp(p)
		p.state.Store(stateOffline)
	}
}

// churn is the mixed scenario's coming and going: -churn times a second an
// online player leaves and an offline one (whose row is gone) comes back and
// drains its inbox.
func (l *load) churn(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	tick := time.NewTicker(time.Duration(float64(time.Second) / l.o.churn))
	defer tick.Stop()
	pick := func(state int32) *player {
		for _, i := range mrand.Perm(len(l.players)) {
			if l.players[i].state.CompareAndSwap(state, stateBusy) {
				return l.players[i]
			}
		}
		return nil
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if p := pick(stateOnline); p != nil {
			wg.Go(func() {
				// It leaves once the replies to its messages are in.
				p.sending.Lock()
				gone := l.hangUp(p)
				p.sending.Unlock()
				<-gone
				p.state.Store(stateOffline)
			})
		}
		if q := pick(stateOffline); q != nil {
			wg.Go(func() {
				if l.dial(context.WithoutCancel(ctx), q, true) != nil {
					q.state.Store(stateOffline)
					return
				}
				q.state.Store(stateBusy)
				l.drain(context.WithoutCancel(ctx), q)
				q.state.Store(stateOnline)
			})
		}
	}
}

// drain asks p's inbox until it hands nothing more over or nothing queued
// for p is left unread.
func (l *load) drain(ctx context.Context, p *player) {
	c := p.conn.Load()
	if c == nil {
		return
	}
	for range 1000 {
		l.rec.attempt(stepInbox)
		id := "inbox-" + strconv.FormatInt(l.ids.Add(1), 10)
		r, sent, err := c.Request(ctx, id, request{Action: "inbox", ID: id}, l.o.ackTimeout)
		if err != nil {
			if kind, ok := wsclient.Kind(err); ok {
				l.rec.fail(stepInbox, kind)
			}
			return
		}
		if r.Type == "error" {
			l.rec.fail(stepInbox, r.Code)
			if r.Code != "rate_limited" || !sleepUntil(ctx, retryAt(r)) {
				return
			}
			continue
		}
		l.rec.ok(stepInbox, r.At.Sub(sent))
		if r.Delivered == 0 || l.rec.queuedFor(p.idx) == 0 {
			return
		}
	}
}

// drainPhase collects what is still queued: every player with unread
// queued messages connects (if it is not online) and drains its inbox.
func (l *load) drainPhase(ctx context.Context) error {
	ps := slices.DeleteFunc(slices.Clone(l.players), func(p *player) bool { return l.rec.queuedFor(p.idx) == 0 })
	if len(ps) == 0 {
		return nil
	}
	return l.phase(ctx, "drain", "collected message", func() (int64, error) {
		before := l.collected()
		forEach(len(ps), l.o.connectConcurrency, func(i int) {
			p := ps[i]
			if p.conn.Load() == nil && l.dial(ctx, p, true) != nil {
				return
			}
			l.drain(ctx, p)
		})
		l.waitFor(ctx, func() bool { return l.rec.unread(statusQueued) == 0 })
		return l.collected() - before, ctx.Err()
	})
}

// collected returns the queued messages read so far.
func (l *load) collected() int64 {
	l.rec.mu.Lock()
	defer l.rec.mu.Unlock()
	var n int64
	for _, m := range l.rec.msgs {
		if m.status == statusQueued && m.seen > 0 {
			n++
		}
	}
	return n
}

// disconnectPhase closes every client and waits for each row to go.
func (l *load) disconnectPhase(ctx context.Context) error {
	open := slices.DeleteFunc(slices.Clone(l.players), func(p *player) bool { return p.conn.Load() == nil })
	err := l.phase(ctx, "disconnect", "disconnect", func() (int64, error) {
		waits := make([]<-chan struct{}, len(open))
		forEach(len(open), 32, func(i int) { waits[i] = l.hangUp(open[i]) })
		for _, w := range waits {
			<-w
		}
		return int64(len(open)), nil
	})
	if l.observer != nil && l.observer.conn.Load() != nil {
		_ = l.observer.conn.Load().Close()
		l.observer.conn.Store(nil)
	}
	return err
}

// waitFor polls cond until it holds, ctx ends or deliveryGrace has passed.
func (l *load) waitFor(ctx context.Context, cond func() bool) {
	deadline := time.Now().Add(deliveryGrace)
	for !cond() && time.Now().Before(deadline) && sleepUntil(ctx, time.Now().Add(2*time.Millisecond)) {
	}
}

// errNoPresence means the target does not answer presence, so the
// disconnect→row gone step cannot be measured.
var errNoPresence = errors.New("the target does not answer presence")

// presence asks the stack, through the observer, which of ids are online.
func (l *load) presence(ctx context.Context, ids []string) ([]string, error) {
	c := l.observer.conn.Load()
	if c == nil {
		return nil, errors.New("presence: the observer is not connected")
	}
	id := "presence-" + strconv.FormatInt(l.ids.Add(1), 10)
	r, _, err := c.Request(ctx, id, request{Action: "presence", ID: id, Players: ids}, l.o.ackTimeout)
	if err != nil {
		return nil, fmt.Errorf("presence: %w", err)
	}
	if r.Type == "error" && r.Code == "unknown_action" {
		return nil, errNoPresence
	}
	if r.Type != "presence" {
		return nil, fmt.Errorf("presence: answered %s %s", r.Type, r.Code)
	}
	return r.Online, nil
}

// retryAt is when a rate_limited request may be sent again: after the
// retryAfterMs the server named, at least 10 ms from now.
func retryAt(r wsclient.Frame) time.Time {
	return time.Now().Add(max(time.Duration(r.RetryAfterMs)*time.Millisecond, 10*time.Millisecond))
}

// sleepUntil waits until t; it returns false if ctx ended first.
func sleepUntil(ctx context.Context, t time.Time) bool {
	wait, cancel := context.WithDeadline(ctx, t)
	defer cancel()
	<-wait.Done()
	return ctx.Err() == nil
}
