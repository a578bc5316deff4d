// Package minidynrouter is the embedded DynamoDB engine of the local stack:
// minidyn (github.com/truora/minidyn), one instance per partition.
//
// minidyn is a faithful, pure-Go DynamoDB, but a Query walks every item of
// its table (re-evaluating the key condition on each) and one lock
// serializes every request of a client. With one table per engine, a
// message's cost grows with the number of players, and a load test's with
// its square. A Router keeps the engine and removes the growth: every
// request the project's adapters make names exactly one partition (a
// GetItem, PutItem, UpdateItem or DeleteItem by its key, a Query by the
// partition key's equality in its key condition), so the Router sends it to
// a minidyn instance that holds that partition alone. A request then costs
// what the partition holds, whatever the size of the table, and requests on
// different partitions no longer wait for each other's lock.
//
// Why a router and not a patch of minidyn: the router changes no line of
// the engine, so expression evaluation, conditional writes, return values,
// validation and error shapes stay minidyn's own and follow its upgrades;
// what it adds is small enough to test whole. The price is memory, about
// 2.5 kB per partition, kept until the process ends.
//
// What the router answers itself:
//   - CreateTable and DescribeTable go to a schema instance that holds every
//     table and no items, so a duplicate table or a bad definition is refused
//     as minidyn refuses it. DescribeTable's ItemCount is therefore 0, as
//     DynamoDB's own is for hours after a write.
//   - A read (GetItem, Query, DeleteItem) of a partition that holds nothing
//     goes to the schema instance too, which answers as an empty table would,
//     validation errors included; only PutItem and UpdateItem create a
//     partition.
//   - A request whose partition cannot be found (a Key without the partition
//     key, a key condition that does not set it with =) goes to the schema
//     instance, which refuses it as minidyn does. A Query minidyn would
//     accept but whose partition the router cannot read (a key condition of
//     a form DynamoDB accepts and the router does not parse) is refused with
//     a ValidationException that says so, never answered empty.
//
// A Scan (listing bans) walks the partitions in the order of their keys.
// Secondary indexes, batches and transactions span partitions; the Router
// does not offer them, and nothing in the project uses them.
package minidynrouter

import (
	"context"
	"fmt"
	"maps"
	"math/big"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
	miniclient "github.com/truora/minidyn/aws-v2/client"
)

// Router is a DynamoDB client on embedded minidyn instances, one per
// partition. The zero value is not usable; call New. It is safe for
// concurrent use.
type Router struct {
	schema *partition // every table, no items

	mu     sync.RWMutex
	tables map[string]*table

	countVisits bool // set by CountVisits
	visited     atomic.Int64
}

// table is what the router knows of one table.
type table struct {
	def     *dynamodb.CreateTableInput
	hashKey string

	mu    sync.RWMutex
	parts map[string]*partition // by partition key value
}

// partition is one minidyn instance. Its lock is held around every request,
// because minidyn's DescribeTable reads the table without minidyn's own
// lock.
type partition struct {
	mu sync.Mutex
	c  *miniclient.Client
}

func newPartition() *partition { return &partition{c: miniclient.NewClient()} }

// call runs op, a method of minidyn's client such as
// (*miniclient.Client).PutItem, on p's client with p locked.
func call[I, O any](p *partition, op func(*miniclient.Client, context.Context, I, ...func(*dynamodb.Options)) (O, error), ctx context.Context, in I, opts []func(*dynamodb.Options)) (O, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return op(p.c, ctx, in, opts...)
}

// New returns a Router with no tables.
func New() *Router {
	return &Router{schema: newPartition(), tables: map[string]*table{}}
}

// CountVisits makes the Router count the items its Queries visit, for
// ItemsVisited. Counting reads each Query's partition once more (a
// DescribeTable), so it is off unless asked for; call it before use.
func (r *Router) CountVisits() { r.countVisits = true }

// ItemsVisited returns how many items the Queries served so far visited,
// once CountVisits was called.
// minidyn evaluates a Query by walking every item of the table it runs on,
// so a Query visits every item of the instance that serves it: the items of
// its partition (none for a partition that holds nothing).
func (r *Router) ItemsVisited() int64 { return r.visited.Load() }

