package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/serverless-websockets/serverless-websockets/internal/domain"
	"github.com/serverless-websockets/serverless-websockets/internal/handlers"
	"github.com/serverless-websockets/serverless-websockets/ratelimit"
)

// Limiter is the rate limiter as the handlers see it: package ratelimit,
// which knows nothing of the project, answering in domain terms.
type Limiter struct{ l *ratelimit.Limiter }

var (
	_ handlers.MessageLimiter = (*Limiter)(nil)
	_ handlers.ConnectLimiter = (*Limiter)(nil)
)

// NewLimiter adapts l.
func NewLimiter(l *ratelimit.Limiter) *Limiter { return &Limiter{l: l} }

// AllowMessage charges one message of n bytes; a message larger than the
// byte limit's burst wraps domain.ErrTooLarge.
func (l *Limiter) AllowMessage(ctx context.Context, playerID string, n int) (domain.Admission, error) {
	d, err := l.l.AllowMessage(ctx, playerID, n)
	if errors.Is(err, ratelimit.ErrTooLarge) {
		err = fmt.Errorf("%w: %w", domain.ErrTooLarge, err)
	}
	return domain.Admission(d), err
}

// RefusesMessage reports what the limiter's deny cache knows, without a
// request or a charge.
func (l *Limiter) RefusesMessage(playerID string, n int) bool { return l.l.RefusesMessage(playerID, n) }

// AllowConnect charges one connection.
func (l *Limiter) AllowConnect(ctx context.Context, playerID string) (domain.Admission, error) {
	d, err := l.l.AllowConnect(ctx, playerID)
	return domain.Admission(d), err
}
