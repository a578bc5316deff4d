package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"flag"
	"io"
	"math"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/serverless-websockets/serverless-websockets/internal/local"
)

// parseFlags parses args as cmd/loadtest does: the flags RegisterFlags
// defines, then Validate.
func parseFlags(args []string, stderr io.Writer) (Options, error) {
	var o Options
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o.RegisterFlags(fs)
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	return o, o.Validate(fs)
}

// runArgs runs the load generator with args, within 90 seconds, and returns
// what it wrote to stdout and stderr; progress gets the live line (nil: none).
func runArgs(progress io.Writer, args ...string) (stdout, stderr string, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var out, errOut bytes.Buffer
	o, err := parseFlags(args, &errOut)
	if err == nil {
		err = Run(ctx, o, &out, &errOut, progress)
	}
	return out.String(), errOut.String(), err
}

// runReport runs the load generator with -json and returns its report,
// what it wrote to stderr and its error; a run that writes no report fails
// the test.
func runReport(t *testing.T, args ...string) (report, string, error) {
	t.Helper()
	stdout, stderr, err := runArgs(nil, append(args, "-json")...)
	var rep report
	if jerr := json.Unmarshal([]byte(stdout), &rep); jerr != nil {
		t.Fatalf("run %v: %v, and no report: %v\nstderr:\n%s\nstdout:\n%s", args, err, jerr, stderr, stdout)
	}
	return rep, stderr, err
}

// runJSON runs the load generator with -json and -html and returns its
// report and the HTML.
func runJSON(t *testing.T, args ...string) (report, []byte) {
	t.Helper()
	page := filepath.Join(t.TempDir(), "report.html")
	rep, stderr, err := runReport(t, append(args, "-html", page)...)
	if err != nil {
		t.Fatalf("run %v: %v\nstderr:\n%s", args, err, stderr)
	}
	b, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	return rep, b
}

func step(rep report, name string) (stepReport, bool) {
	for _, s := range rep.Steps {
		if s.Name == name {
			return s, true
		}
	}
	return stepReport{}, false
}

// checkConsistent asserts what every report must hold: every message
// accounted for once, nothing lost or duplicated, each step's count the sum
// of its successes and errors.
func checkConsistent(t *testing.T, rep report) {
	t.Helper()
	c := rep.Check
	if c.Sent != c.Acked+sum(c.Errors) {
		t.Errorf("sent %d != acked %d + errors %v", c.Sent, c.Acked, c.Errors)
	}
	if c.Delivered != c.Read+c.Closing || c.Queued != c.Collected || c.Acked != c.Delivered+c.Queued {
		t.Errorf("acked %d: delivered %d = read %d + closing %d; queued %d = collected %d", c.Acked, c.Delivered, c.Read, c.Closing, c.Queued, c.Collected)
	}
	if c.Lost != 0 || c.Duplicates != 0 || c.Foreign != 0 || c.BadFrames != 0 {
		t.Errorf("lost %d, duplicates %d, foreign %d, bad frames %d", c.Lost, c.Duplicates, c.Foreign, c.BadFrames)
	}
	for _, s := range rep.Steps {
		if s.Count != s.OK+sum(s.Errors) {
			t.Errorf("%s: count %d != ok %d + errors %v", s.Name, s.Count, s.OK, s.Errors)
		}
		if s.OK != s.Latency.Count {
			t.Errorf("%s: %d ok but %d latencies", s.Name, s.OK, s.Latency.Count)
		}
		l := s.Latency
		if s.OK > 0 && !(l.P50 <= l.P90 && l.P90 <= l.P99 && l.P99 <= l.P999 && l.P999 <= l.Max && l.Max > 0) {
			t.Errorf("%s: percentiles out of order: %+v", s.Name, l)
		}
		var binned int64
		for _, b := range s.Bins {
			binned += b.Count
		}
		if binned != s.OK {
			t.Errorf("%s: histogram holds %d of %d values", s.Name, binned, s.OK)
		}
	}
	if ack, ok := step(rep, stepAck); ok && ack.Count != c.Sent {
		t.Errorf("send→ack count %d, sent %d", ack.Count, c.Sent)
	}
	if rep.TimedOut || rep.Interrupted {
		t.Error("the run did not finish")
	}
}

