package devissuer_test

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/serverless-websockets/serverless-websockets/authorizer"
	"github.com/serverless-websockets/serverless-websockets/internal/local/devissuer"
)

const testIssuer = "http://127.0.0.1:8080"

var testNow = time.Unix(1_750_000_000, 0)

// stack is an issuer served on httptest and a real Verifier on its JWKS.
type stack struct {
	iss *devissuer.Issuer
	srv *httptest.Server
	v   *authorizer.Verifier
}

func newStack(t *testing.T) stack {
	t.Helper()
	now := func() time.Time { return testNow }
	iss, err := devissuer.New(devissuer.Config{Issuer: testIssuer, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(iss.Handler())
	t.Cleanup(srv.Close)
	v, err := authorizer.NewVerifier(context.Background(), authorizer.Config{
		Issuer: testIssuer, Audience: devissuer.DefaultClientID, JWKSURL: srv.URL + devissuer.JWKSPath, Now: now,
	})
	if err != nil {
		t.Fatal(err)
	}
	return stack{iss: iss, srv: srv, v: v}
}

func post(t *testing.T, url, body string) (*http.Response, map[string]any) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("response body is not JSON: %v", err)
	}
	return resp, out
}

func TestTokenEndToEnd(t *testing.T) {
	s := newStack(t)
	tests := []struct {
		name       string
		body       string
		wantGroups []string
		wantTTL    time.Duration
	}{
		{"groups and ttl", `{"playerId":"alice","groups":["admin","ops"],"ttlSeconds":600}`, []string{"admin", "ops"}, 10 * time.Minute},
		{"defaults", `{"playerId":"bob"}`, nil, time.Hour},
		{"max ttl", `{"playerId":"carol@example.com","ttlSeconds":86400}`, nil, 24 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := post(t, s.srv.URL+devissuer.TokenPath, tt.body)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d, body %v", resp.StatusCode, body)
			}
			if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control = %q, want no-store", cc)
			}
			token, _ := body["token"].(string)
			exp, _ := body["expiresAt"].(float64)
			if want := testNow.Add(tt.wantTTL).Unix(); int64(exp) != want {
				t.Errorf("expiresAt = %v, want %d", exp, want)
			}
			var req devissuer.TokenRequest
			_ = json.Unmarshal([]byte(tt.body), &req)
			id, err := s.v.Verify(context.Background(), token)
			if err != nil {
				t.Fatalf("the authorizer refuses the token: %v", err)
			}
			want := authorizer.Identity{PlayerID: req.PlayerID, PlayerName: req.PlayerID, Groups: tt.wantGroups, ExpiresAt: testNow.Add(tt.wantTTL)}
			if !reflect.DeepEqual(id, want) {
				t.Errorf("identity = %+v, want %+v", id, want)
			}
		})
	}
}

