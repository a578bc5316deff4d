package authorizer

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"strings"

	"github.com/aws/aws-lambda-go/events"
)

// ErrUnauthorized is returned by Handler.Handle when the request carries no
// token. API Gateway turns a Lambda authorizer error with exactly this
// message into a 401 response.
var ErrUnauthorized = errors.New("Unauthorized") //nolint:staticcheck // the message API Gateway expects

// TokenQueryParameter is the query string parameter that carries the token
// (the authorizer's identity source is route.request.querystring.token).
const TokenQueryParameter = "token"

// Keys of the authorizer context handed to every later route in
// requestContext.authorizer.
const (
	ContextPlayerID       = "playerId"       // string
	ContextPlayerName     = "playerName"     // string
	ContextGroups         = "groups"         // string, the groups joined with " " (a group name holds no space)
	ContextTokenExpiresAt = "tokenExpiresAt" // int64, unix seconds
)

// denyPrincipal is the principal of a Deny policy, which names no player.
const denyPrincipal = "anonymous"

// Handler is the API Gateway REQUEST authorizer of the $connect route.
type Handler struct {
	Verifier TokenVerifier
	Logger   *slog.Logger // nil: discard
}

// Handle authorizes a $connect request. The token is the last value of the
// token query parameter (?token=&token=T carries T). A missing token is ErrUnauthorized
// (401); a token that does not verify is a Deny policy and no error (403); a
// valid token is an Allow policy for exactly req.MethodArn with the player's
// identity in the context.
func (h *Handler) Handle(ctx context.Context, req events.APIGatewayCustomAuthorizerRequestTypeRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
	log := cmp.Or(h.Logger, slog.New(slog.DiscardHandler)).With("requestId", req.RequestContext.RequestID)
	token := req.QueryStringParameters[TokenQueryParameter]
	if vs := req.MultiValueQueryStringParameters[TokenQueryParameter]; len(vs) > 0 {
		// A token given twice counts with its last value, as API Gateway's
		// queryStringParameters and the local gateway have it.
		token = vs[len(vs)-1]
	}
	if token == "" {
		log.InfoContext(ctx, "connect unauthorized", "reason", "no token")
		return events.APIGatewayCustomAuthorizerResponse{}, ErrUnauthorized
	}
	if req.MethodArn == "" {
		log.ErrorContext(ctx, "connect denied", "reason", "request has no method ARN")
		return policy(denyPrincipal, "Deny", "*", nil), nil
	}
	id, err := h.Verifier.Verify(ctx, token)
	if err != nil {
		log.WarnContext(ctx, "connect denied", "reason", err.Error())
		return policy(denyPrincipal, "Deny", req.MethodArn, nil), nil
	}
	log.InfoContext(ctx, "connect allowed", "playerId", id.PlayerID, "groups", id.Groups,
		"tokenExpiresAt", id.ExpiresAt.Unix())
	return policy(id.PlayerID, "Allow", req.MethodArn, map[string]any{
		ContextPlayerID:       id.PlayerID,
		ContextPlayerName:     id.PlayerName,
		ContextGroups:         strings.Join(id.Groups, " "),
		ContextTokenExpiresAt: id.ExpiresAt.Unix(),
	}), nil
}

func policy(principal, effect, resource string, context map[string]any) events.APIGatewayCustomAuthorizerResponse {
	return events.APIGatewayCustomAuthorizerResponse{
		PrincipalID: principal,
		PolicyDocument: events.APIGatewayCustomAuthorizerPolicy{
			Version: "2012-10-17",
			Statement: []events.IAMPolicyStatement{{
				Action:   []string{"execute-api:Invoke"},
				Effect:   effect,
				Resource: []string{resource},
			}},
		},
		Context: context,
	}
}
