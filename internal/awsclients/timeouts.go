package awsclients

import (
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
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

// Retryer is the SDK's standard retryer held to MaxAttempts and MaxBackoff,
// without the client-side retry quota. That quota is one token bucket (500
// tokens, each retry costing several) shared by every call of a client, so
// in a warm Lambda function or in the local stack the timeouts of calls to
// one slow peer would spend it and then every other call's first failure
// would end in "retry quota exceeded". Each call is bounded by MaxAttempts
// and the deadlines above instead.
func Retryer() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = MaxAttempts
		o.MaxBackoff = MaxBackoff
		o.RateLimiter = ratelimit.None
	})
}
