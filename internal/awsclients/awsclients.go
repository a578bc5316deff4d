// Package awsclients holds the deadline policy (per-attempt timeout, retry
// budget) of every AWS client of the project, and the SDK configuration of
// a Lambda function held to it.
package awsclients

import (
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/serverless-websockets/serverless-websockets/internal/config"
)

// AWSConfig is the SDK configuration of a Lambda function: the region and
// the execution role's credentials that Lambda puts in the environment (as
// internal/config read them), held to the deadline policy. It is built
// without the SDK's config package on purpose: its chain of shared files,
// SSO, STS and instance metadata is never used in Lambda and adds about
// 1.8 MB to every bootstrap (see BENCHMARKS.md).
func AWSConfig(cfg config.Config) (aws.Config, error) {
	c := cfg.Credentials
	if c.AccessKeyID == "" || c.SecretAccessKey == "" {
		return aws.Config{}, errors.New("aws config: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set (Lambda sets them to the execution role's keys)")
	}
	return aws.Config{
		Region:      cfg.Region,
		Credentials: aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(c.AccessKeyID, c.SecretAccessKey, c.SessionToken)),
		HTTPClient:  HTTPClient(),
		Retryer:     Retryer,
	}, nil
}
