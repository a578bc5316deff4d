// Package metrics records what the handlers did, one Record per invocation.
// In Lambda a Record is written as one CloudWatch Embedded Metric Format
// (EMF) line on stdout, which CloudWatch turns into metrics without any API
// call; locally Counters keeps running totals and serves them as text on
// /metrics.
package metrics

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// Names of the counts a Record carries.
const (
	Sent      = "Sent"      // sendmessage frames accepted for delivery
	Delivered = "Delivered" // posts that reached a live connection
	Queued    = "Queued"    // messages written to a mailbox
	Gone      = "Gone"      // stale connections found by a 410 and deleted
	Rejected  = "Rejected"  // refused frames; RejectedCode says why
)

// Record is what one invocation did.
type Record struct {
	Route        string
	Counts       map[string]int
	RejectedCode string // the error code when Counts[Rejected] > 0
	Latency      time.Duration
}

// Add increments a count.
func (r *Record) Add(name string, n int) {
	if r.Counts == nil {
		r.Counts = make(map[string]int)
	}
	r.Counts[name] += n
}

// Reject counts a refusal with its code.
func (r *Record) Reject(code string) {
	r.Add(Rejected, 1)
	r.RejectedCode = code
}

// Sink receives Records.
type Sink interface {
	Emit(Record)
}

// EMF writes each Record as one Embedded Metric Format line.
type EMF struct {
	W         io.Writer        // where lines go; os.Stdout in Lambda
	Namespace string           // CloudWatch namespace; default "ServerlessWebsockets"
	Now       func() time.Time // default time.Now

	mu sync.Mutex
}

var _ Sink = (*EMF)(nil)

type emfMetric struct {
	Name string `json:"Name"`
	Unit string `json:"Unit"`
}

// Emit writes r. Counts are in the dimension set [Route]; a rejection also
// appears as RejectedByCode in [Route, Code]. Write errors are dropped:
// metrics must never fail a request.
func (e *EMF) Emit(r Record) {
	ns := cmp.Or(e.Namespace, "ServerlessWebsockets")
	now := time.Now
	if e.Now != nil {
		now = e.Now
	}
	doc := map[string]any{"Route": r.Route}
	var routeMetrics []emfMetric
	for _, name := range slices.Sorted(maps.Keys(r.Counts)) {
		doc[name] = r.Counts[name]
		routeMetrics = append(routeMetrics, emfMetric{Name: name, Unit: "Count"})
	}
	doc["LatencyMs"] = float64(r.Latency.Microseconds()) / 1000
	routeMetrics = append(routeMetrics, emfMetric{Name: "LatencyMs", Unit: "Milliseconds"})
	directives := []map[string]any{{
		"Namespace":  ns,
		"Dimensions": [][]string{{"Route"}},
		"Metrics":    routeMetrics,
	}}
	if r.RejectedCode != "" {
		doc["Code"] = r.RejectedCode
		doc["RejectedByCode"] = r.Counts[Rejected]
		directives = append(directives, map[string]any{
			"Namespace":  ns,
			"Dimensions": [][]string{{"Route", "Code"}},
			"Metrics":    []emfMetric{{Name: "RejectedByCode", Unit: "Count"}},
		})
	}
	doc["_aws"] = map[string]any{"Timestamp": now().UnixMilli(), "CloudWatchMetrics": directives}
	line, err := json.Marshal(doc)
	if err != nil {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	_, _ = e.W.Write(append(line, '\n'))
}

// Counters keeps running totals in memory, for the local stack.
type Counters struct {
	mu       sync.Mutex
	counts   map[string]int64 // "route name" -> total
	rejected map[string]int64 // code -> total
	latency  map[string]*latency
}

type latency struct {
	n     int64
	total time.Duration
}

var _ Sink = (*Counters)(nil)

// NewCounters returns empty Counters.
func NewCounters() *Counters {
	return &Counters{counts: map[string]int64{}, rejected: map[string]int64{}, latency: map[string]*latency{}}
}

// Emit adds r to the totals.
func (c *Counters) Emit(r Record) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for name, n := range r.Counts {
		c.counts[name] += int64(n)
	}
	if r.RejectedCode != "" {
		c.rejected[r.RejectedCode] += int64(r.Counts[Rejected])
	}
	l := c.latency[r.Route]
	if l == nil {
		l = &latency{}
		c.latency[r.Route] = l
	}
	l.n++
	l.total += r.Latency
}

// Count returns the total of one count.
func (c *Counters) Count(name string) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.counts[name]
}

// RejectedCount returns how many frames were refused with code.
func (c *Counters) RejectedCount(code string) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rejected[code]
}

// Invocations returns how many invocations of route were recorded.
func (c *Counters) Invocations(route string) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if l := c.latency[route]; l != nil {
		return l.n
	}
	return 0
}

// ServeHTTP writes the totals as text, one "name value" line each, sorted.
func (c *Counters) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	c.mu.Lock()
	var lines []string
	for name, n := range c.counts {
		lines = append(lines, fmt.Sprintf("messages_%s_total %d", strings.ToLower(name), n))
	}
	for code, n := range c.rejected {
		lines = append(lines, fmt.Sprintf("messages_rejected_total{code=%q} %d", code, n))
	}
	for route, l := range c.latency {
		lines = append(lines,
			fmt.Sprintf("handler_invocations_total{route=%q} %d", route, l.n),
			fmt.Sprintf("handler_latency_ms_sum{route=%q} %.3f", route, float64(l.total.Microseconds())/1000))
	}
	c.mu.Unlock()
	slices.Sort(lines)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.WriteString(w, strings.Join(lines, "\n")+"\n")
}
