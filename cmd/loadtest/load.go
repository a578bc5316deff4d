package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"runtime/pprof"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// deliveryGrace bounds the wait for deliveries and $disconnects that the
// stack has acknowledged or begun but the clients have not seen yet.
const deliveryGrace = 5 * time.Second

// recorder collects what the players observe.
type recorder struct {
	run      string    // this run's id, in every message body
	start    time.Time // the run's time origin (monotonic)
	messages int       // messages per online player

	mu          sync.Mutex
	ackLat      []time.Duration
	deliveryLat []time.Duration
	sent        int // messages whose first frame was written
	frames      int // sendmessage frames written, retries included
	acked       int
	delivered   int // acks with status delivered
	queued      int // acks with status queued
	rateLimited int
	errors      map[string]int
	queuedFor   map[int]int // recipient index -> messages queued for it
	seen        []bool      // by seq
	received    int         // messages read by online recipients during the send phase
	drained     int         // messages read by offline recipients from their inbox
	drainedBy   map[int]int // recipient index -> messages drained
	duplicates  int
	foreign     int // messages that are not this run's
	last        time.Time
}

func newRecorder(players, messages int) *recorder {
	var id [4]byte
	_, _ = rand.Read(id[:])
	return &recorder{
		run:       hex.EncodeToString(id[:]),
		start:     time.Now(),
		messages:  messages,
		errors:    map[string]int{},
		queuedFor: map[int]int{},
		drainedBy: map[int]int{},
		seen:      make([]bool, players*messages),
	}
}

func (r *recorder) frame(first bool) {
	r.mu.Lock()
	r.frames++
	if first {
		r.sent++
	}
	r.mu.Unlock()
}

func (r *recorder) ack(lat time.Duration, status string, to int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.acked++
	r.ackLat = append(r.ackLat, lat)
	switch status {
	case "delivered":
		r.delivered++
	case "queued":
		r.queued++
		r.queuedFor[to]++
	}
	r.touch(time.Now())
}

// refused counts an error frame. A rate_limited refusal that is retried is
// not an error; it is counted in rateLimited either way.
func (r *recorder) refused(code string, retried bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if code == "rate_limited" {
		r.rateLimited++
	}
	if !retried {
		r.errors[code]++
	}
}

func (r *recorder) clientError(kind string) {
	r.mu.Lock()
	r.errors[kind]++
	r.mu.Unlock()
}

func (r *recorder) foreignMessage() {
	r.mu.Lock()
	r.foreign++
	r.mu.Unlock()
}

func (r *recorder) receive(p *player, seq int, lat time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if seq < 0 || seq >= len(r.seen) {
		r.foreign++
		return
	}
	if r.seen[seq] {
		r.duplicates++
		return
	}
	r.seen[seq] = true
	if p.offline {
		r.drained++
		r.drainedBy[p.idx]++
		return
	}
	r.received++
	r.deliveryLat = append(r.deliveryLat, lat)
	r.touch(time.Now())
}

func (r *recorder) touch(t time.Time) {
	if t.After(r.last) {
		r.last = t
	}
}

// locked runs f under the recorder's lock.
func (r *recorder) locked(f func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f()
}

// sendFrame is a sendmessage request.
type sendFrame struct {
	Action  string `json:"action"`
	To      string `json:"to"`
	Message body   `json:"message"`
	ID      string `json:"id"`
}

// inboxFrame is an inbox request.
type inboxFrame struct {
	Action string `json:"action"`
	ID     string `json:"id"`
}

// load is one measurement run.
type load struct {
	o       options
	t       *target
	rec     *recorder
	players []*player // the online players first, then the offline ones
	online  int
	rep     *Report
}

