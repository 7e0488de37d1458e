package store

import (
	"context"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Venue operators: their accounts, the venues they manage, and the inventory they
// publish (venues, schedules, slots, closures). Every query of an operator's data is
// restricted to the operator's venues, so another operator's venue is ErrNotFound.

// CreateOperator inserts o; ErrConflict if its id or name is taken.
func (db *DB) CreateOperator(ctx context.Context, o *Operator) error {
	o.CreatedAt = dbTime(o.CreatedAt)
	return wrap("create operator", db.q(ctx).Create(o).Error)
}

// GetOperatorByName returns the operator of that name; ErrNotFound if none.
func (db *DB) GetOperatorByName(ctx context.Context, name string) (Operator, error) {
	var o Operator
	if err := db.q(ctx).Where("name = ?", name).Take(&o).Error; err != nil {
		return Operator{}, wrap("get operator by name", err)
	}
	return o, nil
}

// GrantOperatorVenues lets an operator manage the venues; venues already granted are
// left alone. ErrNotFound if one of them does not exist (nothing is granted then).
func (db *DB) GrantOperatorVenues(ctx context.Context, operatorID string, venueIDs []string) error {
	if len(venueIDs) == 0 {
		return nil
	}
	return db.Transact(ctx, func(tx *Tx) error {
		var n int64
		if err := tx.g.Model(&Venue{}).Where(idIn(tx.dialect, "id", venueIDs)).Count(&n).Error; err != nil {
			return wrap("grant operator venues", err)
		}
		if int(n) != len(uniq(venueIDs)) {
			return wrap("grant operator venues", ErrNotFound)
		}
		return tx.grantOperatorVenues(operatorID, venueIDs)
	})
}

func (tx *Tx) grantOperatorVenues(operatorID string, venueIDs []string) error {
	rows := make([]OperatorVenue, len(venueIDs))
	for i, id := range venueIDs {
		rows[i] = OperatorVenue{OperatorID: operatorID, VenueID: id}
	}
	err := tx.g.Clauses(clause.OnConflict{DoNothing: true}).CreateInBatches(rows, insertBatch).Error
	return wrap("grant operator venues", err)
}

func uniq(in []string) map[string]bool {
	m := make(map[string]bool, len(in))
	for _, s := range in {
		m[s] = true
	}
	return m
}

// OperatorVenueIDs lists the ids of the venues an operator manages, in id order.
func (db *DB) OperatorVenueIDs(ctx context.Context, operatorID string) ([]string, error) {
	var out []string
	err := db.q(ctx).Model(&OperatorVenue{}).Where("operator_id = ?", operatorID).
		Order("venue_id").Pluck("venue_id", &out).Error
	return out, wrap("operator venue ids", err)
}

// ofOperator restricts a query to the venues an operator manages; col is the venue id
// column of the query's table.
func ofOperator(operatorID, col string) func(*gorm.DB) *gorm.DB {
	return func(g *gorm.DB) *gorm.DB {
		return g.Where(col+" IN (SELECT ov.venue_id FROM operator_venues ov WHERE ov.operator_id = ?)", operatorID)
	}
}

// CreateOperatorVenue inserts v and grants it to the operator, and runs also, in one
// transaction.
func (db *DB) CreateOperatorVenue(ctx context.Context, operatorID string, v *Venue, also ...Step) error {
	v.CreatedAt = dbTime(v.CreatedAt)
	return db.Transact(ctx, func(tx *Tx) error {
		if err := tx.g.Create(v).Error; err != nil {
			return wrap("create venue", err)
		}
		if err := tx.grantOperatorVenues(operatorID, []string{v.ID}); err != nil {
			return err
		}
		return tx.run(also)
	})
}

// GetOperatorVenue returns one of the operator's venues; ErrNotFound if it does not
// exist or another operator manages it.
func (db *DB) GetOperatorVenue(ctx context.Context, operatorID, id string) (Venue, error) {
	var v Venue
	err := db.q(ctx).Scopes(ofOperator(operatorID, "venues.id")).Where("venues.id = ?", id).Take(&v).Error
	if err != nil {
		return Venue{}, wrap("get operator venue", err)
	}
	return v, nil
}

// ListOperatorVenues lists the operator's venues by id. The bool reports whether more
// rows follow the page.
func (db *DB) ListOperatorVenues(ctx context.Context, operatorID string, p Page) ([]Venue, bool, error) {
	g := db.q(ctx).Model(&Venue{}).Scopes(ofOperator(operatorID, "venues.id"))
	if p.StartingAfter != "" {
		if _, err := db.GetOperatorVenue(ctx, operatorID, p.StartingAfter); err != nil {
			return nil, false, wrap("list operator venues: starting_after", err)
		}
		g = g.Where("venues.id > ?", p.StartingAfter)
	}
	limit := pageLimit(p)
	var out []Venue
	if err := g.Order("venues.id").Limit(limit + 1).Find(&out).Error; err != nil {
		return nil, false, wrap("list operator venues", err)
	}
	return trimPage(out, limit)
}

// UpdateOperatorVenue writes every column of v except id and created_at, if the
// operator manages it; ErrNotFound otherwise. The database keeps the venue's slots'
// city_key in step (migration 00005).
func (db *DB) UpdateOperatorVenue(ctx context.Context, operatorID string, v *Venue) error {
	res := db.q(ctx).Session(&gorm.Session{SkipHooks: true}).Model(&Venue{}).
		Scopes(ofOperator(operatorID, "venues.id")).Where("venues.id = ?", v.ID).
		Select("*").Omit("id", "created_at").Updates(v)
	if res.Error != nil {
		return wrap("update venue", res.Error)
	}
	if res.RowsAffected == 0 {
		return wrap("update venue", ErrNotFound)
	}
	db.inv.publish(Change{Kind: ChangeVenue, ID: v.ID})
	return nil
}

// CreateSchedule inserts a schedule (its venue must be the operator's; the caller checks)
// and runs also in the same transaction.
func (db *DB) CreateSchedule(ctx context.Context, s *Schedule, also ...Step) error {
	s.CreatedAt, s.UpdatedAt = dbTime(s.CreatedAt), dbTime(s.UpdatedAt)
	return db.Transact(ctx, func(tx *Tx) error {
		if err := tx.g.Create(s).Error; err != nil {
			return wrap("create schedule", err)
		}
		return tx.run(also)
	})
}

// GetSchedule returns one schedule; ErrNotFound if none.
func (db *DB) GetSchedule(ctx context.Context, id string) (Schedule, error) {
	var s Schedule
	if err := db.q(ctx).Where("id = ?", id).Take(&s).Error; err != nil {
		return Schedule{}, wrap("get schedule", err)
	}
	return s, nil
}

// ListSchedules lists a venue's schedules by id.
func (db *DB) ListSchedules(ctx context.Context, venueID string) ([]Schedule, error) {
	var out []Schedule
	err := db.q(ctx).Where("venue_id = ?", venueID).Order("id").Find(&out).Error
	return out, wrap("list schedules", err)
}

// ActiveSchedules lists up to limit schedules after the id afterID (by id) whose last
// date is not before the local date today (or that are open-ended), for rolling their
// horizon forward.
func (db *DB) ActiveSchedules(ctx context.Context, today, afterID string, limit int) ([]Schedule, error) {
	if limit <= 0 {
		limit = defaultSweep
	}
	var out []Schedule
	err := db.q(ctx).Where("id > ?", afterID).Where("valid_until = '' OR valid_until >= ?", today).
		Order("id").Limit(limit).Find(&out).Error
	return out, wrap("active schedules", err)
}

// ListClosures lists a venue's closures that end on or after from, by start.
func (db *DB) ListClosures(ctx context.Context, venueID, from string) ([]Closure, error) {
	var out []Closure
	err := db.q(ctx).Where("venue_id = ? AND date_to >= ?", venueID, from).Order("date_from, id").Find(&out).Error
	return out, wrap("list closures", err)
}

// AddScheduleSlots inserts a schedule's generated slots, skipping those it has already
// (one slot per schedule and start), and records through as the last local date done,
// in one transaction. It returns how many slots were new.
func (db *DB) AddScheduleSlots(ctx context.Context, scheduleID string, slots []Slot, through string, now time.Time) (int, error) {
	rows := make([]Slot, len(slots))
	for i, s := range slots {
		s.StartsAt, s.CreatedAt, s.UpdatedAt = dbTime(s.StartsAt), dbTime(s.CreatedAt), dbTime(s.UpdatedAt)
		s.Venue = Venue{}
		rows[i] = s
	}
	added := 0
	err := db.Transact(ctx, func(tx *Tx) error {
		added = 0
		for start := 0; start < len(rows); start += insertBatch {
			batch := rows[start:min(start+insertBatch, len(rows))]
			res := tx.g.Omit(clause.Associations).Clauses(clause.OnConflict{DoNothing: true}).Create(&batch)
			if res.Error != nil {
				return wrap("add schedule slots", res.Error)
			}
			added += int(res.RowsAffected)
		}
		err := tx.g.Model(&Schedule{}).Where("id = ? AND generated_through < ?", scheduleID, through).
			UpdateColumns(map[string]any{"generated_through": through, "updated_at": dbTime(now)}).Error
		tx.invalidate(ChangeSlots, "")
		return wrap("add schedule slots", err)
	})
	return added, err
}

// InsertSlot inserts one slot (a one-off, or for tests) and runs also in the same
// transaction.
func (db *DB) InsertSlot(ctx context.Context, s *Slot, also ...Step) error {
	s.StartsAt, s.CreatedAt, s.UpdatedAt = dbTime(s.StartsAt), dbTime(s.CreatedAt), dbTime(s.UpdatedAt)
	if len(also) == 0 {
		err := db.q(ctx).Omit(clause.Associations).Create(s).Error
		if err == nil {
			db.slotsChanged()
		}
		return wrap("insert slot", err)
	}
	return db.Transact(ctx, func(tx *Tx) error {
		if err := tx.g.Omit(clause.Associations).Create(s).Error; err != nil {
			return wrap("insert slot", err)
		}
		tx.invalidate(ChangeSlots, "")
		return tx.run(also)
	})
}

// OperatorSlotFilter narrows ListOperatorSlots. Empty fields do not filter.
type OperatorSlotFilter struct {
	VenueID          string
	DateFrom, DateTo string // local dates, inclusive
	Status           string // open | withdrawn
}

// ListOperatorSlots lists the slots of the operator's venues matching f, by start then
// id, each with its Venue. The bool reports whether more rows follow the page.
func (db *DB) ListOperatorSlots(ctx context.Context, operatorID string, f OperatorSlotFilter, p Page) ([]Slot, bool, error) {
	g := db.q(ctx).Model(&Slot{}).InnerJoins("Venue").Scopes(ofOperator(operatorID, "slots.venue_id"))
	if f.VenueID != "" {
		g = g.Where("slots.venue_id = ?", f.VenueID)
	}
	if f.DateFrom != "" {
		g = g.Where("slots.local_date >= ?", f.DateFrom)
	}
	if f.DateTo != "" {
		g = g.Where("slots.local_date <= ?", f.DateTo)
	}
	if f.Status != "" {
		g = g.Where("slots.status = ?", f.Status)
	}
	if p.StartingAfter != "" {
		after, err := db.GetOperatorSlot(ctx, operatorID, p.StartingAfter)
		if err != nil {
			return nil, false, wrap("list operator slots: starting_after", err)
		}
		g = g.Where("(slots.starts_at, slots.id) > (?, ?)", dbTime(after.StartsAt), after.ID)
	}
	limit := pageLimit(p)
	var out []Slot
	if err := g.Order("slots.starts_at, slots.id").Limit(limit + 1).Find(&out).Error; err != nil {
		return nil, false, wrap("list operator slots", err)
	}
	return trimPage(out, limit)
}

// GetOperatorSlot returns one slot of the operator's venues, with its Venue; ErrNotFound
// if it does not exist or another operator manages its venue.
func (db *DB) GetOperatorSlot(ctx context.Context, operatorID, id string) (Slot, error) {
	var s Slot
	err := db.q(ctx).InnerJoins("Venue").Scopes(ofOperator(operatorID, "slots.venue_id")).
		Where("slots.id = ?", id).Take(&s).Error
	if err != nil {
		return Slot{}, wrap("get operator slot", err)
	}
	return s, nil
}

// SetSlotTables sets a slot's tables, never below the tables already held or booked plus
// those allocated to partners and unsold: a conditional update, so a hold racing with it
// either counts or is refused. It reports whether it was set; when not, the slot is
// returned as it is now (TablesTaken and TablesReserved say why). ErrNotFound if the operator has no such slot.
func (db *DB) SetSlotTables(ctx context.Context, operatorID, id string, tables int, now time.Time) (Slot, bool, error) {
	res := db.q(ctx).Model(&Slot{}).Scopes(ofOperator(operatorID, "slots.venue_id")).
		Where("slots.id = ? AND slots.tables_taken + slots.tables_reserved <= ?", id, tables).
		UpdateColumns(map[string]any{"tables": tables, "updated_at": dbTime(now)})
	if res.Error != nil {
		return Slot{}, false, wrap("set slot tables", res.Error)
	}
	db.slotsChanged()
	s, err := db.GetOperatorSlot(ctx, operatorID, id)
	if err != nil {
		return Slot{}, false, err
	}
	return s, res.RowsAffected == 1, nil
}

// SetSlotPaymentPolicy sets one of the operator's slots' own payment policy (policy ""
// follows the venue's); ErrNotFound if there is no such slot.
func (db *DB) SetSlotPaymentPolicy(ctx context.Context, operatorID, id, policy string, amount int64, per string, now time.Time) (Slot, error) {
	res := db.q(ctx).Model(&Slot{}).Scopes(ofOperator(operatorID, "slots.venue_id")).Where("slots.id = ?", id).
		UpdateColumns(map[string]any{
			"payment_policy": policy, "payment_policy_amount": amount, "payment_policy_per": per, "updated_at": dbTime(now),
		})
	if res.Error != nil {
		return Slot{}, wrap("set slot payment policy", res.Error)
	}
	db.slotsChanged()
	return db.GetOperatorSlot(ctx, operatorID, id)
}

// SetSlotStatus opens or withdraws one slot of the operator's; ErrNotFound if there is
// no such slot.
func (db *DB) SetSlotStatus(ctx context.Context, operatorID, id, status string, now time.Time) (Slot, error) {
	res := db.q(ctx).Model(&Slot{}).Scopes(ofOperator(operatorID, "slots.venue_id")).Where("slots.id = ?", id).
		UpdateColumns(map[string]any{"status": status, "updated_at": dbTime(now)})
	if res.Error != nil {
		return Slot{}, wrap("set slot status", res.Error)
	}
	db.slotsChanged()
	return db.GetOperatorSlot(ctx, operatorID, id)
}

// AddClosure inserts a closure and withdraws the venue's open slots it covers, and runs
// also, in one transaction. It returns how many slots it withdrew and how many held or confirmed
// reservations those slots carry (they stand; the venue deals with them).
func (db *DB) AddClosure(ctx context.Context, c *Closure, now time.Time, also ...Step) (withdrawn int, affected int64, err error) {
	c.CreatedAt = dbTime(c.CreatedAt)
	err = db.Transact(ctx, func(tx *Tx) error {
		if err := tx.g.Create(c).Error; err != nil {
			return wrap("add closure", err)
		}
		covered := coveredBy(c)
		res := tx.g.Model(&Slot{}).Scopes(covered).Where("slots.status = ?", slotOpen).
			UpdateColumns(map[string]any{"status": slotWithdrawn, "updated_at": dbTime(now)})
		if res.Error != nil {
			return wrap("add closure: withdraw slots", res.Error)
		}
		withdrawn = int(res.RowsAffected)
		tx.invalidate(ChangeSlots, "")
		if affected, err = tx.affectedBy(c); err != nil {
			return err
		}
		return tx.run(also)
	})
	return withdrawn, affected, err
}

// GetClosure returns one of a venue's closures, how many of the slots it covers it
// withdrew (those withdrawn when it was made and not changed since), and how many held or
// confirmed reservations those slots carry; ErrNotFound if the venue has no such closure.
func (db *DB) GetClosure(ctx context.Context, venueID, id string) (c Closure, withdrawn int, affected int64, err error) {
	err = db.Transact(ctx, func(tx *Tx) error {
		if err := tx.g.Where("venue_id = ? AND id = ?", venueID, id).Take(&c).Error; err != nil {
			return wrap("get closure", err)
		}
		var n int64
		if err := tx.g.Model(&Slot{}).Scopes(coveredBy(&c)).
			Where("slots.status = ? AND slots.updated_at = ?", slotWithdrawn, c.CreatedAt).Count(&n).Error; err != nil {
			return wrap("get closure: count slots", err)
		}
		withdrawn = int(n)
		affected, err = tx.affectedBy(&c)
		return err
	})
	return c, withdrawn, affected, err
}

// coveredBy narrows a query of slots to those of c's venue that c covers.
func coveredBy(c *Closure) func(*gorm.DB) *gorm.DB {
	return func(g *gorm.DB) *gorm.DB {
		g = g.Where("slots.venue_id = ? AND slots.local_date >= ? AND slots.local_date <= ?", c.VenueID, c.DateFrom, c.DateTo)
		if c.TimeFrom != "" {
			g = g.Where("slots.local_time >= ? AND slots.local_time <= ?", c.TimeFrom, c.TimeTo)
		}
		return g
	}
}

// affectedBy counts the held or confirmed reservations on the slots c covers.
func (tx *Tx) affectedBy(c *Closure) (int64, error) {
	var n int64
	err := tx.g.Model(&Reservation{}).
		Where("reservations.status IN ?", []string{resHeld, "confirmed"}).
		Where("reservations.slot_id IN (?)", tx.g.Model(&Slot{}).Select("slots.id").Scopes(coveredBy(c))).
		Count(&n).Error
	return n, wrap("closure: count reservations", err)
}

// GetOperatorReservation returns a reservation at one of the operator's venues, with its
// Venue; ErrNotFound if there is none.
func (db *DB) GetOperatorReservation(ctx context.Context, operatorID, id string) (Reservation, error) {
	var r Reservation
	err := db.q(ctx).Joins("Venue").Scopes(ofOperator(operatorID, "reservations.venue_id")).
		Where("reservations.id = ?", id).Take(&r).Error
	if err != nil {
		return Reservation{}, wrap("get operator reservation", err)
	}
	return r, nil
}

// PartnerNames maps partner ids to names.
func (db *DB) PartnerNames(ctx context.Context, ids []string) (map[string]string, error) {
	out := make(map[string]string, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	var rows []Partner
	if err := db.q(ctx).Select("id", "name").Where(idIn(db.dialect, "id", ids)).Find(&rows).Error; err != nil {
		return nil, wrap("partner names", err)
	}
	for _, p := range rows {
		out[p.ID] = p.Name
	}
	return out, nil
}
