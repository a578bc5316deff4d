package dynamo

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/serverless-websockets/serverless-websockets/internal/domain"
)

// API is the part of the DynamoDB client the Store uses. *dynamodb.Client
// and minidyn's in-process client both implement it.
type API interface {
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	Scan(ctx context.Context, in *dynamodb.ScanInput, opts ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
}

var _ API = (*dynamodb.Client)(nil)

// Tables names the tables the Store uses.
type Tables struct {
	Connections string // players' live connections
	Mailbox     string // messages queued for offline players, and their slots
	Bans        string // banned players; optional for stores that keep no bans
}

// Options configures a Store. The zero value is usable.
type Options struct {
	// MaxConnectionsPerPlayer is how many live connections a player may
	// hold at once. Zero or less means 5.
	MaxConnectionsPerPlayer int
	// MailboxMaxMessages is how many live messages a player's mailbox may
	// hold at once. Zero or less means 100.
	MailboxMaxMessages int
	// MailboxMaxPerSender is how many live messages from one sender a
	// player's mailbox may hold at once, so that no sender can fill it for
	// everyone else. Zero or less means 20; more than MailboxMaxMessages
	// means MailboxMaxMessages.
	MailboxMaxPerSender int
	// Now is the clock that decides which rows have expired. Nil means
	// time.Now.
	Now func() time.Time
}

// claimRounds is how many times a slot claim queries the slots again after
// every slot it saw free was taken by someone else. Without deletes racing,
// the second query already sees every slot taken.
const claimRounds = 4

// Store keeps connections and queued messages in DynamoDB. It is safe for
// concurrent use.
type Store struct {
	api     API
	tables  Tables
	maxConn int // slots per player in the connections table
	maxMail int // slots per player in the mailbox
	maxFrom int // slots per sender in each player's mailbox
	now     func() time.Time
}

// New returns a Store on api using tables.
func New(api API, tables Tables, opts Options) *Store {
	s := &Store{
		api:     api,
		tables:  tables,
		maxConn: orDefault(opts.MaxConnectionsPerPlayer, domain.DefaultMaxConnectionsPerPlayer),
		maxMail: orDefault(opts.MailboxMaxMessages, domain.DefaultMailboxMaxMessages),
		now:     opts.Now,
	}
	s.maxFrom = min(orDefault(opts.MailboxMaxPerSender, domain.DefaultMailboxMaxPerSender), s.maxMail)
	if s.now == nil {
		s.now = time.Now
	}
	return s
}

// orDefault is n, or def when n is zero or less.
func orDefault(n, def int) int {
	if n <= 0 {
		return def
	}
	return n
}

// conditionFailed reports whether err is DynamoDB's answer to a condition
// expression that did not hold. The typed exception is a smithy.APIError
// too.
func conditionFailed(err error) bool {
	var api smithy.APIError
	return errors.As(err, &api) && api.ErrorCode() == "ConditionalCheckFailedException"
}

// partitionQuery returns a strongly consistent Query of one partition of
// table, reading only the attributes named in project (every one when
// none).
func partitionQuery(table, partition string, project ...string) *dynamodb.QueryInput {
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(table),
		ConsistentRead:            aws.Bool(true),
		KeyConditionExpression:    aws.String("#p = :p"),
		ExpressionAttributeNames:  map[string]string{"#p": attrPlayerID},
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": attrS(partition)},
	}
	var names []string
	for i, attr := range project {
		name := fmt.Sprintf("#a%d", i)
		in.ExpressionAttributeNames[name] = attr
		names = append(names, name)
	}
	if len(names) > 0 {
		in.ProjectionExpression = aws.String(strings.Join(names, ", "))
	}
	return in
}

// queryAll runs in page after page, calling each for every item, until the
// pages run out or each returns false.
func (s *Store) queryAll(ctx context.Context, in *dynamodb.QueryInput, each func(item map[string]types.AttributeValue) (bool, error)) error {
	pages := dynamodb.NewQueryPaginator(s.api, in)
	for pages.HasMorePages() {
		out, err := pages.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, item := range out.Items {
			more, err := each(item)
			if err != nil || !more {
				return err
			}
		}
		// minidyn ends with an empty LastEvaluatedKey rather than none,
		// which the paginator would take for one more page.
		if len(out.LastEvaluatedKey) == 0 {
			return nil
		}
	}
	return nil
}

// Attribute value helpers.

func attrS(v string) *types.AttributeValueMemberS { return &types.AttributeValueMemberS{Value: v} }

func attrN(n int64) *types.AttributeValueMemberN {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}

// itemReader reads the attributes of one item, collecting every problem,
// so that a decoder names all that is wrong with a row at once.
type itemReader struct {
	item map[string]types.AttributeValue
	errs []error
}

// s reads a string attribute; a missing one is "" unless required.
func (r *itemReader) s(name string, required bool) string {
	switch v := r.item[name].(type) {
	case *types.AttributeValueMemberS:
		return v.Value
	case nil:
		if required {
			r.errs = append(r.errs, fmt.Errorf("attribute %s is missing", name))
		}
	default:
		r.errs = append(r.errs, fmt.Errorf("attribute %s is %T, not a string", name, v))
	}
	return ""
}

// n reads an integer attribute.
func (r *itemReader) n(name string) int64 {
	v, ok := r.item[name].(*types.AttributeValueMemberN)
	if !ok {
		r.errs = append(r.errs, fmt.Errorf("attribute %s is missing or not a number", name))
		return 0
	}
	n, err := strconv.ParseInt(v.Value, 10, 64)
	if err != nil {
		r.errs = append(r.errs, fmt.Errorf("attribute %s: %w", name, err))
	}
	return n
}

// millis reads unix milliseconds; a missing attribute is the zero time
// unless required.
func (r *itemReader) millis(name string, required bool) time.Time {
	if _, ok := r.item[name]; !ok && !required {
		return time.Time{}
	}
	return time.UnixMilli(r.n(name)).UTC()
}

// seconds reads unix seconds, the unit of expiresAt.
func (r *itemReader) seconds(name string) time.Time { return time.Unix(r.n(name), 0).UTC() }

// err joins the problems found.
func (r *itemReader) err() error { return errors.Join(r.errs...) }

// decode makes a T of item with read, which reads its attributes through
// r, and reports every problem found at once, as decoding what.
func decode[T any](what string, item map[string]types.AttributeValue, read func(r *itemReader) T) (T, error) {
	r := &itemReader{item: item}
	v := read(r)
	if err := r.err(); err != nil {
		var zero T
		return zero, fmt.Errorf("decode %s: %w", what, err)
	}
	return v, nil
}

// ttl is t as the TTL attribute stores it: unix seconds, rounded down. A row
// is expired at now when ttl(expiresAt) <= now.Unix().
func ttl(t time.Time) int64 { return t.Unix() }
