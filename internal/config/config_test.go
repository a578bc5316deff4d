package config

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoadDefaults(t *testing.T) {
	c, err := Load(env(map[string]string{"CONNECTIONS_TABLE": "c", "RATE_LIMIT_TABLE": "r"}), NeedConnectionsTable)
	if err != nil {
		t.Fatal(err)
	}
	if c.RateLimitTable != "r" || c.RateLimits.Messages.Rate != 10 || c.RateLimits.Messages.Burst != 20 {
		t.Fatalf("rate limits = %+v", c.RateLimits)
	}
	if c.ConnectionsTable != "c" || c.MaxConnectionsPerPlayer != 5 || c.MaxMessageBytes != 8192 ||
		c.MailboxTTL != 24*time.Hour || c.MailboxMaxMessages != 100 || c.MailboxMaxPerSender != 20 || c.Region != "us-east-1" ||
		c.ConnectionTTL != 2*time.Hour+10*time.Minute || c.LogLevel != slog.LevelInfo {
		t.Fatalf("defaults = %+v", c)
	}
}

func TestLoadNamesEveryProblemAtOnce(t *testing.T) {
	_, err := Load(env(map[string]string{
		"MAX_MESSAGE_BYTES":      "-1",
		"MAILBOX_TTL":            "soon",
		"LOG_LEVEL":              "loud",
		"RATE_BYTES_BURST":       "lots",
		"MAILBOX_MAX_PER_SENDER": "0",
	}), NeedConnectionsTable|NeedMailboxTable|NeedRateLimitTable|NeedManagementAPI)
	wantNamed(t, err, "CONNECTIONS_TABLE", "MAILBOX_TABLE", "RATE_LIMIT_TABLE", "MANAGEMENT_ENDPOINT", "MAX_MESSAGE_BYTES", "MAILBOX_TTL", "LOG_LEVEL", "RATE_BYTES_BURST", "MAILBOX_MAX_PER_SENDER")
}

// wantNamed fails unless err is an error that names every one of names.
func wantNamed(t *testing.T, err error, names ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one naming %v", names)
	}
	for _, name := range names {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error %q does not name %s", err, name)
		}
	}
}

func TestLoadOverrides(t *testing.T) {
	c, err := Load(env(map[string]string{
		"MAX_CONNECTIONS_PER_PLAYER": "2", "MAX_MESSAGE_BYTES": "1024", "MAILBOX_TTL": "1h",
		"MAILBOX_MAX_MESSAGES": "7", "MAILBOX_MAX_PER_SENDER": "3", "LOG_LEVEL": "debug", "AWS_REGION": "eu-west-1",
	}), 0)
	if err != nil {
		t.Fatal(err)
	}
	if c.MaxConnectionsPerPlayer != 2 || c.MaxMessageBytes != 1024 || c.MailboxTTL != time.Hour ||
		c.MailboxMaxMessages != 7 || c.MailboxMaxPerSender != 3 || c.LogLevel != slog.LevelDebug || c.Region != "eu-west-1" {
		t.Fatalf("overrides = %+v", c)
	}
	if _, err := Load(env(map[string]string{"MAX_MESSAGE_BYTES": "40000"}), 0); err == nil {
		t.Fatal("a message cap above the 32 KB frame limit was accepted")
	}
}

func TestMailboxMaxPerSender(t *testing.T) {
	tests := []struct {
		name          string
		env           map[string]string
		want          int
		wantInProblem string // "" for success
	}{
		{name: "default", env: map[string]string{}, want: 20},
		{name: "set", env: map[string]string{"MAILBOX_MAX_PER_SENDER": "5"}, want: 5},
		{name: "equal to the mailbox cap", env: map[string]string{"MAILBOX_MAX_MESSAGES": "30", "MAILBOX_MAX_PER_SENDER": "30"}, want: 30},
		{name: "default under a small mailbox cap", env: map[string]string{"MAILBOX_MAX_MESSAGES": "8"}, want: 8},
		{name: "over the mailbox cap", env: map[string]string{"MAILBOX_MAX_MESSAGES": "10", "MAILBOX_MAX_PER_SENDER": "11"},
			wantInProblem: "MAILBOX_MAX_PER_SENDER (11) must be at most MAILBOX_MAX_MESSAGES (10)"},
		{name: "over the default mailbox cap", env: map[string]string{"MAILBOX_MAX_PER_SENDER": "101"},
			wantInProblem: "MAILBOX_MAX_PER_SENDER (101) must be at most MAILBOX_MAX_MESSAGES (100)"},
		{name: "zero", env: map[string]string{"MAILBOX_MAX_PER_SENDER": "0"}, wantInProblem: "MAILBOX_MAX_PER_SENDER must be a positive whole number"},
		{name: "not a number", env: map[string]string{"MAILBOX_MAX_PER_SENDER": "many"}, wantInProblem: "MAILBOX_MAX_PER_SENDER must be a positive whole number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(env(tt.env), 0)
			if tt.wantInProblem != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantInProblem) {
					t.Fatalf("Load = %v, want a problem containing %q", err, tt.wantInProblem)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.MailboxMaxPerSender != tt.want {
				t.Errorf("MailboxMaxPerSender = %d, want %d", c.MailboxMaxPerSender, tt.want)
			}
		})
	}
}

