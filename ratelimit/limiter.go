package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// API is the part of the DynamoDB client the package uses; *dynamodb.Client
// and minidyn's in-process client implement it.
type API interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
}

var _ API = (*dynamodb.Client)(nil)

var (
	// ErrTooLarge is the cause of the error AllowMessage returns for a
	// message of more bytes than the byte burst: no wait would admit it.
	ErrTooLarge = errors.New("message is larger than the byte burst")
	// ErrContended is the cause of the error a call returns when all of its
	// Config.MaxAttempts conditional writes lost to other writers.
	ErrContended = errors.New("conditional writes kept failing")
)

// Decision is the outcome of one call.
type Decision struct {
	// Allowed reports whether the request is admitted. An admitted request
	// has been charged to the player's buckets; a denied one was charged
	// nothing.
	Allowed bool
	// RetryAfter is, when denied, how long until this same request would be
	// admitted if nothing else were charged meanwhile. Zero when allowed.
	RetryAfter time.Duration
}

// Item layout: one item per player and kind, keyed "messages#<player>" or
// "connects#<player>", holding one TAT attribute per limit (whole
// microseconds since the Unix epoch) and the TTL attribute.
const (
	attrKey       = "key"
	attrMessages  = "messagesTat"
	attrBytes     = "bytesTat"
	attrConnects  = "connectsTat"
	attrExpiresAt = "expiresAt"

	keyMessages = "messages#"
	keyConnects = "connects#"

	// expiryMargin is added to the moment an item's buckets are full again
	// to form its TTL; it must exceed the clock skew between writers.
	expiryMargin = time.Hour
	// maxMicros caps a bucket's tolerance (and any cost) so that every
	// stored number stays below 2^53 and is exact in float64-based engines.
	maxMicros = int64(1e15)

	defaultMaxAttempts   = 5
	defaultDenyCacheSize = 10000
)

// bucket is one configured limit, in microseconds.
type bucket struct {
	attr    string
	slot    int     // index of this bucket's TAT in a state
	perUnit float64 // microseconds of refill per unit
	burst   int64
	tol     int64 // microseconds: cost(burst), the bucket's depth in time
}

func newBucket(attr string, slot int, l Limit) *bucket {
	if !l.On() {
		return nil
	}
	b := &bucket{attr: attr, slot: slot, perUnit: 1e6 / l.Rate, burst: max(l.Burst, 1)}
	b.tol = b.cost(b.burst)
	return b
}

// cost is the time n units take to refill, rounded to the nearest
// microsecond, at least 1 and at most maxMicros.
func (b *bucket) cost(n int64) int64 {
	c := math.Round(float64(n) * b.perUnit)
	switch {
	case !(c < float64(maxMicros)):
		return maxMicros
	case c < 1:
		return 1
	}
	return int64(c)
}

// state holds the TATs of one item by bucket slot; 0 stands for an absent
// attribute, which like any TAT not after now means a full bucket.
type state [2]int64

// check is one bucket charged inc microseconds by one call.
type check struct {
	b   *bucket
	inc int64
}

// Limiter decides per-player rate limits kept in DynamoDB. It is safe for
// concurrent use; build one per process and keep it while warm.
type Limiter struct {
	api         API
	table       string
	now         func() time.Time
	maxAttempts int
	messages    *bucket // nil when off
	bytes       *bucket
	connects    *bucket
	msgTol      int64 // the largest tolerance in a messages item
	cache       *stateCache
}

// New returns a Limiter on cfg.Table, filling cfg's zero values with the
// defaults documented on Config.
func New(api API, cfg Config) *Limiter {
	l := &Limiter{
		api:         api,
		table:       cfg.Table,
		now:         cfg.Now,
		maxAttempts: cfg.MaxAttempts,
		messages:    newBucket(attrMessages, 0, cfg.Messages),
		bytes:       newBucket(attrBytes, 1, cfg.Bytes),
		connects:    newBucket(attrConnects, 0, cfg.Connects),
	}
	if l.now == nil {
		l.now = time.Now
	}
	if l.maxAttempts <= 0 {
		l.maxAttempts = defaultMaxAttempts
	}
	size := cfg.DenyCacheSize
	if size <= 0 {
		size = defaultDenyCacheSize
	}
	l.cache = newStateCache(size)
	for _, b := range []*bucket{l.messages, l.bytes} {
		if b != nil {
			l.msgTol = max(l.msgTol, b.tol)
		}
	}
	return l
}

