package dynamo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/serverless-websockets/serverless-websockets/internal/domain"
)

// Attribute names of the mailbox table (playerId and expiresAt are shared
// with the connections table).
const (
	attrMessageID  = "messageId"
	attrFrom       = "from"
	attrMessage    = "message"
	attrSentAt     = "sentAt"
	attrHeldBy     = "heldBy"
	attrSenderSlot = "senderSlot"
	// attrSlot ("slot") is shared too: a message names the slot it holds.
)

// slotPartition is the partition key of playerID's mailbox slots.
func slotPartition(playerID string) string { return playerID + "#slot" }

// senderPartition is the partition key of the slots that messages from
// sender hold in playerID's mailbox.
func senderPartition(playerID, sender string) string { return playerID + "#from#" + sender }

// slotKey is the sort key of mailbox slot n.
func slotKey(n int) string { return strconv.Itoa(n) }

// Enqueue queues m in the mailbox of m.To. It wraps domain.ErrMailboxFull
// when the mailbox already holds the maximum number of live messages, in
// all or from m.From. Enqueuing a message id that is already queued
// overwrites it.
func (s *Store) Enqueue(ctx context.Context, m domain.QueuedMessage) error {
	if err := domain.ValidatePlayerID(m.To); err != nil {
		return fmt.Errorf("enqueue message %s: %w", m.ID, err)
	}
	if m.ID == "" {
		return fmt.Errorf("enqueue message for %s: the message id is empty", m.To)
	}
	if len(m.Message) == 0 {
		return fmt.Errorf("enqueue message %s for %s: the message is empty", m.ID, m.To)
	}
	if !utf8.Valid(m.Message) || !json.Valid(m.Message) {
		// It would be posted as a text frame the recipient cannot read.
		return fmt.Errorf("enqueue message %s for %s: the message is not valid UTF-8 JSON", m.ID, m.To)
	}
	if err := domain.ValidatePlayerID(m.From); err != nil {
		return fmt.Errorf("enqueue message %s for %s: sender: %w", m.ID, m.To, err)
	}
	now := s.now().Unix()
	expires := ttl(m.ExpiresAt)
	if expires <= now {
		return fmt.Errorf("enqueue message %s for %s: it expired at %s", m.ID, m.To, m.ExpiresAt.UTC().Format(time.RFC3339))
	}

	// The sender's quota first: a sender at it is refused before it
	// touches the slots every sender shares.
	fromPart := senderPartition(m.To, m.From)
	fromSlot, fromHeld, err := s.claimMailboxSlot(ctx, fromPart, s.maxFrom, m.ID, now, expires)
	switch {
	case errors.Is(err, errNoSlot):
		return fmt.Errorf("enqueue message %s for %s: %d live messages from %s: %w", m.ID, m.To, s.maxFrom, m.From, domain.ErrMailboxFull)
	case err != nil:
		return fmt.Errorf("enqueue message %s for %s: claim a sender slot: %w", m.ID, m.To, err)
	}
	// release gives back the slots this call claimed; a slot the message
	// already held (a retried Enqueue) stays with the message.
	release := func(err error, slots ...claimed) error {
		for _, c := range slots {
			if c.held {
				continue
			}
			if rerr := s.releaseMailboxSlot(ctx, c.partition, c.slot, m.ID); rerr != nil {
				err = errors.Join(err, rerr)
			}
		}
		return err
	}
	fromClaim := claimed{partition: fromPart, slot: fromSlot, held: fromHeld}

	slot, held, err := s.claimMailboxSlot(ctx, slotPartition(m.To), s.maxMail, m.ID, now, expires)
	switch {
	case errors.Is(err, errNoSlot):
		return release(fmt.Errorf("enqueue message %s for %s: %d live messages: %w", m.ID, m.To, s.maxMail, domain.ErrMailboxFull), fromClaim)
	case err != nil:
		return release(fmt.Errorf("enqueue message %s for %s: claim a slot: %w", m.ID, m.To, err), fromClaim)
	}
	_, err = s.api.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(s.tables.Mailbox),
		Item: map[string]types.AttributeValue{
			attrPlayerID:   attrS(m.To),
			attrMessageID:  attrS(m.ID),
			attrFrom:       attrS(m.From),
			attrMessage:    attrS(string(m.Message)),
			attrSentAt:     attrN(m.SentAt.UnixMilli()),
			attrExpiresAt:  attrN(expires),
			attrSlot:       attrN(int64(slot)),
			attrSenderSlot: attrN(int64(fromSlot)),
		},
	})
	if err != nil {
		err = fmt.Errorf("enqueue message %s for %s: %w", m.ID, m.To, err)
		// The write may have happened even though it failed (a timeout or
		// a 5xx after DynamoDB stored it). Slots may only be given back once
		// the message is certainly absent, or a stored message would hold
		// none and the caps could be exceeded.
		if held || fromClaim.held {
			// A retry of a message already queued: it keeps its item and
			// the slots it holds.
			return err
		}
		if derr := s.deleteMessageItem(ctx, m.To, m.ID); derr != nil {
			return errors.Join(err, fmt.Errorf("the slots stay held until the TTL: %w", derr))
		}
		return release(err, claimed{partition: slotPartition(m.To), slot: slot, held: held}, fromClaim)
	}
	return nil
}

