package domain

import (
	"errors"
	"fmt"
	"time"
)

// Code is an error code a client can see. The set is closed and documented in
// the README; internal details never reach a client, only a code and a short,
// fixed message.
type Code string

// The error codes of the client protocol.
const (
	CodeBadRequest    Code = "bad_request"    // the frame is not a JSON object, or a field is invalid
	CodeUnknownAction Code = "unknown_action" // valid JSON whose action is missing or unknown
	CodeForbidden     Code = "forbidden"      // the frame claims another player's identity
	CodeTooLarge      Code = "too_large"      // the message is over the configured cap
	CodeRateLimited   Code = "rate_limited"   // the player's rate limit is spent; see RetryAfter
	CodeTokenExpired  Code = "token_expired"  // the connection's token has expired; the server closes it
	CodeMailboxFull   Code = "mailbox_full"   // the offline recipient's mailbox is at its cap
	CodeUnavailable   Code = "unavailable"    // a backing service failed; nothing was acknowledged
	CodeKicked        Code = "kicked"         // an operator closed the connection
	CodeBanned        Code = "banned"         // the player is banned; see Until
	CodeInternal      Code = "internal"       // a bug; the log has the cause
)

// The codes the admin API adds; no WebSocket frame carries them.
const (
	CodeUnauthorized Code = "unauthorized" // no token, or one that names no player
	CodeNotFound     Code = "not_found"    // an unknown connection or route
)

// Error is a domain error: a client-facing code and message, an optional
// retry hint, and the internal cause, which is logged but never shown.
type Error struct {
	Code       Code
	Message    string        // safe to show a client
	RetryAfter time.Duration // for CodeRateLimited
	Until      time.Time     // for CodeBanned: when the ban ends; zero until lifted
	Err        error         // internal cause, never shown to a client
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with a code and a client-safe message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, or
// CodeInternal when there is none. A nil error has no code ("").
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// ErrorMessage returns the client-safe message of err: the message of its
// *Error, or a fixed text for anything else.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Message != "" {
		return e.Message
	}
	return "internal error"
}

// Sentinel errors that adapters wrap (fmt.Errorf("...: %w", ErrGone)) and
// handlers test with errors.Is.
var (
	// ErrGone: the connection no longer exists (the Management API's 410 GoneException).
	ErrGone = errors.New("connection gone")
	// ErrLimitExceeded: the connection cannot take the frame now (the
	// Management API's 429 LimitExceededException: the client's outbound
	// buffer is full, or posts come faster than allowed). Nothing was sent.
	ErrLimitExceeded = errors.New("connection limit exceeded")
	// ErrNotFound: the item asked for does not exist or has expired.
	ErrNotFound = errors.New("not found")
	// ErrConnectionLimit: the player already holds the maximum number of live connections.
	ErrConnectionLimit = errors.New("connection limit reached")
	// ErrMailboxFull: the recipient's mailbox holds the maximum number of messages.
	ErrMailboxFull = errors.New("mailbox full")
	// ErrBanned: the player is banned.
	ErrBanned = errors.New("player banned")
)

// Admission is a rate limiter's answer to one request.
type Admission struct {
	// Allowed reports whether the request is admitted (and charged).
	Allowed bool
	// RetryAfter is, when refused, how long until the same request would be
	// admitted if nothing else were charged meanwhile.
	RetryAfter time.Duration
}

// ErrTooLarge is wrapped by a rate limiter's error for a request larger
// than its burst: one that no wait would admit.
var ErrTooLarge = errors.New("larger than the limit's burst")
