package e2e

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi/types"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/coder/websocket"
	"github.com/golang-jwt/jwt/v5"

	"github.com/serverless-websockets/serverless-websockets/internal/local"
	"github.com/serverless-websockets/serverless-websockets/internal/local/wsgateway"
	"github.com/serverless-websockets/serverless-websockets/internal/testsupport/poll"
)

// TestRefusedTokensWriteNothing dials the gateway with every kind of bad
// token: each is refused at the upgrade and no connection row is written.
// (The authorizer's own table test covers each case in depth.)
func TestRefusedTokensWriteNothing(t *testing.T) {
	s := startStack(t)
	now := time.Now()
	claims := func(kv ...any) jwt.MapClaims {
		c := jwt.MapClaims{
			"iss": s.URL, "sub": "mallory", "username": "mallory", "client_id": "local-client",
			"token_use": "access", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "jti": "j",
		}
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] == nil {
				delete(c, kv[i].(string))
				continue
			}
			c[kv[i].(string)] = kv[i+1]
		}
		return c
	}
	sign := func(c jwt.MapClaims) string {
		tok, err := s.Issuer.IssueClaims(c)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	valid := sign(claims())
	parts := strings.Split(valid, ".")
	none := jwt.NewWithClaims(jwt.SigningMethodNone, claims())
	noneTok, _ := none.SignedString(jwt.UnsafeAllowNoneSignatureType)
	tampered := parts[0] + "." + strings.TrimRight(jwtSegment(t, claims("username", "admin")), "=") + "." + parts[2]

	rogue, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	signWith := func(key *rsa.PrivateKey, kid string, c jwt.MapClaims) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodRS256, c)
		tok.Header["kid"] = kid
		out, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	// HS256 keyed with the issuer's public key, the classic algorithm confusion.
	pubPEM := publicKeyPEM(t, s.Issuer.JWKS())
	hs := jwt.NewWithClaims(jwt.SigningMethodHS256, claims())
	hs.Header["kid"] = s.Issuer.KeyID()
	hsTok, err := hs.SignedString(pubPEM)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name   string
		token  string
		status int
	}{
		{"HS256 keyed with the public key", hsTok, http.StatusForbidden},
		{"RS256 by a key not in the JWKS, real kid", signWith(rogue, s.Issuer.KeyID(), claims()), http.StatusForbidden},
		{"unknown kid", signWith(rogue, "rogue-kid", claims()), http.StatusForbidden},
		{"empty player claim", sign(claims("username", "")), http.StatusForbidden},
		{"missing", "", http.StatusUnauthorized},
		{"garbage", "not-a-jwt", http.StatusForbidden},
		{"alg none", noneTok, http.StatusForbidden},
		{"expired", sign(claims("exp", now.Add(-time.Hour).Unix(), "iat", now.Add(-2*time.Hour).Unix())), http.StatusForbidden},
		{"nbf in the future", sign(claims("nbf", now.Add(time.Hour).Unix())), http.StatusForbidden},
		{"wrong issuer", sign(claims("iss", "https://evil.example")), http.StatusForbidden},
		{"wrong client_id", sign(claims("client_id", "other-client")), http.StatusForbidden},
		{"id token", sign(claims("token_use", "id", "aud", "local-client", "client_id", nil)), http.StatusForbidden},
		{"tampered payload", tampered, http.StatusForbidden},
		{"no player claim", sign(claims("username", nil)), http.StatusForbidden},
		{"bad player id", sign(claims("username", "mallory/../alice")), http.StatusForbidden},
		{"oversized", sign(claims("pad", strings.Repeat("x", 9000))), http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, status, err := s.dialToken(tt.token)
			if err == nil || status != tt.status {
				t.Fatalf("dial: status %d, err %v; want %d", status, err, tt.status)
			}
		})
	}
	for _, p := range []string{"mallory", "admin"} {
		if ids := s.connections(p); len(ids) != 0 {
			t.Fatalf("rows written for %s: %v", p, ids)
		}
	}
	if n := s.Metrics.Invocations("$connect"); n != 0 {
		t.Fatalf("$connect ran %d times for refused tokens", n)
	}
	if n := s.Gateway.ConnectionCount(); n != 0 {
		t.Fatalf("%d connections open", n)
	}
	// The valid token of the same shape connects: the table above is not
	// refusing everything.
	if c, status, err := s.dialToken(valid); err != nil {
		t.Fatalf("valid token refused: %d %v", status, err)
	} else {
		c.conn.Close(websocket.StatusNormalClosure, "")
	}
}

func jwtSegment(t *testing.T, c jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, c)
	s, err := tok.SigningString()
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(s, ".")[1]
}

