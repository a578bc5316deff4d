package admin

import (
	"slices"
	"testing"
)

func TestParseGroups(t *testing.T) {
	tests := []struct {
		claim string
		want  []string
	}{
		{"[admin ops]", []string{"admin", "ops"}}, // as an HTTP API JWT authorizer passes an array
		{"[admin]", []string{"admin"}},
		{"[]", nil},
		{"", nil},
		{`["admin","ops"]`, []string{"admin", "ops"}},
		{"admin,ops", []string{"admin", "ops"}},
		{"[administrators]", []string{"administrators"}},
	}
	for _, tt := range tests {
		if got := ParseGroups(tt.claim); !slices.Equal(got, tt.want) {
			t.Errorf("ParseGroups(%q) = %q, want %q", tt.claim, got, tt.want)
		}
	}
}
