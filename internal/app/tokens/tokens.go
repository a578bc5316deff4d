// Package tokens assembles token verification: the $connect REQUEST
// authorizer of the authorizer function, and the verifier the local stack
// puts in front of $connect and the admin API. It is apart from
// internal/app so that the authorizer function links no DynamoDB client.
package tokens

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/serverless-websockets/serverless-websockets/authorizer"
	"github.com/serverless-websockets/serverless-websockets/internal/config"
)

// Config is the verifier's configuration from the settings; client
// fetches the JWKS (nil: the verifier's default client).
func Config(a config.Authorizer, client *http.Client) authorizer.Config {
	return authorizer.Config{
		Issuer: a.Issuer, Audience: a.Audience, JWKSURL: a.JWKSURL, TokenUse: a.TokenUse,
		PlayerIDClaim: a.PlayerIDClaim, HTTPClient: client,
	}
}

// Authorizer builds the verifier of cfg, fetching the issuer's JWKS once
// within ctx, and the REQUEST authorizer's handler around it.
func Authorizer(ctx context.Context, cfg authorizer.Config, log *slog.Logger) (*authorizer.Handler, *authorizer.Verifier, error) {
	v, err := authorizer.NewVerifier(ctx, cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("tokens: %w", err)
	}
	return &authorizer.Handler{Verifier: v, Logger: log}, v, nil
}
