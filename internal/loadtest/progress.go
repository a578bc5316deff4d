package loadtest

import (
	"fmt"
	"io"
	"time"
)

// progress writes a live line to w (a terminal) every half second until the
// returned func is called, which ends the line.
func (l *load) progress(w io.Writer) func() {
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(500 * time.Millisecond)
		defer tick.Stop()
		var lastAcked int64
		last := time.Now()
		for {
			select {
			case <-stop:
				fmt.Fprintln(w)
				return
			case now := <-tick.C:
				r := l.rec
				acked := r.acked.Load()
				rate := float64(acked-lastAcked) / now.Sub(last).Seconds()
				lastAcked, last = acked, now
				fmt.Fprintf(w, "\r%6.1fs  connected %d  sent %d  acked %d  delivered %d  errors %d  %.0f msg/s   ",
					now.Sub(r.start).Seconds(), r.connected.Load(), r.sent.Load(), acked, r.received.Load(), r.errs.Load(), rate)
			}
		}
	}()
	return func() { close(stop); <-done }
}
