// Package awsclients builds, once per Lambda instance, the AWS configuration
// and the DynamoDB client and store the handlers share while the instance is
// warm, starts the data functions (Start), and holds the deadline policy
// (per-attempt timeout, retry budget) of every AWS client of the project.
package awsclients

import (
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/serverless-websockets/serverless-websockets/internal/apigw"
	"github.com/serverless-websockets/serverless-websockets/internal/config"
	"github.com/serverless-websockets/serverless-websockets/internal/dynamo"
	"github.com/serverless-websockets/serverless-websockets/internal/logging"
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

// Function is what a data function's setup starts from: its settings, the
// SDK configuration, the DynamoDB client and store, and its logger.
type Function struct {
	Config   config.Config
	AWS      aws.Config
	DynamoDB *dynamodb.Client // at AWS_ENDPOINT_URL_DYNAMODB when it is set
	Store    *dynamo.Store
	Sender   *apigw.Sender // the Management API; nil without MANAGEMENT_ENDPOINT
	Logger   *slog.Logger  // JSON lines with the Lambda request id
}

// load reads the settings of the function name through getenv, and builds
// its clients and its logger.
func load(name string, getenv func(string) string) (*Function, error) {
	cfg, err := config.Load(getenv, config.Functions[name].Need)
	if err != nil {
		return nil, err
	}
	awsCfg, err := AWSConfig(cfg)
	if err != nil {
		return nil, err
	}
	ddb := dynamodb.NewFromConfig(awsCfg, func(o *dynamodb.Options) {
		if cfg.DynamoDBEndpoint != "" {
			o.BaseEndpoint = aws.String(cfg.DynamoDBEndpoint)
		}
	})
	f := &Function{
		Config: cfg, AWS: awsCfg, DynamoDB: ddb, Logger: logging.NewLambda(os.Stdout, cfg.LogLevel),
		Store: dynamo.New(ddb, dynamo.Tables{Connections: cfg.ConnectionsTable, Mailbox: cfg.MailboxTable, Bans: cfg.BansTable}, dynamo.Options{
			MaxConnectionsPerPlayer: cfg.MaxConnectionsPerPlayer,
			MailboxMaxMessages:      cfg.MailboxMaxMessages,
			MailboxMaxPerSender:     cfg.MailboxMaxPerSender,
		}),
	}
	if cfg.ManagementEndpoint != "" {
		mgmt, err := apigw.NewClient(awsCfg, cfg.ManagementEndpoint)
		if err != nil {
			return nil, err
		}
		f.Sender = apigw.New(mgmt)
	}
	return f, nil
}

// Start runs the data function name (its directory under functions/, a key
// of config.Functions) in Lambda: setup builds its handler from the
// function's settings and clients, once per instance, and returns the
// handler's Handle method for lambda.Start. When loading or
// setup fails, the process stops with the function's name and the reason,
// which Lambda reports as an init error, instead of answering with a
// half-built handler.
func Start(name string, getenv func(string) string, setup func(*Function) (any, error)) {
	f, err := load(name, getenv)
	var handle any
	if err == nil {
		handle, err = setup(f)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, name+":", err)
		os.Exit(1)
	}
	lambda.Start(handle)
}
