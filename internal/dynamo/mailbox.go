package dynamo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/serverless-websockets/serverless-websockets/internal/domain"
)

// Attribute names of the mailbox table (playerId and expiresAt are shared
// with the connections table).
const (
	attrMessageID = "messageId"
	attrFrom      = "from"
	attrMessage   = "message"
	attrSentAt    = "sentAt"
	attrHeldBy    = "heldBy"
	// attrSlot ("slot") is shared too: a message names the slot it holds.
)

// slotPartition is the partition key of playerID's mailbox slots.
func slotPartition(playerID string) string { return playerID + "#slot" }

// slotKey is the sort key of mailbox slot n.
func slotKey(n int) string { return strconv.Itoa(n) }

// Enqueue queues m in the mailbox of m.To. It wraps domain.ErrMailboxFull
// when the mailbox already holds the maximum number of live messages.
// Enqueuing a message id that is already queued overwrites it.
func (s *Store) Enqueue(ctx context.Context, m domain.QueuedMessage) error {
	if err := domain.ValidatePlayerID(m.To); err != nil {
		return fmt.Errorf("enqueue message %s: %w", m.ID, err)
	}
	if m.ID == "" {
		return fmt.Errorf("enqueue message for %s: the message id is empty", m.To)
	}
	if m.From == "" || len(m.Message) == 0 {
		return fmt.Errorf("enqueue message %s for %s: the sender or the message is empty", m.ID, m.To)
	}
	now := s.now().Unix()
	expires := ttl(m.ExpiresAt)
	if expires <= now {
		return fmt.Errorf("enqueue message %s for %s: it expired at %s", m.ID, m.To, m.ExpiresAt.UTC().Format(time.RFC3339))
	}
	read := func(ctx context.Context) ([]slotSeen, error) {
		return s.mailboxSlots(ctx, m.To)
	}
	put := func(ctx context.Context, slot int) error {
		_, err := s.api.PutItem(ctx, &dynamodb.PutItemInput{
			TableName: aws.String(s.tables.Mailbox),
			Item: map[string]types.AttributeValue{
				attrPlayerID:  attrS(slotPartition(m.To)),
				attrMessageID: attrS(slotKey(slot)),
				attrHeldBy:    attrS(m.ID),
				attrExpiresAt: attrN(expires),
			},
			ConditionExpression: aws.String("attribute_not_exists(#p) OR #e <= :now OR #h = :h"),
			ExpressionAttributeNames: map[string]string{
				"#p": attrPlayerID, "#e": attrExpiresAt, "#h": attrHeldBy,
			},
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":now": attrN(now), ":h": attrS(m.ID),
			},
		})
		return err
	}
	slot, err := claimSlot(ctx, m.ID, s.maxMail, now, read, put)
	switch {
	case errors.Is(err, errNoSlot):
		return fmt.Errorf("enqueue message %s for %s: %d live messages: %w", m.ID, m.To, s.maxMail, domain.ErrMailboxFull)
	case err != nil:
		return fmt.Errorf("enqueue message %s for %s: claim a slot: %w", m.ID, m.To, err)
	}
	_, err = s.api.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(s.tables.Mailbox),
		Item: map[string]types.AttributeValue{
			attrPlayerID:  attrS(m.To),
			attrMessageID: attrS(m.ID),
			attrFrom:      attrS(m.From),
			attrMessage:   attrS(string(m.Message)),
			attrSentAt:    attrN(m.SentAt.UnixMilli()),
			attrExpiresAt: attrN(expires),
			attrSlot:      attrN(int64(slot)),
		},
	})
	if err != nil {
		err = fmt.Errorf("enqueue message %s for %s: %w", m.ID, m.To, err)
		if rerr := s.releaseSlot(ctx, m.To, slot, m.ID); rerr != nil {
			err = errors.Join(err, rerr)
		}
		return err
	}
	return nil
}

