// Command connect is the $connect Lambda: it stores the connection of the
// authorizer's player, refusing a banned player (403 banned), a player over the connection cap (403) or
// connecting too often (429).
package main

import (
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/serverless-websockets/serverless-websockets/internal/awsclients"
	"github.com/serverless-websockets/serverless-websockets/internal/handlers"
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
	f, err := awsclients.Load("connect", os.Getenv, os.Stdout)
	if err != nil {
		return nil, err
	}
	cfg, c := f.Config, f.Clients
	return &handlers.Connect{
		Connections: c.Store,
		Bans:        c.Store,
		Limiter:     ratelimit.New(c.DynamoDB, cfg.RateLimits),
		TTL:         cfg.ConnectionTTL,
		Logger:      f.Logger,
		Metrics:     &metrics.EMF{W: os.Stdout},
	}, nil
}
