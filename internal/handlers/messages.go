package handlers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"golang.org/x/sync/errgroup"

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
	r, parseErr := protocol.ParseRequest([]byte(req.Body))

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

// send delivers a message to every live connection of the recipient, or
// queues it in the recipient's mailbox when there is none. Sending to
// yourself is allowed and delivers to all your live connections, the sending
// one included (useful to keep several devices of one player in step).
func (h *Messages) send(ctx context.Context, c *call, r protocol.Request) (any, error) {
	if p, err := domain.NormalizePlayerID(r.PlayerID); r.PlayerID != "" && (err != nil || p != c.id.PlayerID) {
		return nil, domain.Errorf(domain.CodeForbidden, "\"playerId\" is not the player of this connection")
	}
	to, message, err := h.check(c, r)
	if err != nil {
		return nil, err // a frame refused on its own costs no request
	}
	if h.Limiter != nil && h.Limiter.RefusesMessage(c.id.PlayerID, len(message)) {
		// Refused by the deny cache, from AllowMessage itself: a flood
		// costs no request, the ban read included.
		return nil, h.allow(ctx, c, len(message))
	}
	// The ban read runs beside the limiter's write and the recipient's
	// Query. Its outcome wins over theirs, and nothing is posted before it
	// is known.
	admitCtx, cancelAdmit := context.WithCancel(ctx)
	defer cancelAdmit()
	banned := h.startBanCheck(ctx, c, cancelAdmit)
	conns, err := h.admitAndLookUp(admitCtx, c, to, len(message))
	if banErr := banned(); banErr != nil {
		return nil, banErr
	}
	if err != nil {
		return nil, err
	}
	c.rec.Add(metrics.Sent, 1)
	msgID := h.IDs.New(c.now)
	frame := protocol.Encode(protocol.NewMessage(msgID, c.id.PlayerID, message, c.now))

	delivered, failed := h.deliver(ctx, c, to, conns, frame)
	if delivered > 0 && failed != nil {
		c.log.WarnContext(ctx, "message not delivered to every connection", slog.Int("delivered", delivered), slog.String("cause", failed.Error()))
	}
	if delivered > 0 {
		c.rec.Add(metrics.Delivered, delivered)
		return protocol.Ack{Type: protocol.TypeAck, ID: r.ID, MessageID: msgID, Status: protocol.StatusDelivered, Connections: delivered}, nil
	}
	if failed != nil {
		// A live connection could not be reached for another reason than
		// being gone: nothing was delivered and nothing is acknowledged.
		return nil, unavailable(failed)
	}
	err = h.Mailbox.Enqueue(ctx, domain.QueuedMessage{
		To: to, ID: msgID, From: c.id.PlayerID, Message: message,
		SentAt: c.now, ExpiresAt: c.now.Add(h.MailboxTTL),
	})
	switch {
	case errors.Is(err, domain.ErrMailboxFull):
		return nil, &domain.Error{Code: domain.CodeMailboxFull, Message: "the recipient's mailbox has no room for your message (its cap, or your quota in it, is reached)", Err: err}
	case err != nil:
		return nil, unavailable(fmt.Errorf("queue for %s: %w", to, err))
	}
	c.rec.Add(metrics.Queued, 1)
	return protocol.Ack{Type: protocol.TypeAck, ID: r.ID, MessageID: msgID, Status: protocol.StatusQueued}, nil
}

// check checks a sendmessage frame on its own, making no request. It
// returns the recipient and the message's compact JSON.
func (h *Messages) check(c *call, r protocol.Request) (string, []byte, error) {
	to, err := r.Recipient()
	if err != nil {
		return "", nil, err
	}
	if r.Message == nil {
		return "", nil, domain.Errorf(domain.CodeBadRequest, "\"message\" is required")
	}
	message, err := protocol.CompactMessage(r.Message)
	if err != nil {
		return "", nil, domain.Errorf(domain.CodeBadRequest, "\"message\" is not valid JSON")
	}
	if len(message) > h.MaxMessageBytes {
		return "", nil, domain.Errorf(domain.CodeTooLarge, "the message is %d bytes; the limit is %d", len(message), h.MaxMessageBytes)
	}
	c.log = c.log.With(slog.String("to", to))
	return to, message, nil
}