// Partitions returns how many partitions of table hold (or held) items.
func (r *Router) Partitions(tableName string) int {
	t := r.table(tableName)
	if t == nil {
		return 0
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	return len(t.parts)
}

// CreateTable creates the table in the schema instance and remembers its
// definition for the partitions to come.
func (r *Router) CreateTable(ctx context.Context, in *dynamodb.CreateTableInput, opts ...func(*dynamodb.Options)) (*dynamodb.CreateTableOutput, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	out, err := call(r.schema, (*miniclient.Client).CreateTable, ctx, in, opts)
	if err != nil {
		return nil, err
	}
	hash := ""
	for _, k := range in.KeySchema {
		if k.KeyType == types.KeyTypeHash {
			hash = aws.ToString(k.AttributeName)
		}
	}
	r.tables[aws.ToString(in.TableName)] = &table{def: in, hashKey: hash, parts: map[string]*partition{}}
	return out, nil
}

// DescribeTable describes the table as created (ItemCount 0).
func (r *Router) DescribeTable(ctx context.Context, in *dynamodb.DescribeTableInput, opts ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error) {
	return call(r.schema, (*miniclient.Client).DescribeTable, ctx, in, opts)
}

// PutItem writes to the item's partition, creating it if needed.
func (r *Router) PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	return call(r.engine(aws.ToString(in.TableName), in.Item, true), (*miniclient.Client).PutItem, ctx, in, opts)
}

// UpdateItem updates in the key's partition, creating it if needed.
func (r *Router) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	return call(r.engine(aws.ToString(in.TableName), in.Key, true), (*miniclient.Client).UpdateItem, ctx, in, opts)
}

// GetItem reads from the key's partition.
func (r *Router) GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	return call(r.engine(aws.ToString(in.TableName), in.Key, false), (*miniclient.Client).GetItem, ctx, in, opts)
}

// DeleteItem deletes from the key's partition.
func (r *Router) DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	return call(r.engine(aws.ToString(in.TableName), in.Key, false), (*miniclient.Client).DeleteItem, ctx, in, opts)
}

// Query runs on the partition its key condition names.
func (r *Router) Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	name := aws.ToString(in.TableName)
	t := r.table(name)
	var pk types.AttributeValue
	if t != nil && in.IndexName == nil {
		pk = keyConditionPartition(aws.ToString(in.KeyConditionExpression), in.ExpressionAttributeNames, in.ExpressionAttributeValues, t.hashKey)
	}
	if pk == nil {
		out, err := call(r.schema, (*miniclient.Client).Query, ctx, in, opts)
		if err != nil || t == nil {
			return out, err
		}
		return nil, &smithy.GenericAPIError{
			Code:    "ValidationException",
			Message: "the embedded engine serves a Query only when its key condition sets the partition key with = (and no index)",
		}
	}
	part := r.engine(name, map[string]types.AttributeValue{t.hashKey: pk}, false)
	part.mu.Lock()
	defer part.mu.Unlock()
	out, err := part.c.Query(ctx, in, opts...)
	if r.countVisits && part != r.schema {
		if d, derr := part.c.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: in.TableName}); derr == nil && d.Table != nil {
			r.visited.Add(aws.ToInt64(d.Table.ItemCount))
		}
	}
	return out, err
}

