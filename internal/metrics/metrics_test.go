package metrics

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestEMFLine(t *testing.T) {
	var buf bytes.Buffer
	e := &EMF{W: &buf, Now: func() time.Time { return time.UnixMilli(1700000000123) }}
	r := Record{Route: "sendmessage", Latency: 2500 * time.Microsecond}
	r.Add(Sent, 1)
	r.Reject("rate_limited")
	e.Emit(r)

	var doc map[string]any
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("not one JSON line: %v: %q", err, buf.String())
	}
	if doc["Route"] != "sendmessage" || doc["Sent"] != float64(1) || doc["Rejected"] != float64(1) ||
		doc["Code"] != "rate_limited" || doc["LatencyMs"] != 2.5 {
		t.Fatalf("doc = %v", doc)
	}
	aws := doc["_aws"].(map[string]any)
	if aws["Timestamp"] != float64(1700000000123) {
		t.Fatalf("timestamp = %v", aws["Timestamp"])
	}
	directives := aws["CloudWatchMetrics"].([]any)
	if len(directives) != 2 {
		t.Fatalf("want a Route and a Route+Code directive, got %v", directives)
	}
	// Every metric a directive names must be a member of the document.
	for _, d := range directives {
		for _, m := range d.(map[string]any)["Metrics"].([]any) {
			name := m.(map[string]any)["Name"].(string)
			if _, ok := doc[name]; !ok {
				t.Errorf("directive names %s, which the line lacks", name)
			}
		}
	}
}

func TestCounters(t *testing.T) {
	c := NewCounters()
	for i := 0; i < 3; i++ {
		r := Record{Route: "sendmessage", Latency: time.Millisecond}
		r.Add(Sent, 1)
		r.Add(Delivered, 2)
		c.Emit(r)
	}
	r := Record{Route: "sendmessage"}
	r.Reject("too_large")
	c.Emit(r)
	if c.Count(Sent) != 3 || c.Count(Delivered) != 6 || c.RejectedCount("too_large") != 1 {
		t.Fatalf("sent %d delivered %d too_large %d", c.Count(Sent), c.Count(Delivered), c.RejectedCount("too_large"))
	}
	if c.Invocations("sendmessage") != 4 || c.Invocations("ping") != 0 {
		t.Fatalf("invocations = %d, %d", c.Invocations("sendmessage"), c.Invocations("ping"))
	}
	rec := httptest.NewRecorder()
	c.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	for _, want := range []string{"messages_sent_total 3", "messages_delivered_total 6",
		`messages_rejected_total{code="too_large"} 1`, `handler_invocations_total{route="sendmessage"} 4`} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q:\n%s", want, body)
		}
	}
}