// checkHTML asserts the HTML report is well formed, self-contained and
// shows the run.
func checkHTML(t *testing.T, page []byte, rep report) {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(page))
	d.Strict = true
	d.AutoClose = nil
	d.Entity = xml.HTMLEntity
	svgs := 0
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("the HTML report does not parse: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "svg" {
			svgs++
		}
	}
	low := strings.ToLower(string(page))
	for _, ref := range []string{"http://", "https://", "src=", "href=", "@import", "url("} {
		if strings.Contains(low, ref) {
			t.Errorf("the HTML report holds %q: it must fetch nothing", ref)
		}
	}
	if want := len(rep.Steps) + 2; svgs < want {
		t.Errorf("%d charts, want at least %d (a histogram per step and the time series)", svgs, want)
	}
	for _, s := range rep.Steps {
		if !strings.Contains(string(page), s.Name) {
			t.Errorf("the HTML report lacks step %q", s.Name)
		}
	}
}

func TestScenarios(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		check func(t *testing.T, rep report)
	}{
		{"pairs closed loop", []string{"-scenario", "pairs", "-players", "4", "-messages", "5"}, func(t *testing.T, rep report) {
			if c := rep.Check; c.Sent != 20 || c.Read != 20 || rep.Settings.Loop != "closed" {
				t.Errorf("check %+v, loop %s; want 20 sent and read in a closed loop", c, rep.Settings.Loop)
			}
		}},
		{"pairs open loop with size", []string{"-scenario", "pairs", "-players", "4", "-rate", "20", "-messages", "6", "-size", "300"}, func(t *testing.T, rep report) {
			s := rep.Settings
			if s.Loop != "open" || s.OfferedRate != 80 || s.Size != 300 || rep.Check.Read != 24 {
				t.Errorf("settings %+v, read %d; want open loop at 80/s offered, 300-byte messages, 24 read", s, rep.Check.Read)
			}
		}},
		{"fanin with ramp and duration", []string{"-scenario", "fanin", "-players", "5", "-total-rate", "40", "-duration", "500ms", "-ramp", "500ms"}, func(t *testing.T, rep report) {
			// 4 senders at 10/s for 0.5 s after a 0.5 s ramp: about 4*(2.5+5).
			if c := rep.Check; c.Sent < 20 || c.Sent > 40 || rep.Settings.Senders != 4 {
				t.Errorf("sent %d by %d senders, want about 30 by 4", c.Sent, rep.Settings.Senders)
			}
			if rep.Rates.Received <= 0 {
				t.Errorf("the recipient's rate %v, want > 0", rep.Rates.Received)
			}
		}},
		{"broadcast", []string{"-scenario", "broadcast", "-players", "6", "-rate", "20", "-messages", "3"}, func(t *testing.T, rep report) {
			if c := rep.Check; c.Sent != 15 || c.Read != 15 || rep.Settings.Senders != 1 {
				t.Errorf("sent %d, read %d, senders %d; want 3 rounds of 5 from one sender", c.Sent, c.Read, rep.Settings.Senders)
			}
		}},
		{"connect", []string{"-scenario", "connect", "-players", "3", "-total-rate", "60", "-messages", "4"}, func(t *testing.T, rep report) {
			conn, _ := step(rep, stepConnect)
			gone, _ := step(rep, stepGone)
			if conn.OK != 12 || gone.OK != 12 || rep.Check.Sent != 0 {
				t.Errorf("connect %+v, gone %+v; want 12 of each and no messages", conn, gone)
			}
			// Limits off: $connect is a Query, a PutItem and the ban's GetItem,
			// $disconnect a Query and a DeleteItem.
			if len(rep.DynamoDB) == 0 || rep.DynamoDB[0].Phase != "run" || rep.DynamoDB[0].PerUnit != 5 {
				t.Errorf("dynamodb %+v, want 5 requests per connect+disconnect", rep.DynamoDB)
			}
		}},
		{"mixed", []string{"-scenario", "mixed", "-players", "8", "-offline-fraction", "0.5", "-rate", "10", "-duration", "1s", "-churn", "4", "-env", "MAILBOX_MAX_PER_SENDER=100"}, func(t *testing.T, rep report) {
			c := rep.Check
			if c.Queued == 0 || c.Collected != c.Queued {
				t.Errorf("queued %d, collected %d; want some queued and all collected", c.Queued, c.Collected)
			}
			in, ok := step(rep, stepInbox)
			if !ok || in.OK == 0 {
				t.Errorf("inbox step %+v, want drains", in)
			}
		}},
		{"default limits, retried", []string{"-players", "2", "-messages", "25", "-limits=default"}, func(t *testing.T, rep report) {
			if c := rep.Check; c.Read != 50 || c.RateLimited == 0 || c.Frames != c.Sent+c.RateLimited {
				t.Errorf("check %+v: want 50 read after rate_limited retries", c)
			}
		}},
		{"default limits, open loop: refusals are errors", []string{"-players", "2", "-rate", "1000", "-messages", "30", "-limits=default"}, func(t *testing.T, rep report) {
			if c := rep.Check; c.Errors["rate_limited"] == 0 || c.Acked == 0 || c.RateLimited != 0 {
				t.Errorf("check %+v: want some acked and some rate_limited errors, none retried", c)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, page := runJSON(t, tt.args...)
			if rep.Settings.Mode != "embedded" {
				t.Errorf("mode %q", rep.Settings.Mode)
			}
			checkConsistent(t, rep)
			checkHTML(t, page, rep)
			measured := []string{stepConnect, stepGone}
			if rep.Settings.Scenario != scenarioConnect {
				measured = append(measured, stepAck, stepDelivery)
			}
			for _, name := range measured {
				if s, ok := step(rep, name); !ok || s.OK == 0 {
					t.Errorf("step %s: %+v, want measured", name, s)
				}
			}
			for _, p := range rep.DynamoDB {
				if !p.Reported || p.Requests <= 0 || p.PerUnit <= 0 {
					t.Errorf("dynamodb %+v, want requests counted", p)
				}
			}
			if len(rep.Series) == 0 {
				t.Error("no time series")
			}
			tt.check(t, rep)
		})
	}
}

