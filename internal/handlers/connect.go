package handlers

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/serverless-websockets/serverless-websockets/internal/deadline"
	"github.com/serverless-websockets/serverless-websockets/internal/domain"
	"github.com/serverless-websockets/serverless-websockets/internal/metrics"
	"github.com/serverless-websockets/serverless-websockets/internal/protocol"
)

// ConnectionWriter stores a new connection, and removes it again when the
// player turns out to be banned.
type ConnectionWriter interface {
	// PutConnection fails with an error wrapping domain.ErrConnectionLimit
	// when the player already holds the maximum number of live connections.
	PutConnection(ctx context.Context, c domain.Connection) error
	ConnectionDeleter
}

// BanReader reads the ban in force for a player.
type BanReader interface {
	// Ban returns the player's ban in force, read with strong consistency,
	// or an error wrapping domain.ErrNotFound when there is none.
	Ban(ctx context.Context, playerID string) (domain.Ban, error)
}

// ConnectLimiter limits how often a player may connect.
type ConnectLimiter interface {
	AllowConnect(ctx context.Context, playerID string) (domain.Admission, error)
}

// Connect handles $connect: it binds the connection to the authorizer's
// player and stores its row, which expires with the connection's maximum
// lifetime (TTL) or the token, whichever comes first. Answers:
//
//	200  connected
//	403  the player is banned (code banned, with the ban's reason and end),
//	     already holds the maximum number of live connections, or the
//	     token expired (within the authorizer's clock leeway)
//	429  the player connects too often (RATE_CONNECTS_PER_MINUTE)
//	500  a backing service failed (the upgrade is refused; nothing is stored)
//
// A non-2xx answer refuses the upgrade; its body is an error frame.
//
// The ban is read after the row is written, and a ban is written before the
// admin API looks for the player's connections: whichever of the two comes
// second sees the other, so a connection and a ban racing cannot both miss
// each other. A refused connection's row is deleted again.
type Connect struct {
	Connections ConnectionWriter
	Bans        BanReader        // nil: no ban check
	Limiter     ConnectLimiter   // nil: no connect rate limit
	TTL         time.Duration    // row lifetime; default domain.DefaultConnectionTTL
	Now         func() time.Time // default time.Now
	Logger      *slog.Logger     // default: discard
	Metrics     metrics.Sink     // default: discard
}

// Handle runs $connect.
func (h *Connect) Handle(ctx context.Context, req events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
	ctx, cancel := deadline.WithReserve(ctx)
	defer cancel()
	rec, now, emit := measure(h.Now, h.Metrics, "$connect")
	defer emit()
	rc := req.RequestContext
	id, idErr := identityFrom(rc)
	log := requestLogger(h.Logger, rc, id.PlayerID)

	err := h.connect(ctx, now, id, idErr, rc, req.Headers)
	if err != nil {
		status := connectStatus(domain.ErrorCode(err))
		rec.Reject(string(domain.ErrorCode(err)))
		logOutcome(ctx, log, "connect refused", err, slog.Int("status", status))
		return events.APIGatewayProxyResponse{StatusCode: status, Body: string(protocol.Encode(protocol.ErrorFrame("", err)))}, nil
	}
	logOutcome(ctx, log, "connected", nil)
	return events.APIGatewayProxyResponse{StatusCode: http.StatusOK}, nil
}

// connectStatuses is the one translation of a refused connect's code to the
// upgrade's HTTP status; any other code is 500.
var connectStatuses = map[domain.Code]int{
	domain.CodeTokenExpired: http.StatusForbidden,
	domain.CodeForbidden:    http.StatusForbidden,
	domain.CodeBanned:       http.StatusForbidden,
	domain.CodeRateLimited:  http.StatusTooManyRequests,
}

// connectStatus is the HTTP status $connect answers for an error of code:
// 403 for an expired token, a full set of connections or a ban, 429 for the
// connect rate limit, and 500 for a backing service that failed or a bug.
func connectStatus(code domain.Code) int {
	if s, ok := connectStatuses[code]; ok {
		return s
	}
	return http.StatusInternalServerError
}

func (h *Connect) connect(ctx context.Context, now time.Time, id Identity, idErr error, rc events.APIGatewayWebsocketProxyRequestContext, headers map[string]string) error {
	if idErr != nil {
		return internal(idErr)
	}
	if !id.TokenExpiresAt.IsZero() && !now.Before(id.TokenExpiresAt) {
		// The authorizer allows a few seconds of clock leeway; a token past
		// its expiry here would make a row that is dead on arrival.
		return domain.Errorf(domain.CodeTokenExpired, "the token has expired; connect again with a new token")
	}
	if h.Limiter != nil {
		d, err := h.Limiter.AllowConnect(ctx, id.PlayerID)
		if err != nil {
			return unavailable(fmt.Errorf("connect limit of %s: %w", id.PlayerID, err))
		}
		if !d.Allowed {
			return &domain.Error{Code: domain.CodeRateLimited, Message: "too many connection attempts", RetryAfter: d.RetryAfter}
		}
	}
	connectedAt := now
	if rc.ConnectedAt > 0 {
		connectedAt = time.UnixMilli(rc.ConnectedAt)
	}
	ttl := h.TTL
	if ttl <= 0 {
		ttl = domain.DefaultConnectionTTL
	}
	expiresAt := connectedAt.Add(ttl)
	if !id.TokenExpiresAt.IsZero() && id.TokenExpiresAt.Before(expiresAt) {
		// A connection's authority ends with its token: from then on the
		// player counts as offline and messages wait in the mailbox, even
		// for a client that only listens.
		expiresAt = id.TokenExpiresAt
	}
	err := h.Connections.PutConnection(ctx, domain.Connection{
		ID:          rc.ConnectionID,
		PlayerID:    id.PlayerID,
		ConnectedAt: connectedAt,
		ExpiresAt:   expiresAt,
		SourceIP:    rc.Identity.SourceIP,
		UserAgent:   cmp.Or(rc.Identity.UserAgent, headerValue(headers, "User-Agent")),
	})
	switch {
	case errors.Is(err, domain.ErrConnectionLimit):
		return &domain.Error{Code: domain.CodeForbidden, Message: "the player already holds the maximum number of connections", Err: err}
	case err != nil:
		return unavailable(err)
	}
	if h.Bans == nil {
		return nil
	}
	ban, err := h.Bans.Ban(ctx, id.PlayerID)
	if errors.Is(err, domain.ErrNotFound) {
		return nil
	}
	// Banned, or unknown: the row just written must go again.
	if derr := h.Connections.DeleteConnection(ctx, id.PlayerID, rc.ConnectionID); derr != nil {
		err = errors.Join(err, fmt.Errorf("remove the refused connection's row: %w", derr))
	}
	if err != nil {
		return unavailable(fmt.Errorf("ban of %s: %w", id.PlayerID, err))
	}
	return domain.BannedError(ban)
}

func headerValue(headers map[string]string, name string) string {
	for k, v := range headers {
		if http.CanonicalHeaderKey(k) == name {
			return v
		}
	}
	return ""
}
