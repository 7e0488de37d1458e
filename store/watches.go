package store

import (
	"context"
	"time"
)

// Watch statuses the queries rely on (Watch.Status).
const (
	WatchActive    = "active"
	WatchMatched   = "matched"
	WatchHeld      = "held"
	WatchExpired   = "expired"
	WatchCancelled = "cancelled"
)

// Watch is a partner's request to be told, or to have a table held for a guest, when a
// table matching it frees up (migration 00020). Exactly one of VenueID and CityKey is set.
type Watch struct {
	ID               string     `gorm:"column:id;primaryKey"` // wat_…
	PartnerID        string     `gorm:"column:partner_id"`
	TokenID          string     `gorm:"column:token_id"`
	VenueID          string     `gorm:"column:venue_id"`
	City             string     `gorm:"column:city"`
	CityKey          string     `gorm:"column:city_key"` // lower(city)
	LocalDate        string     `gorm:"column:local_date"`
	TimeFrom         string     `gorm:"column:time_from"`
	TimeTo           string     `gorm:"column:time_to"`
	PartySize        int        `gorm:"column:party_size"`
	SlotType         string     `gorm:"column:slot_type"` // "" for any
	GuestFirstName   string     `gorm:"column:guest_first_name"`
	GuestLastName    string     `gorm:"column:guest_last_name"`
	GuestEmail       string     `gorm:"column:guest_email"`
	GuestPhone       string     `gorm:"column:guest_phone"`
	Notes            string     `gorm:"column:notes"`
	PartnerReference string     `gorm:"column:partner_reference"`
	AutoHold         bool       `gorm:"column:auto_hold"`
	Status           string     `gorm:"column:status"`
	SlotID           *string    `gorm:"column:slot_id"`
	ReservationID    *string    `gorm:"column:reservation_id"`
	ExpiresAt        time.Time  `gorm:"column:expires_at"`
	MatchedAt        *time.Time `gorm:"column:matched_at"`
	CancelledAt      *time.Time `gorm:"column:cancelled_at"`
	CreatedAt        time.Time  `gorm:"column:created_at"`
	UpdatedAt        time.Time  `gorm:"column:updated_at"`
	// PartnerAllVenues is the partner's all_venues, read by MatchingWatches only.
	PartnerAllVenues bool `gorm:"->;column:partner_all_venues"`
}

// TableName is watches.
func (Watch) TableName() string { return "watches" }

// InsertWatch inserts w, and runs also in the same transaction. Times are normalised in
// place.
func (db *DB) InsertWatch(ctx context.Context, w *Watch, also ...Step) error {
	w.ExpiresAt, w.CreatedAt, w.UpdatedAt = dbTime(w.ExpiresAt), dbTime(w.CreatedAt), dbTime(w.UpdatedAt)
	return db.Transact(ctx, func(tx *Tx) error {
		if err := tx.g.Create(w).Error; err != nil {
			return wrap("insert watch", err)
		}
		return tx.run(also)
	})
}

// GetWatch returns one of the partner's watches; ErrNotFound if there is none, or it is
// another partner's.
func (db *DB) GetWatch(ctx context.Context, partnerID, id string) (Watch, error) {
	var w Watch
	err := db.q(ctx).Where("id = ? AND partner_id = ?", id, partnerID).Take(&w).Error
	return w, wrap("get watch", err)
}

// ListWatches lists the partner's watches (of one status, unless status is ""), newest
// first. The bool reports whether more rows follow the page.
func (db *DB) ListWatches(ctx context.Context, partnerID, status string, p Page) ([]Watch, bool, error) {
	g := db.q(ctx).Where("partner_id = ?", partnerID)
	if status != "" {
		g = g.Where("status = ?", status)
	}
	if p.StartingAfter != "" {
		var n int64
		if err := db.q(ctx).Model(&Watch{}).Where("partner_id = ? AND id = ?", partnerID, p.StartingAfter).Count(&n).Error; err != nil {
			return nil, false, wrap("list watches: starting_after", err)
		}
		if n == 0 {
			return nil, false, wrap("list watches: starting_after", ErrNotFound)
		}
		g = g.Where("id < ?", p.StartingAfter)
	}
	limit := pageLimit(p)
	var out []Watch
	if err := g.Order("id DESC").Limit(limit + 1).Find(&out).Error; err != nil {
		return nil, false, wrap("list watches", err)
	}
	return trimPage(out, limit)
}

