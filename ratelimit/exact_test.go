package ratelimit

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/serverless-websockets/serverless-websockets/internal/testsupport/dynamotest"
)

// TestExactUnderConcurrency plays 50 Lambda instances: 50 goroutines, each
// with its own Limiter and its own client, hammer two players over a span
// of simulated time. The shared fake clock stands still during a round and
// moves by step between rounds; in each round every goroutine calls for each
// player until it is denied, so each round ends with both buckets exactly
// spent. GCRA then admits exactly burst + floor(rate × span) per player
// (floor because a fraction of a unit is not admitted yet), whatever the
// interleaving: any over-admission, lost update or spurious denial would
// change the count.
func TestExactUnderConcurrency(t *testing.T) {
	const instances = 50
	cases := []struct {
		name   string
		cfg    Config
		bytes  int // per message; 0 calls AllowConnect
		step   time.Duration
		rounds int
		rate   float64 // units per second of the binding limit, in calls
		burst  int64   // in calls
	}{
		{
			name:  "messages bind",
			cfg:   Config{Messages: Limit{Rate: 10, Burst: 20}, Bytes: Limit{Rate: 1e4, Burst: 1e5}},
			bytes: 100, step: 250 * time.Millisecond, rounds: 12, rate: 10, burst: 20,
		},
		{
			name:  "bytes bind",
			cfg:   Config{Messages: Limit{Rate: 1000, Burst: 1000}, Bytes: Limit{Rate: 1000, Burst: 1500}},
			bytes: 100, step: 150 * time.Millisecond, rounds: 12, rate: 10, burst: 15,
		},
		{
			name:  "connects",
			cfg:   Config{Connects: Limit{Rate: 10.0 / 60, Burst: 10}},
			bytes: 0, step: 9 * time.Second, rounds: 12, rate: 10.0 / 60, burst: 10,
		},
	}
	dynamotest.Run(t, func(t *testing.T, open dynamotest.Opener) {
		table := newTable(t, open())
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				clock := newClock()
				cfg := tc.cfg
				cfg.Table = table
				cfg.Now = clock.Now
				apis := make([]*countingAPI, instances)
				limiters := make([]*Limiter, instances)
				for i := range limiters {
					apis[i] = &countingAPI{API: open()}
					limiters[i] = New(apis[i], cfg)
				}
				players := []string{"exact-a-" + tc.name, "exact-b-" + tc.name}
				var admitted [2]atomic.Int64
				var calls atomic.Int64
				call := func(l *Limiter, player string) (Decision, error) {
					calls.Add(1)
					if tc.bytes == 0 {
						return l.AllowConnect(context.Background(), player)
					}
					return l.AllowMessage(context.Background(), player, tc.bytes)
				}
				for round := range tc.rounds {
					clock.Set(t0.Add(time.Duration(round) * tc.step))
					var wg sync.WaitGroup
					for _, l := range limiters {
						wg.Go(func() {
							// Alternate players until both deny.
							open := [2]bool{true, true}
							for open[0] || open[1] {
								for p := range players {
									if !open[p] {
										continue
									}
									d, err := call(l, players[p])
									if err != nil {
										t.Errorf("round %d: %v", round, err)
										open[p] = false
										continue
									}
									if d.Allowed {
										admitted[p].Add(1)
									} else {
										open[p] = false
									}
								}
							}
						})
					}
					wg.Wait()
				}
				span := clock.Since0()
				want := tc.burst + int64(tc.rate*span.Seconds())
				for p := range players {
					if got := admitted[p].Load(); got != want {
						t.Errorf("%s admitted %d over %v, want burst %d + rate %.4g/s × span = %d", players[p], got, span, tc.burst, tc.rate, want)
					}
				}
				var requests int64
				for _, a := range apis {
					requests += a.requests()
				}
				t.Logf("admitted %d+%d, %d calls, %d DynamoDB requests (%.2f per admitted, %.2f per call)",
					admitted[0].Load(), admitted[1].Load(), calls.Load(), requests,
					float64(requests)/float64(admitted[0].Load()+admitted[1].Load()), float64(requests)/float64(calls.Load()))
			})
		}
	})
}
