package loadtest

import (
	"context"
	"errors"
	"maps"
	"slices"
	"sync"
	"time"
)

// goneWatcher measures the disconnect→row gone step: from a client's close
// to the stack counting its player offline (the $disconnect handler having
// deleted the row). It asks the target which watched players are online,
// every pollEvery.
type goneWatcher struct {
	l         *load
	pollEvery time.Duration
	stop      func() // ends run and waits for it

	mu          sync.Mutex
	waiting     map[string]*goneWait // by player id
	unsupported bool                 // the target cannot say: the step is not measured
	wake        chan struct{}
}

type goneWait struct {
	since time.Time
	done  chan struct{}
}

func newGoneWatcher(l *load) *goneWatcher {
	every := 2 * time.Millisecond
	if l.observer != nil {
		every = l.t.presenceEvery
	}
	return &goneWatcher{l: l, pollEvery: every, waiting: map[string]*goneWait{}, wake: make(chan struct{}, 1)}
}

// watch starts watching p, closed at since; the channel is closed when its
// row is gone or the grace period ended.
func (w *goneWatcher) watch(p *player, since time.Time) <-chan struct{} {
	gw := &goneWait{since: since, done: make(chan struct{})}
	w.mu.Lock()
	if w.unsupported {
		w.mu.Unlock()
		return closed
	}
	w.waiting[p.id] = gw
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
	return gw.done
}

// start runs the watcher until w.stop.
func (w *goneWatcher) start(ctx context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); w.run(ctx) }()
	w.stop = func() { cancel(); <-done }
}

func (w *goneWatcher) run(ctx context.Context) {
	for {
		w.mu.Lock()
		ids := slices.Collect(maps.Keys(w.waiting))
		w.mu.Unlock()
		if len(ids) == 0 {
			select {
			case <-ctx.Done():
				return
			case <-w.wake:
				continue
			}
		}
		// Presence takes at most 50 names a request.
		still := map[string]bool{}
		var err error
		for batch := range slices.Chunk(ids, 50) {
			qctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			online, qerr := w.l.t.online(qctx, batch)
			cancel()
			err = errors.Join(err, qerr)
			for _, id := range online {
				still[id] = true
			}
		}
		now := time.Now()
		w.mu.Lock()
		if errors.Is(err, errNoPresence) {
			w.unsupported = true
		}
		for _, id := range ids {
			gw := w.waiting[id]
			switch {
			case w.unsupported:
			case err == nil && !still[id]:
				w.l.rec.attempt(stepGone)
				w.l.rec.ok(stepGone, now.Sub(gw.since))
			case now.Sub(gw.since) > deliveryGrace:
				w.l.rec.attempt(stepGone)
				w.l.rec.fail(stepGone, errStillThere)
			default:
				continue
			}
			delete(w.waiting, id)
			close(gw.done)
		}
		w.mu.Unlock()
		if !sleepUntil(ctx, now.Add(w.pollEvery)) {
			w.fail()
			return
		}
	}
}

// fail ends every wait once the run is over.
func (w *goneWatcher) fail() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for id, gw := range w.waiting {
		w.l.rec.attempt(stepGone)
		w.l.rec.fail(stepGone, errNoReply)
		delete(w.waiting, id)
		close(gw.done)
	}
}