// AllowMessage decides whether playerID may send one message of size bytes,
// charging one unit to the messages limit and size units to the bytes limit
// in a single conditional write: the message is admitted only if both allow
// it, and a denied message is charged nothing.
//
// A message of more bytes than the byte burst can never be admitted: the
// result is a denial with an error wrapping ErrTooLarge, without any
// DynamoDB request. A failed DynamoDB request gives a denial with an error
// wrapping the cause: the limiter fails closed.
func (l *Limiter) AllowMessage(ctx context.Context, playerID string, bytes int) (Decision, error) {
	checks, err := l.messageChecks(playerID, bytes)
	if err != nil || len(checks) == 0 {
		return Decision{Allowed: err == nil}, err
	}
	return l.allow(ctx, keyMessages+playerID, checks, l.msgTol)
}

// RefusesMessage reports whether AllowMessage would refuse this message
// without a DynamoDB request: the deny cache already refuses the player, or
// the message is larger than the byte burst. It charges nothing. A caller
// can skip, for a refused message, work it would otherwise start alongside
// AllowMessage; when it reports false, AllowMessage may still refuse.
func (l *Limiter) RefusesMessage(playerID string, bytes int) bool {
	checks, err := l.messageChecks(playerID, bytes)
	if err != nil {
		return true
	}
	if len(checks) == 0 {
		return false
	}
	now := l.now().UnixMicro()
	return !evaluate(l.cache.get(keyMessages+playerID, now), checks, now).Allowed
}

// messageChecks returns what one message of size bytes charges, or an
// error wrapping ErrTooLarge when it exceeds the byte burst.
func (l *Limiter) messageChecks(playerID string, bytes int) ([]check, error) {
	checks := make([]check, 0, 2)
	if l.messages != nil {
		checks = append(checks, check{b: l.messages, inc: l.messages.cost(1)})
	}
	if l.bytes != nil && bytes > 0 {
		if int64(bytes) > l.bytes.burst {
			return nil, fmt.Errorf("rate limit %s: %d bytes, at most %d: %w", playerID, bytes, l.bytes.burst, ErrTooLarge)
		}
		checks = append(checks, check{b: l.bytes, inc: l.bytes.cost(int64(bytes))})
	}
	return checks, nil
}

// AllowConnect decides whether playerID may open one more connection,
// charging one unit to the connects limit. Errors are as for AllowMessage.
func (l *Limiter) AllowConnect(ctx context.Context, playerID string) (Decision, error) {
	if l.connects == nil {
		return Decision{Allowed: true}, nil
	}
	return l.allow(ctx, keyConnects+playerID, []check{{b: l.connects, inc: l.connects.cost(1)}}, l.connects.tol)
}

// allow runs GCRA on one item. st is the last known state: a lower bound
// of the stored one, because stored TATs only grow. A denial by a lower
// bound is final; an admission is made by a conditional write that is
// exact whatever the stored state is, and a failed write teaches the state.
func (l *Limiter) allow(ctx context.Context, key string, checks []check, itemTol int64) (Decision, error) {
	now := l.now().UnixMicro()
	st := l.cache.get(key, now)
	for writes := 0; ; writes++ {
		if d := evaluate(st, checks, now); !d.Allowed {
			l.cache.put(key, st, now)
			return d, nil
		}
		if writes == l.maxAttempts {
			return Decision{}, unavailable(key, fmt.Errorf("%d attempts: %w", writes, ErrContended))
		}
		next, ok, err := l.write(ctx, key, st, checks, now, itemTol)
		if err != nil {
			return Decision{}, unavailable(key, err)
		}
		if ok {
			l.cache.put(key, next, now)
			return Decision{Allowed: true}, nil
		}
		st = next // the stored state, learned from the failed write
	}
}

// evaluate applies GCRA to a known state: each bucket admits inc if
// max(tat, now) + inc <= now + tol.
func evaluate(st state, checks []check, now int64) Decision {
	var wait int64
	for _, c := range checks {
		over := max(st[c.b.slot], now) + c.inc - now - c.b.tol
		wait = max(wait, over)
	}
	if wait > 0 {
		return Decision{RetryAfter: time.Duration(wait) * time.Microsecond}
	}
	return Decision{Allowed: true}
}

