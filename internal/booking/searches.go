package booking

import (
	"slices"
	"strings"
	"time"

	"github.com/prima-dining/partner-api/internal/cache"
	"github.com/prima-dining/partner-api/store"
)

// searches is the process's cache of search answers: the slots one partner's query
// found, by query and page. The database announces every change of a slot, whoever
// makes it (migrations 00031 and 00032's triggers); the store announces its own in this
// process as they commit. What an answer must drop depends on the change:
//
//   - A table taken, or given back to a slot that had one left, with nothing else of the
//     slot changed (store.ChangeSlot, nearly every hold, cancel and expiry): only the
//     answers that list the slot, or whose next page starts with it (their has_more
//     may change), are dropped. No other answer can change: the slot stays where it was
//     in every order, and it was already offered wherever it could be.
//   - Any other change of a slot (a full slot's table given back, a slot edited, added,
//     closed or removed, an allocation's tables; store.ChangeSlots): every answer of its
//     city and day.
//   - A venue's change drops every answer (the answers carry its name and policies),
//     and a partner's grants drop that partner's.
//
// Answers are grouped by day and city, so a change looks only at its own day's answers.
// Until this process's listener is subscribed, or while it is lost, every search reads
// the database, as before.
//
// Three things bound what it may serve:
//   - An answer lives at most Config.SearchCacheTTL (PRIMA_SEARCH_CACHE_TTL, 30 s by
//     default, 0 keeps none; PRIMA_CACHE_TTL if shorter, and its 0 turns this cache off
//     with the others), a safety net as for the other caches, and never past the start
//     of the first slot it lists: a search finds only slots that start after now, so
//     time takes slots out of answers (and never adds one).
//   - An answer with tables of a partner's own allocation (TablesReserved) is not kept:
//     what is left of an allocation depends on the partner's reservations, not on the
//     slot's row alone.
//   - Only on PostgreSQL without a read replica: SQLite has no notices, and an answer
//     read from a replica after a notice could predate the change the notice announced.
//
// The store publishes the changes of a transaction in this process when it commits
// (before the database's notice arrives), so a partner's next search through the same
// process never misses its own hold or cancel.
type searches struct {
	cache *cache.Cache[searchKey, searchAnswer]
}

// DefaultSearchTTL is Config.SearchCacheTTL when it is zero: the longest a search answer
// is served.
const DefaultSearchTTL = 30 * time.Second

// maxSearchAnswers bounds the answers a process keeps: about 20 KB each for a page of 20
// slots (376 bytes of Slot and its text each), and about 10 KB more for the server's
// encoding of it in each language it was asked in (SearchPage.Memo), so at most about
// 120 MB.
const maxSearchAnswers = 4_000

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

// group is the key's day and city (dayGroup).
func (k searchKey) group() string { return dayGroup(k.query.LocalDate, k.cityKey()) }

// dayGroup names the answers of a day in a city ("": the answers of queries that name
// no city). The day comes first, at its fixed length, so no two pairs share a name.
func dayGroup(localDate, cityKey string) string { return localDate + "/" + cityKey }

type searchAnswer struct {
	slots []Slot
	more  bool
	next  string // the id of the slot the next page starts with (store.SlotPage.Next)
	memo  *Memo  // what callers derive from the answer (SearchPage.Memo)
}

// lists reports whether the answer shows the slot id, or its next page starts with it.
func (a searchAnswer) lists(id string) bool {
	if a.next == id {
		return true
	}
	for i := range a.slots {
		if a.slots[i].ID == id {
			return true
		}
	}
	return false
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
	s := &searches{cache: cache.NewGrouped[searchKey, searchAnswer]("searches", searchFeed{db.Invalidations(), ttl}, maxSearchAnswers, searchKey.group)}
	db.Invalidations().Subscribe(s.invalidate)
	return s
}

func newSearchKey(p Partner, q store.SlotQuery, page store.Page) searchKey {
	q.Now = time.Time{}
	return searchKey{partnerID: p.ID, allVenues: p.AllVenues, query: q, page: page}
}

// get returns the answer to key, with its memo, if one may be served. Its slots are the
// cache's own, not a copy (SearchPage.Slots): a hit that is answered from the memo's
// encoding never reads them, and copying them was half of what a hit allocated.
func (s *searches) get(key searchKey) (SearchPage, bool) {
	if s == nil {
		return SearchPage{}, false
	}
	a, ok := s.cache.Get(key)
	if !ok {
		return SearchPage{}, false
	}
	return SearchPage{Slots: a.slots, More: a.more, Memo: a.memo}, true
}

// begin is the ticket of a search about to read the database.
func (s *searches) begin() cache.Ticket {
	if s == nil {
		return cache.Ticket{}
	}
	return s.cache.Begin()
}

// put keeps the answer read under t, unless a slot of it is held back for its
// partner's allocation, and returns the kept answer's memo (nil when it was not kept),
// so that what the caller derives from this read is kept with the answer too.
func (s *searches) put(t cache.Ticket, key searchKey, page store.SlotPage, slots []Slot) *Memo {
	if s == nil {
		return nil
	}
	for _, sl := range slots {
		if sl.TablesReserved > 0 {
			return nil
		}
	}
	// Good until its first slot starts: the search finds slots that start after now, so
	// that slot then leaves the answer (time takes slots out of answers, never adds one).
	var until time.Time
	for _, sl := range slots {
		if until.IsZero() || sl.StartsAt.Before(until) {
			until = sl.StartsAt
		}
	}
	memo := &Memo{}
	if !s.cache.PutUntil(t, key, searchAnswer{slots: slices.Clone(slots), more: page.More, next: page.Next, memo: memo}, until) {
		return nil
	}
	return memo
}

// changed drops the answers of a city and day: what any change of a slot there can
// touch (every city of the day when cityKey is "").
func (s *searches) changed(cityKey, localDate string) {
	if s == nil {
		return
	}
	if cityKey == "" {
		s.cache.Invalidate(func(k searchKey, _ searchAnswer) bool { return k.query.LocalDate == localDate })
		return
	}
	s.cache.InvalidateGroups(func(searchKey, searchAnswer) bool { return true },
		dayGroup(localDate, cityKey), dayGroup(localDate, ""))
}

// slotChanged drops the answers that list the slot id (of that city and day), or whose
// next page starts with it: what a table taken or given back to a pool that had one
// left can touch.
func (s *searches) slotChanged(cityKey, localDate, id string) {
	if s == nil {
		return
	}
	s.cache.InvalidateGroups(func(_ searchKey, a searchAnswer) bool { return a.lists(id) },
		dayGroup(localDate, cityKey), dayGroup(localDate, ""))
}

// invalidate drops what a notice concerns.
func (s *searches) invalidate(ch store.Change) {
	switch ch.Kind {
	case store.ChangeSlot:
		date, id, city, ok := store.ParseSlotChange(ch.ID)
		if !ok {
			s.cache.Clear()
			return
		}
		s.slotChanged(city, date, id)
	case store.ChangeSlots:
		// "<city_key>/<local_date>": the date has no slash; a city may.
		i := strings.LastIndexByte(ch.ID, '/')
		if i < 0 {
			s.cache.Clear()
			return
		}
		s.changed(ch.ID[:i], ch.ID[i+1:])
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