// admitAndLookUp charges the message to the sender's limits and reads the
// recipient's live connections. The two requests run concurrently, so a
// delivered message costs two round trips (these, then the posts) instead of
// three. A refusal wins over a failed read, exactly as if the limiter ran
// first; the read it overlapped is cancelled.
func (h *Messages) admitAndLookUp(ctx context.Context, c *call, to string, bytes int) ([]domain.Connection, error) {
	lookUp := func(ctx context.Context) ([]domain.Connection, error) {
		conns, err := h.Connections.PlayerConnections(ctx, to)
		if err != nil {
			return nil, unavailable(fmt.Errorf("connections of %s: %w", to, err))
		}
		return conns, nil
	}
	if h.Limiter == nil {
		return lookUp(ctx)
	}
	lookUpCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		conns   []domain.Connection
		lookErr error
		done    = make(chan struct{})
	)
	go func() {
		defer close(done)
		conns, lookErr = lookUp(lookUpCtx)
	}()
	if err := h.allow(ctx, c, bytes); err != nil {
		cancel()
		<-done
		return nil, err
	}
	<-done
	return conns, lookErr
}

// deliver posts frame to every connection, at most DeliveryConcurrency at a
// time. A connection found gone has its row deleted (that connection's row,
// of the recipient, never the sender's). It returns how many posts succeeded
// and every failure that was not "gone", joined (nil when there was none).
func (h *Messages) deliver(ctx context.Context, c *call, to string, conns []domain.Connection, frame []byte) (int, error) {
	var (
		mu        sync.Mutex
		delivered int
		gone      int
		failed    []error
		g         errgroup.Group
	)
	g.SetLimit(h.DeliveryConcurrency)
	for _, conn := range conns {
		g.Go(func() error {
			err := h.Sender.Post(ctx, conn.ID, frame)
			if errors.Is(err, domain.ErrGone) {
				if derr := h.Connections.DeleteConnection(ctx, to, conn.ID); derr != nil {
					c.log.WarnContext(ctx, "delete stale connection failed", slog.String("staleConnectionId", conn.ID), slog.String("cause", derr.Error()))
				}
			}
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				delivered++
			case errors.Is(err, domain.ErrGone):
				gone++
				c.log.InfoContext(ctx, "stale connection removed", slog.String("staleConnectionId", conn.ID))
			default:
				failed = append(failed, err)
			}
			return nil
		})
	}
	_ = g.Wait()
	c.rec.Add(metrics.Gone, gone)
	return delivered, errors.Join(failed...)
}

// allow charges one message of size bytes to the player's limits. Besides
// sendmessage, inbox and presence are charged as one message of no bytes,
// since each costs DynamoDB reads; ping and $default cost no DynamoDB
// request and are not charged.
func (h *Messages) allow(ctx context.Context, c *call, bytes int) error {
	if h.Limiter == nil {
		return nil
	}
	d, err := h.Limiter.AllowMessage(ctx, c.id.PlayerID, bytes)
	if errors.Is(err, domain.ErrTooLarge) {
		return &domain.Error{Code: domain.CodeTooLarge, Message: "the message is larger than the byte rate limit's burst", Err: err}
	}
	if err != nil {
		return unavailable(fmt.Errorf("rate limit of %s: %w", c.id.PlayerID, err))
	}
	if !d.Allowed {
		return &domain.Error{Code: domain.CodeRateLimited, Message: "too many messages; retry later", RetryAfter: d.RetryAfter}
	}
	return nil
}

