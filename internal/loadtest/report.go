package loadtest

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"
)

// report is what a run measured; -json writes it as is.
type report struct {
	Settings runSettings    `json:"settings"`
	Steps    []stepReport   `json:"steps"`
	Check    messageCheck   `json:"check"`
	Rates    rates          `json:"rates"`
	DynamoDB []phaseCost    `json:"dynamodb"` // by phase, per unit of its work
	CPU      cpuUse         `json:"cpu"`
	Series   []point        `json:"series"` // one point per second of the run
	Estimate *usageEstimate `json:"estimate,omitempty"`

	TimedOut    bool `json:"timedOut"`    // stopped by -timeout: the figures are partial
	Interrupted bool `json:"interrupted"` // stopped by a signal: the figures are partial
}

// runSettings are the run's parameters.
type runSettings struct {
	Scenario        string    `json:"scenario"`
	Mode            string    `json:"mode"`       // "embedded", "url" (a running local stack) or "deployed"
	Target          string    `json:"target"`     // the stack's address
	Identities      string    `json:"identities"` // "dev tokens" or "cognito"
	Limits          string    `json:"limits"`     // "off", "default" (embedded) or "stack" (the stack's own)
	Engine          string    `json:"engine,omitempty"`
	Players         int       `json:"players"`
	Senders         int       `json:"senders"`
	Loop            string    `json:"loop"`               // "open" (scheduled sends) or "closed" (each send waits for its reply)
	Rate            float64   `json:"rate"`               // per sender per second, open loop
	OfferedRate     float64   `json:"offeredRate"`        // in all per second, open loop
	Messages        int       `json:"messages,omitempty"` // per sender, when the run is counted
	Duration        string    `json:"duration,omitempty"` // when the run is timed
	Ramp            string    `json:"ramp,omitempty"`     // rate (open) or senders (closed) rising over this
	Size            int       `json:"size"`               // message body bytes
	Concurrency     int       `json:"concurrency"`        // closed loop: messages in flight per sender
	OfflineFraction float64   `json:"offlineFraction"`    // mixed
	Churn           float64   `json:"churn"`              // mixed: reconnects per second
	Started         time.Time `json:"started"`
}

// stepReport is one measured step.
type stepReport struct {
	Name      string           `json:"name"`
	Count     int64            `json:"count"` // attempts
	OK        int64            `json:"ok"`
	Errors    map[string]int64 `json:"errors"` // by code: the protocol's, status_<HTTP> at upgrade, and client-side kinds
	ErrorRate float64          `json:"errorRate"`
	Latency   latency          `json:"latency"` // of the successes
	Bins      []histBin        `json:"bins"`
}

// rates are the run phase's throughput.
type rates struct {
	Seconds  float64 `json:"seconds"`  // the run phase: first send to the last ack or read (connect: to the last cycle)
	Offered  float64 `json:"offered"`  // messages (connect: connects) per second scheduled, open loop
	Acked    float64 `json:"acked"`    // acks per second
	Received float64 `json:"received"` // messages read by their recipients per second (fanin: the recipient's rate)
	Connects float64 `json:"connects"` // connects per second
}

// phaseCost is the DynamoDB requests of a phase.
type phaseCost struct {
	Phase string `json:"phase"`
	Unit  string `json:"unit"`
	Units int64  `json:"units"`
	dynamoCost
}

// dynamoCost is the DynamoDB requests of a phase, in total and per unit of work.
type dynamoCost struct {
	Reported    bool               `json:"reported"` // false when the stack does not count them
	Requests    int64              `json:"requests"`
	PerUnit     float64            `json:"perUnit"`
	ByOperation map[string]float64 `json:"byOperation"` // requests per unit
}

// cpuUse is this process's CPU time during the run phase: with an embedded
// stack, the stack and the clients together; otherwise the clients alone.
type cpuUse struct {
	Measured         bool    `json:"measured"`
	TotalMs          float64 `json:"totalMs"`
	MicrosPerMessage float64 `json:"microsPerMessage"` // per ack
}

// point is one second of the run.
type point struct {
	Second   int     `json:"second"`
	Sent     int64   `json:"sent"`
	Acked    int64   `json:"acked"`
	Errors   int64   `json:"errors"`
	Connects int64   `json:"connects"`
	AckP50   float64 `json:"ackP50Ms"`
	AckP99   float64 `json:"ackP99Ms"`
}

