package store

import (
	"context"
	"sort"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// insertBatch rows per INSERT when seeding: about 20 columns × 500 rows stays far below
// SQLite's 32766 bound variables per statement (and PostgreSQL's 65535).
const insertBatch = 500

// Slot statuses the queries rely on.
const (
	slotOpen      = "open"
	slotWithdrawn = "withdrawn"
)

// inScope restricts a query to the venues s may see; col is the venue id column of the
// query's table ("venues.id", "slots.venue_id").
func inScope(s Scope, col string) func(*gorm.DB) *gorm.DB {
	return func(g *gorm.DB) *gorm.DB {
		if s.AllVenues {
			return g
		}
		return g.Where(col+" IN (SELECT pv.venue_id FROM partner_venues pv WHERE pv.partner_id = ?)", s.PartnerID)
	}
}

// venueCol names a column of the venue joined to a slot or reservation by Joins("Venue"),
// which GORM aliases as "Venue".
func venueCol(name string) clause.Column { return clause.Column{Table: "Venue", Name: name} }

// ListVenues lists the venues s may see, filtered by f, ordered by name_key then id. The
// bool reports whether more rows follow the page.
func (db *DB) ListVenues(ctx context.Context, s Scope, f VenueFilter, p Page) ([]Venue, bool, error) {
	q := db.q(ctx).Model(&Venue{}).Scopes(inScope(s, "venues.id"))
	if f.City != "" {
		q = q.Where("venues.city_key = ?", strings.ToLower(f.City))
	}
	if f.Cuisine != "" {
		q = q.Where("venues.cuisine_key = ?", strings.ToLower(f.Cuisine))
	}
	if f.Query != "" {
		q = q.Where(`venues.name_key LIKE ? ESCAPE '\'`, "%"+escapeLike(strings.ToLower(f.Query))+"%")
	}
	if p.StartingAfter != "" {
		var after Venue
		err := db.q(ctx).Scopes(inScope(s, "venues.id")).Select("id", "name_key").
			Where("venues.id = ?", p.StartingAfter).Take(&after).Error
		if err != nil {
			return nil, false, wrap("list venues: starting_after", err)
		}
		q = q.Where("(venues.name_key, venues.id) > (?, ?)", after.NameKey, after.ID)
	}
	limit := pageLimit(p)
	var out []Venue
	if err := q.Order("venues.name_key, venues.id").Limit(limit + 1).Find(&out).Error; err != nil {
		return nil, false, wrap("list venues", err)
	}
	return trimPage(out, limit)
}

// trimPage cuts a result fetched with limit+1 rows to limit, reporting whether more follow.
func trimPage[T any](rows []T, limit int) ([]T, bool, error) {
	if len(rows) > limit {
		return rows[:limit], true, nil
	}
	return rows, false, nil
}

// GetVenue returns one venue; ErrNotFound if it does not exist or s may not see it.
func (db *DB) GetVenue(ctx context.Context, s Scope, id string) (Venue, error) {
	var v Venue
	err := db.q(ctx).Scopes(inScope(s, "venues.id")).Where("venues.id = ?", id).Take(&v).Error
	if err != nil {
		return Venue{}, wrap("get venue", err)
	}
	return v, nil
}

// GetSlot returns one slot with its Venue; ErrNotFound if it does not exist or s may not
// see its venue.
func (db *DB) GetSlot(ctx context.Context, s Scope, id string) (Slot, error) {
	return getSlot(db.q(ctx), s, id)
}

// GetSlot is (*DB).GetSlot inside the transaction. It takes no lock: TakeTable,
// TakeTableFor and the releases are the conditional updates that decide.
func (tx *Tx) GetSlot(s Scope, id string) (Slot, error) {
	return getSlot(tx.g, s, id)
}

func getSlot(g *gorm.DB, s Scope, id string) (Slot, error) {
	var sl Slot
	err := g.InnerJoins("Venue").Scopes(inScope(s, "slots.venue_id")).
		Where("slots.id = ?", id).Take(&sl).Error
	if err != nil {
		return Slot{}, wrap("get slot", err)
	}
	return sl, nil
}

// bookable restricts slots to those open, starting after now (when set), with a table
// left for the partner and taking a party of partySize (when > 0). A table is left in
// the shared pool (tables_taken + tables_reserved < tables), or in the partner's own
// allocation of the slot while it is not released and its release time is ahead.
func bookable(partnerID string, partySize int, now time.Time) func(*gorm.DB) *gorm.DB {
	return func(g *gorm.DB) *gorm.DB {
		g = g.Where("slots.status = ?", slotOpen)
		if partnerID == "" {
			g = g.Where("slots.tables_taken + slots.tables_reserved < slots.tables")
		} else {
			// tables_reserved > 0 first: slots without allocations never reach the subquery.
			g = g.Where("(slots.tables_taken + slots.tables_reserved < slots.tables OR (slots.tables_reserved > 0 AND EXISTS ("+
				"SELECT 1 FROM slot_allocations sa WHERE sa.slot_id = slots.id AND sa.partner_id = ? AND sa.released = ? "+
				"AND sa.release_at > ? AND sa.tables_taken < sa.tables)))", partnerID, false, dbTime(now))
		}
		if partySize > 0 {
			g = g.Where("slots.party_size_min <= ? AND slots.party_size_max >= ?", partySize, partySize)
		}
		if !now.IsZero() {
			g = g.Where("slots.starts_at > ?", dbTime(now))
		}
		return g
	}
}

// SearchSlots returns bookable slots matching q that s may see, each with its Venue,
// ordered by starts_at, venue_id, id. The bool reports whether more rows follow the page.
func (db *DB) SearchSlots(ctx context.Context, s Scope, q SlotQuery, p Page) ([]Slot, bool, error) {
	g := db.q(ctx).Model(&Slot{}).InnerJoins("Venue").
		Scopes(inScope(s, "slots.venue_id"), bookable(s.PartnerID, q.PartySize, q.Now))
	if q.LocalDate != "" {
		g = g.Where("slots.local_date = ?", q.LocalDate)
	}
	if q.VenueID != "" {
		g = g.Where("slots.venue_id = ?", q.VenueID)
	}
	if q.City != "" {
		city := strings.ToLower(q.City)
		// slots.city_key is the venue's, kept by the database (migration 00005); on it
		// the search is one range of slots_city_search_idx instead of a scan of the date.
		g = g.Where("slots.city_key = ?", city).
			Where(clause.Eq{Column: venueCol("city_key"), Value: city})
	}
	if q.Cuisine != "" {
		g = g.Where(clause.Eq{Column: venueCol("cuisine_key"), Value: strings.ToLower(q.Cuisine)})
	}
	if q.TimeFrom != "" {
		g = g.Where("slots.local_time >= ?", q.TimeFrom)
	}
	if q.TimeTo != "" {
		g = g.Where("slots.local_time <= ?", q.TimeTo)
	}
	if q.SeatingArea != "" {
		g = g.Where("slots.seating_area = ?", q.SeatingArea)
	}
	if q.Type != "" {
		g = g.Where("slots.type = ?", q.Type)
	}
	if p.StartingAfter != "" {
		var after Slot
		err := db.q(ctx).Scopes(inScope(s, "slots.venue_id")).Select("id", "venue_id", "starts_at").
			Where("slots.id = ?", p.StartingAfter).Take(&after).Error
		if err != nil {
			return nil, false, wrap("search slots: starting_after", err)
		}
		g = g.Where("(slots.starts_at, slots.venue_id, slots.id) > (?, ?, ?)",
			dbTime(after.StartsAt), after.VenueID, after.ID)
	}
	limit := pageLimit(p)
	var out []Slot
	if err := g.Order("slots.starts_at, slots.venue_id, slots.id").Limit(limit + 1).Find(&out).Error; err != nil {
		return nil, false, wrap("search slots", err)
	}
	return trimPage(out, limit)
}

// NearbySlots returns up to n bookable slots of the venue (open, a table left, taking
// partySize, starting after now), other than excludeID, whose start is nearest to around,
// each with its Venue, ordered by starts_at. It is for offering alternatives when a slot
// is gone.
func (db *DB) NearbySlots(ctx context.Context, s Scope, venueID string, around time.Time, partySize, n int, excludeID string, now time.Time) ([]Slot, error) {
	if n <= 0 {
		return nil, nil
	}
	around = dbTime(around)
	base := func() *gorm.DB {
		g := db.q(ctx).Model(&Slot{}).InnerJoins("Venue").
			Scopes(inScope(s, "slots.venue_id"), bookable(s.PartnerID, partySize, now)).
			Where("slots.venue_id = ?", venueID)
		if excludeID != "" {
			g = g.Where("slots.id <> ?", excludeID)
		}
		return g
	}
	// The n nearest are among the n first at or after `around` and the n last before it;
	// two indexed range scans instead of a dialect-specific ORDER BY abs(…).
	var after, before []Slot
	if err := base().Where("slots.starts_at >= ?", around).
		Order("slots.starts_at, slots.id").Limit(n).Find(&after).Error; err != nil {
		return nil, wrap("nearby slots", err)
	}
	if err := base().Where("slots.starts_at < ?", around).
		Order("slots.starts_at DESC, slots.id DESC").Limit(n).Find(&before).Error; err != nil {
		return nil, wrap("nearby slots", err)
	}
	all := append(after, before...)
	dist := func(t time.Time) time.Duration {
		if d := t.Sub(around); d >= 0 {
			return d
		}
		return around.Sub(t)
	}
	// Nearest first; on a tie the earlier slot wins.
	sort.SliceStable(all, func(i, j int) bool {
		di, dj := dist(all[i].StartsAt), dist(all[j].StartsAt)
		if di != dj {
			return di < dj
		}
		return all[i].StartsAt.Before(all[j].StartsAt)
	})
	if len(all) > n {
		all = all[:n]
	}
	sort.SliceStable(all, func(i, j int) bool {
		if !all[i].StartsAt.Equal(all[j].StartsAt) {
			return all[i].StartsAt.Before(all[j].StartsAt)
		}
		return all[i].ID < all[j].ID
	})
	return all, nil
}

// InsertVenues inserts venues in batches, in one transaction.
func (db *DB) InsertVenues(ctx context.Context, vs []Venue) error {
	if len(vs) == 0 {
		return nil
	}
	rows := make([]Venue, len(vs))
	for i, v := range vs {
		v.CreatedAt = dbTime(v.CreatedAt)
		rows[i] = v
	}
	err := db.q(ctx).Transaction(func(g *gorm.DB) error {
		return g.CreateInBatches(rows, insertBatch).Error
	})
	return wrap("insert venues", err)
}

// InsertSlots inserts slots in batches, in one transaction. The Venue field is ignored.
func (db *DB) InsertSlots(ctx context.Context, ss []Slot) error {
	if len(ss) == 0 {
		return nil
	}
	rows := make([]Slot, len(ss))
	for i, s := range ss {
		s.StartsAt = dbTime(s.StartsAt)
		s.CreatedAt = dbTime(s.CreatedAt)
		s.UpdatedAt = dbTime(s.UpdatedAt)
		s.Venue = Venue{}
		rows[i] = s
	}
	err := db.q(ctx).Transaction(func(g *gorm.DB) error {
		return g.Omit(clause.Associations).CreateInBatches(rows, insertBatch).Error
	})
	return wrap("insert slots", err)
}

// CountVenues counts every venue (to tell whether the catalog was seeded).
func (db *DB) CountVenues(ctx context.Context) (int64, error) {
	var n int64
	if err := db.q(ctx).Model(&Venue{}).Count(&n).Error; err != nil {
		return 0, wrap("count venues", err)
	}
	return n, nil
}
