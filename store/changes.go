package store

import (
	"context"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Payments that changes add to a reservation, and the reservation's history.

// Change statuses of a ReservationPayment.
const (
	ChangePending     = "pending"
	ChangeApplied     = "applied"
	ChangeExpired     = "expired"
	ChangeReplaced    = "replaced"
	ChangeUnavailable = "unavailable"
)

func normalizePayment(p *ReservationPayment) {
	p.ChangeExpiresAt = dbTimePtr(p.ChangeExpiresAt)
	p.CreatedAt = dbTime(p.CreatedAt)
	p.UpdatedAt = dbTime(p.UpdatedAt)
}

// loadPayments fills Payments of the rows that have any, in one query.
func loadPayments(g *gorm.DB, rows []Reservation) error {
	var ids []string
	for _, r := range rows {
		if r.ExtraPayments > 0 {
			ids = append(ids, r.ID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	var ps []ReservationPayment
	if err := g.Where(idIn(g.Name(), "reservation_id", ids)).Order("id").Find(&ps).Error; err != nil {
		return wrap("load reservation payments", err)
	}
	byReservation := map[string][]ReservationPayment{}
	for _, p := range ps {
		byReservation[p.ReservationID] = append(byReservation[p.ReservationID], p)
	}
	for i, r := range rows {
		rows[i].Payments = byReservation[r.ID]
	}
	return nil
}

// InsertReservationPayment adds a payment to r and counts it on r (which the caller
// then writes with UpdateReservation).
func (tx *Tx) InsertReservationPayment(r *Reservation, p *ReservationPayment) error {
	normalizePayment(p)
	if err := tx.g.Create(p).Error; err != nil {
		return wrap("insert reservation payment", err)
	}
	r.ExtraPayments++
	r.Payments = append(r.Payments, *p)
	return nil
}

// UpdateReservationPayment writes every column of p.
func (tx *Tx) UpdateReservationPayment(p *ReservationPayment) error {
	normalizePayment(p)
	res := tx.g.Session(&gorm.Session{SkipHooks: true}).Model(&ReservationPayment{}).
		Where("id = ?", p.ID).Select("*").Omit("id", "reservation_id", "created_at", "refund_claimed_until",
		"payment_attempt", "payment_failures", "payment_retry_at").Updates(p)
	if res.Error != nil {
		return wrap("update reservation payment", res.Error)
	}
	if res.RowsAffected != 1 {
		return wrap("update reservation payment", ErrNotFound)
	}
	return nil
}

// GetReservationPaymentByIntent returns the change payment of a payment intent.
func (db *DB) GetReservationPaymentByIntent(ctx context.Context, intentID string) (ReservationPayment, error) {
	var p ReservationPayment
	err := db.q(ctx).Where("intent_id = ?", intentID).Take(&p).Error
	return p, wrap("get reservation payment by intent", err)
}

// ChangePaymentsDue lists change payments that need the provider: refunds owed,
// captures of applied changes not yet taken, and intents of changes that ended
// (expired, replaced, unavailable) and may still be open.
func (db *DB) ChangePaymentsDue(ctx context.Context, now time.Time, limit int) ([]ReservationPayment, error) {
	if limit <= 0 {
		limit = defaultSweep
	}
	var out []ReservationPayment
	owed := db.q(ctx).
		Where("refund_due > 0").
		Or("change_status = ? AND status = ?", ChangeApplied, "requires_capture").
		Or("change_status IN ? AND status IN ?", []string{ChangeExpired, ChangeReplaced, ChangeUnavailable}, openPaymentStatuses)
	// What the provider still owes waits for its backoff after a failure; an expired
	// pending change asks nothing of the provider until it is withdrawn.
	err := db.q(ctx).
		Where(db.q(ctx).Where(owed).Where("payment_retry_at IS NULL OR payment_retry_at <= ?", dbTime(now))).
		Or("change_status = ? AND change_expires_at <= ?", ChangePending, dbTime(now)).
		Order("id").Limit(limit).Find(&out).Error
	return out, wrap("change payments due", err)
}

// InsertReservationEvent appends one entry to a reservation's history.
func (tx *Tx) InsertReservationEvent(e *ReservationEvent) error {
	e.CreatedAt = dbTime(e.CreatedAt)
	_, err := insertRow(tx.g, e, false)
	return wrap("insert reservation event", err)
}

// ListReservationEvents lists a reservation's history, oldest first.
func (db *DB) ListReservationEvents(ctx context.Context, reservationID string, p Page) ([]ReservationEvent, bool, error) {
	g := db.q(ctx).Where("reservation_id = ?", reservationID)
	if p.StartingAfter != "" {
		var n int64
		err := db.q(ctx).Model(&ReservationEvent{}).
			Where("reservation_id = ? AND id = ?", reservationID, p.StartingAfter).Count(&n).Error
		if err != nil {
			return nil, false, wrap("list reservation events: starting_after", err)
		}
		if n == 0 {
			return nil, false, wrap("list reservation events: starting_after", ErrNotFound)
		}
		g = g.Where("id > ?", p.StartingAfter)
	}
	limit := pageLimit(p)
	var out []ReservationEvent
	if err := g.Order("id").Limit(limit + 1).Find(&out).Error; err != nil {
		return nil, false, wrap("list reservation events", err)
	}
	return trimPage(out, limit)
}

// UpdateReservationPaymentLocked changes one payment with fn under a row lock (on
// PostgreSQL; SQLite's transaction holds the write lock) and writes it back.
func (tx *Tx) UpdateReservationPaymentLocked(id string, fn func(*ReservationPayment)) error {
	g := tx.g.Where("id = ?", id)
	if tx.dialect == DialectPostgres {
		g = g.Clauses(clause.Locking{Strength: "UPDATE"})
	}
	var p ReservationPayment
	if err := g.Take(&p).Error; err != nil {
		return wrap("get reservation payment", err)
	}
	fn(&p)
	return tx.UpdateReservationPayment(&p)
}

// ClaimRefund makes the caller the only payer of what a reservation (table
// "reservations") or a change payment ("reservation_payments") owes, until until; false
// when nothing is owed or another payer holds the claim.
func (db *DB) ClaimRefund(ctx context.Context, table, id string, now, until time.Time) (bool, error) {
	due := "payment_refund_due"
	if table == "reservation_payments" {
		due = "refund_due"
	} else if table != "reservations" {
		return false, wrap("claim refund", ErrNotFound)
	}
	res := db.q(ctx).Table(table).
		Where("id = ? AND "+due+" > 0 AND (refund_claimed_until IS NULL OR refund_claimed_until < ?)", id, dbTime(now)).
		UpdateColumn("refund_claimed_until", dbTime(until))
	if res.Error != nil {
		return false, wrap("claim refund", res.Error)
	}
	return res.RowsAffected == 1, nil
}

// ReleaseRefund ends a refund claim.
func (db *DB) ReleaseRefund(ctx context.Context, table, id string) error {
	if table != "reservations" && table != "reservation_payments" {
		return wrap("release refund", ErrNotFound)
	}
	err := db.q(ctx).Table(table).Where("id = ?", id).UpdateColumn("refund_claimed_until", nil).Error
	return wrap("release refund", err)
}