// deleteMessageItem deletes a message item whatever it holds; deleting an
// absent item succeeds.
func (s *Store) deleteMessageItem(ctx context.Context, playerID, messageID string) error {
	ctx, cancel := cleanupContext(ctx)
	defer cancel()
	_, err := s.api.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: aws.String(s.tables.Mailbox),
		Key: map[string]types.AttributeValue{
			attrPlayerID: attrS(playerID), attrMessageID: attrS(messageID),
		},
	})
	if err != nil {
		return fmt.Errorf("delete message %s of %s: %w", messageID, playerID, err)
	}
	return nil
}

// claimed is a mailbox slot an Enqueue claimed.
type claimed struct {
	partition string
	slot      int
	held      bool // the message held it already
}

// claimMailboxSlot claims for messageID one of max slots in partition,
// whose items expire at expires (see claimSlot).
func (s *Store) claimMailboxSlot(ctx context.Context, partition string, max int, messageID string, now, expires int64) (int, bool, error) {
	read := func(ctx context.Context) ([]slotSeen, error) {
		return s.mailboxSlots(ctx, partition)
	}
	put := func(ctx context.Context, slot int) error {
		return s.putSlot(ctx, s.tables.Mailbox, map[string]types.AttributeValue{
			attrPlayerID:  attrS(partition),
			attrMessageID: attrS(slotKey(slot)),
			attrHeldBy:    attrS(messageID),
			attrExpiresAt: attrN(expires),
		}, attrHeldBy, messageID, now)
	}
	return claimSlot(ctx, messageID, max, now, read, put)
}

// mailboxSlots reads which slots of a slot partition hold which message.
func (s *Store) mailboxSlots(ctx context.Context, partition string) ([]slotSeen, error) {
	var seen []slotSeen
	err := s.queryAll(ctx, partitionQuery(s.tables.Mailbox, partition), func(item map[string]types.AttributeValue) (bool, error) {
		r := itemReader{item: item}
		key := r.s(attrMessageID, true)
		slot, err := strconv.Atoi(key)
		if err != nil {
			r.errs = append(r.errs, fmt.Errorf("slot key %q: %w", key, err))
		}
		seen = append(seen, slotSeen{slot: slot, holder: r.s(attrHeldBy, true), expiresAt: r.n(attrExpiresAt)})
		return true, r.err()
	})
	if err != nil {
		return nil, fmt.Errorf("query mailbox slots %s: %w", partition, err)
	}
	return seen, nil
}

// releaseMailboxSlot frees slot of a slot partition if it still names
// messageID.
func (s *Store) releaseMailboxSlot(ctx context.Context, partition string, slot int, messageID string) error {
	ctx, cancel := cleanupContext(ctx)
	defer cancel()
	key := map[string]types.AttributeValue{attrPlayerID: attrS(partition), attrMessageID: attrS(slotKey(slot))}
	if err := s.releaseSlot(ctx, s.tables.Mailbox, key, attrHeldBy, messageID); err != nil {
		return fmt.Errorf("release mailbox slot %d of %s: %w", slot, partition, err)
	}
	return nil
}

// cleanupTimeout bounds a clean-up write made after the caller's context
// may have ended.
const cleanupTimeout = 5 * time.Second

