package ratelimit

import (
	"fmt"
	"testing"
)

// TestStateCacheBound: the cache never outgrows its cap, drops entries
// whose buckets are full again before busy ones, and merges TATs upwards.
func TestStateCacheBound(t *testing.T) {
	const size = 100
	now := int64(1_000_000)
	c := newStateCache(size)

	// Entries that go idle at now+10, then busy ones until well past the cap.
	for i := range size {
		c.put(fmt.Sprintf("idle-%d", i), state{now + 10}, now)
	}
	later := now + 20
	for i := range size / 2 {
		c.put(fmt.Sprintf("busy-%d", i), state{later + 1000}, later)
	}
	if got := c.len(); got != size/2 {
		t.Errorf("after the idle entries expired: %d entries, want %d (only the busy ones)", got, size/2)
	}
	for i := range 10 * size {
		c.put(fmt.Sprintf("flood-%d", i), state{later + 1000}, later)
		if got := c.len(); got > size {
			t.Fatalf("%d entries, cap %d", got, size)
		}
	}

	tests := []struct {
		name string
		put  []state
		at   int64
		want state
	}{
		{"keeps the larger TAT per slot", []state{{now + 50, now + 5}, {now + 40, now + 60}}, now, state{now + 50, now + 60}},
		{"idle state is not stored", []state{{now - 1, now}}, now, state{}},
		{"expired entry reads as full", []state{{now + 5, 0}}, now + 5, state{}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newStateCache(size)
			key := fmt.Sprintf("k%d", i)
			for _, st := range tt.put {
				c.put(key, st, now)
			}
			if got := c.get(key, tt.at); got != tt.want {
				t.Errorf("get = %v, want %v", got, tt.want)
			}
		})
	}
}
