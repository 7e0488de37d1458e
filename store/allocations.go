package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Partner allocations and the tables of a slot. A slot's tables are the shared pool and
// its allocations together: tables_taken counts every held or booked table,
// tables_reserved the unsold tables of its unreleased allocations. Every change of
// either is a conditional UPDATE of the slot's row (and, for an allocation's table, of
// the allocation's row first: allocation, then slot, in every path), so concurrent holds
// can never take more than Tables in all, nor shared-pool holds eat into an allocation.
// PostgreSQL's CHECK (tables_taken + tables_reserved <= tables) guards it again.

// releaseDueAllocations releases up to limit allocations (of one slot, or of every slot
// when slotID is "") whose release_at <= now: each is marked released by a conditional
// update, which locks it, and its unsold tables leave the slot's tables_reserved, so they
// are the shared pool's. It returns how many it released.
func (tx *Tx) releaseDueAllocations(slotID string, now time.Time, limit int) (int, error) {
	now = dbTime(now)
	g := tx.g.Model(&SlotAllocation{}).Where("released = ? AND release_at <= ?", false, now)
	if slotID != "" {
		g = g.Where("slot_id = ?", slotID)
	}
	var due []SlotAllocation
	if err := g.Order("release_at, id").Limit(limit).Find(&due).Error; err != nil {
		return 0, wrap("release due allocations", err)
	}
	n := 0
	for _, a := range due {
		res := tx.g.Model(&SlotAllocation{}).Where("id = ? AND released = ?", a.ID, false).
			UpdateColumns(map[string]any{"released": true, "updated_at": now})
		if res.Error != nil {
			return n, wrap("release allocation", res.Error)
		}
		if res.RowsAffected != 1 {
			continue // another transaction released it first
		}
		// The row is locked by the update above: its tables_taken is current and stays so.
		var cur SlotAllocation
		if err := tx.g.Where("id = ?", a.ID).Take(&cur).Error; err != nil {
			return n, wrap("release allocation", err)
		}
		if unsold := cur.Tables - cur.TablesTaken; unsold > 0 {
			tx.invalidate(ChangeSlots, "") // the shared pool grows: rare, so every answer goes
			err := tx.g.Model(&Slot{}).Where("id = ?", cur.SlotID).
				UpdateColumns(map[string]any{
					"tables_reserved": gorm.Expr("tables_reserved - ?", unsold),
					"updated_at":      now,
				}).Error
			if err != nil {
				return n, wrap("release allocation", err)
			}
		}
		n++
	}
	return n, nil
}

// ReleaseDueAllocations releases up to limit allocations whose release time has come, so
// searches offer their unsold tables to every partner (holds release them themselves).
func (db *DB) ReleaseDueAllocations(ctx context.Context, now time.Time, limit int) (int, error) {
	if limit <= 0 {
		limit = defaultSweep
	}
	n := 0
	err := db.Transact(ctx, func(tx *Tx) error {
		var err error
		n, err = tx.releaseDueAllocations("", now, limit)
		if n > 0 {
			tx.invalidate(ChangeSlots, "")
		}
		return err
	})
	return n, err
}

// TakeTable takes one table of an open slot from its shared pool if one is left: a
// single conditional UPDATE (tables_taken + tables_reserved < tables), so concurrent
// takers can never overbook nor take a table allocated to a partner. Allocations of the
// slot whose release time has come are released first. It reports whether a table was
// taken.
func (tx *Tx) TakeTable(slotID string, now time.Time) (bool, error) {
	if _, err := tx.releaseDueAllocations(slotID, now, defaultSweep); err != nil {
		return false, err
	}
	return tx.takeShared(slotID, now)
}

// takeSharedTable is takeShared's conditional update, run by every hold: written here,
// as GORM's building of it from a map of columns cost more than running it.
// It returns the slot's day and city, for the search answers that list it.
var takeSharedTable = newStmt(`UPDATE slots SET tables_taken = tables_taken + 1, updated_at = ? ` +
	`WHERE id = ? AND status = ? AND tables_taken + tables_reserved < tables ` +
	`RETURNING local_date, coalesce(city_key, '')`)

func (tx *Tx) takeShared(slotID string, now time.Time) (bool, error) {
	var day, city string
	err := takeSharedTable.queryRow(tx.g, dbTime(now), slotID, slotOpen).Scan(&day, &city)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, wrap("take table", err)
	}
	tx.invalidate(ChangeSlot, SlotChangeID(day, slotID, city))
	return true, nil
}

