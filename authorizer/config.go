package authorizer

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/serverless-websockets/serverless-websockets/internal/domain"
)

// Token uses accepted in Config.TokenUse, matching Cognito's token_use claim.
const (
	TokenUseAccess = "access"
	TokenUseID     = "id"
)

// Defaults applied by NewVerifier to zero Config fields.
const (
	DefaultLeeway                    = 5 * time.Second
	DefaultMaxTokenBytes             = 8192
	DefaultUnknownKIDRefreshInterval = 5 * time.Second
	DefaultHTTPTimeout               = 5 * time.Second
)

// Config configures a Verifier.
type Config struct {
	// Issuer must equal the token's iss claim exactly (JWT_ISSUER). Required.
	// (internal/config reads the variables named in parentheses.)
	Issuer string
	// Audience is the app client id: it must equal the client_id claim of an
	// access token, or be one of the aud values of an ID token (JWT_AUDIENCE).
	// Required.
	Audience string
	// JWKSURL is where the issuer's JSON Web Key Set is fetched from
	// (JWKS_URL), an absolute http or https URL. Required.
	JWKSURL string
	// TokenUse is the token_use claim required: "access" or "id"
	// (JWT_TOKEN_USE). Empty means "access".
	TokenUse string
	// PlayerIDClaim names the claim that holds the player id (PLAYER_ID_CLAIM).
	// Empty means "username" (domain.DefaultPlayerIDClaim), or, with
	// TokenUse "id", "cognito:username": a Cognito user's name either way.
	PlayerIDClaim string
	// Leeway is the clock skew allowed when checking exp, nbf and iat. Zero
	// means 5s; a negative value means none.
	Leeway time.Duration
	// MaxTokenBytes is the size of the largest token accepted; larger tokens
	// are refused before they are parsed. Zero means 8192.
	MaxTokenBytes int
	// UnknownKIDRefreshInterval is the least time between two fetches of the
	// key set caused by tokens with an unknown key id; the fetch made by
	// NewVerifier counts as the first. Zero means 5s.
	UnknownKIDRefreshInterval time.Duration
	// HTTPClient fetches the key set. Nil means a client with a 5s timeout.
	HTTPClient *http.Client
	// Now is the clock used for exp, nbf and iat and for the refresh
	// interval. Nil means time.Now.
	Now func() time.Time
}

// Validate reports every missing or invalid field at once, naming each field
// with the environment variable the deployment sets it from. NewVerifier
// calls it.
func (c Config) Validate() error {
	var missing, invalid []string
	if c.Issuer == "" {
		missing = append(missing, "Issuer (JWT_ISSUER)")
	}
	if c.Audience == "" {
		missing = append(missing, "Audience (JWT_AUDIENCE)")
	}
	if c.JWKSURL == "" {
		missing = append(missing, "JWKSURL (JWKS_URL)")
	} else if u, err := url.Parse(c.JWKSURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		invalid = append(invalid, "JWKSURL (JWKS_URL) must be an absolute http(s) URL")
	}
	switch c.TokenUse {
	case "", TokenUseAccess, TokenUseID:
	default:
		invalid = append(invalid, fmt.Sprintf("TokenUse (JWT_TOKEN_USE) must be %q or %q, not %q", TokenUseAccess, TokenUseID, c.TokenUse))
	}
	if c.MaxTokenBytes < 0 {
		invalid = append(invalid, "MaxTokenBytes must not be negative")
	}
	if c.UnknownKIDRefreshInterval < 0 {
		invalid = append(invalid, "UnknownKIDRefreshInterval must not be negative")
	}
	var problems []string
	if len(missing) > 0 {
		problems = append(problems, "missing "+strings.Join(missing, ", "))
	}
	problems = append(problems, invalid...)
	if len(problems) == 0 {
		return nil
	}
	return errors.New("authorizer config: " + strings.Join(problems, "; "))
}

func (c Config) withDefaults() Config {
	c.TokenUse = cmp.Or(c.TokenUse, TokenUseAccess)
	if c.PlayerIDClaim == "" {
		c.PlayerIDClaim = domain.DefaultPlayerIDClaim
		if c.TokenUse == TokenUseID {
			c.PlayerIDClaim = domain.DefaultIDTokenPlayerIDClaim
		}
	}
	c.MaxTokenBytes = cmp.Or(c.MaxTokenBytes, DefaultMaxTokenBytes)
	c.UnknownKIDRefreshInterval = cmp.Or(c.UnknownKIDRefreshInterval, DefaultUnknownKIDRefreshInterval)
	c.HTTPClient = cmp.Or(c.HTTPClient, &http.Client{Timeout: DefaultHTTPTimeout})
	switch {
	case c.Leeway == 0:
		c.Leeway = DefaultLeeway
	case c.Leeway < 0:
		c.Leeway = 0
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}