// Scan walks the table's partitions in the order of their keys, each
// scanned by its own instance, until Limit items were evaluated; its
// LastEvaluatedKey resumes there. A page therefore costs its items plus a
// sort of the table's partition keys: Scan is for administration, not for
// the message path.
func (r *Router) Scan(ctx context.Context, in *dynamodb.ScanInput, opts ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error) {
	// The schema instance validates the request as minidyn does.
	if _, err := call(r.schema, (*miniclient.Client).Scan, ctx, in, opts); err != nil {
		return nil, err
	}
	t := r.table(aws.ToString(in.TableName))
	t.mu.RLock()
	ids := slices.Sorted(maps.Keys(t.parts))
	parts := make([]*partition, len(ids))
	for i, id := range ids {
		parts[i] = t.parts[id]
	}
	t.mu.RUnlock()

	start, resume := 0, false // resume: the start key is in partition start
	if in.ExclusiveStartKey != nil {
		id, ok := partitionID(in.ExclusiveStartKey[t.hashKey])
		if !ok {
			return nil, &smithy.GenericAPIError{Code: "ValidationException", Message: "The provided starting key is invalid"}
		}
		start, resume = slices.BinarySearch(ids, id)
	}
	out := &dynamodb.ScanOutput{Items: []map[string]types.AttributeValue{}}
	remaining := aws.ToInt32(in.Limit)
	for i := start; i < len(parts); i++ {
		page := *in
		if i != start || !resume {
			page.ExclusiveStartKey = nil
		}
		if in.Limit != nil {
			page.Limit = aws.Int32(remaining)
		}
		got, err := call(parts[i], (*miniclient.Client).Scan, ctx, &page, opts)
		if err != nil {
			return nil, err
		}
		out.Items = append(out.Items, got.Items...)
		out.Count += got.Count
		out.ScannedCount += max(got.ScannedCount, got.Count)
		if in.Limit == nil {
			continue
		}
		remaining -= max(got.ScannedCount, got.Count)
		if len(got.LastEvaluatedKey) > 0 {
			out.LastEvaluatedKey = got.LastEvaluatedKey
			return out, nil
		}
		if remaining <= 0 && i+1 < len(parts) {
			if n := len(got.Items); n > 0 {
				out.LastEvaluatedKey = keyOf(got.Items[n-1], t.def)
			} else {
				out.LastEvaluatedKey = keyOf(nil, t.def)
			}
			return out, nil
		}
	}
	return out, nil
}

// keyOf returns the primary key attributes of item.
func keyOf(item map[string]types.AttributeValue, def *dynamodb.CreateTableInput) map[string]types.AttributeValue {
	key := map[string]types.AttributeValue{}
	for _, k := range def.KeySchema {
		if v, ok := item[aws.ToString(k.AttributeName)]; ok {
			key[aws.ToString(k.AttributeName)] = v
		}
	}
	return key
}

func (r *Router) table(name string) *table {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.tables[name]
}

// engine returns the instance that serves key's partition of the table: the
// schema instance when the table is unknown, the key names no partition, or
// (unless create) the partition holds nothing.
func (r *Router) engine(tableName string, key map[string]types.AttributeValue, create bool) *partition {
	t := r.table(tableName)
	if t == nil {
		return r.schema
	}
	id, ok := partitionID(key[t.hashKey])
	if !ok {
		return r.schema
	}
	t.mu.RLock()
	c := t.parts[id]
	t.mu.RUnlock()
	if c != nil {
		return c
	}
	if !create {
		return r.schema
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if c := t.parts[id]; c != nil {
		return c
	}
	c = newPartition()
	if _, err := c.c.CreateTable(context.Background(), t.def); err != nil {
		// The schema instance accepted this very definition.
		panic(fmt.Sprintf("minidynrouter: table %s: %v", tableName, err))
	}
	t.parts[id] = c
	return c
}

// partitionID returns a map key for a partition key value: its type and
// value, numbers in canonical form (DynamoDB compares numbers by value).
func partitionID(v types.AttributeValue) (string, bool) {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return "S" + v.Value, true
	case *types.AttributeValueMemberB:
		return "B" + string(v.Value), true
	case *types.AttributeValueMemberN:
		f, ok := new(big.Float).SetPrec(200).SetString(v.Value)
		if !ok {
			return "", false
		}
		return "N" + f.Text('g', -1), true
	}
	return "", false
}

// equality is one `a = b` term of a key condition.
var equality = regexp.MustCompile(`^\(*\s*([#:]?[A-Za-z0-9_.]+)\s*=\s*([#:]?[A-Za-z0-9_.]+)\s*\)*$`)

// andSep splits a key condition into its terms.
var andSep = regexp.MustCompile(`(?i)\s+AND\s+`)

// keyConditionPartition returns the value a key condition gives the
// partition key hashKey, or nil.
func keyConditionPartition(expr string, names map[string]string, values map[string]types.AttributeValue, hashKey string) types.AttributeValue {
	for _, term := range andSep.Split(strings.TrimSpace(expr), -1) {
		m := equality.FindStringSubmatch(strings.TrimSpace(term))
		if m == nil {
			continue
		}
		a, b := m[1], m[2]
		if strings.HasPrefix(a, ":") {
			a, b = b, a
		}
		if !strings.HasPrefix(b, ":") {
			continue
		}
		if strings.HasPrefix(a, "#") {
			a = names[a]
		}
		if a == hashKey {
			return values[b]
		}
	}
	return nil
}
