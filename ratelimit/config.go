package ratelimit

import "time"

// Limit is one GCRA bucket: Rate units refill per second, up to Burst units.
type Limit struct {
	// Rate is the sustained rate in units per second. Zero turns the limit
	// off: it is then neither checked nor stored.
	Rate float64
	// Burst is the most units admitted at once from a full bucket; 0 turns
	// the limit off, as a Rate of 0 does.
	Burst int64
}

// On reports whether the limit is checked at all.
func (l Limit) On() bool { return l.Rate > 0 && l.Burst > 0 }

// Config configures a Limiter.
type Config struct {
	// Table is the DynamoDB table holding the buckets (see CreateTable).
	Table string
	// Messages limits the messages a player sends. Zero: no limit.
	Messages Limit
	// Bytes limits the bytes of the messages a player sends. Zero: no
	// limit.
	Bytes Limit
	// Connects limits the connections a player opens: n per minute is Rate
	// n/60 and Burst n, n at once and n a minute after that. Zero: no
	// limit.
	Connects Limit
	// Now is the clock. Zero means time.Now.
	Now func() time.Time
	// MaxAttempts bounds the conditional writes of one call. Zero means 5.
	// Three always suffice (see the package comment) unless an item is
	// deleted during the call; the bound only stops a pathological loop.
	MaxAttempts int
	// DenyCacheSize caps how many players' last known buckets the Limiter
	// keeps in memory (the deny cache, which also makes an admit cost one
	// request). Zero means 10000.
	DenyCacheSize int
}

// Recommended limits. The deployment applies them when its RATE_*
// variables are unset; a zero Config limits nothing.
var (
	DefaultMessages = Limit{Rate: 10, Burst: 20}        // 10 a second, 20 at once
	DefaultBytes    = Limit{Rate: 65536, Burst: 131072} // 64 KiB a second, 128 KiB at once
	DefaultConnects = Limit{Rate: 10.0 / 60, Burst: 10} // 10 a minute, 10 at once
)