// TestFunctionsMatchLoad: with nothing set, Load names as missing exactly the
// Required variables of each function, and every variable listed is one
// Load or the authorizer reads.
func TestFunctionsMatchLoad(t *testing.T) {
	for name, f := range Functions {
		t.Run(name, func(t *testing.T) {
			if f.Need == 0 {
				return // the authorizer, checked against its loader in sam/
			}
			_, err := Load(env(nil), f.Need)
			if err == nil {
				t.Fatal("want the required variables named as missing")
			}
			missing := strings.TrimPrefix(strings.SplitN(err.Error(), ";", 2)[0], "config: missing ")
			if got, want := missing, strings.Join(f.Required, ", "); got != want {
				t.Errorf("Load names missing %q, Functions lists %q", got, want)
			}
			read := map[string]bool{}
			full := map[string]string{}
			for _, v := range f.Variables() {
				full[v] = "1"
			}
			_, _ = Load(func(k string) string { read[k] = true; return full[k] }, f.Need)
			for _, v := range f.Variables() {
				if !read[v] {
					t.Errorf("%s is listed but Load never reads it", v)
				}
			}
		})
	}
}

func TestCredentialsAndEndpointNeverPrintTheKeys(t *testing.T) {
	c, err := Load(env(map[string]string{
		"AWS_ACCESS_KEY_ID": "AKIDSECRETID", "AWS_SECRET_ACCESS_KEY": "s3cr3t-key", "AWS_SESSION_TOKEN": "t0ken",
		"AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:8000",
	}), 0)
	if err != nil {
		t.Fatal(err)
	}
	if c.Credentials.AccessKeyID != "AKIDSECRETID" || c.Credentials.SecretAccessKey != "s3cr3t-key" || c.Credentials.SessionToken != "t0ken" {
		t.Errorf("credentials not read: the keys differ")
	}
	if c.DynamoDBEndpoint != "http://127.0.0.1:8000" {
		t.Errorf("DynamoDBEndpoint = %q", c.DynamoDBEndpoint)
	}
	var logged strings.Builder
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("config", "config", c, "credentials", c.Credentials)
	js, err := json.Marshal(struct{ C Credentials }{c.Credentials})
	if err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{fmt.Sprintf("%v %+v %#v %s", c, c, c, c.Credentials), logged.String(), string(js)} {
		for _, secret := range []string{"AKIDSECRETID", "s3cr3t-key", "t0ken"} {
			if strings.Contains(out, secret) {
				t.Errorf("%q shows up in %s", secret, out)
			}
		}
	}
}

