// Command authorizer is the Lambda REQUEST authorizer of the WebSocket API's
// $connect route: it verifies the token in ?token= against the issuer's JWKS
// and answers API Gateway with an Allow or Deny policy.
//
// Environment (read by internal/config.LoadAuthorizer): JWT_ISSUER,
// JWT_AUDIENCE, JWKS_URL (required); JWT_TOKEN_USE ("access" or "id",
// default access), PLAYER_ID_CLAIM (default username), LOG_LEVEL (debug, info,
// warn, error; default info).
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/serverless-websockets/serverless-websockets/authorizer"
	"github.com/serverless-websockets/serverless-websockets/internal/app/tokens"
	"github.com/serverless-websockets/serverless-websockets/internal/config"
	"github.com/serverless-websockets/serverless-websockets/internal/logging"
)

// initTimeout bounds the JWKS fetch made at start-up.
const initTimeout = 10 * time.Second

func main() {
	h, err := setup()
	if err != nil {
		fmt.Fprintln(os.Stderr, "authorizer:", err)
		os.Exit(1)
	}
	lambda.Start(h.Handle)
}

func setup() (*authorizer.Handler, error) {
	cfg, err := config.LoadAuthorizer(os.Getenv)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), initTimeout)
	defer cancel()
	h, _, err := tokens.Authorizer(ctx, tokens.Config(cfg, nil), logging.NewLambda(os.Stdout, cfg.LogLevel))
	return h, err
}
