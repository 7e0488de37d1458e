package booking

import (
	"context"

	"github.com/prima-dining/partner-api/internal/cache"
	"github.com/prima-dining/partner-api/store"
)

// catalog is the process's cache of venues and of the venues each restricted partner
// may sell, which GetVenue reads on every call. The database announces every change of
// a venue or of a partner's grants (store.Invalidations); until this process's listener
// is subscribed, or while it is lost, GetVenue reads the database as before.
type catalog struct {
	db     *store.DB
	venues *cache.Cache[string, keptVenue]
	// grants maps a partner (whose AllVenues is false) to the venues granted to it.
	grants *cache.Cache[string, map[string]struct{}]
}

func newCatalog(db *store.DB) *catalog {
	feed := db.Invalidations()
	c := &catalog{
		db:     db,
		venues: cache.New[string, keptVenue]("venues", feed, 0),
		grants: cache.New[string, map[string]struct{}]("partner_venues", feed, 10_000),
	}
	feed.Subscribe(c.invalidate)
	return c
}

// keptVenue is a venue the catalog keeps, with the Memo of what callers derive from it
// (the server's encoding of its answer), dropped with it.
type keptVenue struct {
	row  store.Venue
	memo *Memo
}

// venue returns the venue id if s may see it, and the Memo kept with it when the
// catalog keeps the venue (nil when it does not: before this process's listener is
// subscribed, while it is lost, and when the venue changed between the read and the
// keeping); store.ErrNotFound otherwise. A kept venue's memo holds at most one encoded
// answer per language the API speaks.
func (c *catalog) venue(ctx context.Context, s store.Scope, id string) (store.Venue, *Memo, error) {
	if !c.venues.Trusted() {
		v, err := c.db.GetVenue(ctx, s, id) // one statement, scope included
		return v, nil, err
	}
	if !s.AllVenues {
		granted, err := c.granted(ctx, s.PartnerID)
		if err != nil {
			return store.Venue{}, nil, err
		}
		if _, ok := granted[id]; !ok {
			return store.Venue{}, nil, store.ErrNotFound
		}
	}
	if v, ok := c.venues.Get(id); ok {
		return v.row, v.memo, nil
	}
	t := c.venues.Begin()
	v, err := c.db.GetVenue(ctx, store.Scope{AllVenues: true}, id)
	if err != nil {
		return store.Venue{}, nil, err
	}
	kept := keptVenue{row: v, memo: &Memo{}}
	if !c.venues.Put(t, id, kept) {
		kept.memo = nil
	}
	return v, kept.memo, nil
}

// granted returns the set of venues granted to the partner.
func (c *catalog) granted(ctx context.Context, partnerID string) (map[string]struct{}, error) {
	if g, ok := c.grants.Get(partnerID); ok {
		return g, nil
	}
	t := c.grants.Begin()
	ids, err := c.db.PartnerVenueIDs(ctx, partnerID)
	if err != nil {
		return nil, err
	}
	g := make(map[string]struct{}, len(ids))
	for _, id := range ids {
		g[id] = struct{}{}
	}
	c.grants.Put(t, partnerID, g)
	return g, nil
}

// invalidate drops what a change concerns.
func (c *catalog) invalidate(ch store.Change) {
	switch ch.Kind {
	case store.ChangeVenue:
		c.venues.Invalidate(func(id string, _ keptVenue) bool { return id == ch.ID })
	case store.ChangePartner:
		c.grants.Invalidate(func(id string, _ map[string]struct{}) bool { return ch.ID == "" || id == ch.ID })
	case store.ChangeAll:
		c.venues.Clear()
		c.grants.Clear()
	}
}

// CacheStats reports the venue caches' lookups, and the search answers'.
func (s *Reservations) CacheStats() []cache.Stats {
	return append([]cache.Stats{s.catalog.venues.Stats(), s.catalog.grants.Stats()}, s.searches.stats()...)
}
