package ratelimit

import (
	"testing"
	"time"

	"github.com/serverless-websockets/serverless-websockets/internal/dynamo"

	"github.com/serverless-websockets/serverless-websockets/internal/testsupport/dynamotest"
)

// benchConfig returns the recommended message and byte limits on a new
// table on api, read by clock.
func benchConfig(b *testing.B, api dynamo.TableAPI, clock *fakeClock) Config {
	return Config{Table: newTable(b, api), Now: clock.Now, Messages: DefaultMessages, Bytes: DefaultBytes}
}

func reportRequests(b *testing.B, apis ...*countingAPI) {
	var n int64
	for _, a := range apis {
		n += a.requests()
	}
	b.ReportMetric(float64(n)/float64(b.N), "ddb-requests/op")
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "µs/op")
}

// BenchmarkAllowMessage: one warm instance, every message admitted (the
// clock moves one emission interval per call): the common path.
func BenchmarkAllowMessage(b *testing.B) {
	dynamotest.Run(b, func(b *testing.B, open dynamotest.Opener) {
		api := &countingAPI{API: open()}
		clock := newClock()
		l := New(api, benchConfig(b, api, clock))
		api.updates.Store(0)
		b.ResetTimer()
		for b.Loop() {
			clock.Advance(100 * time.Millisecond)
			if !mustMessage(b, l, "bench", 200).Allowed {
				b.Fatal("denied")
			}
		}
		reportRequests(b, api)
	})
}

// BenchmarkAllowMessageTwoInstances: two instances take turns on one
// player that stays busy, so every call starts from a cache that misses the
// other instance's last write. The busy-class write does not depend on the
// exact TAT, so this costs one request too.
func BenchmarkAllowMessageTwoInstances(b *testing.B) {
	dynamotest.Run(b, func(b *testing.B, open dynamotest.Opener) {
		a1, a2 := &countingAPI{API: open()}, &countingAPI{API: open()}
		clock := newClock()
		cfg := benchConfig(b, a1, clock)
		ls := []*Limiter{New(a1, cfg), New(a2, cfg)}
		for range 10 { // make the bucket busy
			mustMessage(b, ls[0], "bench", 200)
		}
		a1.updates.Store(0)
		i := 0
		for b.Loop() {
			clock.Advance(100 * time.Millisecond)
			if !mustMessage(b, ls[i%2], "bench", 200).Allowed {
				b.Fatal("denied")
			}
			i++
		}
		reportRequests(b, a1, a2)
	})
}

// BenchmarkAllowMessageFlood: one player floods at one instant; after the
// burst every call is denied, by the deny cache, without a request.
func BenchmarkAllowMessageFlood(b *testing.B) {
	dynamotest.Run(b, func(b *testing.B, open dynamotest.Opener) {
		api := &countingAPI{API: open()}
		clock := newClock()
		l := New(api, benchConfig(b, api, clock))
		denied := 0
		for b.Loop() {
			if !mustMessage(b, l, "flood", 200).Allowed {
				denied++
			}
		}
		reportRequests(b, api)
		b.ReportMetric(float64(denied)/float64(b.N), "denied/op")
	})
}