// TakeTableFor takes one table of an open slot for a partner: from the partner's
// allocation of the slot while it has an unsold table and its release time has not
// come, otherwise from the shared pool (TakeTable). seen is the slot as read in this
// transaction. It returns the allocation's id ("" for the shared pool) and whether a
// table was taken.
//
// When seen has no reserved tables, no allocation of the slot has an unsold table, so
// neither releasing nor the partner's allocation can change the answer: the shared
// pool's conditional update decides alone (an allocation made since is not due, and the
// update reads the slot's current row, so nothing is ever overbooked).
func (tx *Tx) TakeTableFor(seen Slot, partnerID string, now time.Time) (string, bool, error) {
	slotID := seen.ID
	if seen.TablesReserved == 0 {
		took, err := tx.takeShared(slotID, now)
		return "", took, err
	}
	if _, err := tx.releaseDueAllocations(slotID, now, defaultSweep); err != nil {
		return "", false, err
	}
	var a SlotAllocation
	err := tx.g.Where("slot_id = ? AND partner_id = ? AND released = ?", slotID, partnerID, false).Take(&a).Error
	switch {
	case errors.Is(err, gorm.ErrRecordNotFound):
	case err != nil:
		return "", false, wrap("take table", err)
	default:
		ts := dbTime(now)
		res := tx.g.Model(&SlotAllocation{}).
			Where("id = ? AND released = ? AND release_at > ? AND tables_taken < tables", a.ID, false, ts).
			UpdateColumns(map[string]any{"tables_taken": gorm.Expr("tables_taken + 1"), "updated_at": ts})
		if res.Error != nil {
			return "", false, wrap("take allocated table", res.Error)
		}
		if res.RowsAffected == 1 {
			// The allocation's unsold table moves from reserved to taken.
			res := tx.g.Model(&Slot{}).
				Where("id = ? AND status = ? AND tables_reserved > 0", slotID, slotOpen).
				UpdateColumns(map[string]any{
					"tables_taken":    gorm.Expr("tables_taken + 1"),
					"tables_reserved": gorm.Expr("tables_reserved - 1"),
					"updated_at":      ts,
				})
			if res.Error != nil {
				return "", false, wrap("take allocated table", res.Error)
			}
			if res.RowsAffected == 1 {
				tx.invalidate(ChangeSlots, "") // reserved to taken: rare, so every answer goes
				return a.ID, true, nil
			}
			// The slot was withdrawn meanwhile: give the allocation its table back.
			err := tx.g.Model(&SlotAllocation{}).Where("id = ?", a.ID).
				UpdateColumn("tables_taken", gorm.Expr("tables_taken - 1")).Error
			return "", false, wrap("take allocated table", err)
		}
	}
	took, err := tx.takeShared(slotID, now)
	return "", took, err
}

// ReleaseTableOf gives a reservation's table back: to its allocation while that is not
// released (the table is the partner's again), otherwise to the shared pool.
func (tx *Tx) ReleaseTableOf(r *Reservation, now time.Time) error {
	if r.AllocationID == nil {
		return tx.ReleaseTable(r.SlotID, now)
	}
	ts := dbTime(now)
	res := tx.g.Model(&SlotAllocation{}).Where("id = ? AND slot_id = ? AND tables_taken > 0", *r.AllocationID, r.SlotID).
		UpdateColumns(map[string]any{"tables_taken": gorm.Expr("tables_taken - 1"), "updated_at": ts})
	if res.Error != nil {
		return wrap("release allocated table", res.Error)
	}
	if res.RowsAffected == 0 {
		// Not this slot's allocation (the reservation moved) or nothing taken: the table
		// is the shared pool's.
		return tx.ReleaseTable(r.SlotID, now)
	}
	// Locked by the update: released cannot change before this transaction ends.
	var a SlotAllocation
	if err := tx.g.Select("released").Where("id = ?", *r.AllocationID).Take(&a).Error; err != nil {
		return wrap("release allocated table", err)
	}
	if a.Released {
		return tx.ReleaseTable(r.SlotID, now)
	}
	tx.invalidate(ChangeSlots, "") // taken back to reserved: rare, so every answer goes
	err := tx.g.Model(&Slot{}).Where("id = ? AND tables_taken > 0", r.SlotID).
		UpdateColumns(map[string]any{
			"tables_taken":    gorm.Expr("tables_taken - 1"),
			"tables_reserved": gorm.Expr("tables_reserved + 1"),
			"updated_at":      ts,
		}).Error
	return wrap("release allocated table", err)
}