// cost is the DynamoDB requests between two snapshots, per unit of work.
func cost(before, after counters, units int64) dynamoCost {
	c := dynamoCost{Reported: after.reported, ByOperation: map[string]float64{}}
	for op, n := range after.dynamo {
		d := n - before.dynamo[op]
		if d <= 0 {
			continue
		}
		c.Requests += d
		if units > 0 {
			c.ByOperation[op] = float64(d) / float64(units)
		}
	}
	if units > 0 {
		c.PerUnit = float64(c.Requests) / float64(units)
	}
	return c
}

// settings describes the run before it starts.
func (l *load) settings() runSettings {
	o := l.o
	s := runSettings{
		Scenario: o.scenario, Mode: l.t.mode, Target: l.t.display, Identities: l.t.identities.kind(),
		Limits: l.t.limits, Engine: l.t.engine, Players: o.players, Loop: "closed",
		Size: o.size, Concurrency: o.concurrency, Started: time.Now().UTC().Truncate(time.Second),
	}
	s.Senders = o.senders()
	if o.scenario == scenarioMixed {
		s.OfflineFraction, s.Churn = o.offlineFraction, o.churn
	}
	if r := o.perSenderRate(); r > 0 {
		s.Loop, s.Rate = "open", r
		s.OfferedRate = r * float64(s.Senders*o.perSlot())
	}
	if o.duration > 0 {
		s.Duration = o.duration.String()
	} else {
		s.Messages = o.messages
	}
	if o.ramp > 0 {
		s.Ramp = o.ramp.String()
	}
	return s
}

// finish turns the recorder into the report.
func (l *load) finish() {
	r := l.rep
	r.Check = l.rec.finish()
	l.rec.mu.Lock()
	defer l.rec.mu.Unlock()
	for _, name := range stepOrder {
		s := l.rec.steps[name]
		if s.attempts == 0 && len(s.errors) == 0 {
			continue
		}
		st := stepReport{Name: name, Count: s.attempts, OK: s.h.n, Errors: maps.Clone(s.errors), Latency: s.h.summary(), Bins: s.h.bins()}
		if st.Count > 0 {
			st.ErrorRate = float64(sum(st.Errors)) / float64(st.Count)
		}
		r.Steps = append(r.Steps, st)
	}
	for i, s := range l.rec.series {
		r.Series = append(r.Series, point{
			Second: i, Sent: s.sent, Acked: s.acked, Errors: s.errors, Connects: s.connects,
			AckP50: float64(s.ack.quantile(0.5)) / 1000, AckP99: float64(s.ack.quantile(0.99)) / 1000,
		})
	}
	if secs := r.Rates.Seconds; secs > 0 {
		r.Rates.Offered = r.Settings.OfferedRate
		r.Rates.Acked = float64(r.Check.Acked) / secs
		r.Rates.Received = float64(r.Check.Read) / secs
		r.Rates.Connects = float64(l.rec.steps[stepConnect].h.n) / secs
	}
	if r.CPU.Measured && r.Check.Acked > 0 {
		r.CPU.MicrosPerMessage = r.CPU.TotalMs * 1000 / float64(r.Check.Acked)
	}
}

func (r *report) writeJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

// describe is the settings in one line.
func (s runSettings) describe() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s stack at %s (%s", s.Scenario, s.Mode, s.Target, s.Identities)
	switch s.Limits {
	case "stack":
		b.WriteString(", the stack's own limits")
	default:
		fmt.Fprintf(&b, ", limits %s", s.Limits)
	}
	if s.Engine != "" {
		fmt.Fprintf(&b, ", DynamoDB %s", s.Engine)
	}
	fmt.Fprintf(&b, "), %d players, %d senders, ", s.Players, s.Senders)
	if s.Loop == "open" {
		fmt.Fprintf(&b, "open loop at %.4g/s each (%.4g/s offered)", s.Rate, s.OfferedRate)
	} else {
		fmt.Fprintf(&b, "closed loop, %d in flight each", s.Concurrency)
	}
	if s.Duration != "" {
		fmt.Fprintf(&b, ", for %s", s.Duration)
	} else {
		fmt.Fprintf(&b, ", %d each", s.Messages)
	}
	if s.Ramp != "" {
		fmt.Fprintf(&b, ", ramp %s", s.Ramp)
	}
	if s.Scenario != scenarioConnect {
		fmt.Fprintf(&b, ", %d-byte messages", s.Size)
	}
	if s.Scenario == scenarioMixed {
		fmt.Fprintf(&b, ", %.0f%% offline, churn %.4g/s", s.OfflineFraction*100, s.Churn)
	}
	return b.String()
}

