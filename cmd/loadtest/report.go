package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strings"
	"time"
)

// Report is what a run measured; -json writes it as is.
type Report struct {
	Mode              string  `json:"mode"`             // "embedded" or "url"
	Target            string  `json:"target"`           // the stack's base URL
	Limits            string  `json:"limits"`           // "off", "default" (embedded) or "stack" (-url: the stack's own)
	Engine            string  `json:"engine,omitempty"` // embedded: "embedded minidyn" or the -dynamodb-endpoint
	Players           int     `json:"players"`
	Online            int     `json:"online"` // players connected during the send phase
	MessagesPerPlayer int     `json:"messagesPerPlayer"`
	Concurrency       int     `json:"concurrency"`
	Rate              float64 `json:"rate"` // messages/s per player; 0 is unpaced
	Retry             bool    `json:"retry"`
	Timeout           string  `json:"timeout"`

	Connect     ConnectReport    `json:"connect"`
	Send        SendReport       `json:"send"`
	Inbox       *InboxReport     `json:"inbox,omitempty"` // with -offline-fraction only
	Disconnect  DisconnectReport `json:"disconnect"`
	TimedOut    bool             `json:"timedOut"`    // stopped by -timeout: the figures are partial
	Interrupted bool             `json:"interrupted"` // stopped by a signal: the figures are partial
}

// ConnectReport is the connect phase of the online players.
type ConnectReport struct {
	Players   int            `json:"players"`
	Connected int            `json:"connected"`
	Seconds   float64        `json:"seconds"`   // wall time of the dials (tokens fetched before)
	PerSecond float64        `json:"perSecond"` // connections per second
	Upgrade   Latency        `json:"upgrade"`   // dial to upgraded: authorizer and $connect included
	Errors    map[string]int `json:"errors"`    // status_<HTTP status> or dial_error
	DynamoDB  Cost           `json:"dynamodb"`  // per connection
}

// SendReport is the send phase.
type SendReport struct {
	Messages           int            `json:"messages"`    // planned: online players x messages
	Sent               int            `json:"sent"`        // messages whose first frame was written
	Frames             int            `json:"frames"`      // sendmessage frames written, retries included
	Acked              int            `json:"acked"`       // acks received
	Delivered          int            `json:"delivered"`   // acks with status delivered
	Queued             int            `json:"queued"`      // acks with status queued
	RateLimited        int            `json:"rateLimited"` // rate_limited refusals (retried unless -retry=false)
	Errors             map[string]int `json:"errors"`      // error codes of refused messages, and client-side failures
	Received           int            `json:"received"`    // messages read by their recipients
	Missing            int            `json:"missing"`     // acked as delivered but never read
	Duplicates         int            `json:"duplicates"`
	AckLatency         Latency        `json:"ackLatency"`
	DeliveryLatency    Latency        `json:"deliveryLatency"`
	Seconds            float64        `json:"seconds"`            // first send to last ack or delivery
	Throughput         float64        `json:"throughput"`         // acked messages per second
	DeliveredPerSecond float64        `json:"deliveredPerSecond"` // received messages per second
	DynamoDB           Cost           `json:"dynamodb"`           // per acked message
	CPU                CPU            `json:"cpu"`
}

// InboxReport is the drain of the offline players' mailboxes.
type InboxReport struct {
	Players  int            `json:"players"`
	Queued   int            `json:"queued"`   // messages queued for them in the send phase
	Drained  int            `json:"drained"`  // messages they read from their inbox
	Requests int            `json:"requests"` // inbox frames sent
	Seconds  float64        `json:"seconds"`
	Errors   map[string]int `json:"errors"`
	DynamoDB Cost           `json:"dynamodb"` // per drained message
}

// DisconnectReport is the closing of every client.
type DisconnectReport struct {
	Closed      int     `json:"closed"`      // clients closed
	Disconnects int     `json:"disconnects"` // $disconnect runs the stack counted
	Seconds     float64 `json:"seconds"`
	DynamoDB    Cost    `json:"dynamodb"` // per $disconnect
}

// Latency summarizes durations, in milliseconds (nearest-rank percentiles).
type Latency struct {
	Count int     `json:"count"`
	P50   float64 `json:"p50Ms"`
	P90   float64 `json:"p90Ms"`
	P99   float64 `json:"p99Ms"`
	Max   float64 `json:"maxMs"`
}

// Cost is the DynamoDB requests of a phase, in total and per unit of work.
type Cost struct {
	Reported    bool               `json:"reported"` // false when the stack does not count them
	Requests    int64              `json:"requests"`
	PerUnit     float64            `json:"perUnit"`
	ByOperation map[string]float64 `json:"byOperation"` // requests per unit
}

// CPU is the CPU time used during the send phase.
type CPU struct {
	// Source is "process" (embedded: the stack and the load generator
	// together) or "client" (-url: the load generator alone).
	Source           string  `json:"source"`
	Measured         bool    `json:"measured"`
	TotalMs          float64 `json:"totalMs"`
	MicrosPerMessage float64 `json:"microsPerMessage"` // per acked message
}

