// Package cache keeps per-process copies of database rows that requests look up on
// every call (tokens, venues), and drops them when the database says they changed.
//
// A Cache serves an entry only while its Feed is trusted (store.Invalidations: the
// process's listener is subscribed and caught up), only in the epoch it was stored in
// (every re-subscription starts a new one, since changes made while nobody listened
// were never announced), and only for the feed's TTL. Otherwise lookups go to the
// database, and their results are not stored.
//
// A lookup that started before an invalidation must not store what it read after it:
// callers take a Ticket before reading the database and Put with it; every
// invalidation moves the cache's generation, and Put stores nothing when the
// generation, the epoch or the trust moved since the ticket was taken.
package cache

import (
	"sync"
	"sync/atomic"
	"time"
)

// Feed is where a cache learns that its entries are still good: store.Invalidations.
type Feed interface {
	// Epoch returns the current epoch and whether caches may be trusted now.
	Epoch() (epoch uint64, trusted bool)
	// TTL is the longest an entry is served.
	TTL() time.Duration
}

// DefaultMaxEntries bounds a cache whose New was given no bound.
const DefaultMaxEntries = 100_000

// Cache maps keys to values read from the database. It is safe for concurrent use.
type Cache[K comparable, V any] struct {
	name string
	feed Feed
	max  int

	mu      sync.RWMutex
	entries map[K]entry[V]
	gen     uint64 // moved by every invalidation, under mu

	hits, misses, bypasses atomic.Uint64
}

type entry[V any] struct {
	value   V
	epoch   uint64
	expires time.Time
}

// New returns an empty cache named name (a metrics label) that trusts feed, holding at
// most limit entries (0: DefaultMaxEntries).
func New[K comparable, V any](name string, feed Feed, limit int) *Cache[K, V] {
	if limit <= 0 {
		limit = DefaultMaxEntries
	}
	return &Cache[K, V]{name: name, feed: feed, max: limit, entries: map[K]entry[V]{}}
}

// Name is the cache's name.
func (c *Cache[K, V]) Name() string { return c.name }

// Get returns the value of key if it may be served now.
func (c *Cache[K, V]) Get(key K) (V, bool) {
	var zero V
	epoch, trusted := c.feed.Epoch()
	if !trusted {
		c.bypasses.Add(1)
		return zero, false
	}
	c.mu.RLock()
	e, ok := c.entries[key]
	c.mu.RUnlock()
	if !ok || e.epoch != epoch || !time.Now().Before(e.expires) {
		c.misses.Add(1)
		return zero, false
	}
	c.hits.Add(1)
	return e.value, true
}

// Trusted reports whether the cache may be used now; a caller that then reads the
// database without it counts as a bypass.
func (c *Cache[K, V]) Trusted() bool {
	if _, trusted := c.feed.Epoch(); !trusted {
		c.bypasses.Add(1)
		return false
	}
	return true
}

// Ticket is taken before a lookup in the database, and given to Put with its result.
type Ticket struct {
	gen, epoch uint64
	trusted    bool
}

// Begin returns the ticket of a lookup about to start.
func (c *Cache[K, V]) Begin() Ticket {
	// The generation first: an invalidation after this line voids the ticket.
	c.mu.RLock()
	gen := c.gen
	c.mu.RUnlock()
	epoch, trusted := c.feed.Epoch()
	return Ticket{gen: gen, epoch: epoch, trusted: trusted}
}

// Put stores value under key, unless something moved since t was taken: an
// invalidation of this cache, a new epoch, or the trust (then value may predate a change
// nobody announced, and is not kept).
func (c *Cache[K, V]) Put(t Ticket, key K, value V) {
	if !t.trusted {
		return
	}
	epoch, trusted := c.feed.Epoch()
	if !trusted || epoch != t.epoch {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != t.gen {
		return
	}
	if _, ok := c.entries[key]; !ok && len(c.entries) >= c.max {
		for k := range c.entries { // full: make room by dropping an arbitrary entry
			delete(c.entries, k)
			break
		}
	}
	c.entries[key] = entry[V]{value: value, epoch: epoch, expires: time.Now().Add(c.feed.TTL())}
}

// Invalidate drops every entry for which stale reports true, and voids every ticket
// taken before it.
func (c *Cache[K, V]) Invalidate(stale func(K, V) bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	for k, e := range c.entries {
		if stale(k, e.value) {
			delete(c.entries, k)
		}
	}
}

// Clear drops every entry, and voids every ticket taken before it.
func (c *Cache[K, V]) Clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	clear(c.entries)
}

// Stats counts the cache's lookups: served from it (hits), read from the database
// while it was trusted (misses), and read from the database because it was not
// (bypasses); Entries is its size, stale entries included until they are replaced.
type Stats struct {
	Name                   string
	Hits, Misses, Bypasses uint64
	Entries                int
}

// Stats returns the cache's counters.
func (c *Cache[K, V]) Stats() Stats {
	c.mu.RLock()
	n := len(c.entries)
	c.mu.RUnlock()
	return Stats{Name: c.name, Hits: c.hits.Load(), Misses: c.misses.Load(), Bypasses: c.bypasses.Load(), Entries: n}
}
