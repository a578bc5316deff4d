package awsclients

import (
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
)

// The deadline policy of every AWS client (DynamoDB, the Management API,
// Cognito):
// one attempt may take AttemptTimeout, a call makes at most MaxAttempts
// attempts with at most MaxBackoff between two, so one call takes at most
// 3 × 2 s + 2 × 0.5 s = 7 s. That fits inside the 10 s function timeout,
// less the time a handler keeps back to answer the client; a handler's
// context ends sooner still when its calls add up.
const (
	AttemptTimeout = 2 * time.Second
	MaxAttempts    = 3
	MaxBackoff     = 500 * time.Millisecond
)

// HTTPClient is the SDK's HTTP client with the per-attempt timeout.
func HTTPClient() *awshttp.BuildableClient {
	return awshttp.NewBuildableClient().WithTimeout(AttemptTimeout)
}

// Retryer is the SDK's standard retryer (with its client-side retry quota)
// held to MaxAttempts and MaxBackoff.
func Retryer() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = MaxAttempts
		o.MaxBackoff = MaxBackoff
	})
}
