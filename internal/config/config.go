// Package config reads the settings of the Lambda functions and the local
// stack from the environment. Load and LoadAuthorizer are functions of a
// getenv function, so nothing below main reads os.Getenv; they validate
// everything and name every missing or invalid variable at once.
//
// The settings are plain data: this package imports no other package of
// the project, so every function links it whatever it does, and the
// defaults of the deployment are written here (Default*), where a test
// holds them to the defaults of the packages that use them. internal/app
// turns the settings into the components' own options.
package config

import (
	"log/slog"
	"time"
)

// Defaults of the deployment, applied when a variable is unset.
const (
	DefaultRegion                  = "us-east-1"
	DefaultAdminGroup              = "admin"
	DefaultPlayerIDClaim           = "username"         // of an access token
	DefaultIDTokenPlayerIDClaim    = "cognito:username" // of an ID token (JWT_TOKEN_USE=id)
	DefaultTokenUse                = "access"
	DefaultMaxConnectionsPerPlayer = 5
	DefaultMaxMessageBytes         = 8 << 10
	DefaultMailboxTTL              = 24 * time.Hour
	DefaultMailboxMaxMessages      = 100
	DefaultMailboxMaxPerSender     = 20
	DefaultConnectionTTL           = 2*time.Hour + 10*time.Minute // API Gateway's 2 h maximum + a margin
	MaxMessageBytesLimit           = 32 << 10                     // API Gateway's frame limit
)

// Default rate limits (RATE_*).
var (
	DefaultMessages = Limit{Rate: 10, Burst: 20}        // 10 a second, 20 at once
	DefaultBytes    = Limit{Rate: 65536, Burst: 131072} // 64 KiB a second, 128 KiB at once
	DefaultConnects = Limit{Rate: 10.0 / 60, Burst: 10} // 10 a minute, 10 at once
)

// Need says which variables a function requires.
type Need uint

// What each function needs.
const (
	NeedConnectionsTable Need = 1 << iota // CONNECTIONS_TABLE
	NeedMailboxTable                      // MAILBOX_TABLE
	NeedRateLimitTable                    // RATE_LIMIT_TABLE
	NeedManagementAPI                     // MANAGEMENT_ENDPOINT
	NeedBansTable                         // BANS_TABLE
)

// Function says what one Lambda function reads from the environment. The
// deployment (sam/template.yaml) must set every variable listed, and no
// other; its tests check that against this table.
type Function struct {
	// Need is what the function passes to Load. The authorizer calls
	// LoadAuthorizer instead.
	Need Need
	// Required must be set; Optional have defaults.
	Required, Optional []string
}

// Variables lists Required, then Optional.
func (f Function) Variables() []string {
	return append(append([]string(nil), f.Required...), f.Optional...)
}

var rateVariables = []string{
	"RATE_MESSAGES_PER_SECOND", "RATE_MESSAGES_BURST",
	"RATE_BYTES_PER_SECOND", "RATE_BYTES_BURST", "RATE_CONNECTS_PER_MINUTE",
}

// Functions are the Lambda functions, by their directory under functions/.
var Functions = map[string]Function{
	"authorizer": {
		Required: []string{"JWT_ISSUER", "JWT_AUDIENCE", "JWKS_URL"},
		Optional: []string{"JWT_TOKEN_USE", "PLAYER_ID_CLAIM", "LOG_LEVEL"},
	},
	"admin": {
		Need:     NeedConnectionsTable | NeedBansTable | NeedManagementAPI,
		Required: []string{"CONNECTIONS_TABLE", "MANAGEMENT_ENDPOINT", "BANS_TABLE"},
		Optional: []string{"COGNITO_USER_POOL_ID", "ADMIN_GROUP", "PLAYER_ID_CLAIM", "LOG_LEVEL"},
	},
	"connect": {
		Need:     NeedConnectionsTable | NeedRateLimitTable | NeedBansTable,
		Required: []string{"CONNECTIONS_TABLE", "RATE_LIMIT_TABLE", "BANS_TABLE"},
		Optional: append([]string{"MAX_CONNECTIONS_PER_PLAYER", "CONNECTION_TTL", "LOG_LEVEL"}, rateVariables...),
	},
	"disconnect": {
		Need:     NeedConnectionsTable,
		Required: []string{"CONNECTIONS_TABLE"},
		Optional: []string{"MAX_CONNECTIONS_PER_PLAYER", "LOG_LEVEL"},
	},
	"messages": {
		Need:     NeedConnectionsTable | NeedMailboxTable | NeedRateLimitTable | NeedManagementAPI | NeedBansTable,
		Required: []string{"CONNECTIONS_TABLE", "MAILBOX_TABLE", "RATE_LIMIT_TABLE", "MANAGEMENT_ENDPOINT", "BANS_TABLE"},
		Optional: append([]string{"MAX_CONNECTIONS_PER_PLAYER", "MAX_MESSAGE_BYTES", "MAILBOX_TTL", "MAILBOX_MAX_MESSAGES", "MAILBOX_MAX_PER_SENDER", "LOG_LEVEL"}, rateVariables...),
	},
}

