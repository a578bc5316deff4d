// Command connect is the $connect Lambda: it stores the connection of the
// authorizer's player, refusing a banned player (403 banned), a player over the connection cap (403) or
// connecting too often (429).
package main

import (
	"os"

	"github.com/serverless-websockets/serverless-websockets/internal/handlers"
	"github.com/serverless-websockets/serverless-websockets/internal/lambdamain"
	"github.com/serverless-websockets/serverless-websockets/ratelimit"
)

func main() {
	lambdamain.Start("connect", os.Getenv, func(f *lambdamain.Function) (any, error) {
		h := &handlers.Connect{
			Connections: f.Store,
			Bans:        f.Store,
			Limiter:     ratelimit.New(f.DynamoDB, f.Config.RateLimits),
			TTL:         f.Config.ConnectionTTL,
			Logger:      f.Logger,
			Metrics:     f.Metrics,
		}
		return h.Handle, nil
	})
}
