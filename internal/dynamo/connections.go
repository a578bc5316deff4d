package dynamo

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"golang.org/x/sync/errgroup"

	"github.com/serverless-websockets/serverless-websockets/internal/domain"
)

// Attribute names of the connections table.
const (
	attrPlayerID     = "playerId"
	attrSlot         = "slot"
	attrConnectionID = "connectionId"
	attrConnectedAt  = "connectedAt"
	attrExpiresAt    = "expiresAt"
	attrSourceIP     = "sourceIp"
	attrUserAgent    = "userAgent"
)

// presenceConcurrency is how many presence queries run at once.
const presenceConcurrency = 8

// PutConnection stores c in a free slot of its player. It wraps
// domain.ErrConnectionLimit when the player already holds the maximum number
// of live connections. Storing a connection id the player already holds
// overwrites that row.
func (s *Store) PutConnection(ctx context.Context, c domain.Connection) error {
	if err := domain.ValidatePlayerID(c.PlayerID); err != nil {
		return fmt.Errorf("put connection %s: %w", c.ID, err)
	}
	if c.ID == "" {
		return fmt.Errorf("put connection of %s: the connection id is empty", c.PlayerID)
	}
	now := s.now().Unix()
	expires := ttl(c.ExpiresAt)
	if expires <= now {
		return fmt.Errorf("put connection %s of %s: it expired at %s", c.ID, c.PlayerID, c.ExpiresAt.UTC().Format(time.RFC3339))
	}
	item := map[string]types.AttributeValue{
		attrPlayerID:     attrS(c.PlayerID),
		attrConnectionID: attrS(c.ID),
		attrConnectedAt:  attrN(c.ConnectedAt.UnixMilli()),
		attrExpiresAt:    attrN(expires),
	}
	if c.SourceIP != "" {
		item[attrSourceIP] = attrS(c.SourceIP)
	}
	if c.UserAgent != "" {
		item[attrUserAgent] = attrS(c.UserAgent)
	}
	read := func(ctx context.Context) ([]slotSeen, error) {
		return s.connectionSlots(ctx, c.PlayerID)
	}
	put := func(ctx context.Context, slot int) error {
		item[attrSlot] = attrN(int64(slot))
		return s.putSlot(ctx, s.tables.Connections, item, attrConnectionID, c.ID, now)
	}
	_, _, err := claimSlot(ctx, c.ID, s.maxConn, now, read, put)
	switch {
	case errors.Is(err, errNoSlot):
		return fmt.Errorf("put connection %s of %s: %d live connections: %w", c.ID, c.PlayerID, s.maxConn, domain.ErrConnectionLimit)
	case err != nil:
		return fmt.Errorf("put connection %s of %s: %w", c.ID, c.PlayerID, err)
	}
	return nil
}

// connectionSlots reads which slots of playerID hold which connection.
func (s *Store) connectionSlots(ctx context.Context, playerID string) ([]slotSeen, error) {
	var seen []slotSeen
	err := s.queryAll(ctx, partitionQuery(s.tables.Connections, playerID, attrSlot, attrConnectionID, attrExpiresAt), func(item map[string]types.AttributeValue) (bool, error) {
		r := itemReader{item: item}
		seen = append(seen, slotSeen{slot: int(r.n(attrSlot)), holder: r.s(attrConnectionID, true), expiresAt: r.n(attrExpiresAt)})
		return true, r.err()
	})
	if err != nil {
		return nil, fmt.Errorf("query connections of %s: %w", playerID, err)
	}
	return seen, nil
}