// write charges checks with one conditional UpdateItem. Per bucket it
// assumes the class of the stored TAT that st shows:
//
//	idle (tat <= now or absent):          SET tat = now + inc   IF attribute_not_exists(tat) OR tat <= now
//	busy (now <= tat <= now + tol - inc): SET tat = tat + inc   IF tat BETWEEN now AND now + tol - inc
//
// Both are GCRA exactly for every stored TAT their condition accepts, so
// concurrent writers never need to agree on the exact TAT. On success it
// returns the new state; on ConditionalCheckFailed it returns the stored
// state (from ALL_OLD when the engine returns it, else a strongly
// consistent GetItem) with ok false.
func (l *Limiter) write(ctx context.Context, key string, st state, checks []check, now, itemTol int64) (next state, ok bool, err error) {
	names := map[string]string{"#exp": attrExpiresAt}
	values := map[string]types.AttributeValue{
		":now": micros(now),
		":exp": micros(expiresAt(now, itemTol)),
	}
	set := "SET #exp = :exp"
	cond := ""
	next = st
	for i, c := range checks {
		a, inc, bound := fmt.Sprintf("#t%d", i), fmt.Sprintf(":i%d", i), fmt.Sprintf(":m%d", i)
		names[a] = c.b.attr
		if cond != "" {
			cond += " AND "
		}
		if tat := st[c.b.slot]; tat <= now {
			values[inc] = micros(now + c.inc)
			set += fmt.Sprintf(", %s = %s", a, inc)
			cond += fmt.Sprintf("(attribute_not_exists(%s) OR %s <= :now)", a, a)
			next[c.b.slot] = now + c.inc
		} else {
			values[inc] = micros(c.inc)
			values[bound] = micros(now + c.b.tol - c.inc)
			set += fmt.Sprintf(", %s = %s + %s", a, a, inc)
			cond += fmt.Sprintf("%s BETWEEN :now AND %s", a, bound)
			next[c.b.slot] = tat + c.inc // a lower bound until the reply says
		}
	}
	out, err := l.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                           aws.String(l.table),
		Key:                                 itemKey(key),
		UpdateExpression:                    aws.String(set),
		ConditionExpression:                 aws.String(cond),
		ExpressionAttributeNames:            names,
		ExpressionAttributeValues:           values,
		ReturnValues:                        types.ReturnValueUpdatedNew,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	if err == nil {
		// The write took effect. The reply holds the exact new TATs; should
		// it not decode, the lower bounds computed above stand.
		if got, derr := decode(out.Attributes, checks); derr == nil {
			for _, c := range checks {
				if _, found := out.Attributes[c.b.attr]; found {
					next[c.b.slot] = got[c.b.slot]
				}
			}
		}
		return next, true, nil
	}
	var ccf *types.ConditionalCheckFailedException
	if !errors.As(err, &ccf) {
		return st, false, fmt.Errorf("update: %w", err)
	}
	if len(ccf.Item) > 0 {
		learned, err := decode(ccf.Item, checks)
		return learned, false, err
	}
	// No ALL_OLD: the item is absent, or the engine does not return it.
	learned, err := l.read(ctx, key, checks)
	return learned, false, err
}

// read returns the stored state with a strongly consistent GetItem.
func (l *Limiter) read(ctx context.Context, key string, checks []check) (state, error) {
	out, err := l.api.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(l.table),
		Key:            itemKey(key),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return state{}, fmt.Errorf("get: %w", err)
	}
	return decode(out.Item, checks)
}

// decode reads the TATs of checks from an item; an absent item or attribute
// reads as 0, a full bucket. expiresAt is not consulted: a TAT is never
// later than expiresAt - expiryMargin, so an expired item's TATs are already
// in the past and read as full buckets.
func decode(item map[string]types.AttributeValue, checks []check) (state, error) {
	var st state
	for _, c := range checks {
		v, ok := item[c.b.attr]
		if !ok {
			continue
		}
		n, ok := v.(*types.AttributeValueMemberN)
		if !ok {
			return st, fmt.Errorf("attribute %s is %T, want a number", c.b.attr, v)
		}
		t, err := parseMicros(n.Value)
		if err != nil {
			return st, fmt.Errorf("attribute %s: %w", c.b.attr, err)
		}
		st[c.b.slot] = t
	}
	return st, nil
}

// parseMicros parses a stored integer. Engines that compute in float64 may
// render a sum in exponent form; every value stored here is below 2^53 and
// so converts exactly.
func parseMicros(s string) (int64, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return 0, fmt.Errorf("number %q is not a whole number of microseconds", s)
	}
	return int64(f), nil
}

// expiresAt is the TTL for an item written at now whose buckets have at
// most tol of depth: when they are all full again, plus expiryMargin, in
// Unix seconds.
func expiresAt(now, tol int64) int64 {
	const second = int64(time.Second / time.Microsecond)
	full := now + tol
	return (full+second-1)/second + int64(expiryMargin/time.Second)
}

func micros(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}

func itemKey(key string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{attrKey: &types.AttributeValueMemberS{Value: key}}
}

// unavailable wraps a DynamoDB failure; the caller gets a denial with it:
// the limiter fails closed.
func unavailable(key string, err error) error {
	return fmt.Errorf("rate limit %s: %w", key, err)
}
