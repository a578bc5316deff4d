package localstack

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
)

// RecreatingDynamoDB recreates the stack's tables when the engine answers a
// request with ResourceNotFoundException, as an external engine restarted
// without its data (dynalite's default) does, then makes the request once
// more. It logs each recovery once, however many requests ran into it. The
// local stack alone uses it: in Lambda a missing table is an error of the
// deployment, and the functions may not create tables.
type RecreatingDynamoDB struct {
	DynamoDB

	create func(context.Context) error
	log    *slog.Logger

	// mu is held shared by every request and exclusively by a recreation,
	// which then runs alone: minidyn's in-process CreateTable takes no lock
	// against the requests in flight.
	mu         sync.RWMutex
	recoveries atomic.Int64 // how many times the tables were recreated
}

var _ DynamoDB = (*RecreatingDynamoDB)(nil)

// Recoveries returns how many times the tables were recreated.
func (r *RecreatingDynamoDB) Recoveries() int64 { return r.recoveries.Load() }

// tableMissing reports whether err is DynamoDB's answer for a table that
// does not exist.
func tableMissing(err error) bool {
	var rnf *types.ResourceNotFoundException
	if errors.As(err, &rnf) {
		return true
	}
	var api smithy.APIError
	return errors.As(err, &api) && api.ErrorCode() == "ResourceNotFoundException"
}

// retryMissing runs call; when it finds a table missing, it recreates the
// tables (unless another request already did since call started) and runs
// call once more. If the tables cannot be recreated, call's error stands.
func retryMissing[T any](ctx context.Context, r *RecreatingDynamoDB, call func() (T, error)) (T, error) {
	seen := r.recoveries.Load()
	out, err := shared(r, call)
	if !tableMissing(err) {
		return out, err
	}
	r.mu.Lock()
	if r.recoveries.Load() == seen {
		if cerr := r.create(ctx); cerr != nil {
			r.mu.Unlock()
			r.log.ErrorContext(ctx, "DynamoDB table missing; recreating the tables failed", "error", cerr)
			return out, err
		}
		r.recoveries.Add(1)
		r.log.WarnContext(ctx, "DynamoDB table missing (the engine lost its data?); recreated the tables", "cause", err.Error())
	}
	r.mu.Unlock()
	return shared(r, call)
}

// shared runs call with r.mu held shared.
func shared[T any](r *RecreatingDynamoDB, call func() (T, error)) (T, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return call()
}

func (r *RecreatingDynamoDB) PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	return retryMissing(ctx, r, func() (*dynamodb.PutItemOutput, error) { return r.DynamoDB.PutItem(ctx, in, opts...) })
}

func (r *RecreatingDynamoDB) GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	return retryMissing(ctx, r, func() (*dynamodb.GetItemOutput, error) { return r.DynamoDB.GetItem(ctx, in, opts...) })
}

func (r *RecreatingDynamoDB) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	return retryMissing(ctx, r, func() (*dynamodb.UpdateItemOutput, error) { return r.DynamoDB.UpdateItem(ctx, in, opts...) })
}

func (r *RecreatingDynamoDB) DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	return retryMissing(ctx, r, func() (*dynamodb.DeleteItemOutput, error) { return r.DynamoDB.DeleteItem(ctx, in, opts...) })
}

func (r *RecreatingDynamoDB) Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	return retryMissing(ctx, r, func() (*dynamodb.QueryOutput, error) { return r.DynamoDB.Query(ctx, in, opts...) })
}

func (r *RecreatingDynamoDB) Scan(ctx context.Context, in *dynamodb.ScanInput, opts ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error) {
	return retryMissing(ctx, r, func() (*dynamodb.ScanOutput, error) { return r.DynamoDB.Scan(ctx, in, opts...) })
}
