// Package fakeclock is the one clock the tests move by hand: it reads what
// it was set to, for every goroutine, until a test moves it. The e2e
// stack's clock (real time plus an offset) and the local gateway's fake
// timers are of other kinds; a test that wants timers and sleeps driven
// for it runs in a testing/synctest bubble instead.
package fakeclock

import (
	"sync/atomic"
	"time"
)

// Clock is a clock moved only by the test; safe for concurrent use.
type Clock struct{ ns atomic.Int64 }

// New returns a Clock reading now.
func New(now time.Time) *Clock {
	c := &Clock{}
	c.Set(now)
	return c
}

// Now returns the clock's time, in UTC.
func (c *Clock) Now() time.Time { return time.Unix(0, c.ns.Load()).UTC() }

// Advance moves the clock d forward (back, for a negative d).
func (c *Clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// Set puts the clock at t.
func (c *Clock) Set(t time.Time) { c.ns.Store(t.UnixNano()) }
