package authorizer_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/aws/aws-lambda-go/events"
	"github.com/golang-jwt/jwt/v5"

	"github.com/serverless-websockets/serverless-websockets/authorizer"
)

// An issuer publishes its key set; the Handler allows a $connect whose token
// it signed and denies one it did not.
func ExampleHandler() {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	jwk, _ := jwkset.NewJWKFromKey(key.Public(), jwkset.JWKOptions{
		Metadata: jwkset.JWKMetadataOptions{KID: "k1", ALG: jwkset.AlgES256, USE: jwkset.UseSig},
	})
	jwks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(jwkset.JWKSMarshal{Keys: []jwkset.JWKMarshal{jwk.Marshal()}})
	}))
	defer jwks.Close()

	ctx := context.Background()
	v, err := authorizer.NewVerifier(ctx, authorizer.Config{
		Issuer:   "https://issuer.example",
		Audience: "my-client",
		JWKSURL:  jwks.URL,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	h := &authorizer.Handler{Verifier: v, Logger: slog.New(slog.DiscardHandler)}

	tok := jwt.NewWithClaims(jwt.SigningMethodES256, jwt.MapClaims{
		"iss": "https://issuer.example", "client_id": "my-client", "token_use": "access",
		"sub": "alice", "username": "Alice", "cognito:groups": []string{"players"},
		"iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix(),
	})
	tok.Header["kid"] = "k1"
	token, _ := tok.SignedString(key)

	for _, t := range []string{token, token + "x", ""} {
		resp, err := h.Handle(ctx, events.APIGatewayCustomAuthorizerRequestTypeRequest{
			MethodArn:             "arn:aws:execute-api:eu-west-1:123456789012:api/prod/$connect",
			QueryStringParameters: map[string]string{"token": t},
		})
		if err != nil {
			fmt.Println("error:", err)
			continue
		}
		fmt.Println(resp.PolicyDocument.Statement[0].Effect, resp.PrincipalID,
			resp.Context["playerName"], resp.Context["groups"])
	}
	// Output:
	// Allow alice Alice players
	// Deny anonymous <nil> <nil>
	// error: Unauthorized
}