func TestStopsAtTimeout(t *testing.T) {
	rep, _, err := runReport(t, "-players", "4", "-messages", "2", "-timeout", "1ns")
	if err == nil {
		t.Fatal("a run past its -timeout reported success")
	}
	if !rep.TimedOut || rep.Check.Acked != 0 {
		t.Errorf("timedOut %v, acked %d; want a timed-out run with nothing acked", rep.TimedOut, rep.Check.Acked)
	}
}

func TestURLMode(t *testing.T) {
	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String()
	stack, err := local.New(context.Background(), local.Options{BaseURL: base})
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
	rep, page := runJSON(t, "-url", base, "-players", "4", "-messages", "3")
	if s := rep.Settings; s.Mode != "url" || s.Target != base || s.Limits != "stack" {
		t.Errorf("settings %+v; want url mode at %s with the stack's limits", s, base)
	}
	checkConsistent(t, rep)
	checkHTML(t, page, rep)
	if rep.Check.Read != 12 {
		t.Errorf("read %d, want 12", rep.Check.Read)
	}
	// The scraped counts are the stack's own; the observer's connect and
	// presence requests are the rest.
	var scraped int64
	for _, p := range rep.DynamoDB {
		scraped += p.Requests
	}
	if spent := stack.DynamoDB.Total() - before; scraped <= 0 || scraped > spent {
		t.Errorf("scraped %d DynamoDB requests, the stack counted %d", scraped, spent)
	}
	if g, _ := step(rep, stepGone); g.OK != 4 {
		t.Errorf("disconnect→row gone %+v, want 4 seen through presence", g)
	}
}