// inbox hands the queued messages to the asking connection, oldest first,
// deleting each only after its post succeeded (delivery is at least once).
func (h *Messages) inbox(ctx context.Context, c *call, r protocol.Request) (any, error) {
	queued, err := h.Mailbox.Inbox(ctx, c.id.PlayerID, h.InboxBatch)
	if err != nil {
		return nil, unavailable(fmt.Errorf("inbox of %s: %w", c.id.PlayerID, err))
	}
	delivered := 0
	for _, m := range queued {
		message, err := protocol.CompactMessage(m.Message)
		if err != nil {
			// Nothing sendmessage queues fails this check. A row that does
			// (written by hand, or by an older version) could never be read
			// by the client; posting it would break the connection. It is
			// dropped, loudly, and the messages behind it still go out.
			c.log.ErrorContext(ctx, "unreadable mailbox entry dropped", slog.String("messageId", m.ID), slog.String("from", m.From), slog.String("cause", err.Error()))
			if err := h.Mailbox.DeleteQueued(ctx, c.id.PlayerID, m.ID); err != nil {
				c.log.WarnContext(ctx, "delete unreadable mailbox entry failed", slog.String("messageId", m.ID), slog.String("cause", err.Error()))
			}
			continue
		}
		frame := protocol.Encode(protocol.NewMessage(m.ID, m.From, message, m.SentAt))
		if err := h.Sender.Post(ctx, c.rc.ConnectionID, frame); err != nil {
			c.rec.Add(metrics.Delivered, delivered)
			return nil, unavailable(fmt.Errorf("inbox delivery after %d messages: %w", delivered, err))
		}
		delivered++
		if err := h.Mailbox.DeleteQueued(ctx, c.id.PlayerID, m.ID); err != nil {
			// Delivered but still queued: it will be delivered again.
			c.log.WarnContext(ctx, "delete delivered mailbox entry failed", slog.String("messageId", m.ID), slog.String("cause", err.Error()))
		}
	}
	c.rec.Add(metrics.Delivered, delivered)
	return protocol.Inbox{Type: protocol.TypeInbox, ID: r.ID, Delivered: delivered}, nil
}

// presence answers which of at most 50 named players are online.
func (h *Messages) presence(ctx context.Context, c *call, r protocol.Request) (any, error) {
	if !r.HasPlayers {
		return nil, domain.Errorf(domain.CodeBadRequest, "\"players\" is required")
	}
	if len(r.Players) > domain.MaxPresencePlayers {
		return nil, domain.Errorf(domain.CodeBadRequest, "\"players\" names more than %d players", domain.MaxPresencePlayers)
	}
	players := make([]string, len(r.Players))
	for i, p := range r.Players {
		id, err := domain.NormalizePlayerID(p)
		if err != nil {
			return nil, domain.Errorf(domain.CodeBadRequest, "\"players\" holds an invalid player id")
		}
		players[i] = id
	}
	r.Players = players
	online := []string{}
	if len(r.Players) > 0 {
		found, err := h.Presence.OnlinePlayers(ctx, r.Players)
		if err != nil {
			return nil, unavailable(fmt.Errorf("presence: %w", err))
		}
		online = append(online, found...)
	}
	return protocol.Presence{Type: protocol.TypePresence, ID: r.ID, Online: online}, nil
}

// The ban check refuses every message of a banned player, read beside the
// limiter's write and the recipient's Query (one strongly consistent
// GetItem, 1 read request unit, per sendmessage; no round trip added). A
// ban therefore stops a player's messages the moment it is recorded, not
// only once the admin API has closed the connections: a frame that API
// Gateway had already accepted, or one sent in the instant before the
// close, is refused as well. What can still be delivered after the ban is
// recorded is a message whose ban read came before the record: at most the
// invocations of that player in flight at that moment, each posting within
// its own deadline.
//
// startBanCheck starts that read and returns a function that waits for its
// outcome: nil when the sender may send. A ban found, or a read that failed,
// calls refused at once, so that the requests overlapping the read stop
// early.
func (h *Messages) startBanCheck(ctx context.Context, c *call, refused func()) func() error {
	if h.Bans == nil {
		return func() error { return nil }
	}
	result := make(chan error, 1)
	go func() {
		ban, err := h.Bans.Ban(ctx, c.id.PlayerID)
		switch {
		case errors.Is(err, domain.ErrNotFound):
			result <- nil
			return
		case err != nil:
			err = unavailable(fmt.Errorf("ban of %s: %w", c.id.PlayerID, err))
		default:
			err = domain.BannedError(ban)
		}
		refused()
		result <- err
	}()
	return func() error { return <-result }
}
