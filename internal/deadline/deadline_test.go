package deadline

import (
	"context"
	"testing"
	"testing/synctest"
	"time"
)

func TestWithReserve(t *testing.T) {
	for _, tt := range []struct {
		left, reserve time.Duration
	}{
		{10 * time.Second, time.Second}, // a tenth, at the cap
		{time.Minute, time.Second},      // capped
		{5 * time.Second, 500 * time.Millisecond},
		{100 * time.Millisecond, 10 * time.Millisecond},
	} {
		synctest.Test(t, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), tt.left)
			defer cancel()
			start := time.Now()
			rctx, rcancel := WithReserve(ctx)
			defer rcancel()
			d, ok := rctx.Deadline()
			if want := start.Add(tt.left - tt.reserve); !ok || !d.Equal(want) {
				t.Errorf("%v left: deadline %v after the start, want %v", tt.left, d.Sub(start), tt.left-tt.reserve)
			}
		})
	}
	rctx, rcancel := WithReserve(t.Context())
	defer rcancel()
	if _, ok := rctx.Deadline(); ok {
		t.Error("a context without a deadline got one")
	}
}
