package dynamo

import (
	"context"
	"errors"
	"math/rand/v2"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// slotSeen is what a read of a player's slots found in one slot.
type slotSeen struct {
	slot      int
	holder    string // connection id or message id
	expiresAt int64  // unix seconds
}

var (
	// errNoSlot: every slot holds a live holder other than the claimant.
	errNoSlot = errors.New("no free slot")
	// errSlotsChanged: each slot seen free was taken before the claim, on
	// every round.
	errSlotsChanged = errors.New("the slots kept changing under the claim")
)

// candidates returns the slots, below max, that holder may claim given what
// was seen at now, in the order to try them, and whether holder already
// holds the one returned. A slot already held by holder is the only
// candidate, so that a retried write never takes a second slot. Otherwise
// the empty and expired slots are returned starting at a random one, so that
// concurrent claimants spread over the free slots instead of all racing for
// the lowest.
func candidates(seen []slotSeen, holder string, max int, now int64) (free []int, held bool) {
	taken := make([]bool, max)
	for _, s := range seen {
		if s.slot < 0 || s.slot >= max {
			continue
		}
		if s.holder == holder {
			return []int{s.slot}, true
		}
		if s.expiresAt > now {
			taken[s.slot] = true
		}
	}
	for slot, t := range taken {
		if !t {
			free = append(free, slot)
		}
	}
	if len(free) > 1 {
		k := rand.IntN(len(free))
		free = append(free[k:], free[:k]...)
	}
	return free, false
}

// claimSlot claims one of max slots for holder: read returns the slots as
// they are now, put writes holder into a slot on condition that the slot is
// empty, expired at now, or already held by holder, and reports a failed
// condition as such (conditionFailed). It returns the slot claimed and
// whether holder already held it before this call (a retried write; such a
// slot is not the caller's to give back on a later failure), errNoSlot when
// all are held, errSlotsChanged when every round lost every race, or the
// first other error.
func claimSlot(ctx context.Context, holder string, max int, now int64,
	read func(context.Context) ([]slotSeen, error),
	put func(ctx context.Context, slot int) error,
) (int, bool, error) {
	for range claimRounds {
		seen, err := read(ctx)
		if err != nil {
			return 0, false, err
		}
		free, held := candidates(seen, holder, max, now)
		if len(free) == 0 {
			return 0, false, errNoSlot
		}
		for _, slot := range free {
			err := put(ctx, slot)
			if err == nil {
				return slot, held, nil
			}
			if !conditionFailed(err) {
				return 0, false, err
			}
		}
	}
	return 0, false, errSlotsChanged
}

// putSlot writes item, a slot of table, on condition that the slot is
// empty, expired at now, or already held by holder (its attribute
// holderAttr): the put of claimSlot.
func (s *Store) putSlot(ctx context.Context, table string, item map[string]types.AttributeValue, holderAttr, holder string, now int64) error {
	_, err := s.api.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                 aws.String(table),
		Item:                      item,
		ConditionExpression:       aws.String("attribute_not_exists(#p) OR #e <= :now OR #h = :h"),
		ExpressionAttributeNames:  map[string]string{"#p": attrPlayerID, "#e": attrExpiresAt, "#h": holderAttr},
		ExpressionAttributeValues: map[string]types.AttributeValue{":now": attrN(now), ":h": attrS(holder)},
	})
	return err
}

// releaseSlot deletes the slot at key of table if its attribute holderAttr
// still names holder; a slot held by another, or empty, is left as it is.
func (s *Store) releaseSlot(ctx context.Context, table string, key map[string]types.AttributeValue, holderAttr, holder string) error {
	_, err := s.api.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                 aws.String(table),
		Key:                       key,
		ConditionExpression:       aws.String("#h = :h"),
		ExpressionAttributeNames:  map[string]string{"#h": holderAttr},
		ExpressionAttributeValues: map[string]types.AttributeValue{":h": attrS(holder)},
	})
	if conditionFailed(err) {
		return nil
	}
	return err
}
