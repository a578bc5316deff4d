// Command disconnect is the $disconnect Lambda: it deletes the row of this
// connection of the authorizer's player.
package main

import (
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/serverless-websockets/serverless-websockets/internal/awsclients"
	"github.com/serverless-websockets/serverless-websockets/internal/handlers"
	"github.com/serverless-websockets/serverless-websockets/internal/metrics"
)

func main() {
	h, err := setup()
	if err != nil {
		fmt.Fprintln(os.Stderr, "disconnect:", err)
		os.Exit(1)
	}
	lambda.Start(h.Handle)
}

func setup() (*handlers.Disconnect, error) {
	f, err := awsclients.Load("disconnect", os.Getenv, os.Stdout)
	if err != nil {
		return nil, err
	}
	c := f.Clients
	return &handlers.Disconnect{
		Connections: c.Store,
		Logger:      f.Logger,
		Metrics:     &metrics.EMF{W: os.Stdout},
	}, nil
}
