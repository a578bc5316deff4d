package ratelimit

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
)

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
	// Messages limits the messages a player sends. ConfigFromEnv reads
	// RATE_MESSAGES_PER_SECOND (default 10) and RATE_MESSAGES_BURST (20).
	Messages Limit
	// Bytes limits the bytes of the messages a player sends. ConfigFromEnv
	// reads RATE_BYTES_PER_SECOND (default 65536) and RATE_BYTES_BURST (131072).
	Bytes Limit
	// Connects limits the connections a player opens. ConfigFromEnv reads
	// RATE_CONNECTS_PER_MINUTE (default 10) as Rate n/60 and Burst n: a
	// player may open n connections at once and n per minute after that.
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

// Environment variables read by ConfigFromEnv, with their defaults.
const (
	EnvMessagesPerSecond = "RATE_MESSAGES_PER_SECOND" // default 10
	EnvMessagesBurst     = "RATE_MESSAGES_BURST"      // default 20
	EnvBytesPerSecond    = "RATE_BYTES_PER_SECOND"    // default 65536
	EnvBytesBurst        = "RATE_BYTES_BURST"         // default 131072
	EnvConnectsPerMinute = "RATE_CONNECTS_PER_MINUTE" // default 10
)

// ConfigFromEnv builds a Config for table from the RATE_* variables. An empty
// or unset variable takes its default; setting any of them to 0 turns that
// limit off (a rate or a burst of 0 admits nothing useful, so 0 means "no
// limit"). Every invalid variable is named in the returned error.
func ConfigFromEnv(getenv func(string) string, table string) (Config, error) {
	var errs []error
	if table == "" {
		errs = append(errs, errors.New("rate limit table name is empty"))
	}
	rate := func(name string, def float64) float64 {
		v := getenv(name)
		if v == "" {
			return def
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0 || math.IsInf(f, 0) || math.IsNaN(f) {
			errs = append(errs, fmt.Errorf("%s=%q: want a non-negative number", name, v))
			return 0
		}
		return f
	}
	count := func(name string, def int64) int64 {
		v := getenv(name)
		if v == "" {
			return def
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			errs = append(errs, fmt.Errorf("%s=%q: want a non-negative integer", name, v))
			return 0
		}
		return n
	}
	// limit reads a rate and its burst; either set to 0 turns the limit off.
	limit := func(rateName string, defRate float64, burstName string, defBurst int64) Limit {
		l := Limit{Rate: rate(rateName, defRate), Burst: count(burstName, defBurst)}
		if l.Rate == 0 || l.Burst == 0 {
			return Limit{}
		}
		return l
	}

	cfg := Config{Table: table}
	cfg.Messages = limit(EnvMessagesPerSecond, 10, EnvMessagesBurst, 20)
	cfg.Bytes = limit(EnvBytesPerSecond, 65536, EnvBytesBurst, 131072)
	perMinute := count(EnvConnectsPerMinute, 10)
	cfg.Connects = Limit{Rate: float64(perMinute) / 60, Burst: perMinute}

	if len(errs) > 0 {
		return Config{}, fmt.Errorf("rate limit config: %w", errors.Join(errs...))
	}
	return cfg, nil
}
