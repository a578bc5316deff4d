// Package deadline holds the one rule every handler of the project (the
// WebSocket routes and the admin API) follows about its Lambda deadline.
package deadline

import (
	"context"
	"time"
)

// MaxReserve caps the time a handler keeps back from its deadline.
const MaxReserve = time.Second

// WithReserve returns the context a handler works in: ctx, ending a tenth of
// the time left (at most MaxReserve) before ctx's deadline, so that a
// backing service that does not answer in time still leaves the handler
// time to answer the client itself (unavailable, with the client's id)
// before the Lambda function times out, which the client would see only as
// API Gateway's "Internal server error". Without a deadline, it ends with
// ctx.
func WithReserve(ctx context.Context) (context.Context, context.CancelFunc) {
	d, ok := ctx.Deadline()
	if !ok {
		return context.WithCancel(ctx)
	}
	return context.WithDeadline(ctx, d.Add(-min(time.Until(d)/10, MaxReserve)))
}
