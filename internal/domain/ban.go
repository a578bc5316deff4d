package domain

import (
	"cmp"
	"time"
)

// Ban keeps a player out: their connections are refused at $connect, and a
// connection that survived a race with the ban cannot send messages.
type Ban struct {
	PlayerID string
	Reason   string    // shown to the player
	BannedBy string    // the operator's player id
	BannedAt time.Time //
	Until    time.Time // zero: until lifted
}

// Active reports whether the ban is in force at now. A ban whose Until has
// passed is treated as absent, whether or not its row has been deleted yet.
func (b Ban) Active(now time.Time) bool { return b.Until.IsZero() || now.Before(b.Until) }

// MaxBansPage is the most bans one listing returns.
const MaxBansPage = 100

// MaxBanReasonBytes bounds a ban's reason.
const MaxBanReasonBytes = 512

// DefaultAdminGroup is the group whose members may use the admin API.
const DefaultAdminGroup = "admin"

// DefaultPlayerIDClaim is the token claim that names the player
// (PLAYER_ID_CLAIM): a Cognito access token's username, so that players
// address each other by name and an operator bans the name it sees.
// DefaultIDTokenPlayerIDClaim is the same for ID tokens, whose claim of it
// is cognito:username.
const (
	DefaultPlayerIDClaim        = "username"
	DefaultIDTokenPlayerIDClaim = "cognito:username"
)

// BannedError is what a banned player is told: the ban's reason and end.
func BannedError(b Ban) *Error {
	return &Error{Code: CodeBanned, Message: cmp.Or(b.Reason, "you are banned"), Until: b.Until, Err: ErrBanned}
}
