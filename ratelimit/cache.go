package ratelimit

import "sync"

// stateCache keeps, per item key, the last state this process saw in
// DynamoDB. Stored TATs only grow, so a cached state is a lower bound of the
// stored one: a denial it implies is certain (the deny cache), and an
// admission it suggests is only ever attempted by a conditional write.
//
// An entry whose TATs are all at or before now says nothing a missing entry
// would not (both read as full buckets), so such entries are dropped when
// met and swept when the map is full; if it is still full, arbitrary
// entries are evicted down to three quarters of the cap. Losing an entry
// costs at most extra requests, never a wrong admission.
type stateCache struct {
	mu  sync.Mutex
	max int
	m   map[string]state
}

func newStateCache(size int) *stateCache {
	return &stateCache{max: size, m: make(map[string]state)}
}

// get returns the cached state of key, or the zero state (full buckets).
func (c *stateCache) get(key string, now int64) state {
	c.mu.Lock()
	defer c.mu.Unlock()
	st, ok := c.m[key]
	if ok && !st.busy(now) {
		delete(c.m, key)
		return state{}
	}
	return st
}

// put records st for key, keeping per slot the larger of the cached and the
// new TAT: both are lower bounds of the stored state.
func (c *stateCache) put(key string, st state, now int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	old, ok := c.m[key]
	if ok {
		for i := range st {
			st[i] = max(st[i], old[i])
		}
	}
	if !st.busy(now) {
		delete(c.m, key)
		return
	}
	if !ok && len(c.m) >= c.max {
		c.evict(now)
	}
	c.m[key] = st
}

// evict sweeps idle entries, then drops arbitrary ones until the map holds
// at most three quarters of the cap. Called with mu held.
func (c *stateCache) evict(now int64) {
	for k, st := range c.m {
		if !st.busy(now) {
			delete(c.m, k)
		}
	}
	for k := range c.m {
		if len(c.m) <= c.max*3/4 {
			break
		}
		delete(c.m, k)
	}
}

// len returns the number of entries.
func (c *stateCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}

// busy reports whether any bucket of st is below full at now.
func (st state) busy(now int64) bool {
	for _, t := range st {
		if t > now {
			return true
		}
	}
	return false
}
