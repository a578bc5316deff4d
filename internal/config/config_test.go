package config

import (
	"log/slog"
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
	if c.RateLimits.Table != "r" || c.RateLimits.Messages.Rate != 10 || c.RateLimits.Messages.Burst != 20 {
		t.Fatalf("rate limits = %+v", c.RateLimits)
	}
	if c.ConnectionsTable != "c" || c.MaxConnectionsPerPlayer != 5 || c.MaxMessageBytes != 8192 ||
		c.MailboxTTL != 24*time.Hour || c.MailboxMaxMessages != 100 || c.Region != "us-east-1" ||
		c.ConnectionTTL != 2*time.Hour+10*time.Minute || c.LogLevel != slog.LevelInfo {
		t.Fatalf("defaults = %+v", c)
	}
}

func TestLoadNamesEveryProblemAtOnce(t *testing.T) {
	_, err := Load(env(map[string]string{
		"MAX_MESSAGE_BYTES": "-1",
		"MAILBOX_TTL":       "soon",
		"LOG_LEVEL":         "loud",
		"RATE_BYTES_BURST":  "lots",
	}), NeedConnectionsTable|NeedMailboxTable|NeedRateLimitTable|NeedManagementAPI)
	if err == nil {
		t.Fatal("want an error")
	}
	for _, name := range []string{"CONNECTIONS_TABLE", "MAILBOX_TABLE", "RATE_LIMIT_TABLE", "MANAGEMENT_ENDPOINT", "MAX_MESSAGE_BYTES", "MAILBOX_TTL", "LOG_LEVEL", "RATE_BYTES_BURST"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error does not name %s: %v", name, err)
		}
	}
}

func TestLoadOverrides(t *testing.T) {
	c, err := Load(env(map[string]string{
		"MAX_CONNECTIONS_PER_PLAYER": "2", "MAX_MESSAGE_BYTES": "1024", "MAILBOX_TTL": "1h",
		"MAILBOX_MAX_MESSAGES": "7", "LOG_LEVEL": "debug", "AWS_REGION": "eu-west-1",
	}), 0)
	if err != nil {
		t.Fatal(err)
	}
	if c.MaxConnectionsPerPlayer != 2 || c.MaxMessageBytes != 1024 || c.MailboxTTL != time.Hour ||
		c.MailboxMaxMessages != 7 || c.LogLevel != slog.LevelDebug || c.Region != "eu-west-1" {
		t.Fatalf("overrides = %+v", c)
	}
	if _, err := Load(env(map[string]string{"MAX_MESSAGE_BYTES": "40000"}), 0); err == nil {
		t.Fatal("a message cap above the 32 KB frame limit was accepted")
	}
}
