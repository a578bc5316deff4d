package domain

import "testing"

func TestNormalizePlayerID(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"alice", "alice"},
		{"Alice", "alice"},
		{"ALICE@Example.COM", "alice@example.com"},
		{"3f2b-ABCD_x.y+z", "3f2b-abcd_x.y+z"},
	} {
		if got, err := NormalizePlayerID(tt.in); err != nil || got != tt.want {
			t.Errorf("NormalizePlayerID(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	// Cognito allows usernames our ids refuse: they stay refused, never
	// folded into another player.
	for _, in := range []string{"", "Ålice", "al ice", "bob/1", "ALİCE"} {
		if got, err := NormalizePlayerID(in); err == nil {
			t.Errorf("NormalizePlayerID(%q) = %q, want an error", in, got)
		}
	}
}
