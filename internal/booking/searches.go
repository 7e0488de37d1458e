package booking

import (
	"slices"
	"strings"
	"time"

	"github.com/prima-dining/partner-api/internal/cache"
	"github.com/prima-dining/partner-api/store"
)

// searches is the process's cache of search answers: the slots one partner's query
// found, by query and page. The database announces every change of a slot as its city
// and day (migration 00031's triggers, store.ChangeSlots), whoever makes it; the answers
// of that city and day are dropped, in every process, when the change commits. A
// venue's change drops every answer (the answers carry its name and policies), and a
// partner's grants drop that partner's. Until this process's listener is subscribed, or
// while it is lost, every search reads the database, as before.
//
// Three things bound what it may serve:
//   - An answer lives at most Config.SearchCacheTTL (PRIMA_SEARCH_CACHE_TTL, 2 s by
//     default, 0 keeps none; PRIMA_CACHE_TTL if shorter, and its 0 turns this cache off
//     with the others): a search finds only slots that start after
//     now, so an answer stored a moment ago may still list one that has just started
//     (its hold then answers slot_not_bookable, as for any answer a client kept).
//   - An answer with tables of a partner's own allocation (TablesReserved) is not kept:
//     what is left of an allocation depends on the partner's reservations, not on the
//     slot's row alone.
//   - Only on PostgreSQL without a read replica: SQLite has no notices, and an answer
//     read from a replica after a notice could predate the change the notice announced.
//
// A hold and a cancel through this process drop their city and day here at once as
// well, so a partner's next search through the same process never misses its own hold,
// even before the notice arrives.
type searches struct {
	cache *cache.Cache[searchKey, searchAnswer]
}

// DefaultSearchTTL is Config.SearchCacheTTL when it is zero: the longest a search answer
// is served.
const DefaultSearchTTL = 2 * time.Second

// searchKey is one partner's query, page included (Now is zero: an answer's age is
// bounded by its TTL instead).
type searchKey struct {
	partnerID string
	allVenues bool
	query     store.SlotQuery
	page      store.Page
}

// cityKey is the city of the query as the slots store it ("" when the query names
// none: a venue's search, answered for whatever city its slots are in).
func (k searchKey) cityKey() string { return strings.ToLower(k.query.City) }

type searchAnswer struct {
	slots []Slot
	more  bool
}

// searchFeed is the invalidation feed with the search answers' own, shorter TTL (none
// when the process's caches are off: PRIMA_CACHE_TTL=0).
type searchFeed struct {
	*store.Invalidations
	ttl time.Duration
}

func (f searchFeed) TTL() time.Duration { return min(f.ttl, f.Invalidations.TTL()) }

// newSearches returns the cache of search answers, each served for at most ttl, or nil
// where it must not be used (or ttl is not positive).
func newSearches(db *store.DB, ttl time.Duration) *searches {
	if ttl <= 0 || db.Dialect() != store.DialectPostgres || db.HasReadReplica() {
		return nil
	}
	s := &searches{cache: cache.New[searchKey, searchAnswer]("searches", searchFeed{db.Invalidations(), ttl}, 20_000)}
	db.Invalidations().Subscribe(s.invalidate)
	return s
}

func newSearchKey(p Partner, q store.SlotQuery, page store.Page) searchKey {
	q.Now = time.Time{}
	return searchKey{partnerID: p.ID, allVenues: p.AllVenues, query: q, page: page}
}

// get returns a copy of the answer to key, if one may be served.
func (s *searches) get(key searchKey) ([]Slot, bool, bool) {
	if s == nil {
		return nil, false, false
	}
	a, ok := s.cache.Get(key)
	if !ok {
		return nil, false, false
	}
	return slices.Clone(a.slots), a.more, true
}

// begin is the ticket of a search about to read the database.
func (s *searches) begin() cache.Ticket {
	if s == nil {
		return cache.Ticket{}
	}
	return s.cache.Begin()
}

// put keeps the answer read under t, unless a slot of it is held back for its
// partner's allocation.
func (s *searches) put(t cache.Ticket, key searchKey, slots []Slot, more bool) {
	if s == nil {
		return
	}
	for _, sl := range slots {
		if sl.TablesReserved > 0 {
			return
		}
	}
	s.cache.Put(t, key, searchAnswer{slots: slices.Clone(slots), more: more})
}

// changed drops the answers of a city and day: what a slot's change there can touch
// (every city of the day when cityKey is "").
func (s *searches) changed(cityKey, localDate string) {
	if s == nil {
		return
	}
	s.cache.Invalidate(func(k searchKey, _ searchAnswer) bool {
		return k.query.LocalDate == localDate && (cityKey == "" || k.cityKey() == cityKey || k.cityKey() == "")
	})
}

// invalidate drops what a notice concerns.
func (s *searches) invalidate(ch store.Change) {
	switch ch.Kind {
	case store.ChangeSlots:
		city, date, ok := strings.Cut(ch.ID, "/")
		if !ok {
			s.cache.Clear()
			return
		}
		s.changed(city, date)
	case store.ChangePartner:
		s.cache.Invalidate(func(k searchKey, _ searchAnswer) bool { return ch.ID == "" || k.partnerID == ch.ID })
	case store.ChangeVenue, store.ChangeAll:
		s.cache.Clear()
	}
}

// stats reports the cache's lookups (nothing where it is not used).
func (s *searches) stats() []cache.Stats {
	if s == nil {
		return nil
	}
	return []cache.Stats{s.cache.Stats()}
}
