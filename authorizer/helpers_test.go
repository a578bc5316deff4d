package authorizer_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"

	"github.com/serverless-websockets/serverless-websockets/authorizer"
	"github.com/serverless-websockets/serverless-websockets/internal/testsupport/fakeclock"
)

const (
	testIssuer   = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Test"
	testClientID = "client-123"
	testARN      = "arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/$connect"
)

// signingKey is a private key with the kid and algorithm it signs with.
type signingKey struct {
	kid    string
	method jwt.SigningMethod
	key    crypto.Signer
}

var (
	keysOnce sync.Once
	rsaKey   signingKey // in the JWKS
	ecKey    signingKey // in the JWKS
	laterKey signingKey // added to the JWKS by some tests
	rogueRSA signingKey // never in the JWKS
	rogueEC  signingKey // never in the JWKS
)

// testKeys makes the keys once per test binary: RSA generation is slow.
func testKeys(tb testing.TB) {
	tb.Helper()
	keysOnce.Do(func() {
		rsaKey = signingKey{"rsa-1", jwt.SigningMethodRS256, mustRSA()}
		ecKey = signingKey{"ec-1", jwt.SigningMethodES256, mustEC()}
		laterKey = signingKey{"rsa-2", jwt.SigningMethodRS256, mustRSA()}
		rogueRSA = signingKey{"rogue", jwt.SigningMethodRS256, mustRSA()}
		rogueEC = signingKey{"rogue-ec", jwt.SigningMethodES256, mustEC()}
	})
}

func mustRSA() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
}

func mustEC() *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	return k
}

// sign signs claims with k, putting k.kid in the header (none when empty).
func sign(tb testing.TB, k signingKey, claims jwt.MapClaims) string {
	tb.Helper()
	t := jwt.NewWithClaims(k.method, claims)
	if k.kid != "" {
		t.Header["kid"] = k.kid
	}
	s, err := t.SignedString(k.key)
	if err != nil {
		tb.Fatalf("sign: %v", err)
	}
	return s
}

// jwksServer serves a JWK Set whose keys tests can change, and counts fetches.
type jwksServer struct {
	*httptest.Server
	hits atomic.Int64
	fail atomic.Bool // answer 500

	mu   sync.Mutex
	keys []signingKey
}

func newJWKSServer(tb testing.TB, keys ...signingKey) *jwksServer {
	tb.Helper()
	s := &jwksServer{keys: keys}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		if s.fail.Load() {
			http.Error(w, "unavailable", http.StatusInternalServerError)
			return
		}
		s.mu.Lock()
		keys := append([]signingKey(nil), s.keys...)
		s.mu.Unlock()
		var set jwkset.JWKSMarshal
		for _, k := range keys {
			jwk, err := jwkset.NewJWKFromKey(k.key.Public(), jwkset.JWKOptions{Metadata: jwkset.JWKMetadataOptions{
				KID: k.kid, ALG: jwkset.ALG(k.method.Alg()), USE: jwkset.UseSig,
			}})
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			set.Keys = append(set.Keys, jwk.Marshal())
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(set)
	}))
	tb.Cleanup(s.Close)
	return s
}

func (s *jwksServer) setKeys(keys ...signingKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys = keys
}

func (s *jwksServer) url() string { return s.URL + "/.well-known/jwks.json" }

// newVerifier builds a Verifier of the test issuer's tokens for the test
// client on the keys s serves, with cfg's other settings.
func (s *jwksServer) newVerifier(tb testing.TB, cfg authorizer.Config) *authorizer.Verifier {
	tb.Helper()
	cfg.Issuer, cfg.Audience, cfg.JWKSURL = testIssuer, testClientID, s.url()
	v, err := authorizer.NewVerifier(context.Background(), cfg)
	if err != nil {
		tb.Fatalf("NewVerifier: %v", err)
	}
	return v
}

// clock is a settable clock for Config.Now.
type clock = fakeclock.Clock

func newClock() *clock { return fakeclock.New(time.Unix(1_750_000_000, 0)) }

// cognitoClaims are the claims every valid Cognito token of use carries at now,
// plus extra.
func cognitoClaims(now time.Time, use string, extra jwt.MapClaims) jwt.MapClaims {
	c := jwt.MapClaims{"iss": testIssuer, "sub": "alice", "token_use": use, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	maps.Copy(c, extra)
	return c
}

// accessClaims are the claims of a valid Cognito access token at now.
func accessClaims(now time.Time) jwt.MapClaims {
	return cognitoClaims(now, "access", jwt.MapClaims{
		"username":       "Alice",
		"client_id":      testClientID,
		"cognito:groups": []any{"admin", "ops"},
		"scope":          "aws.cognito.signin.user.admin",
		"jti":            "0b8e7c1a-3f2d-4c5e-9a7b-1d2e3f4a5b6c",
	})
}

// idClaims are the claims of a valid Cognito ID token at now.
func idClaims(now time.Time) jwt.MapClaims {
	return cognitoClaims(now, "id", jwt.MapClaims{"cognito:username": "alice-the-great", "aud": testClientID})
}

// with returns a copy of c with the given claims set; a nil value deletes.
func with(c jwt.MapClaims, kv ...any) jwt.MapClaims {
	out := maps.Clone(c)
	for i := 0; i < len(kv); i += 2 {
		k := kv[i].(string)
		if kv[i+1] == nil {
			delete(out, k)
			continue
		}
		out[k] = kv[i+1]
	}
	return out
}