// measure runs every phase within o.timeout and reports what it saw. The
// clients are always closed before it returns.
func measure(parent context.Context, o options, t *target) (*Report, error) {
	ctx, cancel := context.WithTimeout(parent, o.timeout)
	defer cancel()

	offline := o.offline()
	l := &load{o: o, t: t, rec: newRecorder(o.players, o.messages), online: o.players - offline}
	for i := range o.players {
		l.players = append(l.players, &player{
			id:      fmt.Sprintf("lt-%s-%04d", l.rec.run, i),
			idx:     i,
			offline: i >= l.online,
			rec:     l.rec,
		})
	}
	l.rep = &Report{
		Mode: t.mode, Target: t.base, Limits: t.limits, Engine: t.engine,
		Players: o.players, Online: l.online, MessagesPerPlayer: o.messages,
		Concurrency: o.concurrency, Rate: o.rate, Retry: o.retry,
		Timeout: o.timeout.String(),
	}

	err := l.connectPhase(ctx)
	if err == nil {
		err = l.sendPhase(ctx)
	}
	if err == nil && offline > 0 {
		err = l.inboxPhase(ctx)
	}
	switch {
	case parent.Err() != nil:
		l.rep.Interrupted = true
		err = errors.New("interrupted")
	case ctx.Err() != nil:
		l.rep.TimedOut = true
		err = fmt.Errorf("stopped after -timeout %s", o.timeout)
	}
	dctx, dcancel := context.WithTimeout(context.WithoutCancel(parent), deliveryGrace+5*time.Second)
	defer dcancel()
	if derr := l.disconnectPhase(dctx); derr != nil {
		err = errors.Join(err, derr)
	}
	return l.rep, err
}

// forEach runs f(i) for i in [0, n) with at most conc running at once.
func forEach(n, conc int, f func(i int)) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, conc)
	for i := range n {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			f(i)
		}()
	}
	wg.Wait()
}

// connect fetches tokens for ps, then dials them, connectConcurrency at a
// time. It returns the upgrade times, the failures by kind and the wall time
// of the dials.
func (l *load) connect(ctx context.Context, ps []*player) ([]time.Duration, map[string]int, time.Duration, error) {
	tokens := make([]string, len(ps))
	errs := make([]error, len(ps))
	forEach(len(ps), l.o.connectConcurrency, func(i int) {
		tokens[i], errs[i] = l.t.token(ctx, ps[i].id)
	})
	if err := errors.Join(errs...); err != nil {
		return nil, nil, 0, err
	}

	var (
		mu       sync.Mutex
		upgrades []time.Duration
		failed   = map[string]int{}
	)
	start := time.Now()
	forEach(len(ps), l.o.connectConcurrency, func(i int) {
		if ctx.Err() != nil {
			return
		}
		t0 := time.Now()
		dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		status, err := ps[i].dial(dctx, l.t.http, l.t.wsURL(tokens[i]))
		cancel()
		d := time.Since(t0)
		mu.Lock()
		defer mu.Unlock()
		switch {
		case err == nil:
			upgrades = append(upgrades, d)
		case ctx.Err() != nil:
		case status != 0:
			failed["status_"+strconv.Itoa(status)]++
		default:
			failed["dial_error"]++
		}
	})
	return upgrades, failed, time.Since(start), ctx.Err()
}

func (l *load) connectPhase(ctx context.Context) error {
	before, err := l.t.snapshot(ctx)
	if err != nil {
		return err
	}
	ps := l.players[:l.online]
	upgrades, failed, wall, err := l.connect(ctx, ps)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	after, err := l.t.snapshot(ctx)
	if err != nil {
		return err
	}
	c := &l.rep.Connect
	c.Players, c.Connected, c.Errors = len(ps), len(upgrades), failed
	c.Seconds = wall.Seconds()
	if wall > 0 {
		c.PerSecond = float64(len(upgrades)) / wall.Seconds()
	}
	c.Upgrade = summarize(upgrades)
	c.DynamoDB = cost(before, after, len(upgrades))
	if len(upgrades) < len(ps) {
		return fmt.Errorf("connect: %d of %d players could not connect (%v)", len(ps)-len(upgrades), len(ps), failed)
	}
	return nil
}

