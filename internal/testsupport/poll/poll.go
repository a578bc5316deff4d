// Package poll waits for something that only a real process can tell: a
// row written by a server in another goroutine or process, a banner on a
// child's output, an emulator that is not up yet. Time that the test itself
// drives belongs to a fake clock or a testing/synctest bubble instead; this
// is for what no clock can drive.
package poll

import (
	"testing"
	"time"
)

// Timeout is how long Until waits before it fails the test.
const Timeout = 10 * time.Second

// Until calls cond until it reports true, and fails the test naming what
// it waited for if that takes longer than Timeout. It checks at once, then
// after 1 ms, doubling the pause up to 50 ms.
func Until(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	if !Within(Timeout, cond) {
		tb.Fatalf("waited %v for %s", Timeout, what)
	}
}

// Within calls cond as Until does, for at most d, and reports whether it
// became true.
func Within(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for pause := time.Millisecond; ; pause = min(2*pause, 50*time.Millisecond) {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(pause)
	}
}
