package authorizer_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/golang-jwt/jwt/v5"

	"github.com/serverless-websockets/serverless-websockets/authorizer"
)

// verifiers builds one Verifier per configuration used by the table tests,
// all on one JWKS server holding rsaKey and ecKey, all on clock c.
func verifiers(t *testing.T, c *clock) map[string]*authorizer.Verifier {
	t.Helper()
	testKeys(t)
	srv := newJWKSServer(t, rsaKey, ecKey)
	return map[string]*authorizer.Verifier{
		"access": srv.newVerifier(t, authorizer.Config{Now: c.Now, PlayerIDClaim: "sub"}),
		"id":     srv.newVerifier(t, authorizer.Config{Now: c.Now, TokenUse: authorizer.TokenUseID, PlayerIDClaim: "sub"}),
		// The defaults name the player by the Cognito user name: the
		// username claim of an access token, cognito:username of an ID token.
		"default":    srv.newVerifier(t, authorizer.Config{Now: c.Now}),
		"default id": srv.newVerifier(t, authorizer.Config{Now: c.Now, TokenUse: authorizer.TokenUseID}),
		"custom":     srv.newVerifier(t, authorizer.Config{Now: c.Now, PlayerIDClaim: "custom:playerId"}),
	}
}

func request(token string, present bool) events.APIGatewayCustomAuthorizerRequestTypeRequest {
	req := events.APIGatewayCustomAuthorizerRequestTypeRequest{
		Type:                  "REQUEST",
		MethodArn:             testARN,
		QueryStringParameters: map[string]string{"other": "x"},
		RequestContext:        events.APIGatewayCustomAuthorizerRequestTypeRequestContext{RequestID: "req-42"},
	}
	if present {
		req.QueryStringParameters["token"] = token
	}
	return req
}

// tamper replaces the payload of a signed token, keeping its signature.
func tamper(t *testing.T, token string, claims jwt.MapClaims) string {
	t.Helper()
	parts := strings.Split(token, ".")
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	parts[1] = base64.RawURLEncoding.EncodeToString(payload)
	return strings.Join(parts, ".")
}