func (l *load) sendPhase(ctx context.Context) (err error) {
	before, err := l.t.snapshot(ctx)
	if err != nil {
		return err
	}
	if l.o.cpuProfile != "" {
		stop, err := startProfile(l.o.cpuProfile)
		if err != nil {
			return err
		}
		defer func() {
			if perr := stop(); perr != nil && err == nil {
				err = perr
			}
		}()
	}
	cpu0, cpuOK := processCPU()
	start := time.Now()

	var wg sync.WaitGroup
	for _, p := range l.players[:l.online] {
		var next atomic.Int64
		// A random phase spreads paced players over the first interval.
		offset := time.Duration(0)
		if l.o.rate > 0 {
			offset = time.Duration(mrand.Float64() * float64(time.Second) / l.o.rate)
		}
		for range l.o.concurrency {
			wg.Add(1)
			go func() {
				defer wg.Done()
				l.sender(ctx, p, &next, start.Add(offset))
			}()
		}
	}
	wg.Wait()
	// The stack posts to the recipient before it acks the sender, but the
	// two frames travel apart: wait for every acknowledged delivery to land.
	l.waitFor(ctx, func() bool { return l.rec.received >= l.rec.delivered })
	cpu1, _ := processCPU()
	after, err := l.t.snapshot(context.WithoutCancel(ctx))
	if err != nil {
		return err
	}

	s := &l.rep.Send
	l.rec.locked(func() {
		s.Messages = l.online * l.o.messages
		s.Sent, s.Frames, s.Acked, s.Delivered, s.Queued = l.rec.sent, l.rec.frames, l.rec.acked, l.rec.delivered, l.rec.queued
		s.RateLimited, s.Received, s.Duplicates = l.rec.rateLimited, l.rec.received, l.rec.duplicates
		s.Missing = max(0, l.rec.delivered-l.rec.received)
		s.Errors = l.rec.errors
		l.rec.errors = map[string]int{} // the next phase's
		s.AckLatency = summarize(l.rec.ackLat)
		s.DeliveryLatency = summarize(l.rec.deliveryLat)
		end := l.rec.last
		if end.IsZero() {
			end = time.Now()
		}
		s.Seconds = end.Sub(start).Seconds()
		if s.Seconds > 0 {
			s.Throughput = float64(s.Acked) / s.Seconds
			s.DeliveredPerSecond = float64(s.Received) / s.Seconds
		}
	})
	s.DynamoDB = cost(before, after, s.Acked)
	s.CPU = CPU{Source: "client"}
	if l.t.mode == "embedded" {
		s.CPU.Source = "process"
	}
	if cpuOK {
		s.CPU.Measured = true
		s.CPU.TotalMs = float64((cpu1 - cpu0).Microseconds()) / 1000
		if s.Acked > 0 {
			s.CPU.MicrosPerMessage = float64((cpu1 - cpu0).Nanoseconds()) / 1000 / float64(s.Acked)
		}
	}
	return ctx.Err()
}

// sender sends p's messages, taking their numbers from next, until all are
// sent or ctx ends.
func (l *load) sender(ctx context.Context, p *player, next *atomic.Int64, origin time.Time) {
	for {
		k := int(next.Add(1) - 1)
		if k >= l.o.messages || ctx.Err() != nil {
			return
		}
		if l.o.rate > 0 {
			if !sleepUntil(ctx, origin.Add(time.Duration(float64(k)*float64(time.Second)/l.o.rate))) {
				return
			}
		}
		to := mrand.IntN(len(l.players) - 1)
		if to >= p.idx {
			to++
		}
		seq := p.idx*l.o.messages + k
		if !l.sendOne(ctx, p, seq, to) {
			return
		}
	}
}

// sendOne sends message seq from p to player to, again after each
// rate_limited refusal when -retry is on. It reports whether p can go on.
func (l *load) sendOne(ctx context.Context, p *player, seq, to int) bool {
	for attempt := 0; ; attempt++ {
		f := sendFrame{
			Action:  "sendmessage",
			To:      l.players[to].id,
			Message: body{Run: l.rec.run, Seq: seq, T: int64(time.Since(l.rec.start))},
			ID:      strconv.Itoa(seq) + "." + strconv.Itoa(attempt),
		}
		l.rec.frame(attempt == 0)
		r, lat, err := p.request(ctx, f.ID, f, l.o.ackTimeout)
		if err != nil {
			if kind, ok := transportKind(err); ok {
				l.rec.clientError(kind)
				return kind == errAckTimeout
			}
			return false // ctx ended
		}
		switch {
		case r.Type == "ack":
			l.rec.ack(lat, r.Status, to)
			return true
		case r.Type == "error" && r.Code == "rate_limited" && l.o.retry:
			l.rec.refused(r.Code, true)
			wait := time.Duration(r.RetryAfterMs) * time.Millisecond
			if wait <= 0 {
				wait = 10 * time.Millisecond
			}
			if !sleepUntil(ctx, time.Now().Add(wait)) {
				return false
			}
		case r.Type == "error":
			l.rec.refused(r.Code, false)
			return true
		default:
			l.rec.clientError("unexpected_" + r.Type)
			return true
		}
	}
}