// CancelWatch cancels one of the partner's watches if it is still active, and reports
// whether it did; the watch is returned as it now stands. ErrNotFound if there is none.
func (db *DB) CancelWatch(ctx context.Context, partnerID, id string, now time.Time, also ...Step) (Watch, bool, error) {
	var (
		w  Watch
		ok bool
	)
	err := db.Transact(ctx, func(tx *Tx) error {
		now := dbTime(now)
		res := tx.g.Model(&Watch{}).Where("id = ? AND partner_id = ? AND status = ?", id, partnerID, WatchActive).
			UpdateColumns(map[string]any{"status": WatchCancelled, "cancelled_at": now, "updated_at": now})
		if res.Error != nil {
			return wrap("cancel watch", res.Error)
		}
		ok = res.RowsAffected == 1
		if err := tx.g.Where("id = ? AND partner_id = ?", id, partnerID).Take(&w).Error; err != nil {
			return wrap("cancel watch", err)
		}
		if ok {
			return tx.run(also)
		}
		return nil
	})
	return w, ok, err
}

// MatchingWatches returns up to limit active, unexpired watches the slot answers, of
// partners that may sell its venue, oldest first across all partners: the slot's date,
// its venue (or its venue's city), its local time within the window, its party-size
// range holding the party, and its type when the watch names one. sl needs its Venue.
func (tx *Tx) MatchingWatches(sl Slot, now time.Time, limit int) ([]Watch, error) {
	if limit <= 0 {
		limit = defaultSweep
	}
	var out []Watch
	err := tx.g.Model(&Watch{}).Select("watches.*, p.all_venues AS partner_all_venues").
		Joins("JOIN partners p ON p.id = watches.partner_id").
		Where("watches.status = ? AND watches.local_date = ? AND watches.expires_at > ?", WatchActive, sl.LocalDate, dbTime(now)).
		Where("(watches.venue_id = ? OR (watches.venue_id = '' AND watches.city_key = ?))", sl.VenueID, sl.Venue.CityKey).
		Where("watches.time_from <= ? AND watches.time_to >= ?", sl.LocalTime, sl.LocalTime).
		Where("watches.party_size >= ? AND watches.party_size <= ?", sl.PartySizeMin, sl.PartySizeMax).
		Where("(watches.slot_type = '' OR watches.slot_type = ?)", sl.Type).
		Where("(p.all_venues = ? OR EXISTS (SELECT 1 FROM partner_venues pv WHERE pv.partner_id = p.id AND pv.venue_id = ?))", true, sl.VenueID).
		Order("watches.created_at, watches.id").Limit(limit).
		Find(&out).Error
	return out, wrap("matching watches", err)
}

// SetWatchMatched moves an active watch to status (matched or held) with the slot and,
// for held, the reservation made for it: a conditional update from active, so a watch
// is given one table once, whoever tries. It reports whether it did, and returns the
// watch as it then stands.
func (tx *Tx) SetWatchMatched(id, status, slotID string, reservationID *string, now time.Time) (Watch, bool, error) {
	now = dbTime(now)
	res := tx.g.Model(&Watch{}).Where("id = ? AND status = ? AND expires_at > ?", id, WatchActive, now).
		UpdateColumns(map[string]any{
			"status": status, "slot_id": slotID, "reservation_id": reservationID,
			"matched_at": now, "updated_at": now,
		})
	if res.Error != nil {
		return Watch{}, false, wrap("set watch matched", res.Error)
	}
	var w Watch
	if err := tx.g.Where("id = ?", id).Take(&w).Error; err != nil {
		return Watch{}, false, wrap("set watch matched", err)
	}
	return w, res.RowsAffected == 1, nil
}