func TestIssueShape(t *testing.T) {
	s := newStack(t)
	token, exp, err := s.iss.Issue(devissuer.TokenRequest{PlayerID: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	if !exp.Equal(testNow.Add(time.Hour)) {
		t.Errorf("expiresAt = %v, want %v", exp, testNow.Add(time.Hour))
	}
	claims := jwt.MapClaims{}
	parsed, _, err := jwt.NewParser().ParseUnverified(token, claims)
	if err != nil {
		t.Fatal(err)
	}
	if parsed.Header["alg"] != "RS256" || parsed.Header["kid"] != s.iss.KeyID() || s.iss.KeyID() == "" {
		t.Errorf("header = %v, want RS256 with kid %q", parsed.Header, s.iss.KeyID())
	}
	for k, want := range map[string]any{
		"iss": testIssuer, "sub": "alice", "username": "alice", "client_id": "local-client", "token_use": "access",
		"iat": float64(testNow.Unix()), "exp": float64(testNow.Add(time.Hour).Unix()),
	} {
		if claims[k] != want {
			t.Errorf("claim %s = %v, want %v", k, claims[k], want)
		}
	}
	if _, ok := claims["cognito:groups"]; ok {
		t.Error("cognito:groups is present without groups")
	}
	if _, ok := claims["aud"]; ok {
		t.Error("an access token carries aud")
	}
	jti, _ := claims["jti"].(string)
	other, _, _ := s.iss.Issue(devissuer.TokenRequest{PlayerID: "alice"})
	otherClaims := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(other, otherClaims); err != nil {
		t.Fatal(err)
	}
	if len(jti) < 32 || jti == otherClaims["jti"] {
		t.Errorf("jti %q and %q: want random, distinct", jti, otherClaims["jti"])
	}
}

func TestIssueClaimsThroughTheAuthorizer(t *testing.T) {
	s := newStack(t)
	base := jwt.MapClaims{
		"iss": testIssuer, "sub": "alice", "username": "alice", "client_id": devissuer.DefaultClientID, "token_use": "access",
		"iat": testNow.Unix(), "exp": testNow.Add(time.Hour).Unix(),
	}
	with := func(k string, v any) jwt.MapClaims {
		c := maps.Clone(base)
		c[k] = v
		return c
	}
	tests := []struct {
		name   string
		claims jwt.MapClaims
		want   error
	}{
		{"as given", base, nil},
		{"expired", with("exp", testNow.Add(-time.Hour).Unix()), authorizer.ErrExpired},
		{"id token", with("token_use", "id"), authorizer.ErrTokenUse},
		{"other issuer", with("iss", "http://elsewhere"), authorizer.ErrIssuer},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			token, err := s.iss.IssueClaims(tt.claims)
			if err != nil {
				t.Fatal(err)
			}
			_, err = s.v.Verify(context.Background(), token)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Errorf("Verify error = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestTokenBadRequests(t *testing.T) {
	s := newStack(t)
	tests := []struct {
		name   string
		method string
		path   string
		body   string
		status int
	}{
		{"GET token", http.MethodGet, devissuer.TokenPath, "", http.StatusMethodNotAllowed},
		{"PUT token", http.MethodPut, devissuer.TokenPath, `{"playerId":"alice"}`, http.StatusMethodNotAllowed},
		{"POST JWKS", http.MethodPost, devissuer.JWKSPath, "", http.StatusMethodNotAllowed},
		{"empty body", http.MethodPost, devissuer.TokenPath, "", http.StatusBadRequest},
		{"not JSON", http.MethodPost, devissuer.TokenPath, "playerId=alice", http.StatusBadRequest},
		{"array", http.MethodPost, devissuer.TokenPath, `["alice"]`, http.StatusBadRequest},
		{"unknown field", http.MethodPost, devissuer.TokenPath, `{"playerId":"alice","admin":true}`, http.StatusBadRequest},
		{"two values", http.MethodPost, devissuer.TokenPath, `{"playerId":"alice"}{"playerId":"bob"}`, http.StatusBadRequest},
		{"ttl not a number", http.MethodPost, devissuer.TokenPath, `{"playerId":"alice","ttlSeconds":"60"}`, http.StatusBadRequest},
		{"no player id", http.MethodPost, devissuer.TokenPath, `{}`, http.StatusBadRequest},
		{"empty player id", http.MethodPost, devissuer.TokenPath, `{"playerId":""}`, http.StatusBadRequest},
		{"player id with a space", http.MethodPost, devissuer.TokenPath, `{"playerId":"alice bob"}`, http.StatusBadRequest},
		{"player id too long", http.MethodPost, devissuer.TokenPath, `{"playerId":"` + strings.Repeat("a", 129) + `"}`, http.StatusBadRequest},
		{"negative ttl", http.MethodPost, devissuer.TokenPath, `{"playerId":"alice","ttlSeconds":-1}`, http.StatusBadRequest},
		{"ttl over the max", http.MethodPost, devissuer.TokenPath, `{"playerId":"alice","ttlSeconds":86401}`, http.StatusBadRequest},
		{"huge ttl", http.MethodPost, devissuer.TokenPath, `{"playerId":"alice","ttlSeconds":9223372036854775807}`, http.StatusBadRequest},
		{"empty group", http.MethodPost, devissuer.TokenPath, `{"playerId":"alice","groups":[""]}`, http.StatusBadRequest},
		{"group with a space", http.MethodPost, devissuer.TokenPath, `{"playerId":"alice","groups":["x admin"]}`, http.StatusBadRequest},
		{"group with a tab", http.MethodPost, devissuer.TokenPath, `{"playerId":"alice","groups":["x\tadmin"]}`, http.StatusBadRequest},
		{"group with a no-break space", http.MethodPost, devissuer.TokenPath, `{"playerId":"alice","groups":["x\u00a0admin"]}`, http.StatusBadRequest},
		{"group of 129 characters", http.MethodPost, devissuer.TokenPath, `{"playerId":"alice","groups":["` + strings.Repeat("é", 129) + `"]}`, http.StatusBadRequest},
		{"body of 4 KiB and white space", http.MethodPost, devissuer.TokenPath, `{"playerId":"alice"}` + strings.Repeat(" ", 4096), http.StatusRequestEntityTooLarge},
		{"body over 4 KiB", http.MethodPost, devissuer.TokenPath, `{"playerId":"alice","groups":["` + strings.Repeat("g", 5000) + `"]}`, http.StatusRequestEntityTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, s.srv.URL+tt.path, strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Errorf("status = %d, want %d", resp.StatusCode, tt.status)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q", ct)
			}
			var body struct {
				Error string `json:"error"`
				Token string `json:"token"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatalf("error body is not JSON: %v", err)
			}
			if body.Error == "" || body.Token != "" {
				t.Errorf("body = %+v, want an error and no token", body)
			}
			if tt.status == http.StatusMethodNotAllowed && resp.Header.Get("Allow") == "" {
				t.Error("405 without an Allow header")
			}
		})
	}
}

func TestJWKS(t *testing.T) {
	s := newStack(t)
	resp, err := http.Get(s.srv.URL + devissuer.JWKSPath)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	type keySet struct {
		Keys []map[string]any `json:"keys"`
	}
	var set keySet
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || len(set.Keys) != 1 {
		t.Fatalf("status %d, %d keys", resp.StatusCode, len(set.Keys))
	}
	k := set.Keys[0]
	if k["kty"] != "RSA" || k["alg"] != "RS256" || k["use"] != "sig" || k["kid"] != s.iss.KeyID() {
		t.Errorf("key = %v", k)
	}
	for _, private := range []string{"d", "p", "q", "dp", "dq", "qi"} {
		if _, ok := k[private]; ok {
			t.Errorf("the JWKS publishes the private parameter %q", private)
		}
	}
	var fromMethod keySet
	if err := json.Unmarshal(s.iss.JWKS(), &fromMethod); err != nil || !reflect.DeepEqual(fromMethod.Keys, set.Keys) {
		t.Errorf("JWKS() differs from the served set: %v", err)
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name string
		cfg  devissuer.Config
		ok   bool
	}{
		{"no issuer", devissuer.Config{}, false},
		{"default ttl over max", devissuer.Config{Issuer: testIssuer, DefaultTTL: 2 * time.Hour, MaxTTL: time.Hour}, false},
		{"negative max", devissuer.Config{Issuer: testIssuer, MaxTTL: -time.Hour}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := devissuer.New(tt.cfg)
			if (err == nil) != tt.ok {
				t.Errorf("New error = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}
