// Package ratelimit enforces per-player rate limits kept in DynamoDB, exact
// across any number of concurrent Lambda instances.
//
// A player has three limits: messages (per second, with a burst), message
// bytes (per second, with a burst) and connections opened (per minute; the
// burst equals the per-minute count, so a player may open n connections at
// once and one more every 60/n seconds after that). A rate of 0 turns a
// limit off; a call whose limits are all off makes no request.
//
// # Algorithm
//
// Each limit is a GCRA bucket (the generic cell rate algorithm, a token
// bucket kept as one number). With rate r and burst B, a unit costs T = 1/r
// of time and the bucket is τ = B·T deep. The bucket stores its theoretical
// arrival time, TAT; a TAT at or before now means a full bucket. A request
// of n units at time now is admitted if and only if
//
//	max(TAT, now) + n·T <= now + τ
//
// and then TAT becomes max(TAT, now) + n·T; otherwise it waits
// max(TAT, now) + n·T - τ - now (Decision.RetryAfter) and nothing changes.
// There are no windows: any interval of length d admits at most B + r·d
// units, so there is never a double burst at a window edge.
//
// Times are whole microseconds since the Unix epoch, so every stored number
// stays below 2^53 and is exact in engines that compute in float64. A
// cost n·T is rounded to the nearest microsecond (at least 1): limits whose
// unit costs a whole number of microseconds are exact; others err by at most
// half a microsecond of refill per admitted request.
//
// # Storage and exactness
//
// A player's messages and bytes buckets are two attributes (messagesTat,
// bytesTat) of one item keyed "messages#<player>"; connects is the
// attribute connectsTat of the item "connects#<player>"; both carry the TTL
// attribute expiresAt. A message is checked and charged to both buckets in a
// single UpdateItem whose condition is the conjunction of both buckets'
// conditions: it is admitted only if both allow it, and a denied message is
// charged nothing.
//
// The shared state changes only by conditional writes; nothing is read and
// then written unconditionally. The write for each bucket assumes one of two
// classes of its stored TAT:
//
//	idle:  SET tat = now + n·T  IF attribute_not_exists(tat) OR tat <= now
//	busy:  SET tat = tat + n·T  IF tat BETWEEN now AND now + τ - n·T
//
// Each is GCRA, exactly, for every stored value its condition accepts, so
// a writer does not need to know the exact TAT, only its class: instances
// whose caches are stale but agree that a bucket is busy all succeed
// without retrying. A failed condition means the class was wrong; the
// stored item then comes back with the failure (ReturnValuesOnConditionCheckFailure
// = ALL_OLD, which DynamoDB and minidyn honour) or, when it does not (dynalite,
// or an absent item), from one strongly consistent GetItem. The call then
// denies, or writes again with the right class.
//
// # Cost per call
//
// The Limiter keeps, per player, the last state it saw in DynamoDB. Stored
// TATs only grow, so that state is a lower bound of the stored one.
//
//   - Admitted, warm or not, when the cached class is right (the common
//     case: a player served by one instance, an idle player, or a busy
//     player whom this instance has seen busy): 1 UpdateItem.
//   - Denied by the cached state (the deny cache, below): no request.
//   - A busy bucket this instance believed idle (first sight of a player
//     active on another instance), or a bucket spent by others: 1 failed
//     UpdateItem, then 1 more UpdateItem if admitted; with engines that do
//     not return ALL_OLD, 1 GetItem after each failed write.
//   - Worst case: a failed write moves a bucket's class only upwards
//     (idle, busy, spent; the clock is read once per call), and a spent
//     bucket denies without writing, so a call makes at most 3 UpdateItems
//     (plus 3 GetItems without ALL_OLD). Config.MaxAttempts (default 5)
//     bounds the loop anyway; running out returns ErrContended.
//
// # Deny cache
//
// A denial derived from the cached lower bound is certain, so the Limiter
// returns it without a request: once a player is denied until T, the same
// Limiter refuses that same request until T without calling DynamoDB, and
// at T it asks DynamoDB again. The cache only ever denies: an admission is
// always a conditional write. Entries whose buckets are all full again carry
// no information and are dropped when met; when the map reaches
// Config.DenyCacheSize (default 10000) such entries are swept, then
// arbitrary ones are evicted down to three quarters of the cap. Losing an
// entry costs at most a request, never a wrong admission.
//
// # Expiry
//
// Every write sets expiresAt to when the item's buckets would all be full
// again (now + τ, rounded up to a second) plus one hour. Nothing reads
// expiresAt: a TAT is never later than expiresAt minus that hour, so an
// expired item's TATs are in the past and read as full buckets, whether or
// not DynamoDB has deleted it yet (it may take days). An absent item reads
// as full buckets too.
//
// # Clock skew
//
// Each instance compares TATs with its own clock. A TAT is only ever
// replaced by a larger one (whatever the writer's clock, the busy write adds
// to the stored value and the idle write requires the stored value to be at
// or before the new base), except when the TTL deletes an item, which
// happens only an hour after its buckets were full. If every instance's
// clock lies within [true time + a, true time + b], any interval of true
// length d admits at most B + r·(d + b - a) units: skew s = b - a is worth at
// most r·s extra units, once, not per interval, and only when a faster clock
// admits right after a slower one. A slow clock sees TATs further in the
// future and is conservative (it denies longer); a fast clock can admit
// early by at most its lead. Lambda clocks are kept within milliseconds,
// which is worth 0.01 message at 10 messages per second. Skew beyond the hour
// of expiry margin is not supported.
//
// # Failure
//
// The Limiter fails closed. When DynamoDB fails (an error, a timeout, a
// throttle after the SDK's retries, a cancelled context) the call returns
// Decision{Allowed: false} and an error that wraps the cause; it never admits without a successful conditional write.
// A denial already known from the deny cache is still answered, since it
// needs no request. A message larger than the byte burst can never be
// admitted: AllowMessage returns a denial and an error wrapping
// ErrTooLarge, without a request. The package speaks of decisions and
// causes only; the handlers turn them into client codes (too_large,
// rate_limited, unavailable).
package ratelimit