// Config holds the settings shared by the handlers. Each field names its
// variable and its default.
type Config struct {
	ConnectionsTable   string // CONNECTIONS_TABLE
	MailboxTable       string // MAILBOX_TABLE
	RateLimitTable     string // RATE_LIMIT_TABLE
	ManagementEndpoint string // MANAGEMENT_ENDPOINT: https://{api-id}.execute-api.{region}.amazonaws.com/{stage}
	BansTable          string // BANS_TABLE
	Region             string // AWS_REGION; default us-east-1
	// DynamoDBEndpoint is AWS_ENDPOINT_URL_DYNAMODB, the SDK's variable for
	// another DynamoDB endpoint (a local engine); empty means AWS.
	DynamoDBEndpoint string
	// Credentials are the execution role's keys that Lambda puts in the
	// environment.
	Credentials Credentials

	AdminGroup        string // ADMIN_GROUP: the group whose members may use the admin API; default DefaultAdminGroup (admin)
	CognitoUserPoolID string // COGNITO_USER_POOL_ID: the pool whose users bans disable; empty skips those steps
	// CognitoEndpoint is AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER, the SDK's
	// variable for another Cognito endpoint (an emulator); empty means AWS.
	CognitoEndpoint string
	PlayerIDClaim   string // PLAYER_ID_CLAIM: the token claim naming the player; default DefaultPlayerIDClaim (username)

	MaxConnectionsPerPlayer int           // MAX_CONNECTIONS_PER_PLAYER; default 5
	MaxMessageBytes         int           // MAX_MESSAGE_BYTES; default 8192, at most 32768
	MailboxTTL              time.Duration // MAILBOX_TTL (Go duration, e.g. 24h); default 24h
	MailboxMaxMessages      int           // MAILBOX_MAX_MESSAGES; default 100
	MailboxMaxPerSender     int           // MAILBOX_MAX_PER_SENDER; default 20 (MAILBOX_MAX_MESSAGES if smaller), at most MAILBOX_MAX_MESSAGES
	ConnectionTTL           time.Duration // CONNECTION_TTL; default 2h10m (API Gateway's 2 h maximum + a margin)
	LogLevel                slog.Level    // LOG_LEVEL: debug, info, warn, error; default info

	// RateLimits are kept in the RATE_LIMIT_TABLE table.
	RateLimits RateLimits
}

// RateLimits are the per-player limits: RATE_MESSAGES_PER_SECOND and
// RATE_MESSAGES_BURST, RATE_BYTES_PER_SECOND and RATE_BYTES_BURST, and
// RATE_CONNECTS_PER_MINUTE (n a minute, n at once). Unset, each takes its
// Default; 0 turns its limit off (the zero Limit).
type RateLimits struct {
	Messages, Bytes, Connects Limit
}

// Limit is a rate in units per second and a burst; the zero Limit is off.
type Limit struct {
	Rate  float64
	Burst int64
}

