// Package config reads the settings of the Lambda functions and the local
// stack from the environment. Load is a function of a getenv function, so
// nothing below main reads os.Getenv; it validates everything and names
// every missing or invalid variable at once.
package config

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/serverless-websockets/serverless-websockets/ratelimit"
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
	// Need is what the function passes to Load. The authorizer does not
	// call Load (it reads its settings with authorizer.ConfigFromEnv).
	Need Need
	// Required must be set; Optional have defaults.
	Required, Optional []string
}

// Variables lists Required, then Optional.
func (f Function) Variables() []string {
	return append(append([]string(nil), f.Required...), f.Optional...)
}

var rateVariables = []string{
	ratelimit.EnvMessagesPerSecond, ratelimit.EnvMessagesBurst,
	ratelimit.EnvBytesPerSecond, ratelimit.EnvBytesBurst, ratelimit.EnvConnectsPerMinute,
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

	AdminGroup        string // ADMIN_GROUP: the group whose members may use the admin API; default admin
	CognitoUserPoolID string // COGNITO_USER_POOL_ID: the pool whose users bans disable; empty skips those steps
	// CognitoEndpoint is AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER, the SDK's
	// variable for another Cognito endpoint (an emulator); empty means AWS.
	CognitoEndpoint string
	PlayerIDClaim   string // PLAYER_ID_CLAIM: the token claim naming the player; default sub

	MaxConnectionsPerPlayer int           // MAX_CONNECTIONS_PER_PLAYER; default 5
	MaxMessageBytes         int           // MAX_MESSAGE_BYTES; default 8192
	MailboxTTL              time.Duration // MAILBOX_TTL (Go duration, e.g. 24h); default 24h
	MailboxMaxMessages      int           // MAILBOX_MAX_MESSAGES; default 100
	MailboxMaxPerSender     int           // MAILBOX_MAX_PER_SENDER; default 20 (MAILBOX_MAX_MESSAGES if smaller), at most MAILBOX_MAX_MESSAGES
	ConnectionTTL           time.Duration // CONNECTION_TTL; default 2h10m (API Gateway's 2 h maximum + a margin)
	LogLevel                slog.Level    // LOG_LEVEL: debug, info, warn, error; default info

	// RateLimits are the RATE_* variables, read by ratelimit.ConfigFromEnv
	// on the RATE_LIMIT_TABLE table.
	RateLimits ratelimit.Config
}

// Load reads the configuration. need names the variables that must be set.
func Load(getenv func(string) string, need Need) (Config, error) {
	p := parser{getenv: getenv}
	c := Config{
		ConnectionsTable:   p.required("CONNECTIONS_TABLE", need&NeedConnectionsTable != 0),
		MailboxTable:       p.required("MAILBOX_TABLE", need&NeedMailboxTable != 0),
		RateLimitTable:     p.required("RATE_LIMIT_TABLE", need&NeedRateLimitTable != 0),
		ManagementEndpoint: p.required("MANAGEMENT_ENDPOINT", need&NeedManagementAPI != 0),
		BansTable:          p.required("BANS_TABLE", need&NeedBansTable != 0),
		Region:             p.str("AWS_REGION", "us-east-1"),
		DynamoDBEndpoint:   p.str("AWS_ENDPOINT_URL_DYNAMODB", ""),
		Credentials: Credentials{
			AccessKeyID:     p.str("AWS_ACCESS_KEY_ID", ""),
			SecretAccessKey: p.str("AWS_SECRET_ACCESS_KEY", ""),
			SessionToken:    p.str("AWS_SESSION_TOKEN", ""),
		},
		AdminGroup:              p.str("ADMIN_GROUP", "admin"),
		CognitoUserPoolID:       p.str("COGNITO_USER_POOL_ID", ""),
		CognitoEndpoint:         p.str("AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER", ""),
		PlayerIDClaim:           p.str("PLAYER_ID_CLAIM", "sub"),
		MaxConnectionsPerPlayer: p.positiveInt("MAX_CONNECTIONS_PER_PLAYER", 5),
		MaxMessageBytes:         p.positiveInt("MAX_MESSAGE_BYTES", 8192),
		MailboxTTL:              p.duration("MAILBOX_TTL", 24*time.Hour),
		MailboxMaxMessages:      p.positiveInt("MAILBOX_MAX_MESSAGES", 100),
		ConnectionTTL:           p.duration("CONNECTION_TTL", 2*time.Hour+10*time.Minute),
		LogLevel:                p.level("LOG_LEVEL"),
	}
	c.MailboxMaxPerSender = p.positiveInt("MAILBOX_MAX_PER_SENDER", min(20, c.MailboxMaxMessages))
	if c.MailboxMaxPerSender > c.MailboxMaxMessages {
		p.problems = append(p.problems, fmt.Sprintf("MAILBOX_MAX_PER_SENDER (%d) must be at most MAILBOX_MAX_MESSAGES (%d)", c.MailboxMaxPerSender, c.MailboxMaxMessages))
	}
	if c.MaxMessageBytes > 32<<10 {
		p.problems = append(p.problems, "MAX_MESSAGE_BYTES must be at most 32768 (API Gateway's frame limit)")
	}
	// The placeholder table name lets the RATE_* variables be checked even
	// when RATE_LIMIT_TABLE is missing (which is named above).
	limits, limitErr := ratelimit.ConfigFromEnv(getenv, cmp.Or(c.RateLimitTable, "RATE_LIMIT_TABLE"))
	limits.Table = c.RateLimitTable
	c.RateLimits = limits
	if limitErr != nil {
		p.problems = append(p.problems, limitErr.Error())
	}
	if len(p.missing) > 0 {
		p.problems = append([]string{"missing " + strings.Join(p.missing, ", ")}, p.problems...)
	}
	if len(p.problems) > 0 {
		return c, errors.New("config: " + strings.Join(p.problems, "; "))
	}
	return c, nil
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

type parser struct {
	getenv   func(string) string
	missing  []string
	problems []string
}

func (p *parser) required(name string, needed bool) string {
	v := strings.TrimSpace(p.getenv(name))
	if v == "" && needed {
		p.missing = append(p.missing, name)
	}
	return v
}

func (p *parser) str(name, def string) string {
	if v := strings.TrimSpace(p.getenv(name)); v != "" {
		return v
	}
	return def
}

func (p *parser) positiveInt(name string, def int) int {
	v := strings.TrimSpace(p.getenv(name))
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		p.problems = append(p.problems, fmt.Sprintf("%s must be a positive whole number, not %q", name, v))
		return def
	}
	return n
}

func (p *parser) duration(name string, def time.Duration) time.Duration {
	v := strings.TrimSpace(p.getenv(name))
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		p.problems = append(p.problems, fmt.Sprintf("%s must be a positive duration such as 24h, not %q", name, v))
		return def
	}
	return d
}

func (p *parser) level(name string) slog.Level {
	v := strings.TrimSpace(p.getenv(name))
	if v == "" {
		return slog.LevelInfo
	}
	var l slog.Level
	if err := l.UnmarshalText([]byte(v)); err != nil {
		p.problems = append(p.problems, fmt.Sprintf("%s must be debug, info, warn or error, not %q", name, v))
		return slog.LevelInfo
	}
	return l
}
