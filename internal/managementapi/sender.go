// Package managementapi is the adapter for API Gateway's Management API
// (POST|DELETE {endpoint}/@connections/{id}), through the aws-sdk-go-v2
// apigatewaymanagementapi client. It works unchanged against API Gateway and
// against the local gateway, which serves the same API.
//
// A 410 GoneException becomes an error wrapping domain.ErrGone, so callers
// can delete the row of exactly that connection; a 429
// LimitExceededException (the client's outbound buffer is full, or posts
// come too fast) wraps domain.ErrLimitExceeded: the connection lives, but
// the frame was not sent.
package managementapi

import (
	"context"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi/types"

	"github.com/serverless-websockets/serverless-websockets/internal/domain"
)

// API is the part of the Management API client the Sender uses.
type API interface {
	PostToConnection(ctx context.Context, in *apigatewaymanagementapi.PostToConnectionInput, opts ...func(*apigatewaymanagementapi.Options)) (*apigatewaymanagementapi.PostToConnectionOutput, error)
	DeleteConnection(ctx context.Context, in *apigatewaymanagementapi.DeleteConnectionInput, opts ...func(*apigatewaymanagementapi.Options)) (*apigatewaymanagementapi.DeleteConnectionOutput, error)
}

var _ API = (*apigatewaymanagementapi.Client)(nil)

// Sender posts to and closes connections.
type Sender struct {
	api API
}

// errNotUTF8 is why Post refuses data.
var errNotUTF8 = errors.New("the data is not valid UTF-8")

// New returns a Sender over a Management API client.
func New(api API) *Sender { return &Sender{api: api} }

// NewClient returns a Management API client for endpoint, e.g.
// https://{api-id}.execute-api.{region}.amazonaws.com/{stage} in AWS or
// http://127.0.0.1:8080 locally, over cfg (region, credentials, the deadline
// policy).
func NewClient(cfg aws.Config, endpoint string) (*apigatewaymanagementapi.Client, error) {
	if endpoint == "" {
		return nil, errors.New("management API endpoint is empty")
	}
	return apigatewaymanagementapi.NewFromConfig(cfg, func(o *apigatewaymanagementapi.Options) {
		o.BaseEndpoint = aws.String(endpoint)
	}), nil
}

// Post sends data to the connection as one text frame. Data that is not
// valid UTF-8 is refused without a request: a client fails the whole
// connection on such a text frame. A LimitExceededException is answered
// at once, not retried: a client that does not read will not have emptied
// its buffer within the retryer's back-off, and every retry would hold
// the calling invocation (and its concurrency) meanwhile.
func (s *Sender) Post(ctx context.Context, connectionID string, data []byte) error {
	if !utf8.Valid(data) {
		return fmt.Errorf("post to connection %s: %w", connectionID, errNotUTF8)
	}
	_, err := s.api.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{
		ConnectionId: aws.String(connectionID),
		Data:         data,
	}, noRetryWhenFull)
	if err != nil {
		return fmt.Errorf("post to connection %s: %w", connectionID, translate(err))
	}
	return nil
}

// Delete closes the connection; API Gateway then runs $disconnect.
func (s *Sender) Delete(ctx context.Context, connectionID string) error {
	_, err := s.api.DeleteConnection(ctx, &apigatewaymanagementapi.DeleteConnectionInput{ConnectionId: aws.String(connectionID)})
	if err != nil {
		return fmt.Errorf("delete connection %s: %w", connectionID, translate(err))
	}
	return nil
}

// noRetryWhenFull makes a call's retryer give up on a
// LimitExceededException, which the SDK's standard retryer would retry as
// a throttling error.
func noRetryWhenFull(o *apigatewaymanagementapi.Options) {
	if r, ok := o.Retryer.(aws.RetryerV2); ok {
		o.Retryer = fullNotRetried{r}
	}
}

type fullNotRetried struct{ aws.RetryerV2 }

func (r fullNotRetried) IsErrorRetryable(err error) bool {
	if _, ok := errors.AsType[*types.LimitExceededException](err); ok {
		return false
	}
	return r.RetryerV2.IsErrorRetryable(err)
}

// translate keeps the SDK error in the chain and adds domain.ErrGone for a
// GoneException, domain.ErrLimitExceeded for a LimitExceededException.
func translate(err error) error {
	if _, ok := errors.AsType[*types.GoneException](err); ok {
		return fmt.Errorf("%w: %w", domain.ErrGone, err)
	}
	if _, ok := errors.AsType[*types.LimitExceededException](err); ok {
		return fmt.Errorf("%w: %w", domain.ErrLimitExceeded, err)
	}
	return err
}