// ExpireWatches expires up to limit active watches whose window ended at or before now,
// and returns how many.
func (db *DB) ExpireWatches(ctx context.Context, now time.Time, limit int) (int, error) {
	if limit <= 0 {
		limit = defaultSweep
	}
	now = dbTime(now)
	var due []string
	if err := db.q(ctx).Model(&Watch{}).Where("status = ? AND expires_at <= ?", WatchActive, now).
		Order("expires_at, id").Limit(limit).Pluck("id", &due).Error; err != nil {
		return 0, wrap("expire watches", err)
	}
	if len(due) == 0 {
		return 0, nil
	}
	inDue, dueIDs := idIn(db.dialect, "id", due)
	res := db.q(ctx).Model(&Watch{}).Where(inDue+" AND status = ? AND expires_at <= ?", dueIDs, WatchActive, now).
		UpdateColumns(map[string]any{"status": WatchExpired, "updated_at": now})
	return int(res.RowsAffected), wrap("expire watches", res.Error)
}

// FreeSlotsFor returns the ids of open slots, starting after now, that the watch
// matches and whose shared pool has a table (of the venue, or of the city's venues the
// partner may sell), earliest first: what a new watch can be matched with at once.
func (db *DB) FreeSlotsFor(ctx context.Context, s Scope, w Watch, now time.Time) ([]string, error) {
	g := db.q(ctx).Model(&Slot{}).Scopes(inScope(s, "slots.venue_id"), bookable("", w.PartySize, now)).
		Where("slots.local_date = ? AND slots.local_time >= ? AND slots.local_time <= ?", w.LocalDate, w.TimeFrom, w.TimeTo)
	if w.VenueID != "" {
		g = g.Where("slots.venue_id = ?", w.VenueID)
	} else {
		g = g.Where("slots.city_key = ?", w.CityKey)
	}
	if w.SlotType != "" {
		g = g.Where("slots.type = ?", w.SlotType)
	}
	var out []string
	err := g.Order("slots.starts_at, slots.id").Limit(20).Pluck("slots.id", &out).Error
	return out, wrap("free slots for watch", err)
}

// VenueZoneInCity returns the time zone of a venue the scope may see in the city
// (lower-cased key); ErrNotFound if it may see none there.
func (db *DB) VenueZoneInCity(ctx context.Context, s Scope, cityKey string) (string, error) {
	var v Venue
	err := db.q(ctx).Scopes(inScope(s, "venues.id")).Select("time_zone").Where("venues.city_key = ?", cityKey).
		Order("venues.id").Take(&v).Error
	return v.TimeZone, wrap("venue zone in city", err)
}

// WatchedPlace is where active watches wait: a day of a venue, or of a city (VenueID "").
type WatchedPlace struct {
	LocalDate, VenueID, CityKey string
}

// WatchedPlaces is a set of places with active watches.
type WatchedPlaces map[WatchedPlace]bool

// WatchedPlaces returns the places with an active watch on one of dates, so a feed
// matches freed tables only where a watch could take them.
func (tx *Tx) WatchedPlaces(dates []string, now time.Time) (WatchedPlaces, error) {
	out := WatchedPlaces{}
	if len(dates) == 0 {
		return out, nil
	}
	var rows []WatchedPlace
	err := tx.g.Model(&Watch{}).Distinct("local_date", "venue_id", "city_key").
		Where("status = ? AND expires_at > ? AND local_date IN ?", WatchActive, dbTime(now), dates).
		Find(&rows).Error
	if err != nil {
		return nil, wrap("watched places", err)
	}
	for _, r := range rows {
		if r.VenueID != "" {
			r.CityKey = ""
		}
		out[r] = true
	}
	return out, nil
}

// Watched reports whether places hold a watch that could take a table of sl.
func (places WatchedPlaces) Watched(sl Slot) bool {
	return places[WatchedPlace{LocalDate: sl.LocalDate, VenueID: sl.VenueID}] ||
		places[WatchedPlace{LocalDate: sl.LocalDate, CityKey: sl.Venue.CityKey}]
}
