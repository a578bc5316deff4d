package authorizer

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/MicahParks/jwkset"
	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"

	"github.com/serverless-websockets/serverless-websockets/internal/domain"
)

// Reasons a token is refused. Verify wraps exactly one of them, so a log can
// say why with errors.Is; none of the messages contain the token.
var (
	ErrTokenTooLarge  = errors.New("token too large")
	ErrMalformed      = errors.New("token malformed")
	ErrAlgorithm      = errors.New("signing algorithm not allowed")
	ErrUnknownKey     = errors.New("unknown signing key")
	ErrUnverifiable   = errors.New("token cannot be verified")
	ErrBadSignature   = errors.New("bad signature")
	ErrExpired        = errors.New("token expired")
	ErrNotYetValid    = errors.New("token not valid yet")
	ErrIssuedInFuture = errors.New("token issued in the future")
	ErrIssuer         = errors.New("wrong issuer")
	ErrAudience       = errors.New("wrong audience")
	ErrTokenUse       = errors.New("wrong token use")
	ErrClaims         = errors.New("invalid claims")
	ErrPlayerID       = errors.New("invalid player id")
)

// The algorithms accepted. Never "none", never HMAC: a verifier that holds
// only public keys must not accept a token signed with a shared secret.
var validMethods = []string{jwt.SigningMethodRS256.Alg(), jwt.SigningMethodES256.Alg()}

// Claims read besides the registered ones.
const (
	claimTokenUse          = "token_use"
	claimClientID          = "client_id"
	claimGroups            = "cognito:groups"
	claimUsername          = "username"
	claimCognitoUsername   = "cognito:username"
	claimPreferredUsername = "preferred_username"
)

// maxPlayerNameBytes bounds the player name taken from a token.
const maxPlayerNameBytes = 128

// Identity is who a verified token speaks for.
type Identity struct {
	PlayerID   string    // from Config.PlayerIDClaim, in canonical form (domain.NormalizePlayerID)
	PlayerName string    // username (access) or cognito:username / preferred_username (id); else PlayerID
	Groups     []string  // cognito:groups; nil when absent
	ExpiresAt  time.Time // exp
}

// TokenVerifier verifies a token. *Verifier is the implementation; tests of
// Handler can use a fake.
type TokenVerifier interface {
	Verify(ctx context.Context, token string) (Identity, error)
}

var _ TokenVerifier = (*Verifier)(nil)

// Verifier verifies tokens against an issuer's key set. It is safe for
// concurrent use; build one per process and reuse it.
type Verifier struct {
	cfg    Config
	parser *jwt.Parser
	keys   keyfunc.Keyfunc
}

// NewVerifier validates cfg, naming every missing field at once, and fetches
// the key set from cfg.JWKSURL once; ctx bounds that fetch. A later fetch,
// caused by an unknown key id, is bounded by the context given to Verify and
// by the HTTP client's timeout.
func NewVerifier(ctx context.Context, cfg Config) (*Verifier, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	store, err := newKeyStore(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("new verifier: %w", err)
	}
	keys, err := keyfunc.New(keyfunc.Options{
		Storage:      store,
		UseWhitelist: []jwkset.USE{jwkset.UseSig, ""},
	})
	if err != nil {
		return nil, fmt.Errorf("new verifier: %w", err)
	}
	opts := []jwt.ParserOption{
		jwt.WithValidMethods(validMethods),
		jwt.WithIssuer(cfg.Issuer),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(cfg.Leeway),
		jwt.WithTimeFunc(cfg.Now),
		jwt.WithStrictDecoding(),
	}
	if cfg.TokenUse == TokenUseID {
		opts = append(opts, jwt.WithAudience(cfg.Audience))
	}
	return &Verifier{cfg: cfg, parser: jwt.NewParser(opts...), keys: keys}, nil
}

// Verify checks token and returns the identity it carries. The error wraps
// one of the Err* reasons of this package.
func (v *Verifier) Verify(ctx context.Context, token string) (Identity, error) {
	id, _, err := v.verify(ctx, token)
	return id, err
}

// VerifyClaims checks token exactly as Verify does and returns all its
// claims, as an HTTP API JWT authorizer hands them on.
func (v *Verifier) VerifyClaims(ctx context.Context, token string) (map[string]any, error) {
	_, claims, err := v.verify(ctx, token)
	return claims, err
}

func (v *Verifier) verify(ctx context.Context, token string) (Identity, jwt.MapClaims, error) {
	if len(token) > v.cfg.MaxTokenBytes {
		return Identity{}, nil, fmt.Errorf("verify token: %w: %d bytes, more than %d", ErrTokenTooLarge, len(token), v.cfg.MaxTokenBytes)
	}
	claims := jwt.MapClaims{}
	parsed, err := v.parser.ParseWithClaims(token, claims, v.keyfunc(ctx))
	if err != nil {
		return Identity{}, nil, fmt.Errorf("verify token: %w", classify(parsed, err))
	}
	id, err := v.identity(claims)
	if err != nil {
		return Identity{}, nil, fmt.Errorf("verify token: %w", err)
	}
	return id, claims, nil
}