func (l *load) inboxPhase(ctx context.Context) error {
	ps := l.players[l.online:]
	in := &InboxReport{Players: len(ps)}
	l.rep.Inbox = in
	l.rec.locked(func() { in.Queued = l.rec.queued })
	_, failed, _, err := l.connect(ctx, ps)
	if err != nil {
		return fmt.Errorf("inbox: %w", err)
	}
	if len(failed) > 0 {
		in.Errors = failed
		return fmt.Errorf("inbox: offline players could not connect (%v)", failed)
	}
	before, err := l.t.snapshot(ctx)
	if err != nil {
		return err
	}
	start := time.Now()
	var requests atomic.Int64
	forEach(len(ps), len(ps), func(i int) {
		p := ps[i]
		var want int
		l.rec.locked(func() { want = l.rec.queuedFor[p.idx] })
		got := 0
		for n := 0; got < want && ctx.Err() == nil; n++ {
			requests.Add(1)
			id := "inbox-" + strconv.Itoa(n)
			r, _, err := p.request(ctx, id, inboxFrame{Action: "inbox", ID: id}, l.o.ackTimeout)
			if err != nil {
				if kind, ok := transportKind(err); ok {
					l.rec.clientError(kind)
				}
				return
			}
			if r.Type == "error" {
				l.rec.refused(r.Code, false)
				return
			}
			if r.Delivered == 0 {
				return
			}
			got += r.Delivered
		}
	})
	l.waitFor(ctx, func() bool { return l.rec.drained >= l.rec.queued })
	after, err := l.t.snapshot(context.WithoutCancel(ctx))
	if err != nil {
		return err
	}
	l.rec.locked(func() {
		in.Drained = l.rec.drained
		in.Errors = copyCounts(l.rec.errors)
	})
	in.Requests = int(requests.Load())
	in.Seconds = time.Since(start).Seconds()
	in.DynamoDB = cost(before, after, in.Drained)
	return ctx.Err()
}

// disconnectPhase closes every client and waits for the stack to have run
// their $disconnect.
func (l *load) disconnectPhase(ctx context.Context) error {
	var open []*player
	for _, p := range l.players {
		if p.connected() {
			open = append(open, p)
		}
	}
	d := &l.rep.Disconnect
	d.Closed = len(open)
	if len(open) == 0 {
		return nil
	}
	before, err := l.t.snapshot(ctx)
	if err != nil {
		for _, p := range open {
			p.conn.CloseNow()
		}
		return err
	}
	start := time.Now()
	forEach(len(open), 32, func(i int) { open[i].close() })
	var after counters
	deadline := time.Now().Add(deliveryGrace)
	for {
		after, err = l.t.snapshot(ctx)
		if err != nil {
			return err
		}
		if after.disconnects-before.disconnects >= int64(len(open)) || time.Now().After(deadline) || !sleepUntil(ctx, time.Now().Add(5*time.Millisecond)) {
			break
		}
	}
	d.Seconds = time.Since(start).Seconds()
	d.Disconnects = int(after.disconnects - before.disconnects)
	d.DynamoDB = cost(before, after, d.Disconnects)
	return nil
}

// waitFor polls cond, under the recorder's lock, until it holds, ctx ends
// or deliveryGrace has passed.
func (l *load) waitFor(ctx context.Context, cond func() bool) {
	deadline := time.Now().Add(deliveryGrace)
	for {
		var ok bool
		l.rec.locked(func() { ok = cond() })
		if ok || time.Now().After(deadline) || !sleepUntil(ctx, time.Now().Add(time.Millisecond)) {
			return
		}
	}
}

// sleepUntil waits until t; it returns false if ctx ended first.
func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func copyCounts(m map[string]int) map[string]int {
	out := make(map[string]int, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// startProfile starts a CPU profile into path; the returned func stops it.
func startProfile(path string) (func() error, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	return func() error {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		return nil
	}, nil
}
