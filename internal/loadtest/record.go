package loadtest

import (
	"crypto/rand"
	"encoding/hex"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Steps measured, in report order.
const (
	stepConnect  = "connect"             // dial to upgraded: the authorizer and $connect included
	stepAck      = "send→ack"            // a sendmessage frame to its ack or error
	stepDelivery = "send→delivery"       // a sendmessage frame to the recipient reading it (acked delivered)
	stepInbox    = "inbox drain"         // an inbox request to its closing inbox frame
	stepGone     = "disconnect→row gone" // a client's close to its player showing offline
)

var stepOrder = []string{stepConnect, stepAck, stepDelivery, stepInbox, stepGone}

// Error kinds of the run itself, beside the protocol's codes and wsclient's.
const (
	errNoReply    = "no_reply"     // the run ended before the reply came
	errDialError  = "dial_error"   // the upgrade failed without an HTTP status
	errStillThere = "still_online" // the player's row outlived the grace period
	errNotRead    = "not_read"     // acked delivered but never read
)

// msgState is what the run knows of one message.
type msgState struct {
	at     time.Time // when it was scheduled (open loop) or written (closed loop)
	ackAt  time.Time
	to     int32
	status uint8 // statusNone, statusDelivered, statusQueued, statusError
	seen   uint16
	readAt time.Time
}

const (
	statusNone uint8 = iota
	statusDelivered
	statusQueued
	statusError
)

// stepRec collects one step.
type stepRec struct {
	attempts int64
	errors   map[string]int64
	h        hist
}

// second is one second of the run's time series.
type second struct {
	sent, acked, errors, connects int64
	ack                           hist
}

// recorder collects what the clients observe. Its counters for the live
// progress line are atomic; the rest is under mu.
type recorder struct {
	run   string    // this run's id, in every message body
	start time.Time // the time origin (monotonic)

	connected, sent, acked, received, errs atomic.Int64
	foreign, badFrames                     atomic.Int64 // messages of another run or not of this tool; frames not JSON

	mu          sync.Mutex
	steps       map[string]*stepRec
	msgs        map[int64]*msgState
	series      []*second
	closes      map[int][]time.Time // player index -> when its clients began to close
	frames      int64               // sendmessage frames, rate_limited retries included
	rateLimited int64
	last        time.Time // the last ack or read
	// Acked messages not read yet: delivered, queued, and queued by recipient.
	unreadDelivered, unreadQueued int
	unreadFor                     map[int]int
}

func newRecorder() *recorder {
	var id [4]byte
	_, _ = rand.Read(id[:])
	r := &recorder{
		run:    hex.EncodeToString(id[:]),
		start:  time.Now(),
		steps:  map[string]*stepRec{},
		msgs:   map[int64]*msgState{},
		closes: map[int][]time.Time{},

		unreadFor: map[int]int{},
	}
	for _, s := range stepOrder {
		r.steps[s] = &stepRec{errors: map[string]int64{}}
	}
	return r
}

// sec returns the time-series entry of t; mu must be held.
func (r *recorder) sec(t time.Time) *second {
	i := max(0, int(t.Sub(r.start)/time.Second))
	for len(r.series) <= i {
		r.series = append(r.series, &second{})
	}
	return r.series[i]
}

// attempt counts one try of a step.
func (r *recorder) attempt(step string) {
	r.mu.Lock()
	r.steps[step].attempts++
	r.mu.Unlock()
}

// ok records a step's success and its latency.
func (r *recorder) ok(step string, lat time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.steps[step].h.record(lat)
	if step == stepConnect {
		r.sec(time.Now()).connects++
	}
}

// fail records a step's failure with its code.
func (r *recorder) fail(step, code string) {
	r.errs.Add(1)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.steps[step].errors[code]++
	r.sec(time.Now()).errors++
}

// message records a frame of message seq about to be written: its first
// attempt, or a retry after rate_limited (which moves its time origin).
func (r *recorder) message(seq int64, to int, at time.Time, first bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.frames++
	if !first {
		r.rateLimited++
		r.msgs[seq].at = at
		return
	}
	r.sent.Add(1)
	r.msgs[seq] = &msgState{at: at, to: int32(to)}
	r.steps[stepAck].attempts++
	r.sec(at).sent++
}

// acked records seq's ack.
func (r *recorder) ackd(seq int64, status string, at time.Time) {
	r.acked.Add(1)
	r.mu.Lock()
	defer r.mu.Unlock()
	m := r.msgs[seq]
	m.ackAt, m.status = at, statusDelivered
	if status == "queued" {
		m.status = statusQueued
	}
	if m.seen == 0 {
		r.countUnread(m, 1)
	}
	lat := at.Sub(m.at)
	r.last = maxTime(r.last, at)
	r.steps[stepAck].h.record(lat)
	s := r.sec(at)
	s.acked++
	s.ack.record(lat)
}

// refused records seq's final failure with code.
func (r *recorder) refused(seq int64, code string) {
	r.mu.Lock()
	r.msgs[seq].status = statusError
	r.mu.Unlock()
	r.fail(stepAck, code)
}

// read records that a recipient read message seq at t.
func (r *recorder) read(seq int64, t time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := r.msgs[seq]
	if m == nil {
		r.foreign.Add(1)
		return
	}
	if m.seen == 0 {
		m.readAt = t
		r.received.Add(1)
		r.last = maxTime(r.last, t)
		r.countUnread(m, -1)
	}
	m.seen++
}

// countUnread adds d to the unread counts of m's status; mu must be held.
func (r *recorder) countUnread(m *msgState, d int) {
	switch m.status {
	case statusDelivered:
		r.unreadDelivered += d
	case statusQueued:
		r.unreadQueued += d
		r.unreadFor[int(m.to)] += d
	}
}

// closing notes that a client of player idx began to close at t.
func (r *recorder) closing(idx int, t time.Time) {
	r.mu.Lock()
	r.closes[idx] = append(r.closes[idx], t)
	r.mu.Unlock()
}

// unread returns how many messages acked with status have not been read.
func (r *recorder) unread(status uint8) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if status == statusQueued {
		return r.unreadQueued
	}
	return r.unreadDelivered
}

