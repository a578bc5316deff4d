package handlers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/serverless-websockets/serverless-websockets/internal/domain"
	"github.com/serverless-websockets/serverless-websockets/internal/metrics"
	"github.com/serverless-websockets/serverless-websockets/internal/protocol"
)

// The sendmessage route: check, admit (rate limit, ban, recipient), deliver
// or queue.

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
	charged := false
	if h.Limiter != nil && h.Limiter.RefusesMessage(c.id.PlayerID, len(message)) {
		// Refused by the deny cache, from AllowMessage itself: a flood
		// costs no request, the ban read included. Should the refusal have
		// ended in between (its time passed), AllowMessage admits and
		// charges the message, which then goes on uncharged.
		if err := h.allow(ctx, c, len(message)); err != nil {
			return nil, err
		}
		charged = true
	}
	// The ban read runs beside the limiter's write and the recipient's
	// Query. Its outcome wins over theirs, and nothing is posted before it
	// is known.
	admitCtx, cancelAdmit := context.WithCancel(ctx)
	defer cancelAdmit()
	banned := h.startBanCheck(ctx, c, cancelAdmit)
	conns, err := h.admitAndLookUp(admitCtx, c, to, len(message), charged)
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
// first; the read it overlapped is cancelled. A message already charged
// makes the read alone.
func (h *Messages) admitAndLookUp(ctx context.Context, c *call, to string, bytes int, charged bool) ([]domain.Connection, error) {
	lookUp := func(ctx context.Context) ([]domain.Connection, error) {
		conns, err := h.Connections.PlayerConnections(ctx, to)
		if err != nil {
			return nil, unavailable(fmt.Errorf("connections of %s: %w", to, err))
		}
		return conns, nil
	}
	if h.Limiter == nil || charged {
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
