// Package apigateway holds what API Gateway does alike for every local
// stand-in of it (the WebSocket gateway, the admin HTTP API): an
// integration runs within its function timeout (Invoke, ErrTimedOut), and
// a path that is not clean is answered 404, never redirected (CleanPath).
package apigateway

import (
	"context"
	"errors"
	"fmt"
	"path"
	"runtime/debug"
	"strings"
	"time"
)

// errPanic marks a recovered panic of an authorizer or a handler.
var errPanic = errors.New("panic")

// ErrTimedOut marks an invocation that outlived its function timeout.
var ErrTimedOut = errors.New("task timed out")

// Invoke calls a Lambda handler as the Lambda runtime would, exactly as the
// gateway calls its authorizer and routes: with a context that ends after
// timeout and a panic turned into an error. It returns at the timeout (an
// error wrapping ErrTimedOut) even if the handler does not, discarding the
// handler's result, so that no handler can hold up the caller for longer.
// The local WebSocket gateway and the admin HTTP API call their handlers
// through it.
func Invoke[Req, Resp any](ctx context.Context, timeout time.Duration, fn func(context.Context, Req) (Resp, error), req Req) (Resp, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	type result struct {
		resp Resp
		err  error
		late bool // the handler returned after its deadline
	}
	done := make(chan result, 1)
	go func() {
		var r result
		defer func() {
			if p := recover(); p != nil {
				r.err = fmt.Errorf("%w: %v\n%s", errPanic, p, debug.Stack())
			}
			done <- r
		}()
		r.resp, r.err = fn(ctx, req)
		r.late = errors.Is(ctx.Err(), context.DeadlineExceeded)
	}()
	var r result
	select {
	case r = <-done:
	case <-ctx.Done():
		select {
		case r = <-done: // it came as the deadline passed: its own time decides
		default:
			r.late = errors.Is(ctx.Err(), context.DeadlineExceeded)
			r.err = fmt.Errorf("invocation: %w", ctx.Err())
		}
	}
	// As in Lambda, an answer counts if the handler returned before its
	// timeout, however late it is read here: one that did deliver or queue
	// must not be reported as failed, or the client would send it again.
	var zero Resp
	if r.late {
		return zero, fmt.Errorf("%w after %s", ErrTimedOut, timeout)
	}
	return r.resp, r.err
}

// CleanPath reports whether p is already in the form http.ServeMux would
// redirect it to (no empty, "." or ".." segments; a trailing slash is
// allowed). API Gateway never redirects, so the local gateway and HTTP API
// answer any other path with 404 instead of ServeMux's redirect.
func CleanPath(p string) bool {
	return p == "/" || path.Clean(p) == strings.TrimSuffix(p, "/")
}