// forge signs claims with method and key under the RSA key's kid: the
// algorithm-confusion tokens a verifier must refuse.
func forge(t *testing.T, method jwt.SigningMethod, key any, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	tok.Header["kid"] = rsaKey.kid
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestHandlerSecurity(t *testing.T) {
	c := newClock()
	vs := verifiers(t, c)
	now := c.Now()
	valid := accessClaims(now)
	validToken := sign(t, rsaKey, valid)

	der, err := x509.MarshalPKIXPublicKey(rsaKey.key.Public())
	if err != nil {
		t.Fatal(err)
	}
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	noKID := rsaKey
	noKID.kid = ""
	rsaWithECKID := rsaKey
	rsaWithECKID.kid = ecKey.kid
	rogueSameKID := rogueRSA
	rogueSameKID.kid = rsaKey.kid
	rogueECSameKID := rogueEC
	rogueECSameKID.kid = ecKey.kid
	parts := strings.Split(validToken, ".")

	type want struct {
		err error // nil: allowed
		// for allowed tokens
		player, name, groups string
	}
	tests := []struct {
		name     string
		verifier string // key of vs; "" means "access"
		token    string
		absent   bool // no token parameter at all
		want     want
	}{
		{name: "no token parameter", absent: true, want: want{err: authorizer.ErrUnauthorized}},
		{name: "empty token", token: "", want: want{err: authorizer.ErrUnauthorized}},
		{name: "garbage", token: "not-a-jwt", want: want{err: authorizer.ErrMalformed}},
		{name: "three garbage segments", token: "a.b.c", want: want{err: authorizer.ErrMalformed}},
		{name: "alg none", token: forge(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, valid), want: want{err: authorizer.ErrAlgorithm}},
		{name: "HS256 keyed with the public key PEM", token: forge(t, jwt.SigningMethodHS256, pemBytes, valid), want: want{err: authorizer.ErrAlgorithm}},
		{name: "HS256 keyed with the public key DER", token: forge(t, jwt.SigningMethodHS256, der, valid), want: want{err: authorizer.ErrAlgorithm}},
		{name: "RS256 by a key not in the JWKS, real kid", token: sign(t, rogueSameKID, valid), want: want{err: authorizer.ErrBadSignature}},
		{name: "ES256 by a key not in the JWKS, real kid", token: sign(t, rogueECSameKID, valid), want: want{err: authorizer.ErrBadSignature}},
		{name: "RS256 by a key not in the JWKS, own kid", token: sign(t, rogueRSA, valid), want: want{err: authorizer.ErrUnknownKey}},
		{name: "no kid", token: sign(t, noKID, valid), want: want{err: authorizer.ErrUnknownKey}},
		{name: "RS256 naming the EC key", token: sign(t, rsaWithECKID, valid), want: want{err: authorizer.ErrUnverifiable}},
		{name: "signature removed", token: parts[0] + "." + parts[1] + ".", want: want{err: authorizer.ErrBadSignature}},
		{name: "tampered payload", token: tamper(t, validToken, with(valid, "sub", "bob")), want: want{err: authorizer.ErrBadSignature}},
		{name: "expired", token: sign(t, rsaKey, with(valid, "exp", now.Add(-time.Minute).Unix())), want: want{err: authorizer.ErrExpired}},
		{name: "no exp", token: sign(t, rsaKey, with(valid, "exp", nil)), want: want{err: authorizer.ErrClaims}},
		{name: "exp not a number", token: sign(t, rsaKey, with(valid, "exp", "tomorrow")), want: want{err: authorizer.ErrClaims}},
		{name: "nbf in the future", token: sign(t, rsaKey, with(valid, "nbf", now.Add(time.Minute).Unix())), want: want{err: authorizer.ErrNotYetValid}},
		{name: "iat in the future", token: sign(t, rsaKey, with(valid, "iat", now.Add(time.Minute).Unix())), want: want{err: authorizer.ErrIssuedInFuture}},
		{name: "wrong issuer", token: sign(t, rsaKey, with(valid, "iss", "https://evil.example")), want: want{err: authorizer.ErrIssuer}},
		{name: "issuer with a trailing slash", token: sign(t, rsaKey, with(valid, "iss", testIssuer+"/")), want: want{err: authorizer.ErrIssuer}},
		{name: "no issuer", token: sign(t, rsaKey, with(valid, "iss", nil)), want: want{err: authorizer.ErrClaims}},
		{name: "wrong client_id", token: sign(t, rsaKey, with(valid, "client_id", "other-client")), want: want{err: authorizer.ErrAudience}},
		{name: "no client_id", token: sign(t, rsaKey, with(valid, "client_id", nil)), want: want{err: authorizer.ErrAudience}},
		{name: "ID token where access required", token: sign(t, rsaKey, idClaims(now)), want: want{err: authorizer.ErrTokenUse}},
		{name: "no token_use", token: sign(t, rsaKey, with(valid, "token_use", nil)), want: want{err: authorizer.ErrTokenUse}},
		{name: "access token where id required", verifier: "id", token: validToken, want: want{err: authorizer.ErrClaims}}, // no aud
		{name: "access token with aud where id required", verifier: "id", token: sign(t, rsaKey, with(valid, "aud", testClientID)), want: want{err: authorizer.ErrTokenUse}},
		{name: "ID token with wrong aud", verifier: "id", token: sign(t, rsaKey, with(idClaims(now), "aud", "other-client")), want: want{err: authorizer.ErrAudience}},
		{name: "ID token without aud", verifier: "id", token: sign(t, rsaKey, with(idClaims(now), "aud", nil)), want: want{err: authorizer.ErrClaims}},
		{name: "missing player claim", token: sign(t, rsaKey, with(valid, "sub", nil)), want: want{err: authorizer.ErrPlayerID}},
		{name: "empty player claim", token: sign(t, rsaKey, with(valid, "sub", "")), want: want{err: authorizer.ErrPlayerID}},
		{name: "player claim not a string", token: sign(t, rsaKey, with(valid, "sub", 42)), want: want{err: authorizer.ErrPlayerID}},
		{name: "player id with a space", token: sign(t, rsaKey, with(valid, "sub", "alice bob")), want: want{err: authorizer.ErrPlayerID}},
		{name: "player id with a slash", token: sign(t, rsaKey, with(valid, "sub", "../admin")), want: want{err: authorizer.ErrPlayerID}},
		{name: "player id too long", token: sign(t, rsaKey, with(valid, "sub", strings.Repeat("a", 129))), want: want{err: authorizer.ErrPlayerID}},
		{name: "custom player claim missing", verifier: "custom", token: validToken, want: want{err: authorizer.ErrPlayerID}},
		{name: "groups not an array", token: sign(t, rsaKey, with(valid, "cognito:groups", "admin")), want: want{err: authorizer.ErrClaims}},
		{name: "group with a space", token: sign(t, rsaKey, with(valid, "cognito:groups", []any{"x admin"})), want: want{err: authorizer.ErrClaims}},
		{name: "group with a no-break space", token: sign(t, rsaKey, with(valid, "cognito:groups", []any{"x\u00a0admin"})), want: want{err: authorizer.ErrClaims}},
		{name: "group with a tab", token: sign(t, rsaKey, with(valid, "cognito:groups", []any{"x\tadmin"})), want: want{err: authorizer.ErrClaims}},
		{name: "valid, group with a comma and quotes", token: sign(t, rsaKey, with(valid, "cognito:groups", []any{"a,b", `"admin"`})), want: want{player: "alice", name: "Alice", groups: `a,b "admin"`}},
		{name: "token over 8 KiB", token: sign(t, rsaKey, with(valid, "pad", strings.Repeat("x", 8192))), want: want{err: authorizer.ErrTokenTooLarge}},

		{name: "valid RS256", token: validToken, want: want{player: "alice", name: "Alice", groups: "admin ops"}},
		{name: "valid ES256", token: sign(t, ecKey, valid), want: want{player: "alice", name: "Alice", groups: "admin ops"}},
		{name: "valid without groups", token: sign(t, rsaKey, with(valid, "cognito:groups", nil)), want: want{player: "alice", name: "Alice"}},
		{name: "valid, username unusable", token: sign(t, rsaKey, with(valid, "username", "a\nb")), want: want{player: "alice", name: "alice", groups: "admin ops"}},
		{name: "valid, expired within the leeway", token: sign(t, rsaKey, with(valid, "exp", now.Add(-2*time.Second).Unix())), want: want{player: "alice", name: "Alice", groups: "admin ops"}},
		{name: "valid, iat within the leeway", token: sign(t, rsaKey, with(valid, "iat", now.Add(2*time.Second).Unix())), want: want{player: "alice", name: "Alice", groups: "admin ops"}},
		{name: "valid e-mail player id", token: sign(t, rsaKey, with(valid, "sub", "alice.smith+test@example.com")), want: want{player: "alice.smith+test@example.com", name: "Alice", groups: "admin ops"}},
		{name: "valid ID token", verifier: "id", token: sign(t, ecKey, idClaims(now)), want: want{player: "alice", name: "alice-the-great"}},
		{name: "valid ID token, aud array", verifier: "id", token: sign(t, rsaKey, with(idClaims(now), "aud", []any{"x", testClientID})), want: want{player: "alice", name: "alice-the-great"}},
		{name: "valid, default claim username", verifier: "default", token: validToken, want: want{player: "alice", name: "Alice", groups: "admin ops"}},
		{name: "default claim username missing", verifier: "default", token: sign(t, rsaKey, with(valid, "username", nil)), want: want{err: authorizer.ErrPlayerID}},
		{name: "valid ID token, default claim cognito:username", verifier: "default id", token: sign(t, rsaKey, idClaims(now)), want: want{player: "alice-the-great", name: "alice-the-great"}},
		{name: "valid custom player claim", verifier: "custom", token: sign(t, rsaKey, with(valid, "custom:playerId", "p-7")), want: want{player: "p-7", name: "Alice", groups: "admin ops"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := tt.verifier
			if name == "" {
				name = "access"
			}
			var logs bytes.Buffer
			h := &authorizer.Handler{Verifier: vs[name], Logger: slog.New(slog.NewJSONHandler(&logs, nil))}
			resp, err := h.Handle(context.Background(), request(tt.token, !tt.absent))

			if tt.token != "" && strings.Contains(logs.String(), tt.token) {
				t.Errorf("the log contains the token: %s", logs.String())
			}
			if !strings.Contains(logs.String(), `"requestId":"req-42"`) {
				t.Errorf("the log lacks the request id: %s", logs.String())
			}
			switch {
			case errors.Is(tt.want.err, authorizer.ErrUnauthorized):
				if !errors.Is(err, authorizer.ErrUnauthorized) || err.Error() != "Unauthorized" {
					t.Fatalf("Handle error = %v, want exactly Unauthorized", err)
				}
				return
			case err != nil:
				t.Fatalf("Handle error = %v, want none", err)
			}
			if tt.want.err != nil {
				assertPolicy(t, resp, "Deny")
				if resp.PrincipalID == "alice" || resp.Context != nil {
					t.Errorf("a Deny names a player: %+v", resp)
				}
				_, verr := vs[name].Verify(context.Background(), tt.token)
				if !errors.Is(verr, tt.want.err) {
					t.Errorf("Verify error = %v, want %v", verr, tt.want.err)
				}
				if !strings.Contains(logs.String(), tt.want.err.Error()) {
					t.Errorf("the log does not give the reason %q: %s", tt.want.err, logs.String())
				}
				return
			}
			assertPolicy(t, resp, "Allow")
			if resp.PrincipalID != tt.want.player {
				t.Errorf("PrincipalID = %q, want %q", resp.PrincipalID, tt.want.player)
			}
			wantCtx := map[string]any{
				"playerId":       tt.want.player,
				"playerName":     tt.want.name,
				"groups":         tt.want.groups,
				"tokenExpiresAt": now.Add(time.Hour).Unix(),
			}
			if tt.name == "valid, expired within the leeway" {
				wantCtx["tokenExpiresAt"] = now.Add(-2 * time.Second).Unix()
			}
			if !reflect.DeepEqual(resp.Context, wantCtx) {
				t.Errorf("Context = %#v, want %#v", resp.Context, wantCtx)
			}
		})
	}
}

func assertPolicy(t *testing.T, resp events.APIGatewayCustomAuthorizerResponse, effect string) {
	t.Helper()
	want := events.APIGatewayCustomAuthorizerPolicy{
		Version: "2012-10-17",
		Statement: []events.IAMPolicyStatement{{
			Action: []string{"execute-api:Invoke"}, Effect: effect, Resource: []string{testARN},
		}},
	}
	if !reflect.DeepEqual(resp.PolicyDocument, want) {
		t.Fatalf("PolicyDocument = %+v, want %+v", resp.PolicyDocument, want)
	}
}

// fakeVerifier is a TokenVerifier that returns fixed results.
type fakeVerifier struct {
	id  authorizer.Identity
	err error
}

func (f fakeVerifier) Verify(context.Context, string) (authorizer.Identity, error) {
	return f.id, f.err
}

func TestHandlerWithoutMethodARNDenies(t *testing.T) {
	h := &authorizer.Handler{Verifier: fakeVerifier{id: authorizer.Identity{PlayerID: "alice"}}, Logger: slog.New(slog.DiscardHandler)}
	req := request("t", true)
	req.MethodArn = ""
	resp, err := h.Handle(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.PolicyDocument.Statement[0].Effect; got != "Deny" {
		t.Errorf("Effect = %q, want Deny", got)
	}
}

func TestHandlerJSONShape(t *testing.T) {
	exp := time.Unix(1_750_003_600, 0)
	h := &authorizer.Handler{Verifier: fakeVerifier{id: authorizer.Identity{
		PlayerID: "alice", PlayerName: "Alice", Groups: []string{"admin"}, ExpiresAt: exp,
	}}, Logger: slog.New(slog.DiscardHandler)}
	resp, err := h.Handle(context.Background(), request("t", true))
	if err != nil {
		t.Fatal(err)
	}
	got, err := json.Marshal(resp)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"principalId":"alice","policyDocument":{"Version":"2012-10-17","Statement":[{"Action":["execute-api:Invoke"],"Effect":"Allow","Resource":["` + testARN + `"]}]},"context":{"groups":"admin","playerId":"alice","playerName":"Alice","tokenExpiresAt":1750003600}}`
	if string(got) != want {
		t.Errorf("response JSON\n got %s\nwant %s", got, want)
	}
}

// recordingVerifier records the tokens it is asked to verify.
type recordingVerifier struct{ tokens *[]string }

func (v recordingVerifier) Verify(_ context.Context, token string) (authorizer.Identity, error) {
	*v.tokens = append(*v.tokens, token)
	return authorizer.Identity{PlayerID: "alice"}, nil
}

func TestHandlerDuplicatedTokenLastValueWins(t *testing.T) {
	var tokens []string
	h := &authorizer.Handler{Verifier: recordingVerifier{&tokens}, Logger: slog.New(slog.DiscardHandler)}
	for _, tt := range []struct {
		single string
		multi  []string
		want   string // "" for 401
	}{
		{"T", []string{"", "T"}, "T"},
		{"", []string{"", "T"}, "T"}, // an event whose single value is the first
		{"", []string{"T", ""}, ""},
		{"T", nil, "T"},
	} {
		tokens = nil
		req := request(tt.single, true)
		req.MultiValueQueryStringParameters = map[string][]string{"token": tt.multi}
		_, err := h.Handle(context.Background(), req)
		switch {
		case tt.want == "" && !errors.Is(err, authorizer.ErrUnauthorized):
			t.Errorf("%q/%q: err %v, want 401", tt.single, tt.multi, err)
		case tt.want != "" && (err != nil || len(tokens) != 1 || tokens[0] != tt.want):
			t.Errorf("%q/%q: verified %q (err %v), want %q", tt.single, tt.multi, tokens, err, tt.want)
		}
	}
}
