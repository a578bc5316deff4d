// Command connect is the $connect Lambda: it stores the connection of the
// authorizer's player, refusing a banned player (403 banned), a player over the connection cap (403) or
// connecting too often (429).
package main

import (
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/serverless-websockets/serverless-websockets/internal/awsclients"
	"github.com/serverless-websockets/serverless-websockets/internal/config"
	"github.com/serverless-websockets/serverless-websockets/internal/handlers"
	"github.com/serverless-websockets/serverless-websockets/internal/logging"
	"github.com/serverless-websockets/serverless-websockets/internal/metrics"
	"github.com/serverless-websockets/serverless-websockets/ratelimit"
)

func main() {
	h, err := setup()
	if err != nil {
		fmt.Fprintln(os.Stderr, "connect:", err)
		os.Exit(1)
	}
	lambda.Start(h.Handle)
}

func setup() (*handlers.Connect, error) {
	cfg, err := config.Load(os.Getenv, config.Functions["connect"].Need)
	if err != nil {
		return nil, err
	}
	awsCfg, err := awsclients.AWSConfig(cfg)
	if err != nil {
		return nil, err
	}
	c := awsclients.New(awsCfg, cfg)
	return &handlers.Connect{
		Connections: c.Store,
		Bans:        c.Store,
		Limiter:     ratelimit.New(c.DynamoDB, cfg.RateLimits),
		TTL:         cfg.ConnectionTTL,
		Logger:      logging.NewLambda(os.Stdout, cfg.LogLevel),
		Metrics:     &metrics.EMF{W: os.Stdout},
	}, nil
}
