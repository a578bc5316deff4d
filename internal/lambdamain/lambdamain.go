// Package lambdamain starts the data functions (functions/connect,
// disconnect, messages and admin) in Lambda: it reads, once per instance,
// their settings and builds the clients (DynamoDB, the Management API, the
// logger and metrics) that internal/app assembles the handlers on, shared
// while the instance is warm. Only the functions import it, so that the
// local stack does not link the Lambda runtime client.
package lambdamain

import (
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/serverless-websockets/serverless-websockets/internal/app"
	"github.com/serverless-websockets/serverless-websockets/internal/awsclients"
	"github.com/serverless-websockets/serverless-websockets/internal/config"
	"github.com/serverless-websockets/serverless-websockets/internal/logging"
	"github.com/serverless-websockets/serverless-websockets/internal/managementapi"
	"github.com/serverless-websockets/serverless-websockets/internal/metrics"
)

// Function is what a data function's setup starts from: its settings, the
// SDK configuration and the clients the app is built on.
type Function struct {
	Config config.Config
	AWS    aws.Config
	// Clients are DynamoDB (at AWS_ENDPOINT_URL_DYNAMODB when it is set),
	// the Management API (with MANAGEMENT_ENDPOINT), the logger (JSON lines
	// with the Lambda request id) and the metrics (EMF on standard output).
	// Setup may add the user pool.
	Clients app.Clients
}

// App assembles the system from the function's settings and clients.
func (f *Function) App() (*app.App, error) { return app.New(f.Config, f.Clients) }

// load reads the settings of the function name through getenv, and builds
// its clients and its logger.
func load(name string, getenv func(string) string) (*Function, error) {
	cfg, err := config.Load(getenv, config.Functions[name].Need)
	if err != nil {
		return nil, err
	}
	awsCfg, err := awsclients.AWSConfig(cfg)
	if err != nil {
		return nil, err
	}
	ddb := dynamodb.NewFromConfig(awsCfg, func(o *dynamodb.Options) {
		if cfg.DynamoDBEndpoint != "" {
			o.BaseEndpoint = aws.String(cfg.DynamoDBEndpoint)
		}
	})
	f := &Function{Config: cfg, AWS: awsCfg, Clients: app.Clients{
		DynamoDB: ddb, Logger: logging.NewLambda(os.Stdout, cfg.LogLevel), Metrics: &metrics.EMF{W: os.Stdout},
	}}
	if cfg.ManagementEndpoint != "" {
		mgmt, err := managementapi.NewClient(awsCfg, cfg.ManagementEndpoint)
		if err != nil {
			return nil, err
		}
		f.Clients.Sender = managementapi.New(mgmt)
	}
	return f, nil
}

// Start runs the data function name (its directory under functions/, a key
// of config.Functions) in Lambda: setup picks its handler from the app
// (Function.App), once per instance, and returns the handler's Handle
// method for lambda.Start. When loading or setup fails, the process stops
// with the function's name and the reason, which Lambda reports as an init
// error, instead of answering with a half-built handler.
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
