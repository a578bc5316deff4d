package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/serverless-websockets/serverless-websockets/internal/localstack"
)

// runJSON runs the load generator with -json and returns its report.
func runJSON(t *testing.T, args ...string) Report {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	if err := run(ctx, append(args, "-json"), &stdout, &stderr); err != nil {
		t.Fatalf("run %v: %v\nstderr:\n%s\nstdout:\n%s", args, err, stderr.String(), stdout.String())
	}
	var rep Report
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("decode report: %v\n%s", err, stdout.String())
	}
	return rep
}

// checkSend asserts what every run must show: all planned messages acked,
// every delivered one read exactly once, no errors, DynamoDB requests
// counted and latencies measured.
func checkSend(t *testing.T, rep Report, online, messages int) {
	t.Helper()
	s := rep.Send
	want := online * messages
	if s.Messages != want || s.Sent != want || s.Acked != want || s.Delivered+s.Queued != want {
		t.Errorf("messages %d, acked %d, delivered %d + queued %d; want %d acked", s.Messages, s.Acked, s.Delivered, s.Queued, want)
	}
	if s.Received != s.Delivered || s.Missing != 0 || s.Duplicates != 0 {
		t.Errorf("received %d of %d delivered (missing %d, duplicates %d)", s.Received, s.Delivered, s.Missing, s.Duplicates)
	}
	if len(s.Errors) != 0 {
		t.Errorf("errors %v, want none", s.Errors)
	}
	if s.Frames != want+s.RateLimited {
		t.Errorf("frames %d, want %d messages + %d rate_limited retries", s.Frames, want, s.RateLimited)
	}
	if s.AckLatency.Count != want || s.AckLatency.P50 <= 0 || s.AckLatency.Max < s.AckLatency.P99 {
		t.Errorf("ack latency %+v, want %d samples, positive and ordered", s.AckLatency, want)
	}
	if s.DeliveryLatency.Count != s.Received || (s.Received > 0 && s.DeliveryLatency.P50 <= 0) {
		t.Errorf("delivery latency %+v, want %d positive samples", s.DeliveryLatency, s.Received)
	}
	if !s.DynamoDB.Reported || s.DynamoDB.Requests <= 0 || s.DynamoDB.PerUnit <= 0 || len(s.DynamoDB.ByOperation) == 0 {
		t.Errorf("send dynamodb %+v, want requests counted", s.DynamoDB)
	}
	if s.Throughput <= 0 {
		t.Errorf("throughput %v, want > 0", s.Throughput)
	}
	c := rep.Connect
	if c.Connected != online || c.Upgrade.Count != online || c.Upgrade.P50 <= 0 || c.DynamoDB.Requests <= 0 {
		t.Errorf("connect %+v, want %d players connected with upgrade times and DynamoDB requests", c, online)
	}
	if rep.TimedOut {
		t.Error("the run timed out")
	}
}

func TestEmbedded(t *testing.T) {
	tests := []struct {
		name             string
		args             []string
		players, online  int
		messages         int
		wantRateLimiting bool
	}{
		{name: "all online, limits off", args: []string{"-players", "4", "-messages", "5"}, players: 4, online: 4, messages: 5},
		{name: "two in flight per player", args: []string{"-players", "3", "-messages", "6", "-concurrency", "2"}, players: 3, online: 3, messages: 6},
		{name: "half offline", args: []string{"-players", "4", "-messages", "20", "-offline-fraction", "0.5"}, players: 4, online: 2, messages: 20},
		{name: "default limits, retried", args: []string{"-players", "2", "-messages", "25", "-limits=default"}, players: 2, online: 2, messages: 25, wantRateLimiting: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := runJSON(t, tt.args...)
			if rep.Mode != "embedded" || rep.Players != tt.players || rep.Online != tt.online {
				t.Errorf("mode %q, players %d, online %d; want embedded, %d, %d", rep.Mode, rep.Players, rep.Online, tt.players, tt.online)
			}
			checkSend(t, rep, tt.online, tt.messages)
			if rep.Send.CPU.Measured && (rep.Send.CPU.Source != "process" || rep.Send.CPU.MicrosPerMessage <= 0) {
				t.Errorf("cpu %+v, want process CPU per message", rep.Send.CPU)
			}
			if tt.wantRateLimiting && rep.Limits != limitsDefault {
				t.Errorf("limits %q, want %q", rep.Limits, limitsDefault)
			}
			if !tt.wantRateLimiting && rep.Send.RateLimited != 0 {
				t.Errorf("%d rate_limited with limits off", rep.Send.RateLimited)
			}

			if tt.online < tt.players {
				in := rep.Inbox
				if in == nil {
					t.Fatal("no inbox report with offline players")
				}
				// 40 messages to 3 random others, 2 of them offline: some are queued.
				if rep.Send.Queued == 0 || in.Queued != rep.Send.Queued || in.Drained != in.Queued || len(in.Errors) != 0 {
					t.Errorf("inbox %+v after %d queued, want all drained without errors", in, rep.Send.Queued)
				}
				if in.DynamoDB.Requests <= 0 {
					t.Errorf("inbox dynamodb %+v, want requests counted", in.DynamoDB)
				}
			} else if rep.Inbox != nil || rep.Send.Queued != 0 {
				t.Errorf("inbox %+v, queued %d with every player online", rep.Inbox, rep.Send.Queued)
			}

			d := rep.Disconnect
			if d.Closed != tt.players || d.Disconnects != tt.players || d.DynamoDB.Requests <= 0 {
				t.Errorf("disconnect %+v, want %d closed and %d $disconnect runs", d, tt.players, tt.players)
			}
		})
	}
}

