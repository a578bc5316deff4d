package localstack

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/serverless-websockets/serverless-websockets/internal/awsclients"
)

// localRegion is the region used with an explicit endpoint when none is
// configured; local engines accept any.
const localRegion = "us-east-1"

// NewDynamoDBClient returns an SDK client. With endpoint "" it resolves region,
// endpoint and credentials the AWS default way (region "" leaves the region
// to that resolution too). With an endpoint, for a local engine, it uses
// region us-east-1 when none is found and the static credentials local/local
// when the environment holds no AWS keys. opts are applied first.
func NewDynamoDBClient(ctx context.Context, endpoint, region string, opts ...func(*config.LoadOptions) error) (*dynamodb.Client, error) {
	opts = append([]func(*config.LoadOptions) error(nil), opts...)
	if region != "" {
		opts = append(opts, config.WithRegion(region))
	}
	if endpoint != "" {
		env, err := config.NewEnvConfig()
		if err != nil {
			return nil, fmt.Errorf("dynamodb client: read the environment: %w", err)
		}
		if !env.Credentials.HasKeys() {
			opts = append(opts, config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("local", "local", "")))
		}
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("dynamodb client: load AWS config: %w", err)
	}
	if endpoint == "" {
		return dynamodb.NewFromConfig(cfg), nil
	}
	if cfg.Region == "" {
		cfg.Region = localRegion
	}
	return dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		o.BaseEndpoint = aws.String(endpoint)
	}), nil
}

// loadOptions applies the deadline policy to config.LoadDefaultConfig. (The
// Lambda functions do not use the SDK's config package; see
// awsclients.AWSConfig.)
func loadOptions() []func(*config.LoadOptions) error {
	return []func(*config.LoadOptions) error{
		config.WithHTTPClient(awsclients.HTTPClient()),
		config.WithRetryer(awsclients.Retryer),
	}
}
