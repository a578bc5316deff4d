package e2e

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"golang.org/x/sync/errgroup"

	"github.com/serverless-websockets/serverless-websockets/internal/testsupport/poll"
)

// stormProfile names a file that receives a CPU profile of the storm window
// alone (from the first close to the last $disconnect), without the
// connecting before it.
var stormProfile = flag.String("storm.cpuprofile", "", "write a CPU profile of BenchmarkDisconnectStorm's storm window to this file")

// BenchmarkDisconnectStorm: 2,000 idle players close their connections at
// the same instant while 20 other players keep messaging each other. It
// reports how long the stack takes to run every $disconnect
// (disconnect-s) and the other players' ack latency during that time
// (storm-ack-p50-ms, storm-ack-p99-ms, over storm-acks messages). All the
// clients run in this process, so their 2,000 closes compete with the stack
// for the same scheduler and cores; scripts/scale's storm runs them as
// separate processes against cmd/local. Each iteration is a fresh stack;
// run it once:
//
//	go test -run '^$' -bench DisconnectStorm -benchtime 1x ./e2e
//
// With -storm.cpuprofile FILE it also profiles the storm window.
func BenchmarkDisconnectStorm(b *testing.B) {
	const idle, senders = 2000, 20
	for range b.N {
		s := startStack(b, noLimits())
		tokens := make([]string, idle)
		for i := range tokens {
			tokens[i] = s.token(fmt.Sprintf("idle-%d", i), 3600)
		}
		idlers := make([]*client, idle)
		dialEach(idle, func(i int) {
			c, status, err := s.dialToken(tokens[i])
			if err != nil {
				b.Errorf("dial idle-%d: %d %v", i, status, err)
				return
			}
			idlers[i] = c
		})
		if b.Failed() {
			return
		}
		active := make([]*client, senders)
		for i := range active {
			active[i] = s.dial(fmt.Sprintf("sender-%d", i))
		}

		// The senders message each other, one message in flight each,
		// recording when each ack came and how long it took.
		type ack struct {
			at  time.Time
			lat time.Duration
		}
		var (
			mu   sync.Mutex
			acks []ack
			stop atomic.Bool
			lost atomic.Int64
		)
		var senderWG sync.WaitGroup
		for i, c := range active {
			senderWG.Go(func() {
				to := fmt.Sprintf("sender-%d", (i+1)%senders)
				for n := 0; !stop.Load(); n++ {
					id := fmt.Sprintf("m-%d", n)
					start := time.Now()
					data, _ := json.Marshal(outgoing(to, id, map[string]any{"n": n}))
					ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
					err := c.conn.Write(ctx, websocket.MessageText, data)
					cancel()
					if err != nil || !awaitAck(c, id) {
						lost.Add(1)
						return
					}
					mu.Lock()
					acks = append(acks, ack{at: time.Now(), lat: time.Since(start)})
					mu.Unlock()
				}
			})
		}
		time.Sleep(500 * time.Millisecond) // the senders are flowing

		deletes := func() int64 { return s.DynamoDB.Requests()["DeleteItem"] }
		before := deletes()
		stopProfile := startStormProfile(b)
		stormStart := time.Now()
		for _, c := range idlers {
			go c.conn.Close(websocket.StatusNormalClosure, "")
		}
		if !poll.Within(time.Minute, func() bool { return deletes()-before >= idle }) {
			b.Fatalf("after a minute, %d of %d $disconnect ran", deletes()-before, idle)
		}
		stormEnd := time.Now()
		stopProfile()
		stop.Store(true)
		senderWG.Wait()
		if lost.Load() > 0 {
			b.Fatalf("%d messages got no ack", lost.Load())
		}

		var during []time.Duration
		for _, a := range acks {
			if a.at.After(stormStart) && !a.at.After(stormEnd) {
				during = append(during, a.lat)
			}
		}
		slices.Sort(during)
		b.ReportMetric(stormEnd.Sub(stormStart).Seconds(), "disconnect-s")
		b.ReportMetric(float64(len(during)), "storm-acks")
		if len(during) > 0 {
			b.ReportMetric(ms(during[len(during)/2]), "storm-ack-p50-ms")
			b.ReportMetric(ms(during[min(len(during)-1, len(during)*99/100)]), "storm-ack-p99-ms")
		}
	}
}

// awaitAck reads c's frames until the ack of id; false if none comes
// within 30 s or the connection ends. Other frames (messages) are skipped.
func awaitAck(c *client, id string) bool {
	timeout := time.NewTimer(30 * time.Second)
	defer timeout.Stop()
	for {
		select {
		case f := <-c.frames:
			if f["type"] == "ack" && f["id"] == id {
				return true
			}
			if f["type"] == "error" && f["id"] == id {
				return false
			}
		case <-c.done:
			return false
		case <-timeout.C:
			return false
		}
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// dialEach runs dial(i) for every i below n, 16 at a time, and returns when
// all have returned.
func dialEach(n int, dial func(i int)) {
	var g errgroup.Group
	g.SetLimit(16)
	for i := range n {
		g.Go(func() error {
			dial(i)
			return nil
		})
	}
	_ = g.Wait()
}

// startStormProfile starts the -storm.cpuprofile profile, if asked for, and
// returns the function that ends it.
func startStormProfile(b *testing.B) func() {
	if *stormProfile == "" {
		return func() {}
	}
	f, err := os.Create(*stormProfile)
	if err != nil {
		b.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		b.Fatal(err)
	}
	return func() {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			b.Error(err)
		}
	}
}
