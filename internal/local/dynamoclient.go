package local

import (
	"cmp"
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/serverless-websockets/serverless-websockets/internal/awsclients"
)

// NewDynamoDBClient returns an SDK client for a local engine at endpoint,
// with the deadline policy of awsclients. The region is region, else the
// AWS default resolution's, else us-east-1 (local engines accept any); the
// credentials are the environment's AWS keys, else the static local/local.
// (The Lambda functions do not use the SDK's config package; see
// awsclients.AWSConfig.)
func NewDynamoDBClient(ctx context.Context, endpoint, region string) (*dynamodb.Client, error) {
	opts := []func(*config.LoadOptions) error{
		config.WithHTTPClient(awsclients.HTTPClient()),
		config.WithRetryer(awsclients.Retryer),
	}
	if region != "" {
		opts = append(opts, config.WithRegion(region))
	}
	env, err := config.NewEnvConfig()
	if err != nil {
		return nil, fmt.Errorf("dynamodb client: read the environment: %w", err)
	}
	if !env.Credentials.HasKeys() {
		opts = append(opts, config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("local", "local", "")))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("dynamodb client: load AWS config: %w", err)
	}
	cfg.Region = cmp.Or(cfg.Region, "us-east-1")
	return dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		o.BaseEndpoint = aws.String(endpoint)
	}), nil
}
