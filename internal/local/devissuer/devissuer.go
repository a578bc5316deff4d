// Package devissuer is the development token issuer of local mode: it makes
// an RSA key at start-up, signs tokens shaped like Cognito access tokens with
// it, and serves the matching JSON Web Key Set, so the authorizer runs the
// very code path it runs against Cognito. It is for development only: anyone
// who can reach it can have a token for any player.
package devissuer

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"

	"github.com/serverless-websockets/serverless-websockets/internal/domain"
)

// Defaults applied by New to zero Config fields.
const (
	DefaultClientID = "local-client"
	DefaultTTL      = time.Hour
	DefaultMaxTTL   = 24 * time.Hour
)

// ErrInvalidRequest is wrapped by Issue's errors that come from the request
// (player id, groups, ttl); the HTTP handler answers them with 400.
var ErrInvalidRequest = errors.New("invalid token request")

// Config configures an Issuer.
type Config struct {
	// Issuer is the iss claim, e.g. http://127.0.0.1:8080. Required.
	Issuer string
	// ClientID is the client_id claim. Empty means "local-client".
	ClientID string
	// DefaultTTL is the lifetime of a token whose request gives none. Zero
	// means 1h.
	DefaultTTL time.Duration
	// MaxTTL is the longest lifetime a request may ask for. Zero means 24h.
	MaxTTL time.Duration
	// Now is the clock for iat and exp. Nil means time.Now.
	Now func() time.Time
	// Logger receives the failures of the token endpoint. Nil: discard.
	Logger *slog.Logger
	// Key signs the tokens; nil makes a new RSA-2048 key. The key id is
	// derived from the key, so the same key gives the same kid, and tokens
	// signed before a restart verify after it.
	Key *rsa.PrivateKey
}

// Issuer signs development tokens. It is safe for concurrent use.
type Issuer struct {
	cfg  Config
	key  *rsa.PrivateKey
	kid  string
	jwks []byte
}

// New makes an Issuer with cfg.Key, or a fresh RSA-2048 key.
func New(cfg Config) (*Issuer, error) {
	if cfg.Issuer == "" {
		return nil, errors.New("devissuer: Issuer is required")
	}
	cfg.ClientID = cmp.Or(cfg.ClientID, DefaultClientID)
	cfg.DefaultTTL = cmp.Or(cfg.DefaultTTL, DefaultTTL)
	cfg.MaxTTL = cmp.Or(cfg.MaxTTL, DefaultMaxTTL)
	if cfg.DefaultTTL < 0 || cfg.MaxTTL < 0 || cfg.DefaultTTL > cfg.MaxTTL {
		return nil, fmt.Errorf("devissuer: DefaultTTL %s must be positive and at most MaxTTL %s", cfg.DefaultTTL, cfg.MaxTTL)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	key := cfg.Key
	if key == nil {
		var err error
		if key, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			return nil, fmt.Errorf("devissuer: generate key: %w", err)
		}
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("devissuer: public key: %w", err)
	}
	sum := sha256.Sum256(der)
	kid := "dev-" + hex.EncodeToString(sum[:8])
	jwk, err := jwkset.NewJWKFromKey(&key.PublicKey, jwkset.JWKOptions{Metadata: jwkset.JWKMetadataOptions{
		KID: kid, ALG: jwkset.AlgRS256, USE: jwkset.UseSig,
	}})
	if err != nil {
		return nil, fmt.Errorf("devissuer: JWK: %w", err)
	}
	store := jwkset.NewMemoryStorage()
	if err := store.KeyWrite(context.Background(), jwk); err != nil {
		return nil, fmt.Errorf("devissuer: JWK: %w", err)
	}
	jwks, err := store.JSONPublic(context.Background())
	if err != nil {
		return nil, fmt.Errorf("devissuer: JWKS: %w", err)
	}
	return &Issuer{cfg: cfg, key: key, kid: kid, jwks: jwks}, nil
}

// TokenRequest asks for a token.
type TokenRequest struct {
	PlayerID   string   `json:"playerId"`   // the sub and username claims, in canonical form (domain.NormalizePlayerID)
	Groups     []string `json:"groups"`     // cognito:groups, each a Cognito group name (domain.ValidGroupName); omitted when empty
	TTLSeconds int      `json:"ttlSeconds"` // lifetime; 0 means Config.DefaultTTL, at most Config.MaxTTL
}

// Issue signs an access token for req and returns it with its expiry
// (whole seconds, as in the exp claim). Errors caused by req wrap
// ErrInvalidRequest.
func (i *Issuer) Issue(req TokenRequest) (token string, expiresAt time.Time, err error) {
	id, err := domain.NormalizePlayerID(req.PlayerID)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("issue token: %w: %w", ErrInvalidRequest, err)
	}
	req.PlayerID = id
	for n, g := range req.Groups {
		if !domain.ValidGroupName(g) {
			return "", time.Time{}, fmt.Errorf("issue token: %w: groups[%d] is not a Cognito group name (1 to %d letters, marks, symbols, numbers or punctuation; no spaces)", ErrInvalidRequest, n, domain.MaxGroupNameRunes)
		}
	}
	ttl := i.cfg.DefaultTTL
	switch {
	case req.TTLSeconds < 0:
		return "", time.Time{}, fmt.Errorf("issue token: %w: ttlSeconds is negative", ErrInvalidRequest)
	case req.TTLSeconds > int(i.cfg.MaxTTL/time.Second):
		return "", time.Time{}, fmt.Errorf("issue token: %w: ttlSeconds is more than %d", ErrInvalidRequest, int(i.cfg.MaxTTL/time.Second))
	case req.TTLSeconds > 0:
		ttl = time.Duration(req.TTLSeconds) * time.Second
	}
	now := i.cfg.Now().Truncate(time.Second)
	expiresAt = now.Add(ttl)
	claims := jwt.MapClaims{
		"iss":       i.cfg.Issuer,
		"sub":       req.PlayerID,
		"username":  req.PlayerID,
		"client_id": i.cfg.ClientID,
		"token_use": "access",
		"scope":     "openid",
		"iat":       now.Unix(),
		"exp":       expiresAt.Unix(),
		"jti":       randomHex(16),
	}
	if len(req.Groups) > 0 {
		claims["cognito:groups"] = req.Groups
	}
	token, err = i.IssueClaims(claims)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("issue token for %s: %w", req.PlayerID, err)
	}
	return token, expiresAt, nil
}

// IssueClaims signs claims exactly as given, with the issuer's key and kid:
// tests use it for expired tokens, ID tokens and other shapes Issue refuses
// to make.
func (i *Issuer) IssueClaims(claims jwt.MapClaims) (string, error) {
	t := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	t.Header["kid"] = i.kid
	s, err := t.SignedString(i.key)
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return s, nil
}

// KeyID is the kid of the issuer's key.
func (i *Issuer) KeyID() string { return i.kid }

// JWKS returns the JSON Web Key Set, holding the issuer's public key.
func (i *Issuer) JWKS() []byte { return append([]byte(nil), i.jwks...) }

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}
