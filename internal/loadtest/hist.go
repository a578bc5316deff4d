package loadtest

import (
	"math"
	"math/bits"
	"time"
)

// subBits sets the histogram's precision: each power of two is split into
// 2^subBits buckets, so a recorded value is known to within 1/2^(subBits+1)
// of itself (about 1.6 %), whatever its magnitude.
const subBits = 5

// hist is a log-bucketed latency histogram in the manner of HDR Histogram:
// constant relative precision, a fixed cost per value, and no samples kept.
// Values are microseconds. The minimum and maximum are kept exactly. The
// zero value is empty and ready to use; it is not safe for concurrent use.
type hist struct {
	counts   []int64 // by bucket index
	n        int64
	min, max int64
	sum      float64
}

// bucketOf returns the index of the bucket holding v (v >= 0). Values below
// 2^(subBits+1) have a bucket each; above, each power of two has 2^subBits.
func bucketOf(v int64) int {
	if v < 1<<(subBits+1) {
		return int(v)
	}
	n := bits.Len64(uint64(v)) // v has n bits, n > subBits+1
	shift := n - subBits - 1
	return (shift+1)<<subBits + int(v>>shift) - 1<<subBits
}

// bucketRange returns the smallest and largest value of bucket i.
func bucketRange(i int) (lo, hi int64) {
	if i < 1<<(subBits+1) {
		return int64(i), int64(i)
	}
	shift := i>>subBits - 1
	m := int64(i&(1<<subBits-1) + 1<<subBits)
	return m << shift, (m+1)<<shift - 1
}

// record adds one duration, rounded down to the microsecond; negative
// durations count as zero.
func (h *hist) record(d time.Duration) {
	v := max(0, d.Microseconds())
	i := bucketOf(v)
	if i >= len(h.counts) {
		h.counts = append(h.counts, make([]int64, i+1-len(h.counts))...)
	}
	h.counts[i]++
	if h.n == 0 || v < h.min {
		h.min = v
	}
	if v > h.max {
		h.max = v
	}
	h.n++
	h.sum += float64(v)
}

// quantile returns the value at quantile q (0 < q <= 1) by nearest rank: the
// middle of the bucket holding the ceil(q*n)-th smallest value, kept within
// the exact minimum and maximum. It is 0 for an empty histogram.
func (h *hist) quantile(q float64) int64 {
	if h.n == 0 {
		return 0
	}
	rank := max(1, int64(math.Ceil(q*float64(h.n))))
	if rank >= h.n {
		return h.max
	}
	var seen int64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			lo, hi := bucketRange(i)
			return min(h.max, max(h.min, lo+(hi-lo)/2))
		}
	}
	return h.max
}

// latency summarizes a step's durations, in milliseconds.
type latency struct {
	Count int64   `json:"count"`
	Mean  float64 `json:"meanMs"`
	P50   float64 `json:"p50Ms"`
	P90   float64 `json:"p90Ms"`
	P99   float64 `json:"p99Ms"`
	P999  float64 `json:"p999Ms"`
	Max   float64 `json:"maxMs"`
}

func (h *hist) summary() latency {
	if h.n == 0 {
		return latency{}
	}
	ms := func(us int64) float64 { return float64(us) / 1000 }
	return latency{
		Count: h.n,
		Mean:  h.sum / float64(h.n) / 1000,
		P50:   ms(h.quantile(0.50)),
		P90:   ms(h.quantile(0.90)),
		P99:   ms(h.quantile(0.99)),
		P999:  ms(h.quantile(0.999)),
		Max:   ms(h.max),
	}
}

// histBin is one bar of a latency histogram: the values from LoMs to HiMs.
type histBin struct {
	LoMs  float64 `json:"loMs"`
	HiMs  float64 `json:"hiMs"`
	Count int64   `json:"count"`
}

// bins groups the buckets into at most four bins per power of two, from the
// first non-empty bucket to the last, for charts.
func (h *hist) bins() []histBin {
	var out []histBin
	for i, c := range h.counts {
		if c == 0 {
			continue
		}
		lo, hi := bucketRange(i)
		// Four bins per power of two: merge sub-buckets sharing the top
		// two mantissa bits.
		if i >= 1<<(subBits+1) {
			shift := i>>subBits - 1
			m := int64(i&(1<<subBits-1)+1<<subBits) >> (subBits - 2) << (subBits - 2)
			lo, hi = m<<shift, (m+1<<(subBits-2))<<shift-1
		}
		loMs, hiMs := float64(lo)/1000, float64(hi+1)/1000
		if n := len(out); n > 0 && out[n-1].LoMs == loMs {
			out[n-1].Count += c
			continue
		}
		out = append(out, histBin{LoMs: loMs, HiMs: hiMs, Count: c})
	}
	return out
}
