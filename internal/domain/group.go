package domain

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxGroupNameRunes is the longest group name a Cognito user pool accepts.
const MaxGroupNameRunes = 128

// ValidGroupName reports whether name is a group name a Cognito user pool
// accepts (CreateGroup's GroupName): 1 to 128 characters, each a letter, a
// mark, a symbol, a number or punctuation ([\p{L}\p{M}\p{S}\p{N}\p{P}]+).
// No space, no control character and no separator of any kind can be part
// of one, which is what lets a list of them be read back from the
// space-separated form an HTTP API's JWT authorizer gives it.
func ValidGroupName(name string) bool {
	if name == "" || !utf8.ValidString(name) || utf8.RuneCountInString(name) > MaxGroupNameRunes {
		return false
	}
	return !strings.ContainsFunc(name, func(r rune) bool {
		return !unicode.In(r, unicode.L, unicode.M, unicode.S, unicode.N, unicode.P)
	})
}
