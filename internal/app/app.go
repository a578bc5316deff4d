// Package app assembles the system. From the settings (internal/config) and
// the clients of the services outside (DynamoDB, the Management API, the
// user pool, a clock, a logger, metrics) it builds the store, the rate
// limiter and every handler: the WebSocket routes and the admin API. Each
// Lambda function's main and the local stack call it; nothing else builds a
// handler, so a new route, table or setting is wired here once.
//
// The token verifier is assembled apart, in internal/app/tokens, so that
// the authorizer function links no DynamoDB client.
package app

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/serverless-websockets/serverless-websockets/internal/admin"
	"github.com/serverless-websockets/serverless-websockets/internal/config"
	"github.com/serverless-websockets/serverless-websockets/internal/dynamo"
	"github.com/serverless-websockets/serverless-websockets/internal/handlers"
	"github.com/serverless-websockets/serverless-websockets/internal/metrics"
	"github.com/serverless-websockets/serverless-websockets/ratelimit"
)

// DynamoDB is what the store and the rate limiter need of a DynamoDB client.
type DynamoDB interface {
	dynamo.API
	ratelimit.API
}

// Sender is the Management API: it posts to and closes connections, and
// its errors for a connection that no longer exists wrap domain.ErrGone.
type Sender interface {
	handlers.Sender
	admin.Connections
}

// Clients are the services outside the system, and the clock, logger and
// metrics its handlers share.
type Clients struct {
	DynamoDB DynamoDB       // required
	Sender   Sender         // the Management API: required by Messages and Admin
	Accounts admin.Accounts // the user pool; nil: a ban's account steps are skipped
	// Now is the clock of the handlers, the store and the limiter; nil
	// means time.Now.
	Now     func() time.Time
	Logger  *slog.Logger // nil: discard
	Metrics metrics.Sink // nil: discard
}

// App builds the handlers of one configuration over one set of clients.
// Its Store is shared by every handler it builds, and so is its limiter.
type App struct {
	Config config.Config
	Store  *dynamo.Store
	c      Clients
	lim    *Limiter
}

// New checks the clients and builds the store.
func New(cfg config.Config, c Clients) (*App, error) {
	if c.DynamoDB == nil {
		return nil, errors.New("app: no DynamoDB client")
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	store := dynamo.New(c.DynamoDB, dynamo.Tables{Connections: cfg.ConnectionsTable, Mailbox: cfg.MailboxTable, Bans: cfg.BansTable}, dynamo.Options{
		MaxConnectionsPerPlayer: cfg.MaxConnectionsPerPlayer,
		MailboxMaxMessages:      cfg.MailboxMaxMessages,
		MailboxMaxPerSender:     cfg.MailboxMaxPerSender,
		Now:                     c.Now,
	})
	return &App{Config: cfg, Store: store, c: c}, nil
}

// RateLimits are the limiter's settings: the configuration's limits on its
// RATE_LIMIT_TABLE, on the app's clock.
func (a *App) RateLimits() ratelimit.Config {
	l := a.Config.RateLimits
	return ratelimit.Config{
		Table:    a.Config.RateLimitTable,
		Messages: ratelimit.Limit(l.Messages),
		Bytes:    ratelimit.Limit(l.Bytes),
		Connects: ratelimit.Limit(l.Connects),
		Now:      a.c.Now,
	}
}

// limiter is the rate limiter every handler of the app shares (one deny
// cache), built on first use: the functions without limits never make it.
func (a *App) limiter() (*Limiter, error) {
	if a.lim == nil {
		if a.Config.RateLimitTable == "" {
			return nil, errors.New("app: no rate limit table (RATE_LIMIT_TABLE)")
		}
		a.lim = NewLimiter(ratelimit.New(a.c.DynamoDB, a.RateLimits()))
	}
	return a.lim, nil
}

// Connect is the $connect handler.
func (a *App) Connect() (*handlers.Connect, error) {
	lim, err := a.limiter()
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	return &handlers.Connect{
		Connections: a.Store, Bans: a.bans(), Limiter: lim, TTL: a.Config.ConnectionTTL,
		Now: a.c.Now, Logger: a.c.Logger, Metrics: a.c.Metrics,
	}, nil
}

// Disconnect is the $disconnect handler.
func (a *App) Disconnect() *handlers.Disconnect {
	return &handlers.Disconnect{Connections: a.Store, Now: a.c.Now, Logger: a.c.Logger, Metrics: a.c.Metrics}
}

// Messages is the handler of every route after $connect.
func (a *App) Messages() (*handlers.Messages, error) {
	if a.c.Sender == nil {
		return nil, errors.New("messages: no Management API client")
	}
	lim, err := a.limiter()
	if err != nil {
		return nil, fmt.Errorf("messages: %w", err)
	}
	cfg := a.Config
	return &handlers.Messages{
		Connections: a.Store, Presence: a.Store, Mailbox: a.Store, Sender: a.c.Sender, Limiter: lim, Bans: a.bans(),
		MaxMessageBytes: cfg.MaxMessageBytes, MailboxTTL: cfg.MailboxTTL, InboxBatch: cfg.MailboxMaxMessages,
		Now: a.c.Now, Logger: a.c.Logger, Metrics: a.c.Metrics,
	}, nil
}

// Admin is the admin API's handler.
func (a *App) Admin() (*admin.Handler, error) {
	if a.c.Sender == nil {
		return nil, errors.New("admin: no Management API client")
	}
	if a.Config.BansTable == "" {
		return nil, errors.New("admin: no bans table (BANS_TABLE)")
	}
	h := &admin.Handler{
		Store: a.Store, Connections: a.c.Sender, Accounts: a.c.Accounts, BadCursor: dynamo.ErrBadCursor,
		AdminGroup: a.Config.AdminGroup, PlayerIDClaim: a.Config.PlayerIDClaim, Now: a.c.Now, Logger: a.c.Logger,
	}
	if a.c.Accounts == nil {
		a.c.Logger.Info("admin: no user pool (COGNITO_USER_POOL_ID); bans and unbans skip the Cognito steps")
	}
	return h, nil
}

// bans is the store as the handlers' ban reader, or nil without a bans
// table (no ban check).
func (a *App) bans() handlers.BanReader {
	if a.Config.BansTable == "" {
		return nil
	}
	return a.Store
}
