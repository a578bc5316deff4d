// Command disconnect is the $disconnect Lambda: it deletes the row of this
// connection of the authorizer's player.
package main

import (
	"os"

	"github.com/serverless-websockets/serverless-websockets/internal/awsclients"
	"github.com/serverless-websockets/serverless-websockets/internal/handlers"
	"github.com/serverless-websockets/serverless-websockets/internal/metrics"
)

func main() {
	awsclients.Start("disconnect", os.Getenv, func(f *awsclients.Function) (any, error) {
		h := &handlers.Disconnect{Connections: f.Store, Logger: f.Logger, Metrics: &metrics.EMF{W: os.Stdout}}
		return h.Handle, nil
	})
}
