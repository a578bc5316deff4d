package domain

import (
	"fmt"
	"strings"
)

// MaxPlayerIDBytes is the longest player id accepted.
const MaxPlayerIDBytes = 128

// ValidatePlayerID reports whether id may be used as a player id: 1 to 128
// bytes of ASCII letters, digits and the characters _ - . @ + (which covers
// Cognito subs, which are UUIDs, and usernames that are e-mail addresses).
func ValidatePlayerID(id string) error {
	if id == "" {
		return fmt.Errorf("player id is empty")
	}
	if len(id) > MaxPlayerIDBytes {
		return fmt.Errorf("player id is %d bytes, more than %d", len(id), MaxPlayerIDBytes)
	}
	for i := 0; i < len(id); i++ {
		if !playerIDByte(id[i]) {
			return fmt.Errorf("player id has a disallowed character at byte %d", i)
		}
	}
	return nil
}

// NormalizePlayerID validates id and returns its canonical form, in lower
// case: player ids are case-insensitive, as the usernames of a Cognito user
// pool created with CaseSensitive false are ("Alice" and "alice" are one
// user, and Cognito gives such a pool's usernames out in lower case). Every
// id that comes from outside (a token's claim, a frame's "to", "players" or
// "playerId", a development token request) goes through it, so that the
// tables and comparisons only ever see the canonical form.
func NormalizePlayerID(id string) (string, error) {
	if err := ValidatePlayerID(id); err != nil {
		return "", err
	}
	return strings.ToLower(id), nil
}

func playerIDByte(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	case c == '_' || c == '-' || c == '.' || c == '@' || c == '+':
		return true
	}
	return false
}