// AllocationResult says how CreateAllocation went.
type AllocationResult int

// Outcomes of CreateAllocation.
const (
	AllocationCreated AllocationResult = iota
	// AllocationNoRoom: the slot's shared pool has fewer free tables than asked.
	AllocationNoRoom
	// AllocationExists: the partner already has an allocation of the slot.
	AllocationExists
)

// CreateAllocation keeps a.Tables of a slot of the operator's for a partner: the
// allocation is inserted and the slot's tables_reserved raised by a conditional update
// (only tables free in the shared pool can be allocated), in one transaction. On
// AllocationNoRoom the slot is returned as it is now. ErrNotFound if the operator has no
// such slot. also runs in the same transaction, after the allocation is made.
func (db *DB) CreateAllocation(ctx context.Context, operatorID string, a *SlotAllocation, also ...Step) (Slot, AllocationResult, error) {
	a.ReleaseAt, a.CreatedAt, a.UpdatedAt = dbTime(a.ReleaseAt), dbTime(a.CreatedAt), dbTime(a.UpdatedAt)
	result := AllocationCreated
	errNoRoom := errors.New("no room")
	var slot Slot
	err := db.Transact(ctx, func(tx *Tx) error {
		result = AllocationCreated
		if err := tx.g.InnerJoins("Venue").Scopes(ofOperator(operatorID, "slots.venue_id")).
			Where("slots.id = ?", a.SlotID).Take(&slot).Error; err != nil {
			return wrap("create allocation", err)
		}
		if err := tx.g.Create(a).Error; err != nil {
			if isUniqueViolation(err) {
				result = AllocationExists
				return errNoRoom
			}
			return wrap("create allocation", err)
		}
		res := tx.g.Model(&Slot{}).
			Where("id = ? AND tables_taken + tables_reserved + ? <= tables", a.SlotID, a.Tables).
			UpdateColumns(map[string]any{
				"tables_reserved": gorm.Expr("tables_reserved + ?", a.Tables),
				"updated_at":      a.CreatedAt,
			})
		if res.Error != nil {
			return wrap("create allocation", res.Error)
		}
		if res.RowsAffected == 0 {
			result = AllocationNoRoom
			return errNoRoom // roll the insert back
		}
		tx.invalidate(ChangeSlots, "")
		return tx.run(also)
	})
	if errors.Is(err, errNoRoom) {
		if result == AllocationNoRoom {
			slot, err = db.GetSlot(ctx, Scope{AllVenues: true}, a.SlotID)
			return slot, result, err
		}
		return slot, result, nil
	}
	return slot, result, err
}

// ListAllocations lists the allocations of a slot of the operator's, oldest first;
// ErrNotFound if the operator has no such slot.
func (db *DB) ListAllocations(ctx context.Context, operatorID, slotID string) ([]SlotAllocation, error) {
	if _, err := db.GetOperatorSlot(ctx, operatorID, slotID); err != nil {
		return nil, err
	}
	var out []SlotAllocation
	err := db.q(ctx).Where("slot_id = ?", slotID).Order("created_at, id").Find(&out).Error
	return out, wrap("list allocations", err)
}

// PartnerAllocationsFree maps each of the slots to the tables the partner's allocation
// of it still keeps for the partner at now (unsold, unreleased, release time ahead);
// slots without one are left out.
func (db *DB) PartnerAllocationsFree(ctx context.Context, partnerID string, slotIDs []string, now time.Time) (map[string]int, error) {
	return partnerAllocationsFree(db.q(ctx), partnerID, slotIDs, now)
}

func partnerAllocationsFree(g *gorm.DB, partnerID string, slotIDs []string, now time.Time) (map[string]int, error) {
	out := map[string]int{}
	if len(slotIDs) == 0 {
		return out, nil
	}
	var rows []SlotAllocation
	inSlots, slots := idIn(g.Name(), "slot_id", slotIDs)
	err := g.Where("partner_id = ? AND released = ? AND release_at > ? AND "+inSlots, partnerID, false, dbTime(now), slots).
		Clauses(clause.OrderBy{Columns: []clause.OrderByColumn{{Column: clause.Column{Name: "slot_id"}}}}).
		Find(&rows).Error
	if err != nil {
		return nil, wrap("partner allocations", err)
	}
	for _, a := range rows {
		out[a.SlotID] = a.Tables - a.TablesTaken
	}
	return out, nil
}
