package handlers

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/serverless-websockets/serverless-websockets/internal/domain"
	"github.com/serverless-websockets/serverless-websockets/internal/metrics"
	"github.com/serverless-websockets/serverless-websockets/internal/protocol"
)

// The inbox and presence routes.

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
