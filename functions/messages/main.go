// Command messages is the Lambda behind every route after $connect:
// sendmessage, inbox, presence, ping and $default. One function serves them
// all so that a player's traffic meets warm instances, and their rate-limit
// deny cache, more often, and so that there is one cold start to pay, not
// five.
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
		fmt.Fprintln(os.Stderr, "messages:", err)
		os.Exit(1)
	}
	lambda.Start(h.Handle)
}

func setup() (*handlers.Messages, error) {
	f, err := awsclients.Load("messages", os.Getenv, os.Stdout)
	if err != nil {
		return nil, err
	}
	cfg, c := f.Config, f.Clients
	return &handlers.Messages{
		Connections:     c.Store,
		Presence:        c.Store,
		Mailbox:         c.Store,
		Sender:          f.Sender,
		Limiter:         ratelimit.New(c.DynamoDB, cfg.RateLimits),
		Bans:            c.Store,
		MaxMessageBytes: cfg.MaxMessageBytes,
		MailboxTTL:      cfg.MailboxTTL,
		InboxBatch:      cfg.MailboxMaxMessages,
		Logger:          f.Logger,
		Metrics:         &metrics.EMF{W: os.Stdout},
	}, nil
}
