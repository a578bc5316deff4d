// Command admin is the Lambda behind the admin HTTP API (payload format
// 2.0, JWT authorizer on the user pool): it shows, kicks, bans and unbans
// players. See package internal/admin for the routes.
package main

import (
	"os"

	"github.com/serverless-websockets/serverless-websockets/internal/admin"
	"github.com/serverless-websockets/serverless-websockets/internal/cognito"
	"github.com/serverless-websockets/serverless-websockets/internal/dynamo"
	"github.com/serverless-websockets/serverless-websockets/internal/lambdamain"
)

func main() {
	lambdamain.Start("admin", os.Getenv, func(f *lambdamain.Function) (any, error) {
		cfg := f.Config
		h := &admin.Handler{
			Store:         f.Store,
			Connections:   f.Sender,
			BadCursor:     dynamo.ErrBadCursor,
			AdminGroup:    cfg.AdminGroup,
			PlayerIDClaim: cfg.PlayerIDClaim,
			Logger:        f.Logger,
		}
		if cfg.CognitoUserPoolID == "" {
			f.Logger.Info("no COGNITO_USER_POOL_ID; bans and unbans skip the Cognito steps")
			return h.Handle, nil
		}
		var err error
		h.Accounts, err = cognito.New(cognito.NewClient(f.AWS, cfg.CognitoEndpoint), cfg.CognitoUserPoolID)
		return h.Handle, err
	})
}
