package domain

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestErrorCode(t *testing.T) {
	cause := errors.New("dynamodb: throttled")
	wrapped := fmt.Errorf("send: %w", &Error{Code: CodeUnavailable, Message: "try again", Err: cause})
	tests := []struct {
		name string
		err  error
		code Code
		msg  string
	}{
		{"nil", nil, "", "internal error"},
		{"plain error is internal", cause, CodeInternal, "internal error"},
		{"wrapped domain error", wrapped, CodeUnavailable, "try again"},
		{"Errorf", Errorf(CodeTooLarge, "message is %d bytes", 9000), CodeTooLarge, "message is 9000 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ErrorCode(tt.err); got != tt.code {
				t.Errorf("ErrorCode = %q, want %q", got, tt.code)
			}
			if got := ErrorMessage(tt.err); got != tt.msg {
				t.Errorf("ErrorMessage = %q, want %q", got, tt.msg)
			}
		})
	}
	if !errors.Is(wrapped, cause) {
		t.Error("the cause is not reachable with errors.Is")
	}
	if strings.Contains(ErrorMessage(wrapped), "throttled") {
		t.Error("the internal cause leaks into the client message")
	}
}

func TestValidatePlayerID(t *testing.T) {
	tests := []struct {
		id string
		ok bool
	}{
		{"alice", true},
		{"0b8e7c1a-3f2d-4c5e-9a7b-1d2e3f4a5b6c", true},
		{"alice.smith+test@example.com", true},
		{"A_b-9", true},
		{"", false},
		{"alice bob", false},
		{"alice/bob", false},
		{"alice\x00", false},
		{"élodie", false},
		{"<script>", false},
		{strings.Repeat("a", 128), true},
		{strings.Repeat("a", 129), false},
	}
	for _, tt := range tests {
		err := ValidatePlayerID(tt.id)
		if (err == nil) != tt.ok {
			t.Errorf("ValidatePlayerID(%q) = %v, want ok=%v", tt.id, err, tt.ok)
		}
	}
}
