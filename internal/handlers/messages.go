package handlers

import (
	"context"
	"encoding/base64"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/serverless-websockets/serverless-websockets/internal/deadline"
	"github.com/serverless-websockets/serverless-websockets/internal/domain"
	"github.com/serverless-websockets/serverless-websockets/internal/metrics"
	"github.com/serverless-websockets/serverless-websockets/internal/protocol"
)

// Route keys served by Messages.
const (
	RouteSendMessage = "sendmessage"
	RouteInbox       = "inbox"
	RoutePresence    = "presence"
	RoutePing        = "ping"
	RouteDefault     = "$default"
)

// MessageRoutes lists the route keys Messages serves.
var MessageRoutes = []string{RouteSendMessage, RouteInbox, RoutePresence, RoutePing, RouteDefault}

// Connections reads a player's live connections and removes a stale one.
type Connections interface {
	// PlayerConnections returns the player's live connections, read
	// strongly consistently.
	PlayerConnections(ctx context.Context, playerID string) ([]domain.Connection, error)
	ConnectionDeleter
}

// Presence tells which players are online.
type Presence interface {
	OnlinePlayers(ctx context.Context, playerIDs []string) ([]string, error)
}

// Mailbox keeps messages for players who are offline.
type Mailbox interface {
	// Enqueue fails with an error wrapping domain.ErrMailboxFull at the cap.
	Enqueue(ctx context.Context, m domain.QueuedMessage) error
	// Inbox returns up to limit live messages, oldest first.
	Inbox(ctx context.Context, playerID string, limit int) ([]domain.QueuedMessage, error)
	DeleteQueued(ctx context.Context, playerID, messageID string) error
}

// Sender posts to and closes connections (the Management API). Errors for a
// connection that no longer exists wrap domain.ErrGone.
type Sender interface {
	Post(ctx context.Context, connectionID string, data []byte) error
	Delete(ctx context.Context, connectionID string) error
}

// MessageLimiter limits a player's messages and bytes.
type MessageLimiter interface {
	// AllowMessage's error wraps domain.ErrTooLarge for a message larger
	// than the byte limit's burst.
	AllowMessage(ctx context.Context, playerID string, bytes int) (domain.Admission, error)
	// RefusesMessage reports, without a remote call or a charge, that
	// AllowMessage would refuse (its deny cache).
	RefusesMessage(playerID string, bytes int) bool
}

// Defaults of Messages.
const (
	DefaultInboxBatch          = 100
	DefaultDeliveryConcurrency = 8
)

// Messages handles sendmessage, inbox, presence, ping and $default: one
// function for every route after $connect, so that one player's traffic
// meets warm instances (and their rate-limit deny cache) more often.
type Messages struct {
	Connections Connections
	Presence    Presence
	Mailbox     Mailbox
	Sender      Sender
	Limiter     MessageLimiter // nil: no message limits
	Bans        BanReader      // nil: no ban check on sendmessage; else one read per sendmessage

	MaxMessageBytes     int           // cap on the compact JSON of "message"; default 8 KiB
	MailboxTTL          time.Duration // how long queued messages are kept; default 24 h
	InboxBatch          int           // messages handed over per inbox request; default 100
	DeliveryConcurrency int           // posts in flight per message; default 8

	IDs     *MessageIDs      // default: a new generator
	Now     func() time.Time // default time.Now
	Logger  *slog.Logger     // default: discard
	Metrics metrics.Sink     // default: discard

	once sync.Once
}

func (h *Messages) init() {
	h.once.Do(func() {
		if h.MaxMessageBytes <= 0 {
			h.MaxMessageBytes = domain.DefaultMaxMessageBytes
		}
		if h.MailboxTTL <= 0 {
			h.MailboxTTL = domain.DefaultMailboxTTL
		}
		if h.InboxBatch <= 0 {
			h.InboxBatch = DefaultInboxBatch
		}
		if h.DeliveryConcurrency <= 0 {
			h.DeliveryConcurrency = DefaultDeliveryConcurrency
		}
		if h.IDs == nil {
			h.IDs = &MessageIDs{}
		}
	})
}

// call is one invocation: its request, player, logger and metrics record.
type call struct {
	rc  events.APIGatewayWebsocketProxyRequestContext
	id  Identity
	log *slog.Logger
	rec *metrics.Record
	now time.Time
}