// cleanupContext returns a context for giving back what a call claimed: it
// outlives the caller's cancellation (a client gone, a Lambda deadline), so
// that a refused or failed call does not hold a slot until the TTL, but is
// bounded by cleanupTimeout.
func cleanupContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
}

// Inbox returns up to limit live messages queued for playerID, oldest (the
// lowest id) first, read with strong consistency. A limit of zero or less
// means MailboxMaxMessages.
//
// The Query carries no Limit: the partition holds at most the mailbox cap
// of live messages, so a page reads little more than a limited one would,
// and minidyn's HTTP server counts items of other partitions against a
// Limit combined with a filter, answering a LastEvaluatedKey outside the
// partition that a concurrent delete can make it lose its place on (an
// empty inbox).
func (s *Store) Inbox(ctx context.Context, playerID string, limit int) ([]domain.QueuedMessage, error) {
	if err := domain.ValidatePlayerID(playerID); err != nil {
		return nil, fmt.Errorf("inbox: %w", err)
	}
	if limit <= 0 {
		limit = s.maxMail
	}
	now := s.now().Unix()
	msgs := []domain.QueuedMessage{}
	in := partitionQuery(s.tables.Mailbox, playerID) // oldest (lowest id) first
	in.FilterExpression = aws.String("#e > :now")
	in.ExpressionAttributeNames["#e"] = attrExpiresAt
	in.ExpressionAttributeValues[":now"] = attrN(now)
	err := s.queryAll(ctx, in, func(item map[string]types.AttributeValue) (bool, error) {
		m, err := decodeMessage(item)
		if err != nil {
			return false, err
		}
		if ttl(m.ExpiresAt) > now {
			msgs = append(msgs, m)
		}
		return len(msgs) < limit, nil
	})
	if err != nil {
		return nil, fmt.Errorf("query mailbox of %s: %w", playerID, err)
	}
	return msgs, nil
}

func decodeMessage(item map[string]types.AttributeValue) (domain.QueuedMessage, error) {
	return decode("queued message", item, func(r *itemReader) domain.QueuedMessage {
		return domain.QueuedMessage{
			To:        r.s(attrPlayerID, true),
			ID:        r.s(attrMessageID, true),
			From:      r.s(attrFrom, true),
			Message:   json.RawMessage(r.s(attrMessage, true)),
			SentAt:    r.millis(attrSentAt, true),
			ExpiresAt: r.seconds(attrExpiresAt),
		}
	})
}

// DeleteQueued deletes message messageID from the mailbox of playerID and
// frees its slot and its sender slot. It returns nil when there is no such
// message.
func (s *Store) DeleteQueued(ctx context.Context, playerID, messageID string) error {
	if err := domain.ValidatePlayerID(playerID); err != nil {
		return fmt.Errorf("delete queued message %s: %w", messageID, err)
	}
	if messageID == "" {
		return fmt.Errorf("delete queued message of %s: the message id is empty", playerID)
	}
	out, err := s.api.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: aws.String(s.tables.Mailbox),
		Key: map[string]types.AttributeValue{
			attrPlayerID: attrS(playerID), attrMessageID: attrS(messageID),
		},
		ReturnValues: types.ReturnValueAllOld,
	})
	if err != nil {
		return fmt.Errorf("delete queued message %s of %s: %w", messageID, playerID, err)
	}
	if len(out.Attributes) == 0 {
		return nil
	}
	old := itemReader{item: out.Attributes}
	slot := int(old.n(attrSlot))
	if err := old.err(); err != nil {
		return fmt.Errorf("delete queued message %s of %s: %w", messageID, playerID, err)
	}
	errs := []error{s.releaseMailboxSlot(ctx, slotPartition(playerID), slot, messageID)}
	// A message queued before sender slots existed holds none.
	if _, ok := out.Attributes[attrSenderSlot]; ok {
		from, fromSlot := old.s(attrFrom, true), int(old.n(attrSenderSlot))
		if err := old.err(); err != nil {
			errs = append(errs, err)
		} else {
			errs = append(errs, s.releaseMailboxSlot(ctx, senderPartition(playerID, from), fromSlot, messageID))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("delete queued message %s: %w", messageID, err)
	}
	return nil
}