func summarize(ds []time.Duration) Latency {
	if len(ds) == 0 {
		return Latency{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	rank := func(p float64) float64 {
		i := int(math.Ceil(p*float64(len(s)))) - 1
		return ms(s[max(0, min(i, len(s)-1))])
	}
	return Latency{Count: len(s), P50: rank(0.50), P90: rank(0.90), P99: rank(0.99), Max: ms(s[len(s)-1])}
}

func ms(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e6 }

// cost is the DynamoDB requests between two snapshots, per unit of work.
func cost(before, after counters, units int) Cost {
	c := Cost{Reported: after.reported, ByOperation: map[string]float64{}}
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

func (r *Report) writeJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

func (r *Report) writeText(w io.Writer) {
	limits := "limits " + r.Limits
	if r.Limits == "stack" {
		limits = "the stack's own limits"
	}
	pace := "unpaced"
	if r.Rate > 0 {
		pace = fmt.Sprintf("%g msg/s each", r.Rate)
	}
	if r.Engine != "" {
		limits += ", DynamoDB " + r.Engine
	}
	fmt.Fprintf(w, "loadtest: %s stack at %s (%s), %d players (%d online), %d messages each, concurrency %d, %s\n",
		r.Mode, r.Target, limits, r.Players, r.Online, r.MessagesPerPlayer, r.Concurrency, pace)

	c := r.Connect
	fmt.Fprintf(w, "connect: %d players in %.2f s (%.0f connects/s), upgrade p50 %s p99 %s max %s%s\n",
		c.Connected, c.Seconds, c.PerSecond, fmtMs(c.Upgrade.P50), fmtMs(c.Upgrade.P99), fmtMs(c.Upgrade.Max), fmtErrors(c.Errors))
	fmt.Fprintf(w, "connect dynamodb: %s\n", c.DynamoDB.text("connect"))

	s := r.Send
	retried := ""
	if s.RateLimited > 0 {
		verb := "retried"
		if !r.Retry {
			verb = "not retried"
		}
		retried = fmt.Sprintf(" (%d frames: %d rate_limited, %s)", s.Frames, s.RateLimited, verb)
	}
	planned := ""
	if s.Sent < s.Messages {
		planned = fmt.Sprintf(" of %d planned", s.Messages)
	}
	fmt.Fprintf(w, "messages: %d sent%s%s, %d acked (delivered %d, queued %d), %d errors%s\n",
		s.Sent, planned, retried, s.Acked, s.Delivered, s.Queued, total(s.Errors), fmtErrors(s.Errors))
	fmt.Fprintf(w, "received: %d by online recipients (%d missing, %d duplicates)\n", s.Received, s.Missing, s.Duplicates)
	fmt.Fprintf(w, "ack latency: p50 %s p90 %s p99 %s max %s\n",
		fmtMs(s.AckLatency.P50), fmtMs(s.AckLatency.P90), fmtMs(s.AckLatency.P99), fmtMs(s.AckLatency.Max))
	fmt.Fprintf(w, "delivery latency: p50 %s p90 %s p99 %s max %s\n",
		fmtMs(s.DeliveryLatency.P50), fmtMs(s.DeliveryLatency.P90), fmtMs(s.DeliveryLatency.P99), fmtMs(s.DeliveryLatency.Max))
	fmt.Fprintf(w, "throughput: %.0f msg/s acked, %.0f msg/s delivered (%.2f s)\n", s.Throughput, s.DeliveredPerSecond, s.Seconds)
	fmt.Fprintf(w, "dynamodb: %s\n", s.DynamoDB.text("message"))
	switch {
	case !s.CPU.Measured:
		fmt.Fprintf(w, "cpu: not measured on this platform\n")
	case s.CPU.Source == "process":
		fmt.Fprintf(w, "cpu: %.0f µs/message (process: stack and load generator together; %.0f ms in all)\n", s.CPU.MicrosPerMessage, s.CPU.TotalMs)
	default:
		fmt.Fprintf(w, "cpu: %.0f µs/message (load generator only; %.0f ms in all)\n", s.CPU.MicrosPerMessage, s.CPU.TotalMs)
	}

	if in := r.Inbox; in != nil {
		fmt.Fprintf(w, "inbox: %d offline players drained %d of %d queued messages with %d inbox requests in %.2f s%s\n",
			in.Players, in.Drained, in.Queued, in.Requests, in.Seconds, fmtErrors(in.Errors))
		fmt.Fprintf(w, "inbox dynamodb: %s\n", in.DynamoDB.text("drained message"))
	}
	d := r.Disconnect
	fmt.Fprintf(w, "disconnect: %d closed, %d $disconnect runs seen in %.2f s; dynamodb: %s\n",
		d.Closed, d.Disconnects, d.Seconds, d.DynamoDB.text("disconnect"))
	if r.TimedOut {
		fmt.Fprintf(w, "timed out after %s: the figures above are partial\n", r.Timeout)
	}
	if r.Interrupted {
		fmt.Fprintf(w, "interrupted: the figures above are partial\n")
	}
}

func (c Cost) text(unit string) string {
	if !c.Reported {
		return "not reported by the stack"
	}
	ops := make([]string, 0, len(c.ByOperation))
	for op := range c.ByOperation {
		ops = append(ops, op)
	}
	sort.Slice(ops, func(i, j int) bool {
		if c.ByOperation[ops[i]] != c.ByOperation[ops[j]] {
			return c.ByOperation[ops[i]] > c.ByOperation[ops[j]]
		}
		return ops[i] < ops[j]
	})
	parts := make([]string, len(ops))
	for i, op := range ops {
		parts[i] = fmt.Sprintf("%s %.2f", op, c.ByOperation[op])
	}
	detail := ""
	if len(parts) > 0 {
		detail = " (" + strings.Join(parts, ", ") + ")"
	}
	return fmt.Sprintf("%.2f requests/%s%s, %d in all", c.PerUnit, unit, detail, c.Requests)
}

func fmtMs(v float64) string {
	if v < 10 {
		return fmt.Sprintf("%.2f ms", v)
	}
	return fmt.Sprintf("%.1f ms", v)
}

func fmtErrors(m map[string]int) string {
	if len(m) == 0 {
		return ""
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return " [" + strings.Join(parts, ", ") + "]"
}

func total(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}
