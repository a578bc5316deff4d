// Command messages is the Lambda behind every route after $connect:
// sendmessage, inbox, presence, ping and $default. One function serves them
// all so that a player's traffic meets warm instances, and their rate-limit
// deny cache, more often, and so that there is one cold start to pay, not
// five.
package main

import (
	"os"

	"github.com/serverless-websockets/serverless-websockets/internal/handlers"
	"github.com/serverless-websockets/serverless-websockets/internal/lambdamain"
	"github.com/serverless-websockets/serverless-websockets/ratelimit"
)

func main() {
	lambdamain.Start("messages", os.Getenv, func(f *lambdamain.Function) (any, error) {
		cfg := f.Config
		h := &handlers.Messages{
			Connections:     f.Store,
			Presence:        f.Store,
			Mailbox:         f.Store,
			Sender:          f.Sender,
			Limiter:         ratelimit.New(f.DynamoDB, cfg.RateLimits),
			Bans:            f.Store,
			MaxMessageBytes: cfg.MaxMessageBytes,
			MailboxTTL:      cfg.MailboxTTL,
			InboxBatch:      cfg.MailboxMaxMessages,
			Logger:          f.Logger,
			Metrics:         f.Metrics,
		}
		return h.Handle, nil
	})
}