// keyfunc requires a kid header, then finds the key through the store.
func (v *Verifier) keyfunc(ctx context.Context) jwt.Keyfunc {
	find := v.keys.KeyfuncCtx(ctx)
	return func(t *jwt.Token) (any, error) {
		if kid, _ := t.Header[jwkset.HeaderKID].(string); kid == "" {
			return nil, errNoKID
		}
		return find(t)
	}
}

var errNoKID = errors.New("no kid header")

// classify maps a parse error to one reason, keeping jwt's short description
// where it helps (it never contains the token).
func classify(t *jwt.Token, err error) error {
	var missing *missingKeyError
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		return fmt.Errorf("%w: %w", ErrMalformed, err)
	case t != nil && !algAllowed(t.Header["alg"]):
		return ErrAlgorithm
	case errors.Is(err, errNoKID):
		return fmt.Errorf("%w: %w", ErrUnknownKey, errNoKID)
	case errors.As(err, &missing):
		return fmt.Errorf("%w: %w", ErrUnknownKey, missing)
	case errors.Is(err, jwkset.ErrKeyNotFound):
		return ErrUnknownKey
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		return fmt.Errorf("%w: %w", ErrUnverifiable, err)
	}
	for _, r := range jwtReasons {
		if errors.Is(err, r.jwt) {
			return r.reason
		}
	}
	// A required claim missing or of the wrong type.
	return fmt.Errorf("%w: %w", ErrClaims, err)
}

// jwtReasons are the reasons jwt's own errors stand for, checked in order.
var jwtReasons = []struct{ jwt, reason error }{
	{jwt.ErrTokenSignatureInvalid, ErrBadSignature},
	{jwt.ErrTokenExpired, ErrExpired},
	{jwt.ErrTokenNotValidYet, ErrNotYetValid},
	{jwt.ErrTokenUsedBeforeIssued, ErrIssuedInFuture},
	{jwt.ErrTokenInvalidIssuer, ErrIssuer},
	{jwt.ErrTokenInvalidAudience, ErrAudience},
}

func algAllowed(alg any) bool {
	s, _ := alg.(string)
	return slices.Contains(validMethods, s)
}

// identity checks the claims jwt does not know and builds the Identity.
func (v *Verifier) identity(claims jwt.MapClaims) (Identity, error) {
	if use, _ := claims[claimTokenUse].(string); use != v.cfg.TokenUse {
		return Identity{}, fmt.Errorf("%w: want %q", ErrTokenUse, v.cfg.TokenUse)
	}
	if v.cfg.TokenUse == TokenUseAccess {
		if cid, _ := claims[claimClientID].(string); cid != v.cfg.Audience {
			return Identity{}, fmt.Errorf("%w: client_id", ErrAudience)
		}
	}
	raw, ok := claims[v.cfg.PlayerIDClaim]
	if !ok {
		return Identity{}, fmt.Errorf("%w: no %s claim", ErrPlayerID, v.cfg.PlayerIDClaim)
	}
	playerID, ok := raw.(string)
	if !ok {
		return Identity{}, fmt.Errorf("%w: %s claim is not a string", ErrPlayerID, v.cfg.PlayerIDClaim)
	}
	playerID, err := domain.NormalizePlayerID(playerID)
	if err != nil {
		return Identity{}, fmt.Errorf("%w: %s claim: %w", ErrPlayerID, v.cfg.PlayerIDClaim, err)
	}
	groups, err := groupsClaim(claims[claimGroups])
	if err != nil {
		return Identity{}, err
	}
	exp, err := claims.GetExpirationTime()
	if err != nil || exp == nil { // checked by the parser already
		return Identity{}, fmt.Errorf("%w: exp", ErrClaims)
	}
	return Identity{
		PlayerID:   playerID,
		PlayerName: v.playerName(claims, playerID),
		Groups:     groups,
		ExpiresAt:  exp.Time,
	}, nil
}

// playerName is the first usable name claim for the token use, or playerID.
func (v *Verifier) playerName(claims jwt.MapClaims, playerID string) string {
	names := []string{claimUsername}
	if v.cfg.TokenUse == TokenUseID {
		names = []string{claimCognitoUsername, claimPreferredUsername}
	}
	for _, c := range names {
		if s, ok := claims[c].(string); ok && usableName(s) {
			return s
		}
	}
	return playerID
}

// usableName reports whether s is short, valid UTF-8 without control characters.
func usableName(s string) bool {
	if s == "" || len(s) > maxPlayerNameBytes || !utf8.ValidString(s) {
		return false
	}
	return strings.IndexFunc(s, unicode.IsControl) < 0
}

// groupsClaim reads cognito:groups: absent, or an array of Cognito group
// names (domain.ValidGroupName: no white space, so the authorizer context
// can carry them space-joined without doubt). A token with anything else
// there was not made by Cognito and is refused.
func groupsClaim(raw any) ([]string, error) {
	if raw == nil {
		return nil, nil
	}
	list, ok := raw.([]any)
	if !ok {
		return nil, fmt.Errorf("%w: %s is not an array", ErrClaims, claimGroups)
	}
	groups := make([]string, 0, len(list))
	for i, g := range list {
		s, ok := g.(string)
		if !ok || !domain.ValidGroupName(s) {
			return nil, fmt.Errorf("%w: %s[%d] is not a group name", ErrClaims, claimGroups, i)
		}
		groups = append(groups, s)
	}
	return groups, nil
}
