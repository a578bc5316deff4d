package main

import (
	"encoding/json"
	"testing"
)

func TestParseLine(t *testing.T) {
	tests := []struct {
		line   string
		action string
		ok     bool
	}{
		{"@bob hello there", "sendmessage", true},
		{"/inbox", "inbox", true},
		{"/ping", "ping", true},
		{"/presence bob carol", "presence", true},
		{`{"action":"ping"}`, "ping", true},
		{"   ", "", false},
	}
	seq := 0
	for _, tt := range tests {
		frame, ok := parseLine(tt.line, &seq)
		if ok != tt.ok {
			t.Fatalf("%q: ok = %v", tt.line, ok)
		}
		if !ok {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(frame, &m); err != nil || m["action"] != tt.action {
			t.Fatalf("%q → %s", tt.line, frame)
		}
		if tt.action == "sendmessage" && (m["to"] != "bob" || m["message"] != "hello there") {
			t.Fatalf("%q → %s", tt.line, frame)
		}
	}
}
