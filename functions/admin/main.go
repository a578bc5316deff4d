// Command admin is the Lambda behind the admin HTTP API (payload format
// 2.0, JWT authorizer on the user pool): it shows, kicks, bans and unbans
// players. See package internal/admin for the routes.
package main

import (
	"os"

	"github.com/serverless-websockets/serverless-websockets/internal/cognito"
	"github.com/serverless-websockets/serverless-websockets/internal/lambdamain"
)

func main() {
	lambdamain.Start("admin", os.Getenv, func(f *lambdamain.Function) (any, error) {
		if id := f.Config.CognitoUserPoolID; id != "" {
			accounts, err := cognito.New(cognito.NewClient(f.AWS, f.Config.CognitoEndpoint), id)
			if err != nil {
				return nil, err
			}
			f.Clients.Accounts = accounts
		}
		a, err := f.App()
		if err != nil {
			return nil, err
		}
		h, err := a.Admin()
		if err != nil {
			return nil, err
		}
		return h.Handle, nil
	})
}
