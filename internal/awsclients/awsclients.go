// Package awsclients builds, once per Lambda instance, the AWS clients and
// the DynamoDB store the handlers share while the instance is warm, and
// holds the deadline policy (per-attempt timeout, retry budget) of every AWS
// client of the project.
package awsclients

import (
	"context"
	"fmt"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/serverless-websockets/serverless-websockets/internal/config"
	"github.com/serverless-websockets/serverless-websockets/internal/dynamo"
)

// Clients are the DynamoDB client and the store over it.
type Clients struct {
	DynamoDB *dynamodb.Client
	Store    *dynamo.Store
}

// New loads the AWS configuration of the Lambda environment and builds the
// DynamoDB client, held to the deadline policy, and the store.
func New(ctx context.Context, cfg config.Config) (*Clients, error) {
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx, append(LoadOptions(), awsconfig.WithRegion(cfg.Region))...)
	if err != nil {
		return nil, fmt.Errorf("load AWS config: %w", err)
	}
	ddb := dynamodb.NewFromConfig(awsCfg)
	store := dynamo.New(ddb, dynamo.Tables{Connections: cfg.ConnectionsTable, Mailbox: cfg.MailboxTable}, dynamo.Options{
		MaxConnectionsPerPlayer: cfg.MaxConnectionsPerPlayer,
		MailboxMaxMessages:      cfg.MailboxMaxMessages,
		MailboxMaxPerSender:     cfg.MailboxMaxPerSender,
	})
	return &Clients{DynamoDB: ddb, Store: store}, nil
}