func TestConnectionLifecycle(t *testing.T) {
	s := startStack(t, withGateway(func(c *wsgateway.Config) { c.PingInterval = 100 * time.Millisecond }))

	t.Run("connect stores the row, a clean close removes it", func(t *testing.T) {
		c := s.dial("alice")
		ids := s.connections("alice")
		if len(ids) != 1 {
			t.Fatalf("rows = %v", ids)
		}
		c.conn.Close(websocket.StatusNormalClosure, "bye")
		poll.Until(t, "alice's row is deleted", func() bool { return len(s.connections("alice")) == 0 })
	})

	t.Run("an abrupt drop removes the row", func(t *testing.T) {
		c, err := dialRecording(s.wsURL(s.token("bob", 3600)), &recorder{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Socket().CloseNow()
		if len(s.connections("bob")) != 1 {
			t.Fatal("bob has no row")
		}
		// Vanish: no close frame, no more pongs.
		c.raw.(*net.TCPConn).SetLinger(0)
		c.raw.Close()
		poll.Until(t, "bob's row is deleted after the drop", func() bool { return len(s.connections("bob")) == 0 })
	})

	t.Run("a player's sixth connection is refused", func(t *testing.T) {
		var clients []*client
		for i := 0; i < 5; i++ {
			clients = append(clients, s.dial("carol"))
		}
		_, status, err := s.dialToken(s.token("carol", 3600))
		if err == nil || status != http.StatusForbidden {
			t.Fatalf("sixth connection: status %d err %v, want 403", status, err)
		}
		if n := len(s.connections("carol")); n != 5 {
			t.Fatalf("carol has %d rows", n)
		}
		// Another player is not affected, and a freed slot can be used.
		s.dial("dave")
		clients[0].conn.Close(websocket.StatusNormalClosure, "")
		poll.Until(t, "carol's first row is deleted", func() bool { return len(s.connections("carol")) == 4 })
		s.dial("carol")
	})
}

func TestManagementAPI(t *testing.T) {
	s := startStack(t)
	ctx := context.Background()
	c := s.dial("alice")
	ids := s.connections("alice")
	if len(ids) != 1 {
		t.Fatalf("rows = %v", ids)
	}
	id := ids[0]
	if !strings.HasSuffix(id, "=") || len(id) != 16 {
		t.Errorf("connection id %q does not have API Gateway's shape", id)
	}
	api := s.management("local")

	if _, err := api.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{
		ConnectionId: aws.String(id), Data: []byte(`{"type":"notice","text":"server says hi"}`),
	}); err != nil {
		t.Fatalf("PostToConnection: %v", err)
	}
	if f := c.next(); f["type"] != "notice" || f["text"] != "server says hi" {
		t.Fatalf("client got %v", f)
	}

	out, err := api.GetConnection(ctx, &apigatewaymanagementapi.GetConnectionInput{ConnectionId: aws.String(id)})
	if err != nil {
		t.Fatalf("GetConnection: %v", err)
	}
	if out.ConnectedAt == nil || out.Identity == nil || aws.ToString(out.Identity.SourceIp) != "127.0.0.1" {
		t.Fatalf("GetConnection = %+v", out)
	}

	_, err = api.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{ConnectionId: aws.String("AAAAAAAAAAAAAAA="), Data: []byte("x")})
	if _, ok := errors.AsType[*types.GoneException](err); !ok {
		t.Fatalf("unknown id: %v, want GoneException", err)
	}

	_, err = s.management("wrong-secret").GetConnection(ctx, &apigatewaymanagementapi.GetConnectionInput{ConnectionId: aws.String(id)})
	if re, ok := errors.AsType[*smithyhttp.ResponseError](err); !ok || re.HTTPStatusCode() != http.StatusForbidden {
		t.Fatalf("a request signed with the wrong secret: %v, want 403", err)
	}
	resp, err := http.Post(s.URL+"/@connections/"+id, "application/json", strings.NewReader(`{"type":"forged"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("unsigned POST answered %d, want 403", resp.StatusCode)
	}
	c.quiet(100 * time.Millisecond)

	if _, err := api.DeleteConnection(ctx, &apigatewaymanagementapi.DeleteConnectionInput{ConnectionId: aws.String(id)}); err != nil {
		t.Fatalf("DeleteConnection: %v", err)
	}
	c.closed()
	poll.Until(t, "$disconnect deleted the row", func() bool { return len(s.connections("alice")) == 0 })
}

func TestShutdownRunsEveryDisconnect(t *testing.T) {
	s := startStack(t)
	players := []string{"p1", "p2", "p3"}
	var clients []*client
	for _, p := range players {
		clients = append(clients, s.dial(p))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	for i, p := range players {
		if code := clients[i].closed(); code != websocket.StatusGoingAway {
			t.Errorf("%s closed with %v, want 1001", p, code)
		}
		if ids := s.connections(p); len(ids) != 0 {
			t.Errorf("%s still has rows %v", p, ids)
		}
	}
}

// publicKeyPEM returns the PEM encoding of the first key of a JWKS.
func publicKeyPEM(t *testing.T, jwks []byte) []byte {
	t.Helper()
	var set jwkset.JWKSMarshal
	if err := json.Unmarshal(jwks, &set); err != nil || len(set.Keys) == 0 {
		t.Fatalf("jwks: %v", err)
	}
	key, err := jwkset.NewJWKFromMarshal(set.Keys[0], jwkset.JWKMarshalOptions{}, jwkset.JWKValidateOptions{})
	if err != nil {
		t.Fatalf("jwks: %v", err)
	}
	der, err := x509.MarshalPKIXPublicKey(key.Key())
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// TestForeignHostIsRefused: a page on a hostile name that resolves to
// 127.0.0.1 (DNS rebinding) cannot mint development tokens or reach the
// Management API, and a Host whose port is not a number is refused.
func TestForeignHostIsRefused(t *testing.T) {
	s := startStack(t)
	for _, tt := range []struct {
		method, path, host string
		status             int
	}{
		{http.MethodPost, "/dev/token", "attacker.example", http.StatusForbidden},
		{http.MethodPost, "/@connections/AAAAAAAAAAAAAAA=", "attacker.example", http.StatusForbidden},
		{http.MethodPost, "/ws", "attacker.example", http.StatusForbidden},
		{http.MethodGet, "/healthz", "localhost:1234", http.StatusOK},
		{http.MethodGet, "/healthz", "127.0.0.1:1234", http.StatusOK},
		// The page's CSP repeats the Host header: its port must be a number.
		{http.MethodGet, "/", "127.0.0.1:80;script-src", http.StatusForbidden},
		{http.MethodGet, "/", "127.0.0.1:8o", http.StatusForbidden},
		{http.MethodGet, "/", "localhost:99999", http.StatusForbidden},
		{http.MethodGet, "/", "127.0.0.1:", http.StatusForbidden},
		{http.MethodGet, "/", "[::1]:8080", http.StatusOK},
	} {
		req, _ := http.NewRequest(tt.method, s.URL+tt.path, strings.NewReader(`{"playerId":"admin","groups":["admin"]}`))
		req.Host = tt.host
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.status {
			t.Errorf("%s %s with Host %s: %d, want %d", tt.method, tt.path, tt.host, resp.StatusCode, tt.status)
		}
	}
}

// TestCORS: a page of another loopback origin (a game's dev server), or of
// an origin allowed by flag, may call /dev/token and the admin API; any
// other origin gets no CORS header, so its page cannot read the answers.
func TestCORS(t *testing.T) {
	s := startStack(t, func(o *local.Options, _ map[string]string) { o.AllowedOrigins = []string{"http://192.168.1.20:5173"} })
	admin := s.tokenIn("ops", "admin")
	for _, tt := range []struct {
		origin string
		allow  bool
	}{
		{"http://localhost:5173", true},
		{"http://127.0.0.1:3000", true},
		{"https://[::1]:8443", true},
		{"http://192.168.1.20:5173", true},
		{"http://192.168.1.20:5174", false},
		{"https://evil.example", false},
		{"http://localhost.evil.example", false},
		{"null", false},
		{"http://localhost:99999", false},
	} {
		for _, r := range []struct {
			method, path, body, auth string
		}{
			{http.MethodOptions, "/dev/token", "", ""},
			{http.MethodPost, "/dev/token", `{"playerId":"webgl"}`, ""},
			{http.MethodOptions, "/admin/bans", "", ""},
			{http.MethodGet, "/admin/bans", "", admin},
		} {
			req, _ := http.NewRequest(r.method, s.URL+r.path, strings.NewReader(r.body))
			req.Header.Set("Origin", tt.origin)
			if r.method == http.MethodOptions {
				req.Header.Set("Access-Control-Request-Method", "POST")
				req.Header.Set("Access-Control-Request-Headers", "authorization, content-type")
			}
			if r.auth != "" {
				req.Header.Set("Authorization", "Bearer "+r.auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			got := resp.Header.Get("Access-Control-Allow-Origin")
			switch {
			case tt.allow && got != tt.origin:
				t.Errorf("%s %s from %s: Access-Control-Allow-Origin %q, want the origin", r.method, r.path, tt.origin, got)
			case !tt.allow && got != "":
				t.Errorf("%s %s from %s: Access-Control-Allow-Origin %q, want none", r.method, r.path, tt.origin, got)
			case tt.allow && r.method == http.MethodOptions && (resp.StatusCode != http.StatusNoContent || !strings.Contains(resp.Header.Get("Access-Control-Allow-Headers"), "Authorization")):
				t.Errorf("preflight of %s from %s = %d %v", r.path, tt.origin, resp.StatusCode, resp.Header)
			case r.method != http.MethodOptions && resp.StatusCode != http.StatusOK:
				t.Errorf("%s %s from %s = %d, want 200", r.method, r.path, tt.origin, resp.StatusCode)
			}
		}
	}
}