// queuedFor returns the messages acked queued for player idx and not read.
func (r *recorder) queuedFor(idx int) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.unreadFor[idx]
}

// messageCheck is the run's loss and duplicate accounting.
type messageCheck struct {
	Sent        int64            `json:"sent"`        // messages (first frames)
	Frames      int64            `json:"frames"`      // sendmessage frames, rate_limited retries included
	RateLimited int64            `json:"rateLimited"` // retried rate_limited refusals (closed loop with -retry)
	Acked       int64            `json:"acked"`       // acks: delivered + queued
	Errors      map[string]int64 `json:"errors"`      // final refusals and failures by code; sent = acked + errors
	Delivered   int64            `json:"delivered"`   // acked delivered
	Queued      int64            `json:"queued"`      // acked queued
	Read        int64            `json:"read"`        // acked delivered and read by the recipient
	Collected   int64            `json:"collected"`   // acked queued and read from the inbox
	// Closing counts messages acked delivered to a client that had begun to
	// close, and so never read (the documented behaviour of delivered).
	Closing    int64 `json:"closing"`
	Lost       int64 `json:"lost"`       // acked but never read, not Closing
	Duplicates int64 `json:"duplicates"` // extra reads of a message
	Foreign    int64 `json:"foreign"`    // messages read that this run did not send
	BadFrames  int64 `json:"badFrames"`  // frames that were not JSON
}

// finish settles every message: unanswered ones become no_reply errors,
// delivery latencies are recorded, and the loss check is made.
func (r *recorder) finish() messageCheck {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := messageCheck{Frames: r.frames, RateLimited: r.rateLimited, Foreign: r.foreign.Load(), BadFrames: r.badFrames.Load()}
	ack, del := r.steps[stepAck], r.steps[stepDelivery]
	for _, m := range r.msgs {
		c.Sent++
		if m.seen > 1 {
			c.Duplicates += int64(m.seen - 1)
		}
		switch m.status {
		case statusNone:
			ack.errors[errNoReply]++
		case statusDelivered:
			c.Acked++
			c.Delivered++
			del.attempts++
			switch {
			case m.seen > 0:
				c.Read++
				del.h.record(m.readAt.Sub(m.at))
			case slices.ContainsFunc(r.closes[int(m.to)], func(t time.Time) bool {
				// The recipient began to close between the send (less the grace) and the ack.
				return !t.Before(m.at.Add(-deliveryGrace)) && !t.After(m.ackAt)
			}):
				c.Closing++
				del.errors["closing"]++
			default:
				c.Lost++
				del.errors[errNotRead]++
			}
		case statusQueued:
			c.Acked++
			c.Queued++
			if m.seen > 0 {
				c.Collected++
			} else {
				c.Lost++
			}
		}
	}
	c.Errors = maps.Clone(ack.errors)
	return c
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