func TestTextReport(t *testing.T) {
	stdout, stderr, err := runArgs(io.Discard, "-players", "2", "-messages", "3")
	if err != nil {
		t.Fatalf("run: %v\n%s", err, stderr)
	}
	for _, want := range []string{
		"loadtest pairs: embedded stack at ",
		"step                    count       ok  errors  error%",
		"send→ack                    6        6       0   0.00%",
		"messages: 6 sent = 6 acked + 0 errors; delivered 6: 6 read, 0 closing; queued 0: 0 collected; lost 0, duplicates 0\n",
		"dynamodb, run: ",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("report lacks %q:\n%s", want, stdout)
		}
	}
	if stderr != "" {
		t.Errorf("stderr, which is not a terminal here, got %q", stderr)
	}
}

func TestTargetURL(t *testing.T) {
	tests := []struct {
		url     string
		own, ok bool
	}{
		{"http://127.0.0.1:8080", false, true},
		{"http://127.1.2.3:9000/", false, true},
		{"http://localhost:8080", false, true},
		{"http://[::1]:8080", false, true},
		{"https://127.0.0.1:8443", false, true},
		{"ws://127.0.0.1:8080/ws", false, true},
		{"http://10.0.0.1:8080", false, false},
		{"http://10.0.0.1:8080", true, false}, // a local stack mints dev tokens: loopback only
		{"http://localhost.example.com", false, false},
		{"http://127.0.0.1.nip.io", false, false},
		{"http://0.0.0.0:8080", false, false},
		{"wss://abc.execute-api.eu-west-1.amazonaws.com/prod", false, false},
		{"wss://abc.execute-api.eu-west-1.amazonaws.com/prod", true, true},
		{"ftp://127.0.0.1", false, false},
		{"127.0.0.1:8080", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			err := checkTargetURL(tt.url, tt.own)
			if (err == nil) != tt.ok {
				t.Fatalf("checkTargetURL(%q, %v) = %v, want ok %v", tt.url, tt.own, err, tt.ok)
			}
			if tt.ok {
				return
			}
			// run refuses it before any connection is made.
			args := []string{"-url", tt.url, "-players", "2", "-messages", "1"}
			if tt.own {
				args = append(args, "-i-own-this-stack")
			}
			stdout, _, err := runArgs(nil, args...)
			if err == nil {
				t.Errorf("run accepted -url %q", tt.url)
			}
			if stdout != "" {
				t.Errorf("run wrote a report for a refused URL:\n%s", stdout)
			}
		})
	}
}

func TestDeployedNeedsCognito(t *testing.T) {
	_, stderr, err := runArgs(nil, "-url", "wss://abc.execute-api.eu-west-1.amazonaws.com/prod", "-i-own-this-stack", "-players", "2", "-messages", "3")
	if err == nil || !strings.Contains(err.Error(), "Cognito") {
		t.Fatalf("run = %v, want a refusal naming Cognito", err)
	}
	// The expected cost is printed before anything is done.
	for _, want := range []string{"expected cost of this run", "API Gateway: about ", "Lambda: about ", "DynamoDB: about "} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
}

func TestEstimate(t *testing.T) {
	// pairs: 4 players x 10 messages, all delivered; 5 connections with the observer.
	e := estimate(Options{scenario: scenarioPairs, players: 4, messages: 10})
	if e.Messages != 40 || e.Connects != 5 || e.PresenceChecks != 10 {
		t.Fatalf("estimate %+v", e)
	}
	if want := int64(3*40 + 2*10); e.APIMessages != want {
		t.Errorf("API Gateway messages %d, want %d", e.APIMessages, want)
	}
	if want := int64(40 + 3*5 + 10); e.LambdaInvokes != want {
		t.Errorf("Lambda invocations %d, want %d", e.LambdaInvokes, want)
	}
	if want := int64(3*40 + 6*5 + 2*10); e.DynamoDB != want {
		t.Errorf("DynamoDB requests %d, want %d", e.DynamoDB, want)
	}
	// broadcast at a total rate for a duration: 5 recipients, 10 msg/s, 2 s.
	b := estimate(Options{scenario: scenarioBroadcast, players: 6, totalRate: 10, duration: 2 * time.Second})
	if b.Messages != 20 {
		t.Errorf("broadcast messages %d, want 20", b.Messages)
	}
	// A closed loop for a duration has no count in advance.
	if c := estimate(Options{scenario: scenarioPairs, players: 2, duration: time.Second}); c.Messages != -1 {
		t.Errorf("closed loop with duration: %+v, want unknown", c)
	}
}

func TestFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		ok   bool
	}{
		{"defaults", nil, true},
		{"every scenario", []string{"-scenario", "mixed", "-players", "10", "-rate", "5", "-duration", "10s", "-ramp", "2s", "-size", "512", "-offline-fraction", "0.3", "-churn", "1"}, true},
		{"unknown scenario", []string{"-scenario", "storm"}, false},
		{"odd pairs", []string{"-players", "3"}, false},
		{"connect with one player", []string{"-scenario", "connect", "-players", "1"}, true},
		{"rate and total rate", []string{"-rate", "1", "-total-rate", "10"}, false},
		{"negative rate", []string{"-rate", "-1"}, false},
		{"NaN rate", []string{"-total-rate", "NaN"}, false},
		{"size too large", []string{"-size", "40000"}, false},
		{"churn outside mixed", []string{"-churn", "1"}, false},
		{"no messages", []string{"-messages", "0"}, false},
		{"negative duration", []string{"-duration", "-1s"}, false},
		{"everyone offline", []string{"-scenario", "mixed", "-offline-fraction", "1"}, false},
		{"limits with url", []string{"-url", "http://127.0.0.1:8080", "-limits", "off"}, false},
		{"url and embedded", []string{"-url", "http://127.0.0.1:8080", "-embedded"}, false},
		{"remote dynamodb", []string{"-dynamodb-endpoint", "https://dynamodb.us-east-1.amazonaws.com"}, false},
		{"cognito pool without client", []string{"-cognito-user-pool", "us-east-1_x"}, false},
		{"cognito", []string{"-cognito-user-pool", "us-east-1_x", "-cognito-client-id", "c", "-cleanup"}, true},
		{"cleanup without cognito", []string{"-cleanup"}, false},
		{"remote cognito endpoint", []string{"-cognito-user-pool", "p", "-cognito-client-id", "c", "-cognito-endpoint", "http://10.1.1.1:9229"}, false},
		{"stray argument", []string{"extra"}, false},
		{"env without a value", []string{"-env", "RATE_MESSAGES_PER_SECOND"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := parseFlags(tt.args, io.Discard)
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
	if !c.reported || len(c.dynamo) != 2 || c.dynamo["Query"] != 30 || c.dynamo["PutItem"] != 8 {
		t.Errorf("parsed %+v", c)
	}
	none, err := parseMetrics(strings.NewReader("messages_sent_total 1\n"))
	if err != nil || none.reported {
		t.Errorf("a stack without DynamoDB counts parsed as %+v, %v", none, err)
	}
}

func TestHist(t *testing.T) {
	// Every bucket's range holds the values that map to it.
	for _, v := range []int64{0, 1, 31, 63, 64, 65, 127, 128, 1000, 7000, 123456, 1 << 40} {
		lo, hi := bucketRange(bucketOf(v))
		if v < lo || v > hi {
			t.Errorf("%d in bucket [%d, %d]", v, lo, hi)
		}
		if hi-lo > max(lo/32, 0) {
			t.Errorf("bucket [%d, %d] of %d wider than 1/32", lo, hi, v)
		}
	}
	var h hist
	for i := 1; i <= 10000; i++ {
		h.record(time.Duration(i) * time.Microsecond)
	}
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999} {
		got, want := float64(h.quantile(q)), q*10000
		if math.Abs(got-want)/want > 1.0/32 {
			t.Errorf("quantile %v = %v, want %v within 1/32", q, got, want)
		}
	}
	if s := h.summary(); s.Count != 10000 || s.Max != 10 || math.Abs(s.Mean-5.0005) > 1e-9 {
		t.Errorf("summary %+v", s)
	}
	var one hist
	one.record(7 * time.Millisecond)
	if s := one.summary(); s.P50 != 7 || s.P999 != 7 || s.Max != 7 {
		t.Errorf("one value: %+v, want 7 ms everywhere", s)
	}
	var binned int64
	for _, b := range h.bins() {
		binned += b.Count
	}
	if binned != 10000 {
		t.Errorf("bins hold %d of 10000", binned)
	}
}

func TestSlotTime(t *testing.T) {
	tests := []struct {
		name     string
		x, rate  float64
		ramp     time.Duration
		min, max time.Duration
	}{
		{"no ramp: slot k at k/rate", 5, 10, 0, 500 * time.Millisecond, 500 * time.Millisecond},
		// slot 0.5 of a 2 s ramp to 10/s is due at sqrt(0.2) s, not at once.
		{"the first slots of a ramp spread out", 0.5, 10, 2 * time.Second, 440 * time.Millisecond, 450 * time.Millisecond},
		// A 2 s ramp to 10/s holds 10 slots; slot 10 is due at 2 s, then 10/s.
		{"the end of the ramp", 10, 10, 2 * time.Second, 2 * time.Second, 2 * time.Second},
		{"after the ramp", 20, 10, 2 * time.Second, 3 * time.Second, 3 * time.Second},
	}
	for _, tt := range tests {
		if got := slotTime(tt.x, tt.rate, tt.ramp); got < tt.min || got > tt.max {
			t.Errorf("%s: slotTime(%v, %v, %v) = %v, want %v to %v", tt.name, tt.x, tt.rate, tt.ramp, got, tt.min, tt.max)
		}
	}
	prev := time.Duration(-1)
	for k := range 40 {
		got := slotTime(float64(k)+0.5, 10, 2*time.Second)
		if got <= prev {
			t.Fatalf("slot %d at %v, not after %v", k, got, prev)
		}
		prev = got
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

func TestClaim(t *testing.T) {
	tok := "eyJhbGciOiJSUzI1NiJ9." + "eyJ1c2VybmFtZSI6ImxvYWR0ZXN0LTAwMDEiLCJzdWIiOjF9" + ".sig" // {"username":"loadtest-0001","sub":1}
	if got, err := claim(tok, "username"); err != nil || got != "loadtest-0001" {
		t.Errorf("claim username = %q, %v", got, err)
	}
	for _, name := range []string{"sub", "missing"} {
		if _, err := claim(tok, name); err == nil {
			t.Errorf("claim %s accepted a non-string or missing claim", name)
		}
	}
	if _, err := claim("not-a-jwt", "username"); err == nil {
		t.Error("claim accepted a non-JWT")
	}
}

func TestUserName(t *testing.T) {
	for prefix, want := range map[string]string{"loadtest-": "loadtest-0007", "lt-@example.com": "lt-0007@example.com"} {
		if got := userName(prefix, 7); got != want {
			t.Errorf("userName(%q, 7) = %q, want %q", prefix, got, want)
		}
	}
}

// TestGoneWithoutPresence: a target that does not answer presence leaves
// the step unmeasured instead of counting every close as still_online; one
// that answers sees the row gone at the first look.
func TestGoneWithoutPresence(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		attempts int64
		ok       int64
	}{
		{"no presence", errNoPresence, 0, 0},
		{"presence answers", nil, 2, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := &load{rec: newRecorder(), t: &target{online: func(context.Context, []string) ([]string, error) { return nil, tt.err }}}
			w := newGoneWatcher(l)
			w.start(t.Context())
			defer w.stop()
			<-w.watch(&player{id: "a"}, time.Now())
			<-w.watch(&player{id: "b"}, time.Now())
			if s := l.rec.steps[stepGone]; s.attempts != tt.attempts || s.h.n != tt.ok || len(s.errors) != 0 {
				t.Errorf("step %+v, want %d attempts, %d successes and no errors", s, tt.attempts, tt.ok)
			}
		})
	}
}
