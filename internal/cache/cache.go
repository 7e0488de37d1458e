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
// callers take a Ticket before reading the database and Put with it. Every invalidation
// moves the cache's generation and is remembered for a while (the last
// recentInvalidations of them); Put stores nothing when the epoch or the trust moved
// since the ticket was taken, nor when an invalidation made since then would have
// dropped the entry it is given (or is too old to be remembered). So an unrelated
// change, such as another slot's, no longer voids every lookup in flight, which it did
// while every invalidation voided every ticket.
//
// A cache may sort its entries into groups (NewGrouped): InvalidateGroups then looks at
// the entries of the groups it names only, not at every entry.
package cache

import (
	"slices"
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

// recentInvalidations is how many of the latest invalidations a cache remembers for the
// tickets still out: a lookup that saw more of them pass is not stored.
const recentInvalidations = 64

// Cache maps keys to values read from the database. It is safe for concurrent use.
type Cache[K comparable, V any] struct {
	name  string
	feed  Feed
	max   int
	group func(K) string // nil: every entry is in one group

	mu      sync.RWMutex
	entries map[K]entry[V]
	groups  map[string]map[K]struct{} // the keys of each group, when group is set
	gen     uint64                    // moved by every invalidation, under mu
	// recent are the latest invalidations, the one that moved gen to g at g % len.
	recent [recentInvalidations]invalidation[K, V]

	hits, misses, bypasses atomic.Uint64
}

// invalidation is what one invalidation dropped: the entries of its groups (of every
// group when all is set) for which stale reports true.
type invalidation[K comparable, V any] struct {
	all    bool
	groups []string
	stale  func(K, V) bool
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

// NewGrouped is New with each entry in the group group(key) names, for
// InvalidateGroups.
func NewGrouped[K comparable, V any](name string, feed Feed, limit int, group func(K) string) *Cache[K, V] {
	c := New[K, V](name, feed, limit)
	c.group, c.groups = group, map[string]map[K]struct{}{}
	return c
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
// invalidation that drops it (or more invalidations than the cache remembers), a new
// epoch, or the trust (then value may predate a change nobody announced, and is not
// kept). It reports whether the value was kept.
func (c *Cache[K, V]) Put(t Ticket, key K, value V) bool {
	return c.PutUntil(t, key, value, time.Time{})
}

// PutUntil is Put of a value that is good until until at the latest (zero: until the
// feed's TTL ends, as for Put): it is served until then or the TTL's end, whichever
// comes first. It reports whether the value was kept.
func (c *Cache[K, V]) PutUntil(t Ticket, key K, value V, until time.Time) bool {
	if !t.trusted {
		return false
	}
	epoch, trusted := c.feed.Epoch()
	if !trusted || epoch != t.epoch {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.droppedSince(t.gen, key, value) {
		return false
	}
	if _, ok := c.entries[key]; !ok && len(c.entries) >= c.max {
		for k := range c.entries { // full: make room by dropping an arbitrary entry
			c.remove(k)
			break
		}
	}
	expires := time.Now().Add(c.feed.TTL())
	if !until.IsZero() && until.Before(expires) {
		expires = until
	}
	c.entries[key] = entry[V]{value: value, epoch: epoch, expires: expires}
	if c.group != nil {
		g := c.group(key)
		keys := c.groups[g]
		if keys == nil {
			keys = map[K]struct{}{}
			c.groups[g] = keys
		}
		keys[key] = struct{}{}
	}
	return true
}

// droppedSince reports whether an invalidation after generation gen would have dropped
// key's value, or may have: when it is no longer remembered. Called under mu.
func (c *Cache[K, V]) droppedSince(gen uint64, key K, value V) bool {
	if c.gen == gen {
		return false
	}
	if c.gen-gen > recentInvalidations {
		return true
	}
	var group string
	if c.group != nil {
		group = c.group(key)
	}
	for g := gen + 1; g <= c.gen; g++ {
		inv := &c.recent[g%recentInvalidations]
		if (inv.all || slices.Contains(inv.groups, group)) && inv.stale(key, value) {
			return true
		}
	}
	return false
}

// remove drops key's entry. Called under mu.
func (c *Cache[K, V]) remove(key K) {
	delete(c.entries, key)
	if c.group == nil {
		return
	}
	g := c.group(key)
	if keys := c.groups[g]; keys != nil {
		delete(keys, key)
		if len(keys) == 0 {
			delete(c.groups, g)
		}
	}
}

// invalidated records an invalidation: it moves the generation, so that every ticket
// taken before it is checked against it. Called under mu.
func (c *Cache[K, V]) invalidated(inv invalidation[K, V]) {
	c.gen++
	c.recent[c.gen%recentInvalidations] = inv
}

// Invalidate drops every entry for which stale reports true, and keeps any lookup in
// flight from storing a value for which it does.
func (c *Cache[K, V]) Invalidate(stale func(K, V) bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.invalidated(invalidation[K, V]{all: true, stale: stale})
	for k, e := range c.entries {
		if stale(k, e.value) {
			c.remove(k)
		}
	}
}

// InvalidateGroups is Invalidate for the entries of the named groups only (NewGrouped):
// it looks at no other entry.
func (c *Cache[K, V]) InvalidateGroups(stale func(K, V) bool, groups ...string) {
	if c.group == nil {
		c.Invalidate(stale)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.invalidated(invalidation[K, V]{groups: groups, stale: stale})
	for _, g := range groups {
		for k := range c.groups[g] {
			if stale(k, c.entries[k].value) {
				c.remove(k)
			}
		}
	}
}

// Clear drops every entry, and voids every ticket taken before it.
func (c *Cache[K, V]) Clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.invalidated(invalidation[K, V]{all: true, stale: func(K, V) bool { return true }})
	clear(c.entries)
	if c.groups != nil {
		clear(c.groups)
	}
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