// DeleteConnection deletes the row of connectionID of playerID. It deletes
// nothing else, even when a newer connection has taken the slot meanwhile,
// and returns nil when there is no such row.
func (s *Store) DeleteConnection(ctx context.Context, playerID, connectionID string) error {
	if err := domain.ValidatePlayerID(playerID); err != nil {
		return fmt.Errorf("delete connection %s: %w", connectionID, err)
	}
	seen, err := s.connectionSlots(ctx, playerID)
	if err != nil {
		return fmt.Errorf("delete connection %s: %w", connectionID, err)
	}
	for _, sl := range seen {
		if sl.holder != connectionID {
			continue
		}
		key := map[string]types.AttributeValue{attrPlayerID: attrS(playerID), attrSlot: attrN(int64(sl.slot))}
		if err := s.releaseSlot(ctx, s.tables.Connections, key, attrConnectionID, connectionID); err != nil {
			return fmt.Errorf("delete connection %s of %s in slot %d: %w", connectionID, playerID, sl.slot, err)
		}
	}
	return nil
}

// PlayerConnections returns the live connections of playerID, oldest first,
// read with strong consistency.
func (s *Store) PlayerConnections(ctx context.Context, playerID string) ([]domain.Connection, error) {
	if err := domain.ValidatePlayerID(playerID); err != nil {
		return nil, fmt.Errorf("player connections: %w", err)
	}
	now := s.now().Unix()
	conns := []domain.Connection{}
	err := s.queryAll(ctx, partitionQuery(s.tables.Connections, playerID), func(item map[string]types.AttributeValue) (bool, error) {
		c, err := decodeConnection(item)
		if err != nil {
			return false, err
		}
		if ttl(c.ExpiresAt) > now && !slices.ContainsFunc(conns, func(o domain.Connection) bool { return o.ID == c.ID }) {
			conns = append(conns, c)
		}
		return true, nil
	})
	if err != nil {
		return nil, fmt.Errorf("query connections of %s: %w", playerID, err)
	}
	slices.SortFunc(conns, func(a, b domain.Connection) int {
		return cmp.Or(a.ConnectedAt.Compare(b.ConnectedAt), cmp.Compare(a.ID, b.ID))
	})
	return conns, nil
}

func decodeConnection(item map[string]types.AttributeValue) (domain.Connection, error) {
	return decode("connection", item, func(r *itemReader) domain.Connection {
		return domain.Connection{
			PlayerID:    r.s(attrPlayerID, true),
			ID:          r.s(attrConnectionID, true),
			SourceIP:    r.s(attrSourceIP, false),
			UserAgent:   r.s(attrUserAgent, false),
			ConnectedAt: r.millis(attrConnectedAt, true),
			ExpiresAt:   r.seconds(attrExpiresAt),
		}
	})
}

// OnlinePlayers returns those of playerIDs that hold at least one live
// connection, in the order given, each once. It accepts at most
// domain.MaxPresencePlayers distinct ids, each a valid player id (anything else is
// an error), and runs one strongly consistent Query per distinct id, a few
// at a time.
func (s *Store) OnlinePlayers(ctx context.Context, playerIDs []string) ([]string, error) {
	var ids []string
	for _, id := range playerIDs {
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	if len(ids) > domain.MaxPresencePlayers {
		return nil, fmt.Errorf("online players: %d players asked, at most %d", len(ids), domain.MaxPresencePlayers)
	}
	for _, id := range ids {
		if err := domain.ValidatePlayerID(id); err != nil {
			return nil, fmt.Errorf("online players: %w", err)
		}
	}
	now := s.now().Unix()
	online := make([]bool, len(ids))
	// The first error cancels the other queries: the answer is lost.
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(presenceConcurrency)
	for i, id := range ids {
		g.Go(func() (err error) {
			online[i], err = s.online(ctx, id, now)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, fmt.Errorf("online players: %w", err)
	}
	out := []string{}
	for i, id := range ids {
		if online[i] {
			out = append(out, id)
		}
	}
	return out, nil
}

// online reports whether playerID holds a connection live at now.
func (s *Store) online(ctx context.Context, playerID string, now int64) (bool, error) {
	var live bool
	err := s.queryAll(ctx, partitionQuery(s.tables.Connections, playerID, attrExpiresAt), func(item map[string]types.AttributeValue) (bool, error) {
		r := itemReader{item: item}
		live = r.n(attrExpiresAt) > now
		return !live, r.err()
	})
	if err != nil {
		return false, fmt.Errorf("query connections of %s: %w", playerID, err)
	}
	return live, nil
}
