package local

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/aws/smithy-go"
)

// RecreatingDynamoDB recreates the stack's tables when the engine answers a
// request with ResourceNotFoundException, as an external engine restarted
// without its data (dynalite's default) does, then makes the request once
// more. It logs each recovery once, however many requests ran into it. The
// local stack alone uses it: in Lambda a missing table is an error of the
// deployment, and the functions may not create tables.
type RecreatingDynamoDB struct {
	*Around // its DynamoDB is the engine

	create func(context.Context) error
	log    *slog.Logger

	// mu is held shared by every request and exclusively by a recreation,
	// which then runs alone: minidyn's in-process CreateTable takes no lock
	// against the requests in flight.
	mu         sync.RWMutex
	recoveries atomic.Int64 // how many times the tables were recreated
}

var _ DynamoDB = (*RecreatingDynamoDB)(nil)

// newRecreatingDynamoDB wraps engine; create makes the tables on it.
func newRecreatingDynamoDB(engine DynamoDB, create func(context.Context) error, log *slog.Logger) *RecreatingDynamoDB {
	r := &RecreatingDynamoDB{create: create, log: log}
	r.Around = &Around{DynamoDB: engine, Hook: r.retryMissing}
	return r
}

// Recoveries returns how many times the tables were recreated.
func (r *RecreatingDynamoDB) Recoveries() int64 { return r.recoveries.Load() }

// tableMissing reports whether err is DynamoDB's answer for a table that
// does not exist (the typed exception is a smithy.APIError too).
func tableMissing(err error) bool {
	var api smithy.APIError
	return errors.As(err, &api) && api.ErrorCode() == "ResourceNotFoundException"
}

// retryMissing makes the request; when it finds a table missing, it
// recreates the tables (unless another request already did since this one
// started) and makes the request once more. If the tables cannot be
// recreated, the request's error stands.
func (r *RecreatingDynamoDB) retryMissing(ctx context.Context, _ string, _ any, call func() error) error {
	seen := r.recoveries.Load()
	err := r.shared(call)
	if !tableMissing(err) {
		return err
	}
	r.mu.Lock()
	if r.recoveries.Load() == seen {
		if cerr := r.create(ctx); cerr != nil {
			r.mu.Unlock()
			r.log.ErrorContext(ctx, "DynamoDB table missing; recreating the tables failed", "error", cerr)
			return err
		}
		r.recoveries.Add(1)
		r.log.WarnContext(ctx, "DynamoDB table missing (the engine lost its data?); recreated the tables", "cause", err.Error())
	}
	r.mu.Unlock()
	return r.shared(call)
}

// shared makes a request with r.mu held shared.
func (r *RecreatingDynamoDB) shared(call func() error) error {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return call()
}
