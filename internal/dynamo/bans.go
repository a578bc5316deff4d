package dynamo

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/serverless-websockets/serverless-websockets/internal/domain"
)

// Attribute names of the bans table, keyed by playerId alone.
const (
	attrReason   = "reason"
	attrBannedBy = "bannedBy"
	attrBannedAt = "bannedAt"
	attrUntil    = "until" // unix milliseconds; absent for a ban until lifted
)

// ErrBadCursor: the cursor given to ListBans is not one it returned.
var ErrBadCursor = errors.New("bad cursor")

// bansOf checks, for op, that playerID is valid and the store keeps bans.
func (s *Store) bansOf(op, playerID string) error {
	if err := domain.ValidatePlayerID(playerID); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if s.tables.Bans == "" {
		return fmt.Errorf("%s: no bans table", op)
	}
	return nil
}

// PutBan records b, replacing any earlier ban of the player. A ban with an
// end also gets expiresAt, the table's TTL, so DynamoDB removes it some time
// after it ends; reads do not wait for that.
func (s *Store) PutBan(ctx context.Context, b domain.Ban) error {
	if err := s.bansOf("put ban", b.PlayerID); err != nil {
		return err
	}
	item := map[string]types.AttributeValue{
		attrPlayerID: attrS(b.PlayerID),
		attrReason:   attrS(b.Reason),
		attrBannedBy: attrS(b.BannedBy),
		attrBannedAt: attrN(b.BannedAt.UnixMilli()),
	}
	if !b.Until.IsZero() {
		item[attrUntil] = attrN(b.Until.UnixMilli())
		item[attrExpiresAt] = attrN(ttl(b.Until) + 1)
	}
	_, err := s.api.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.tables.Bans), Item: item})
	if err != nil {
		return fmt.Errorf("put ban of %s: %w", b.PlayerID, err)
	}
	return nil
}

// Ban returns the ban in force for playerID, read with strong consistency
// (one GetItem), or an error wrapping domain.ErrNotFound when there is none
// or it has ended.
func (s *Store) Ban(ctx context.Context, playerID string) (domain.Ban, error) {
	if err := s.bansOf("get ban", playerID); err != nil {
		return domain.Ban{}, err
	}
	out, err := s.api.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.tables.Bans),
		Key:            map[string]types.AttributeValue{attrPlayerID: attrS(playerID)},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return domain.Ban{}, fmt.Errorf("get ban of %s: %w", playerID, err)
	}
	if len(out.Item) == 0 {
		return domain.Ban{}, fmt.Errorf("ban of %s: %w", playerID, domain.ErrNotFound)
	}
	b, err := decodeBan(out.Item)
	if err != nil {
		return domain.Ban{}, fmt.Errorf("get ban of %s: %w", playerID, err)
	}
	if !b.Active(s.now()) {
		return domain.Ban{}, fmt.Errorf("ban of %s ended: %w", playerID, domain.ErrNotFound)
	}
	return b, nil
}

// DeleteBan lifts the ban of playerID and reports whether one was in force.
func (s *Store) DeleteBan(ctx context.Context, playerID string) (bool, error) {
	if err := s.bansOf("delete ban", playerID); err != nil {
		return false, err
	}
	out, err := s.api.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:    aws.String(s.tables.Bans),
		Key:          map[string]types.AttributeValue{attrPlayerID: attrS(playerID)},
		ReturnValues: types.ReturnValueAllOld,
	})
	if err != nil {
		return false, fmt.Errorf("delete ban of %s: %w", playerID, err)
	}
	if len(out.Attributes) == 0 {
		return false, nil
	}
	b, err := decodeBan(out.Attributes)
	return err == nil && b.Active(s.now()), nil
}

// Bounds of one ListBans page: a Scan reads at most scanBansItems items,
// and a page makes at most scanBansCalls Scans, so a page reads at most
// 500 items whatever the table holds.
const (
	scanBansItems = 100
	scanBansCalls = 5
)

// ListBans returns a page of the bans in force, in no particular order, and
// the cursor of the next page ("" after the last). Bans that have ended
// (rows DynamoDB's TTL has not removed yet) are skipped: the page is filled
// by further Scans until it holds limit bans (1 to domain.MaxBansPage), the
// table ends, or scanBansCalls Scans of scanBansItems items were made, so
// its cost does not grow with the table. A page may still hold fewer than
// limit bans, even none, while the cursor is not yet "" — only when more
// than 500 rows in a row have ended. A cursor that ListBans did not return
// wraps ErrBadCursor.
func (s *Store) ListBans(ctx context.Context, limit int, cursor string) ([]domain.Ban, string, error) {
	if limit < 1 || limit > domain.MaxBansPage {
		return nil, "", fmt.Errorf("list bans: limit %d is not between 1 and %d", limit, domain.MaxBansPage)
	}
	if s.tables.Bans == "" {
		return nil, "", errors.New("list bans: no bans table")
	}
	var start map[string]types.AttributeValue
	if cursor != "" {
		raw, err := base64.RawURLEncoding.DecodeString(cursor)
		if err != nil || domain.ValidatePlayerID(string(raw)) != nil {
			return nil, "", fmt.Errorf("list bans: %w", ErrBadCursor)
		}
		start = map[string]types.AttributeValue{attrPlayerID: attrS(string(raw))}
	}
	now := s.now()
	bans := []domain.Ban{}
	next := ""
	for range scanBansCalls {
		out, err := s.api.Scan(ctx, &dynamodb.ScanInput{
			TableName: aws.String(s.tables.Bans), Limit: aws.Int32(scanBansItems), ExclusiveStartKey: start,
		})
		if err != nil {
			return nil, "", fmt.Errorf("list bans: %w", err)
		}
		for i, item := range out.Items {
			b, err := decodeBan(item)
			if err != nil {
				return nil, "", fmt.Errorf("list bans: %w", err)
			}
			if !b.Active(now) {
				continue
			}
			bans = append(bans, b)
			if len(bans) == limit {
				if i == len(out.Items)-1 && len(out.LastEvaluatedKey) == 0 {
					return bans, "", nil // full, and the table's last item
				}
				// The page is full: the next one starts after this ban,
				// whatever else this Scan read.
				return bans, banCursor(b.PlayerID), nil
			}
		}
		key := itemReader{item: out.LastEvaluatedKey}
		if next = key.s(attrPlayerID, false); key.err() != nil || next == "" {
			return bans, "", nil // the table's end
		}
		start = out.LastEvaluatedKey
	}
	return bans, banCursor(next), nil
}

func banCursor(playerID string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(playerID))
}

func decodeBan(item map[string]types.AttributeValue) (domain.Ban, error) {
	return decode("ban", item, func(r *itemReader) domain.Ban {
		return domain.Ban{
			PlayerID: r.s(attrPlayerID, true),
			Reason:   r.s(attrReason, false),
			BannedBy: r.s(attrBannedBy, false),
			BannedAt: r.millis(attrBannedAt, true),
			Until:    r.millis(attrUntil, false),
		}
	})
}