func TestLoadAuthorizer(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    Authorizer
		wantErr []string
	}{
		{
			name: "all set",
			env: map[string]string{"JWT_ISSUER": "https://issuer.example", "JWT_AUDIENCE": "client", "JWKS_URL": "https://example.com/jwks.json",
				"JWT_TOKEN_USE": "id", "PLAYER_ID_CLAIM": "cognito:username"},
			want: Authorizer{Issuer: "https://issuer.example", Audience: "client", JWKSURL: "https://example.com/jwks.json",
				TokenUse: "id", PlayerIDClaim: "cognito:username"},
		},
		{
			name: "optional ones empty",
			env:  map[string]string{"JWT_ISSUER": "https://issuer.example", "JWT_AUDIENCE": "client", "JWKS_URL": "https://example.com/jwks.json"},
			want: Authorizer{Issuer: "https://issuer.example", Audience: "client", JWKSURL: "https://example.com/jwks.json", TokenUse: "access", PlayerIDClaim: "username"},
		},
		{
			name: "ID tokens name the player by cognito:username",
			env:  map[string]string{"JWT_ISSUER": "https://issuer.example", "JWT_AUDIENCE": "client", "JWKS_URL": "https://example.com/jwks.json", "JWT_TOKEN_USE": "id"},
			want: Authorizer{Issuer: "https://issuer.example", Audience: "client", JWKSURL: "https://example.com/jwks.json", TokenUse: "id", PlayerIDClaim: "cognito:username"},
		},
		{name: "nothing set", env: map[string]string{}, wantErr: []string{"JWT_ISSUER", "JWT_AUDIENCE", "JWKS_URL"}},
		{name: "nothing set, bad log level", env: map[string]string{"LOG_LEVEL": "loud"}, wantErr: []string{"JWT_ISSUER", "JWT_AUDIENCE", "JWKS_URL", "LOG_LEVEL"}},
		{name: "two missing", env: map[string]string{"JWT_AUDIENCE": "client"}, wantErr: []string{"JWT_ISSUER", "JWKS_URL"}},
		{
			name:    "bad token use",
			env:     map[string]string{"JWT_ISSUER": "https://issuer.example", "JWT_AUDIENCE": "client", "JWKS_URL": "https://example.com/jwks.json", "JWT_TOKEN_USE": "ID"},
			wantErr: []string{"JWT_TOKEN_USE"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := LoadAuthorizer(env(tt.env))
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				if a != tt.want {
					t.Errorf("LoadAuthorizer = %+v, want %+v", a, tt.want)
				}
				return
			}
			wantNamed(t, err, tt.wantErr...)
			for k := range map[string]bool{"JWT_ISSUER": true, "JWT_AUDIENCE": true, "JWKS_URL": true} {
				if tt.env[k] != "" && strings.Contains(err.Error(), k) {
					t.Errorf("error %q names %s, which is set", err, k)
				}
			}
		})
	}
}

func TestRateLimits(t *testing.T) {
	defaults := RateLimits{
		Messages: Limit{Rate: 10, Burst: 20},
		Bytes:    Limit{Rate: 65536, Burst: 131072},
		Connects: Limit{Rate: 10.0 / 60, Burst: 10},
	}
	tests := []struct {
		name    string
		env     map[string]string
		want    RateLimits
		wantErr []string // substrings the error must name; nil for success
	}{
		{name: "defaults", want: defaults},
		{
			name: "all set",
			env: map[string]string{
				"RATE_MESSAGES_PER_SECOND": "2.5", "RATE_MESSAGES_BURST": "5",
				"RATE_BYTES_PER_SECOND": "1000", "RATE_BYTES_BURST": "4000",
				"RATE_CONNECTS_PER_MINUTE": "3",
			},
			want: RateLimits{
				Messages: Limit{Rate: 2.5, Burst: 5},
				Bytes:    Limit{Rate: 1000, Burst: 4000},
				Connects: Limit{Rate: 3.0 / 60, Burst: 3},
			},
		},
		{
			name: "zero turns limits off",
			env:  map[string]string{"RATE_MESSAGES_PER_SECOND": "0", "RATE_BYTES_PER_SECOND": "0", "RATE_BYTES_BURST": "0", "RATE_CONNECTS_PER_MINUTE": "0"},
			want: RateLimits{},
		},
		{
			name: "a zero burst turns its limit off",
			env:  map[string]string{"RATE_MESSAGES_BURST": "0", "RATE_BYTES_BURST": "0"},
			want: RateLimits{Connects: Limit{Rate: 10.0 / 60, Burst: 10}},
		},
		{
			name: "every invalid variable is named",
			env: map[string]string{
				"RATE_MESSAGES_PER_SECOND": "fast", "RATE_MESSAGES_BURST": "-1",
				"RATE_BYTES_PER_SECOND": "-5", "RATE_BYTES_BURST": "1.5",
				"RATE_CONNECTS_PER_MINUTE": "NaN",
			},
			wantErr: []string{"RATE_MESSAGES_PER_SECOND", "RATE_MESSAGES_BURST", "RATE_BYTES_PER_SECOND", "RATE_BYTES_BURST", "RATE_CONNECTS_PER_MINUTE"},
		},
		{name: "infinite rate", env: map[string]string{"RATE_BYTES_PER_SECOND": "+Inf"}, wantErr: []string{"RATE_BYTES_PER_SECOND"}},
		{name: "no table", env: map[string]string{"RATE_LIMIT_TABLE": ""}, wantErr: []string{"RATE_LIMIT_TABLE"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vars := map[string]string{"RATE_LIMIT_TABLE": "limits"}
			maps.Copy(vars, tt.env)
			c, err := Load(env(vars), NeedRateLimitTable)
			if tt.wantErr != nil {
				wantNamed(t, err, tt.wantErr...)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := c.RateLimits
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}
