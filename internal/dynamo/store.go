package dynamo

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

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

// TableAPI is the part of the DynamoDB client CreateTables uses: it creates
// the table, and the SDK's table-exists waiter describes it.
type TableAPI interface {
	CreateTable(ctx context.Context, in *dynamodb.CreateTableInput, opts ...func(*dynamodb.Options)) (*dynamodb.CreateTableOutput, error)
	dynamodb.DescribeTableAPIClient
}

var _ API = (*dynamodb.Client)(nil)
var _ TableAPI = (*dynamodb.Client)(nil)

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
		maxConn: opts.MaxConnectionsPerPlayer,
		maxMail: opts.MailboxMaxMessages,
		maxFrom: opts.MailboxMaxPerSender,
		now:     opts.Now,
	}
	if s.maxConn <= 0 {
		s.maxConn = domain.DefaultMaxConnectionsPerPlayer
	}
	if s.maxMail <= 0 {
		s.maxMail = domain.DefaultMailboxMaxMessages
	}
	if s.maxFrom <= 0 {
		s.maxFrom = domain.DefaultMailboxMaxPerSender
	}
	s.maxFrom = min(s.maxFrom, s.maxMail)
	if s.now == nil {
		s.now = time.Now
	}
	return s
}

// conditionFailed reports whether err is DynamoDB's answer to a condition
// expression that did not hold.
func conditionFailed(err error) bool {
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return true
	}
	var api smithy.APIError
	return errors.As(err, &api) && api.ErrorCode() == "ConditionalCheckFailedException"
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

// getS returns the string attribute name of item; a missing attribute is
// "" unless required.
func getS(item map[string]types.AttributeValue, name string, required bool) (string, error) {
	switch v := item[name].(type) {
	case *types.AttributeValueMemberS:
		return v.Value, nil
	case nil:
		if required {
			return "", fmt.Errorf("attribute %s is missing", name)
		}
		return "", nil
	default:
		return "", fmt.Errorf("attribute %s is %T, not a string", name, v)
	}
}

// getN returns the integer attribute name of item.
func getN(item map[string]types.AttributeValue, name string) (int64, error) {
	v, ok := item[name].(*types.AttributeValueMemberN)
	if !ok {
		return 0, fmt.Errorf("attribute %s is missing or not a number", name)
	}
	n, err := strconv.ParseInt(v.Value, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("attribute %s: %w", name, err)
	}
	return n, nil
}

// itemReader reads the attributes of one item, collecting every problem,
// so that a decoder names all that is wrong with a row at once.
type itemReader struct {
	item map[string]types.AttributeValue
	errs []error
}

// s reads a string attribute; a missing one is "" unless required.
func (r *itemReader) s(name string, required bool) string {
	v, err := getS(r.item, name, required)
	r.errs = append(r.errs, err)
	return v
}

// n reads an integer attribute.
func (r *itemReader) n(name string) int64 {
	v, err := getN(r.item, name)
	r.errs = append(r.errs, err)
	return v
}

// err joins the problems found.
func (r *itemReader) err() error { return errors.Join(r.errs...) }

// ttl is t as the TTL attribute stores it: unix seconds, rounded down. A row
// is expired at now when ttl(expiresAt) <= now.Unix().
func ttl(t time.Time) int64 { return t.Unix() }
