package app

import (
	"testing"

	"github.com/serverless-websockets/serverless-websockets/internal/config"
	"github.com/serverless-websockets/serverless-websockets/internal/domain"
	"github.com/serverless-websockets/serverless-websockets/ratelimit"
)

// TestDefaultsAgree: internal/config writes the deployment's defaults
// itself, since it imports no package of the project; they must be the
// zero-value defaults of the packages that use them.
func TestDefaultsAgree(t *testing.T) {
	for _, c := range []struct {
		name          string
		config, owner any
	}{
		{"admin group", config.DefaultAdminGroup, domain.DefaultAdminGroup},
		{"player id claim", config.DefaultPlayerIDClaim, domain.DefaultPlayerIDClaim},
		{"ID token player id claim", config.DefaultIDTokenPlayerIDClaim, domain.DefaultIDTokenPlayerIDClaim},
		{"connections per player", config.DefaultMaxConnectionsPerPlayer, domain.DefaultMaxConnectionsPerPlayer},
		{"message bytes", config.DefaultMaxMessageBytes, domain.DefaultMaxMessageBytes},
		{"mailbox TTL", config.DefaultMailboxTTL, domain.DefaultMailboxTTL},
		{"mailbox messages", config.DefaultMailboxMaxMessages, domain.DefaultMailboxMaxMessages},
		{"mailbox messages per sender", config.DefaultMailboxMaxPerSender, domain.DefaultMailboxMaxPerSender},
		{"connection TTL", config.DefaultConnectionTTL, domain.DefaultConnectionTTL},
		{"message limit", ratelimit.Limit(config.DefaultMessages), ratelimit.DefaultMessages},
		{"byte limit", ratelimit.Limit(config.DefaultBytes), ratelimit.DefaultBytes},
		{"connect limit", ratelimit.Limit(config.DefaultConnects), ratelimit.DefaultConnects},
	} {
		if c.config != c.owner {
			t.Errorf("%s: internal/config's default is %v, its package's %v", c.name, c.config, c.owner)
		}
	}
}
