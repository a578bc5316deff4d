package poll

import (
	"testing"
	"testing/synctest"
	"time"
)

func TestWithin(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		n := 0
		if !Within(time.Second, func() bool { n++; return n == 4 }) {
			t.Fatal("a condition true on the fourth call was not seen")
		}
		if took := time.Since(start); took != 7*time.Millisecond { // 1 + 2 + 4
			t.Errorf("took %v, want the pauses of 1, 2 and 4 ms", took)
		}
		start = time.Now()
		if Within(time.Second, func() bool { return false }) {
			t.Fatal("a condition never true was reported true")
		}
		if took := time.Since(start); took < time.Second || took > time.Second+50*time.Millisecond {
			t.Errorf("gave up after %v, want a second and at most one pause more", took)
		}
	})
}