func TestStopsAtTimeout(t *testing.T) {
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"-players", "3", "-messages", "2", "-timeout", "1ns", "-json"}, &stdout, &stderr)
	if err == nil {
		t.Fatal("a run past its -timeout reported success")
	}
	var rep Report
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("decode report: %v\n%s", err, stdout.String())
	}
	if !rep.TimedOut || rep.Send.Acked != 0 {
		t.Errorf("timedOut %v, acked %d; want a timed-out run with nothing sent", rep.TimedOut, rep.Send.Acked)
	}
}

func TestURLMode(t *testing.T) {
	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String()
	stack, err := localstack.New(context.Background(), localstack.Options{BaseURL: base})
	if err != nil {
		t.Fatalf("start stack: %v", err)
	}
	srv.Config.Handler = stack.Handler
	srv.Start()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = stack.Shutdown(ctx)
		srv.Close()
	})

	before := stack.DynamoDB.Total()
	rep := runJSON(t, "-url", base, "-players", "3", "-messages", "4")
	if rep.Mode != "url" || rep.Target != base || rep.Limits != "stack" {
		t.Errorf("mode %q, target %q, limits %q; want url, %s, stack", rep.Mode, rep.Target, rep.Limits, base)
	}
	checkSend(t, rep, 3, 4)
	if rep.Send.CPU.Measured && rep.Send.CPU.Source != "client" {
		t.Errorf("cpu source %q, want client", rep.Send.CPU.Source)
	}
	// The scraped counts are the stack's own.
	spent := stack.DynamoDB.Total() - before
	scraped := rep.Connect.DynamoDB.Requests + rep.Send.DynamoDB.Requests + rep.Disconnect.DynamoDB.Requests
	if scraped != spent {
		t.Errorf("scraped %d DynamoDB requests, the stack counted %d", scraped, spent)
	}
	if rep.Disconnect.Disconnects != 3 {
		t.Errorf("%d $disconnect runs seen, want 3", rep.Disconnect.Disconnects)
	}
}

func TestTextReport(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	if err := run(ctx, []string{"-players", "2", "-messages", "3"}, &stdout, &stderr); err != nil {
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}
	for _, want := range []string{
		"connect: 2 players in ",
		"messages: 6 sent, 6 acked (delivered 6, queued 0), 0 errors\n",
		"received: 6 by online recipients (0 missing, 0 duplicates)\n",
		"ack latency: p50 ",
		"delivery latency: p50 ",
		"dynamodb: ",
		"disconnect: 2 closed, 2 $disconnect runs",
	} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, stdout.String())
		}
	}
}

func TestLoopbackOnly(t *testing.T) {
	tests := []struct {
		url string
		ok  bool
	}{
		{"http://127.0.0.1:8080", true},
		{"http://127.1.2.3:9000/", true},
		{"http://localhost:8080", true},
		{"http://LOCALHOST", true},
		{"http://[::1]:8080", true},
		{"https://127.0.0.1:8443", true},
		{"http://10.0.0.1:8080", false},
		{"http://192.168.1.10", false},
		{"http://example.com", false},
		{"http://localhost.example.com", false},
		{"http://127.0.0.1.nip.io", false},
		{"http://[::2]:8080", false},
		{"http://0.0.0.0:8080", false},
		{"ws://127.0.0.1:8080", false},
		{"127.0.0.1:8080", false},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			err := checkLoopbackURL(tt.url)
			if (err == nil) != tt.ok {
				t.Fatalf("checkLoopbackURL(%q) = %v, want ok %v", tt.url, err, tt.ok)
			}
			if tt.ok {
				return
			}
			// run refuses it before any connection is made.
			var stdout, stderr bytes.Buffer
			if err := run(context.Background(), []string{"-url", tt.url, "-players", "2", "-messages", "1"}, &stdout, &stderr); err == nil {
				t.Errorf("run accepted -url %q", tt.url)
			}
			if stdout.Len() != 0 {
				t.Errorf("run wrote a report for a refused URL:\n%s", stdout.String())
			}
		})
	}
}

func TestFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		ok   bool
	}{
		{"defaults", nil, true},
		{"all set", []string{"-players", "10", "-messages", "3", "-concurrency", "4", "-rate", "20", "-offline-fraction", "0.3", "-limits=default", "-env", "MAILBOX_MAX_MESSAGES=500"}, true},
		{"one player", []string{"-players", "1"}, false},
		{"no messages", []string{"-messages", "0"}, false},
		{"zero concurrency", []string{"-concurrency", "0"}, false},
		{"negative rate", []string{"-rate", "-1"}, false},
		{"unknown limits", []string{"-limits", "half"}, false},
		{"everyone offline", []string{"-offline-fraction", "1"}, false},
		{"one of two offline", []string{"-players", "2", "-offline-fraction", "0.99"}, true}, // floor(1.98) = 1 offline, 1 online
		{"limits with url", []string{"-url", "http://127.0.0.1:8080", "-limits", "off"}, false},
		{"env with url", []string{"-url", "http://127.0.0.1:8080", "-env", "A=1"}, false},
		{"url and embedded", []string{"-url", "http://127.0.0.1:8080", "-embedded"}, false},
		{"bad env", []string{"-env", "NOEQUALS"}, false},
		{"loopback dynamodb", []string{"-dynamodb-endpoint", "http://127.0.0.1:8000"}, true},
		{"remote dynamodb", []string{"-dynamodb-endpoint", "https://dynamodb.us-east-1.amazonaws.com"}, false},
		{"dynamodb with url", []string{"-url", "http://127.0.0.1:8080", "-dynamodb-endpoint", "http://127.0.0.1:8000"}, false},
		{"zero timeout", []string{"-timeout", "0s"}, false},
		{"stray argument", []string{"extra"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := parseFlags(tt.args, &bytes.Buffer{})
			if (err == nil) != tt.ok {
				t.Fatalf("parseFlags(%q) = %v, want ok %v", tt.args, err, tt.ok)
			}
			if tt.ok && o.url == "" && !o.embedded {
				t.Error("without -url the stack must be embedded")
			}
		})
	}
}

func TestParseMetrics(t *testing.T) {
	text := `handler_invocations_total{route="$connect"} 7
handler_invocations_total{route="$disconnect"} 5
handler_latency_ms_sum{route="$disconnect"} 1.500
messages_sent_total 12
dynamodb_requests_total{op="Query"} 30
dynamodb_requests_total{op="PutItem"} 8
garbage line without value
dynamodb_requests_total{op="GetItem"} notanumber
`
	c, err := parseMetrics(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	if !c.reported || c.disconnects != 5 || len(c.dynamo) != 2 || c.dynamo["Query"] != 30 || c.dynamo["PutItem"] != 8 {
		t.Errorf("parsed %+v", c)
	}
	none, err := parseMetrics(strings.NewReader("messages_sent_total 1\n"))
	if err != nil || none.reported {
		t.Errorf("a stack without DynamoDB counts parsed as %+v, %v", none, err)
	}
}

func TestSummarize(t *testing.T) {
	ms := func(n ...int) []time.Duration {
		var out []time.Duration
		for _, v := range n {
			out = append(out, time.Duration(v)*time.Millisecond)
		}
		return out
	}
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = 100 - i // 100..1, unsorted
	}
	tests := []struct {
		name string
		in   []time.Duration
		want Latency
	}{
		{"empty", nil, Latency{}},
		{"one", ms(7), Latency{Count: 1, P50: 7, P90: 7, P99: 7, Max: 7}},
		{"hundred", ms(hundred...), Latency{Count: 100, P50: 50, P90: 90, P99: 99, Max: 100}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := summarize(tt.in); got != tt.want {
				t.Errorf("summarize = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestCost(t *testing.T) {
	before := counters{dynamo: map[string]int64{"Query": 10, "PutItem": 4}, reported: true}
	after := counters{dynamo: map[string]int64{"Query": 30, "PutItem": 4, "UpdateItem": 10}, reported: true}
	c := cost(before, after, 10)
	want := map[string]float64{"Query": 2, "UpdateItem": 1}
	if c.Requests != 30 || c.PerUnit != 3 || len(c.ByOperation) != len(want) {
		t.Fatalf("cost = %+v", c)
	}
	for op, v := range want {
		if c.ByOperation[op] != v {
			t.Errorf("%s: %v per unit, want %v", op, c.ByOperation[op], v)
		}
	}
}