// Load reads the configuration. need names the variables that must be set.
func Load(getenv func(string) string, need Need) (Config, error) {
	p := &Parser{Getenv: getenv}
	c := Config{
		ConnectionsTable:   p.Required("CONNECTIONS_TABLE", need&NeedConnectionsTable != 0),
		MailboxTable:       p.Required("MAILBOX_TABLE", need&NeedMailboxTable != 0),
		RateLimitTable:     p.Required("RATE_LIMIT_TABLE", need&NeedRateLimitTable != 0),
		ManagementEndpoint: p.Required("MANAGEMENT_ENDPOINT", need&NeedManagementAPI != 0),
		BansTable:          p.Required("BANS_TABLE", need&NeedBansTable != 0),
		Region:             p.Str("AWS_REGION", DefaultRegion),
		DynamoDBEndpoint:   p.Str("AWS_ENDPOINT_URL_DYNAMODB", ""),
		Credentials: Credentials{
			AccessKeyID:     p.Str("AWS_ACCESS_KEY_ID", ""),
			SecretAccessKey: p.Str("AWS_SECRET_ACCESS_KEY", ""),
			SessionToken:    p.Str("AWS_SESSION_TOKEN", ""),
		},
		AdminGroup:              p.Str("ADMIN_GROUP", DefaultAdminGroup),
		CognitoUserPoolID:       p.Str("COGNITO_USER_POOL_ID", ""),
		CognitoEndpoint:         p.Str("AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER", ""),
		PlayerIDClaim:           p.Str("PLAYER_ID_CLAIM", DefaultPlayerIDClaim),
		MaxConnectionsPerPlayer: p.PositiveInt("MAX_CONNECTIONS_PER_PLAYER", DefaultMaxConnectionsPerPlayer),
		MaxMessageBytes:         p.PositiveInt("MAX_MESSAGE_BYTES", DefaultMaxMessageBytes),
		MailboxTTL:              p.Duration("MAILBOX_TTL", DefaultMailboxTTL),
		MailboxMaxMessages:      p.PositiveInt("MAILBOX_MAX_MESSAGES", DefaultMailboxMaxMessages),
		ConnectionTTL:           p.Duration("CONNECTION_TTL", DefaultConnectionTTL),
		LogLevel:                p.Level(),
		RateLimits: RateLimits{
			Messages: limit(p, "RATE_MESSAGES_PER_SECOND", "RATE_MESSAGES_BURST", DefaultMessages),
			Bytes:    limit(p, "RATE_BYTES_PER_SECOND", "RATE_BYTES_BURST", DefaultBytes),
			Connects: perMinute(p, "RATE_CONNECTS_PER_MINUTE", DefaultConnects),
		},
	}
	c.MailboxMaxPerSender = p.PositiveInt("MAILBOX_MAX_PER_SENDER", min(DefaultMailboxMaxPerSender, c.MailboxMaxMessages))
	if c.MailboxMaxPerSender > c.MailboxMaxMessages {
		p.Problem("MAILBOX_MAX_PER_SENDER (%d) must be at most MAILBOX_MAX_MESSAGES (%d)", c.MailboxMaxPerSender, c.MailboxMaxMessages)
	}
	if c.MaxMessageBytes > MaxMessageBytesLimit {
		p.Problem("MAX_MESSAGE_BYTES must be at most 32768 (API Gateway's frame limit)")
	}
	return c, p.Err()
}

// Credentials are AWS keys: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
// AWS_SESSION_TOKEN, which Lambda sets to the execution role's. They never
// print: String, GoString, LogValue and MarshalText hide them.
type Credentials struct {
	AccessKeyID, SecretAccessKey, SessionToken string
}

func (Credentials) String() string               { return "[hidden]" }
func (Credentials) GoString() string             { return "[hidden]" }
func (Credentials) LogValue() slog.Value         { return slog.StringValue("[hidden]") }
func (Credentials) MarshalText() ([]byte, error) { return []byte("[hidden]"), nil }

// limit reads a rate and its burst; either set to 0 turns the limit off.
func limit(p *Parser, rateName, burstName string, def Limit) Limit {
	l := Limit{Rate: p.Rate(rateName, def.Rate), Burst: p.Count(burstName, def.Burst)}
	if l.Rate <= 0 || l.Burst <= 0 {
		return Limit{}
	}
	return l
}

// perMinute reads n a minute, with a burst of n; 0 turns the limit off.
func perMinute(p *Parser, name string, def Limit) Limit {
	n := p.Count(name, def.Burst)
	if n == 0 {
		return Limit{}
	}
	return Limit{Rate: float64(n) / 60, Burst: n}
}

// Authorizer is the configuration of the authorizer function, for
// authorizer.Config.
type Authorizer struct {
	Issuer   string // JWT_ISSUER, required
	Audience string // JWT_AUDIENCE, required: the app client id
	JWKSURL  string // JWKS_URL, required: an absolute http(s) URL
	TokenUse string // JWT_TOKEN_USE: access or id; default access
	// PlayerIDClaim is PLAYER_ID_CLAIM; default DefaultPlayerIDClaim
	// (username), or DefaultIDTokenPlayerIDClaim (cognito:username) for ID
	// tokens.
	PlayerIDClaim string
	LogLevel      slog.Level // LOG_LEVEL, as for Load
}

// LoadAuthorizer reads the authorizer function's variables, naming every
// missing or invalid one at once.
func LoadAuthorizer(getenv func(string) string) (Authorizer, error) {
	p := &Parser{Getenv: getenv}
	a := Authorizer{
		Issuer:   p.Required("JWT_ISSUER", true),
		Audience: p.Required("JWT_AUDIENCE", true),
		JWKSURL:  p.URL("JWKS_URL", true),
		TokenUse: p.OneOf("JWT_TOKEN_USE", DefaultTokenUse, "access", "id"),
		LogLevel: p.Level(),
	}
	def := DefaultPlayerIDClaim
	if a.TokenUse == "id" {
		def = DefaultIDTokenPlayerIDClaim
	}
	a.PlayerIDClaim = p.Str("PLAYER_ID_CLAIM", def)
	return a, p.Err()
}