func (r *report) writeText(w io.Writer) {
	fmt.Fprintf(w, "loadtest %s\n\n", r.Settings.describe())
	fmt.Fprintf(w, "%-20s %8s %8s %7s %7s %9s %9s %9s %9s %9s\n", "step", "count", "ok", "errors", "error%", "p50", "p90", "p99", "p99.9", "max")
	for _, s := range r.Steps {
		l := s.Latency
		fmt.Fprintf(w, "%-20s %8d %8d %7d %6.2f%% %9s %9s %9s %9s %9s\n", s.Name, s.Count, s.OK, sum(s.Errors), s.ErrorRate*100,
			fmtMs(l.P50), fmtMs(l.P90), fmtMs(l.P99), fmtMs(l.P999), fmtMs(l.Max))
	}
	for _, s := range r.Steps {
		if len(s.Errors) > 0 {
			fmt.Fprintf(w, "errors, %s: %s\n", s.Name, fmtCounts(s.Errors))
		}
	}
	c := r.Check
	if c.Sent > 0 {
		fmt.Fprintf(w, "\nmessages: %d sent = %d acked + %d errors; delivered %d: %d read, %d closing; queued %d: %d collected; lost %d, duplicates %d\n",
			c.Sent, c.Acked, sum(c.Errors), c.Delivered, c.Read, c.Closing, c.Queued, c.Collected, c.Lost, c.Duplicates)
		if c.RateLimited > 0 {
			fmt.Fprintf(w, "retried: %d rate_limited refusals sent again (%d frames)\n", c.RateLimited, c.Frames)
		}
		if c.Foreign > 0 || c.BadFrames > 0 {
			fmt.Fprintf(w, "also read: %d messages not of this run, %d frames that were not JSON\n", c.Foreign, c.BadFrames)
		}
	}
	rt := r.Rates
	fmt.Fprintf(w, "rates over %.2f s:", rt.Seconds)
	if rt.Offered > 0 {
		fmt.Fprintf(w, " offered %.0f/s,", rt.Offered)
	}
	if r.Settings.Scenario == scenarioConnect {
		fmt.Fprintf(w, " %.0f connects/s\n", rt.Connects)
	} else {
		fmt.Fprintf(w, " acked %.0f msg/s, received %.0f msg/s\n", rt.Acked, rt.Received)
	}
	for _, p := range r.DynamoDB {
		fmt.Fprintf(w, "dynamodb, %s: %s\n", p.Phase, p.dynamoCost.text(p.Unit))
	}
	if r.CPU.Measured && r.CPU.MicrosPerMessage > 0 {
		who := "the load generator"
		if r.Settings.Mode == "embedded" {
			who = "stack and load generator"
		}
		fmt.Fprintf(w, "cpu: %.0f µs per acked message (%s)\n", r.CPU.MicrosPerMessage, who)
	}
	if r.TimedOut {
		fmt.Fprintln(w, "timed out: the figures above are partial")
	}
	if r.Interrupted {
		fmt.Fprintln(w, "interrupted: the figures above are partial")
	}
}

func (c dynamoCost) text(unit string) string {
	if !c.Reported {
		return "not reported by the stack"
	}
	// The most requested operations first.
	ops := slices.SortedFunc(maps.Keys(c.ByOperation), func(a, b string) int {
		return cmp.Or(cmp.Compare(c.ByOperation[b], c.ByOperation[a]), strings.Compare(a, b))
	})
	parts := make([]string, len(ops))
	for i, op := range ops {
		parts[i] = fmt.Sprintf("%s %.2f", op, c.ByOperation[op])
	}
	detail := ""
	if len(parts) > 0 {
		detail = " (" + strings.Join(parts, ", ") + ")"
	}
	return fmt.Sprintf("%.2f requests per %s%s, %d in all", c.PerUnit, unit, detail, c.Requests)
}

func fmtMs(v float64) string {
	switch {
	case v == 0:
		return "-"
	case v < 10:
		return fmt.Sprintf("%.2fms", v)
	case v < 1000:
		return fmt.Sprintf("%.1fms", v)
	}
	return fmt.Sprintf("%.2fs", v/1000)
}

func fmtCounts(m map[string]int64) string {
	keys := slices.Sorted(maps.Keys(m))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}

func sum(m map[string]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}
