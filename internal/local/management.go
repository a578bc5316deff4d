package local

import (
	"context"
	"errors"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi/types"

	"github.com/serverless-websockets/serverless-websockets/internal/local/wsgateway"
	"github.com/serverless-websockets/serverless-websockets/internal/managementapi"
)

// inProcessManagementAPI is the Management API the stack's handlers use by
// default: the local gateway's own Post and Delete, called in process,
// behind the same managementapi.Sender that talks to API Gateway in Lambda.
// It answers as the SDK client would (a *types.GoneException for a gone
// connection, a *types.LimitExceededException for a full buffer), so the
// Sender's translation is the one the functions run; what it skips is the
// SigV4-signed HTTP request to /@connections, which stays for outside
// callers (the AWS CLI, an SDK, Options.ManagementOverHTTP).
type inProcessManagementAPI struct {
	g       *wsgateway.Gateway // set once the gateway exists
	latency time.Duration      // Options.AWSLatency, before every call
}

var _ managementapi.API = (*inProcessManagementAPI)(nil)

func (m *inProcessManagementAPI) PostToConnection(ctx context.Context, in *apigatewaymanagementapi.PostToConnectionInput, _ ...func(*apigatewaymanagementapi.Options)) (*apigatewaymanagementapi.PostToConnectionOutput, error) {
	if err := sleep(ctx, m.latency); err != nil {
		return nil, err
	}
	if err := sdkError(m.g.Post(aws.ToString(in.ConnectionId), in.Data)); err != nil {
		return nil, err
	}
	return &apigatewaymanagementapi.PostToConnectionOutput{}, nil
}

func (m *inProcessManagementAPI) DeleteConnection(ctx context.Context, in *apigatewaymanagementapi.DeleteConnectionInput, _ ...func(*apigatewaymanagementapi.Options)) (*apigatewaymanagementapi.DeleteConnectionOutput, error) {
	if err := sleep(ctx, m.latency); err != nil {
		return nil, err
	}
	if err := sdkError(m.g.Delete(aws.ToString(in.ConnectionId))); err != nil {
		return nil, err
	}
	return &apigatewaymanagementapi.DeleteConnectionOutput{}, nil
}

// sdkError is the gateway's error as the SDK client returns the HTTP
// API's answer for it.
func sdkError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, wsgateway.ErrGone):
		return &types.GoneException{Message: aws.String(err.Error())}
	case errors.Is(err, wsgateway.ErrLimitExceeded):
		return &types.LimitExceededException{Message: aws.String(err.Error())}
	}
	return err
}
