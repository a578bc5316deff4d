// Command admin is the Lambda behind the admin HTTP API (payload format
// 2.0, JWT authorizer on the user pool): it shows, kicks, bans and unbans
// players. See package internal/admin for the routes.
package main

import (
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/serverless-websockets/serverless-websockets/internal/admin"
	"github.com/serverless-websockets/serverless-websockets/internal/awsclients"
	"github.com/serverless-websockets/serverless-websockets/internal/cognito"
	"github.com/serverless-websockets/serverless-websockets/internal/dynamo"
)

func main() {
	h, err := setup(os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "admin:", err)
		os.Exit(1)
	}
	lambda.Start(h.Handle)
}

func setup(getenv func(string) string) (*admin.Handler, error) {
	f, err := awsclients.Load("admin", getenv, os.Stdout)
	if err != nil {
		return nil, err
	}
	cfg, awsCfg, c := f.Config, f.AWS, f.Clients
	log := f.Logger
	h := &admin.Handler{
		Store:         c.Store,
		Connections:   f.Sender,
		BadCursor:     dynamo.ErrBadCursor,
		AdminGroup:    cfg.AdminGroup,
		PlayerIDClaim: cfg.PlayerIDClaim,
		Logger:        log,
	}
	if cfg.CognitoUserPoolID == "" {
		log.Info("no COGNITO_USER_POOL_ID; bans and unbans skip the Cognito steps")
		return h, nil
	}
	if h.Accounts, err = cognito.New(cognito.NewClient(awsCfg, cfg.CognitoEndpoint), cfg.CognitoUserPoolID); err != nil {
		return nil, err
	}
	return h, nil
}