// mailboxSlots reads which mailbox slots of playerID hold which message.
func (s *Store) mailboxSlots(ctx context.Context, playerID string) ([]slotSeen, error) {
	var seen []slotSeen
	err := s.queryAll(ctx, &dynamodb.QueryInput{
		TableName:                aws.String(s.tables.Mailbox),
		ConsistentRead:           aws.Bool(true),
		KeyConditionExpression:   aws.String("#p = :p"),
		ExpressionAttributeNames: map[string]string{"#p": attrPlayerID},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":p": attrS(slotPartition(playerID)),
		},
	}, func(item map[string]types.AttributeValue) (bool, error) {
		key, err := getS(item, attrMessageID, true)
		if err != nil {
			return false, err
		}
		slot, err := strconv.Atoi(key)
		if err != nil {
			return false, fmt.Errorf("slot key %q: %w", key, err)
		}
		holder, err := getS(item, attrHeldBy, true)
		if err != nil {
			return false, err
		}
		exp, err := getN(item, attrExpiresAt)
		if err != nil {
			return false, err
		}
		seen = append(seen, slotSeen{slot: slot, holder: holder, expiresAt: exp})
		return true, nil
	})
	if err != nil {
		return nil, fmt.Errorf("query mailbox slots of %s: %w", playerID, err)
	}
	return seen, nil
}

// releaseSlot frees mailbox slot of playerID if it still names messageID.
func (s *Store) releaseSlot(ctx context.Context, playerID string, slot int, messageID string) error {
	part, key := slotPartition(playerID), slotKey(slot)
	_, err := s.api.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: aws.String(s.tables.Mailbox),
		Key: map[string]types.AttributeValue{
			attrPlayerID: attrS(part), attrMessageID: attrS(key),
		},
		ConditionExpression:      aws.String("#h = :h"),
		ExpressionAttributeNames: map[string]string{"#h": attrHeldBy},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":h": attrS(messageID),
		},
	})
	if err != nil && !conditionFailed(err) {
		return fmt.Errorf("release mailbox slot %d of %s: %w", slot, playerID, err)
	}
	return nil
}

// Inbox returns up to limit live messages queued for playerID, oldest (the
// lowest id) first, read with strong consistency. A limit of zero or less
// means MailboxMaxMessages.
func (s *Store) Inbox(ctx context.Context, playerID string, limit int) ([]domain.QueuedMessage, error) {
	if err := domain.ValidatePlayerID(playerID); err != nil {
		return nil, fmt.Errorf("inbox: %w", err)
	}
	if limit <= 0 {
		limit = s.maxMail
	}
	now := s.now().Unix()
	msgs := []domain.QueuedMessage{}
	err := s.queryAll(ctx, &dynamodb.QueryInput{
		TableName:                aws.String(s.tables.Mailbox),
		ConsistentRead:           aws.Bool(true),
		ScanIndexForward:         aws.Bool(true),
		Limit:                    aws.Int32(int32(min(limit, math.MaxInt32))),
		KeyConditionExpression:   aws.String("#p = :p"),
		FilterExpression:         aws.String("#e > :now"),
		ExpressionAttributeNames: map[string]string{"#p": attrPlayerID, "#e": attrExpiresAt},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":p": attrS(playerID), ":now": attrN(now),
		},
	}, func(item map[string]types.AttributeValue) (bool, error) {
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
	var (
		m    domain.QueuedMessage
		errs []error
		err  error
		body string
	)
	m.To, err = getS(item, attrPlayerID, true)
	errs = append(errs, err)
	m.ID, err = getS(item, attrMessageID, true)
	errs = append(errs, err)
	m.From, err = getS(item, attrFrom, true)
	errs = append(errs, err)
	body, err = getS(item, attrMessage, true)
	errs = append(errs, err)
	sent, err := getN(item, attrSentAt)
	errs = append(errs, err)
	expires, err := getN(item, attrExpiresAt)
	errs = append(errs, err)
	if err := errors.Join(errs...); err != nil {
		return domain.QueuedMessage{}, fmt.Errorf("decode queued message: %w", err)
	}
	m.Message = json.RawMessage(body)
	m.SentAt = time.UnixMilli(sent).UTC()
	m.ExpiresAt = time.Unix(expires, 0).UTC()
	return m, nil
}

// DeleteQueued deletes message messageID from the mailbox of playerID and
// frees its slot. It returns nil when there is no such message.
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
	slot, err := getN(out.Attributes, attrSlot)
	if err != nil {
		return fmt.Errorf("delete queued message %s of %s: %w", messageID, playerID, err)
	}
	if err := s.releaseSlot(ctx, playerID, int(slot), messageID); err != nil {
		return fmt.Errorf("delete queued message %s: %w", messageID, err)
	}
	return nil
}