// Handle serves one frame of a connected client. Every outcome, success or
// refusal, is a frame in the route response; the connection stays open
// except for token_expired, where the server closes it. Its work ends a
// little before ctx's deadline (see deadline.WithReserve): a backing service that
// does not answer by then makes the answer unavailable, with the client's
// id, and nothing is acknowledged that was not done.
func (h *Messages) Handle(ctx context.Context, req events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
	h.init()
	ctx, cancel := deadline.WithReserve(ctx)
	defer cancel()
	rc := req.RequestContext
	rec, start, emit := measure(h.Now, h.Metrics, rc.RouteKey)
	defer emit()

	id, idErr := identityFrom(rc)
	c := &call{rc: rc, id: id, log: requestLogger(h.Logger, rc, id.PlayerID), rec: rec, now: start}
	r, parseErr := parse(req)

	var (
		frame any
		err   error
		msg   = "handled"
	)
	switch {
	case idErr != nil:
		err = internal(idErr)
	case !id.TokenExpiresAt.IsZero() && !start.Before(id.TokenExpiresAt):
		return h.expired(ctx, c, r.ID), nil
	case parseErr != nil:
		err = parseErr
	default:
		switch rc.RouteKey {
		case RouteSendMessage:
			frame, err = h.send(ctx, c, r)
			msg = "message"
		case RouteInbox:
			if err = h.allow(ctx, c, 0); err == nil {
				frame, err = h.inbox(ctx, c, r)
			}
			msg = "inbox"
		case RoutePresence:
			if err = h.allow(ctx, c, 0); err == nil {
				frame, err = h.presence(ctx, c, r)
			}
		case RoutePing:
			frame = protocol.Pong{Type: protocol.TypePong, ID: r.ID, ServerTime: protocol.FormatTime(start)}
		default:
			err = domain.Errorf(domain.CodeUnknownAction, "unknown action")
		}
	}
	if err != nil {
		rec.Reject(string(domain.ErrorCode(err)))
		logOutcome(ctx, c.log, msg+" refused", err)
		return frameResponse(protocol.ErrorFrame(r.ID, err)), nil
	}
	logOutcome(ctx, c.log, msg, nil)
	return frameResponse(frame), nil
}

// expired tells the client its token has expired and closes the connection
// through the Management API. The frame is posted rather than returned,
// because the connection is closed before a route response could be sent.
func (h *Messages) expired(ctx context.Context, c *call, clientID string) events.APIGatewayProxyResponse {
	err := domain.Errorf(domain.CodeTokenExpired, "the token has expired; connect again with a new token")
	c.rec.Reject(string(domain.CodeTokenExpired))
	logOutcome(ctx, c.log, "token expired", err)
	if perr := h.Sender.Post(ctx, c.rc.ConnectionID, protocol.Encode(protocol.ErrorFrame(clientID, err))); perr != nil && !errors.Is(perr, domain.ErrGone) {
		c.log.ErrorContext(ctx, "post token_expired failed", slog.String("cause", perr.Error()))
	}
	if derr := h.Sender.Delete(ctx, c.rc.ConnectionID); derr != nil && !errors.Is(derr, domain.ErrGone) {
		c.log.ErrorContext(ctx, "close expired connection failed", slog.String("cause", derr.Error()))
	}
	return noResponse()
}

// parse reads the client's frame. A binary frame reaches $default only, as
// API Gateway routes it (it cannot read an action from binary): it is
// refused with bad_request naming binary, echoing its "id" when it holds a
// JSON object with one, so that a client library that sends binary by
// default (Godot's WebSocketPeer.send) is told what to change.
func parse(req events.APIGatewayWebsocketProxyRequest) (protocol.Request, error) {
	if !req.IsBase64Encoded {
		return protocol.ParseRequest([]byte(req.Body))
	}
	var r protocol.Request
	if data, err := base64.StdEncoding.DecodeString(req.Body); err == nil {
		r, _ = protocol.ParseRequest(data)
	}
	return protocol.Request{ID: r.ID}, domain.Errorf(domain.CodeBadRequest, "binary frames are not routed: send the JSON as a text frame")
}
