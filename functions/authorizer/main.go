// Command authorizer is the Lambda REQUEST authorizer of the WebSocket API's
// $connect route: it verifies the token in ?token= against the issuer's JWKS
// and answers API Gateway with an Allow or Deny policy.
//
// Environment: JWT_ISSUER, JWT_AUDIENCE, JWKS_URL (required); JWT_TOKEN_USE
// ("access" or "id", default access), PLAYER_ID_CLAIM (default sub),
// LOG_LEVEL (debug, info, warn, error; default info).
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/serverless-websockets/serverless-websockets/authorizer"
)

// initTimeout bounds the JWKS fetch made at start-up.
const initTimeout = 10 * time.Second

func main() {
	if err := run(); err != nil {
		slog.Error("authorizer start-up failed", "error", err)
		os.Exit(1)
	}
}

func run() error {
	var level slog.Level
	var levelErr error
	if s := os.Getenv("LOG_LEVEL"); s != "" {
		if err := level.UnmarshalText([]byte(s)); err != nil {
			levelErr = fmt.Errorf("LOG_LEVEL: %w", err)
		}
	}
	logger := slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: level}))
	slog.SetDefault(logger)

	cfg, cfgErr := authorizer.ConfigFromEnv(os.Getenv)
	if err := errors.Join(cfgErr, levelErr); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), initTimeout)
	defer cancel()
	v, err := authorizer.NewVerifier(ctx, cfg)
	if err != nil {
		return err
	}
	h := &authorizer.Handler{Verifier: v, Logger: logger}
	lambda.Start(h.Handle)
	return nil
}
