package gateway

import (
	"context"
	"time"
)

// ErrTimedOut marks an invocation that outlived its function timeout.
var ErrTimedOut = errTimedOut

// Invoke calls a Lambda handler as the Lambda runtime would, exactly as the
// gateway calls its routes: with a context that ends after timeout, a panic
// turned into an error, and a return at the timeout (an error wrapping
// ErrTimedOut) even if the handler does not. Other local stand-ins for API
// Gateway, such as the admin HTTP API, call their handlers through it.
func Invoke[Req, Resp any](ctx context.Context, timeout time.Duration, fn func(context.Context, Req) (Resp, error), req Req) (Resp, error) {
	return invoke(ctx, timeout, fn, req)
}
