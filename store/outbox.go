package store

import (
	"context"
	"errors"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/prima-dining/partner-api/internal/ids"
)

// Outbox message kinds and statuses (OutboxMessage.Kind, .Status).
const (
	OutboxVenue   = "venue"   // to the venue's reservation platform
	OutboxPartner = "partner" // to one of the partner's webhook endpoints

	OutboxPending   = "pending"
	OutboxDelivered = "delivered"
	OutboxFailed    = "failed"
)

// Venue sync statuses of a reservation (Reservation.VenueSyncStatus); "" means the venue
// was never told (a hold).
const (
	VenueSyncPending = "pending"
	VenueSyncSynced  = "synced"
	VenueSyncFailed  = "failed"
)

// outboxDue selects the pending messages a worker may claim at now: due, not leased to a
// live worker, and, for a venue message, with no older venue message of the same
// reservation still pending (a venue's platform hears of a booking before its
// cancellation, never the other way round).
const outboxDue = `outbox.status = 'pending' AND outbox.next_attempt_at <= ?` +
	` AND (outbox.claimed_until IS NULL OR outbox.claimed_until < ?)` + outboxInOrder

// outboxInOrder is the ordering part of outboxDue, for a claim by id.
const outboxInOrder = ` AND (outbox.kind <> 'venue' OR NOT EXISTS (` +
	`SELECT 1 FROM outbox older WHERE older.reservation_id = outbox.reservation_id` +
	` AND older.kind = 'venue' AND older.status = 'pending'` +
	` AND (older.created_at < outbox.created_at OR (older.created_at = outbox.created_at AND older.id < outbox.id))))`

// The statements every finalize runs to tell the venue's platform at once (claim the
// message, mark it delivered, record the sync on the reservation), and the outbox worker
// for every venue message: written here, as GORM's building of them cost more than
// running them.
var (
	outboxClaimOne = newStmt(`UPDATE outbox SET claimed_by = ?, claimed_until = ? WHERE outbox.id = ? ` +
		`AND outbox.status = 'pending' AND (outbox.claimed_until IS NULL OR outbox.claimed_until < ?)` + outboxInOrder)
	outboxDelivered = newStmt(`UPDATE outbox SET status = ?, attempts = ?, platform_reference = ?, ` +
		`last_error = '', delivered_at = ?, claimed_by = '', claimed_until = NULL ` +
		`WHERE id = ? AND claimed_by = ? AND status = ?`)
	venueSynced = newStmt(`UPDATE reservations SET venue_sync_status = ?, venue_sync_reference = ?, ` +
		`venue_sync_attempts = ?, venue_sync_error = '', venue_synced_at = ?, updated_at = ? WHERE id = ?`)
	venueSyncAttempt = newStmt(`UPDATE reservations SET venue_sync_attempts = ?, venue_sync_error = ?, ` +
		`updated_at = ? WHERE id = ?`)
	venueSyncFailed = newStmt(`UPDATE reservations SET venue_sync_status = ?, venue_sync_attempts = ?, ` +
		`venue_sync_error = ?, updated_at = ? WHERE id = ?`)
	venueSyncPending = newStmt(`UPDATE reservations SET venue_sync_status = ?, updated_at = ? WHERE id = ?`)
)

// InsertOutbox inserts messages in the caller's transaction; nothing for an empty slice.
// Defaults are filled in place: ID msg_…, Status pending, CreatedAt now, NextAttemptAt
// CreatedAt. Times are normalised in place.
func (tx *Tx) InsertOutbox(msgs []OutboxMessage) error {
	if len(msgs) == 0 {
		return nil
	}
	now := dbTime(time.Now())
	for i := range msgs {
		m := &msgs[i]
		if m.ID == "" {
			m.ID = ids.New("msg")
		}
		if m.Status == "" {
			m.Status = OutboxPending
		}
		if m.CreatedAt.IsZero() {
			m.CreatedAt = now
		}
		m.CreatedAt = dbTime(m.CreatedAt)
		if m.NextAttemptAt.IsZero() {
			m.NextAttemptAt = m.CreatedAt
		}
		m.NextAttemptAt = dbTime(m.NextAttemptAt)
		m.ClaimedUntil = dbTimePtr(m.ClaimedUntil)
		m.RetriedAt = dbTimePtr(m.RetriedAt)
		m.DeliveredAt = dbTimePtr(m.DeliveredAt)
	}
	return wrap("insert outbox", tx.g.CreateInBatches(msgs, insertBatch).Error)
}

// ClaimOutbox leases up to limit due messages to worker until until, oldest due first,
// and returns them. Claims are exclusive across processes: on PostgreSQL the candidates
// are locked with FOR UPDATE SKIP LOCKED (a competing worker skips them and takes
// others), on SQLite the transaction holds the database's write lock. A message whose
// lease ran out (its worker died) is claimable again.
func (db *DB) ClaimOutbox(ctx context.Context, worker string, now, until time.Time, limit int) ([]OutboxMessage, error) {
	if worker == "" {
		return nil, errors.New("store: claim outbox: empty worker id")
	}
	if limit <= 0 {
		limit = defaultSweep
	}
	now, until = dbTime(now), dbTime(until)
	var claimed []OutboxMessage
	err := db.Transact(ctx, func(tx *Tx) error {
		claimed = nil
		if err := tx.planEachTime(); err != nil {
			return err
		}
		g := tx.g.Where(outboxDue, now, now).Order("outbox.next_attempt_at, outbox.id").Limit(limit)
		if tx.dialect == DialectPostgres {
			g = g.Clauses(clause.Locking{Strength: "UPDATE", Options: "SKIP LOCKED"})
		}
		var due []OutboxMessage
		if err := g.Find(&due).Error; err != nil {
			return err
		}
		if len(due) == 0 {
			return nil
		}
		idList := make([]string, len(due))
		for i := range due {
			idList[i] = due[i].ID
			due[i].ClaimedBy = worker
			due[i].ClaimedUntil = &until
		}
		err := tx.g.Model(&OutboxMessage{}).Where(idIn(tx.dialect, "id", idList)).
			UpdateColumns(map[string]any{"claimed_by": worker, "claimed_until": until}).Error
		if err != nil {
			return err
		}
		claimed = due
		return nil
	})
	if err != nil {
		return nil, wrap("claim outbox", err)
	}
	return claimed, nil
}

// ClaimOutboxMessage leases one message to worker until until if it is pending, not
// leased to another live worker, and (a venue message) not waiting for an older one of
// its reservation, whatever its next attempt time. It reports whether it did.
func (db *DB) ClaimOutboxMessage(ctx context.Context, id, worker string, now, until time.Time) (OutboxMessage, bool, error) {
	if worker == "" {
		return OutboxMessage{}, false, errors.New("store: claim outbox message: empty worker id")
	}
	now, until = dbTime(now), dbTime(until)
	n, err := outboxClaimOne.exec(db.q(ctx), worker, until, id, now)
	if err != nil {
		return OutboxMessage{}, false, wrap("claim outbox message", err)
	}
	if n != 1 {
		return OutboxMessage{}, false, nil
	}
	m, err := db.GetOutboxMessage(ctx, id)
	if err != nil {
		return OutboxMessage{}, false, err
	}
	return m, true, nil
}

// GetOutboxMessage returns one message; ErrNotFound if none.
func (db *DB) GetOutboxMessage(ctx context.Context, id string) (OutboxMessage, error) {
	// GORM's statement, built once (readBuilt): a finalize reads its venue message.
	var m OutboxMessage
	err := readOne(db.q(ctx), readShape{name: "outbox message"}, func(dry *gorm.DB) *gorm.DB {
		return dry.Where("id = ?", "").Take(&OutboxMessage{})
	}, &m, id)
	if err != nil {
		return OutboxMessage{}, wrap("get outbox message", err)
	}
	return m, nil
}

// SetOutboxPayload stores the rendered payload of a message worker holds, before its
// first attempt, so every retry sends the same bytes. It reports whether worker still
// holds the message.
func (db *DB) SetOutboxPayload(ctx context.Context, id, worker string, payload []byte) (bool, error) {
	if payload == nil {
		payload = []byte{}
	}
	res := db.q(ctx).Model(&OutboxMessage{}).
		Where("id = ? AND claimed_by = ? AND status = ?", id, worker, OutboxPending).
		UpdateColumn("payload", payload)
	if res.Error != nil {
		return false, wrap("set outbox payload", res.Error)
	}
	return res.RowsAffected == 1, nil
}

// ReleaseOutbox gives up worker's lease on a message without counting an attempt (a
// worker shutting down); the message is due again at once.
func (db *DB) ReleaseOutbox(ctx context.Context, id, worker string) error {
	err := db.q(ctx).Model(&OutboxMessage{}).
		Where("id = ? AND claimed_by = ? AND status = ?", id, worker, OutboxPending).
		UpdateColumns(map[string]any{"claimed_by": "", "claimed_until": nil}).Error
	return wrap("release outbox", err)
}

// outboxHeld is the condition of every outcome: worker still holds the pending message.
func (tx *Tx) outboxHeld(id, worker string) *gorm.DB {
	return tx.g.Model(&OutboxMessage{}).
		Where("id = ? AND claimed_by = ? AND status = ?", id, worker, OutboxPending)
}

func rowsOne(op string, res *gorm.DB) (bool, error) {
	if res.Error != nil {
		return false, wrap(op, res.Error)
	}
	return res.RowsAffected == 1, nil
}

// MarkOutboxDelivered ends a message worker holds as delivered, with its attempt count
// and the platform's reference (venue messages), and releases the lease. It reports
// whether worker still held it; if not, nothing changed and the caller's transaction
// should be rolled back.
func (tx *Tx) MarkOutboxDelivered(id, worker string, attempts int, reference string, at time.Time) (bool, error) {
	n, err := outboxDelivered.exec(tx.g, OutboxDelivered, attempts, reference, dbTime(at), id, worker, OutboxPending)
	if err != nil {
		return false, wrap("mark outbox delivered", err)
	}
	return n == 1, nil
}

// RescheduleOutbox records a failed attempt of a message worker holds and makes it due
// again at next, releasing the lease. It reports whether worker still held it.
func (tx *Tx) RescheduleOutbox(id, worker string, attempts int, lastError string, next time.Time) (bool, error) {
	return rowsOne("reschedule outbox", tx.outboxHeld(id, worker).UpdateColumns(map[string]any{
		"attempts": attempts, "last_error": lastError, "next_attempt_at": dbTime(next),
		"claimed_by": "", "claimed_until": nil,
	}))
}

// MarkOutboxFailed ends a message worker holds as failed (no more attempts), releasing
// the lease. It reports whether worker still held it.
func (tx *Tx) MarkOutboxFailed(id, worker string, attempts int, lastError string) (bool, error) {
	return rowsOne("mark outbox failed", tx.outboxHeld(id, worker).UpdateColumns(map[string]any{
		"status": OutboxFailed, "attempts": attempts, "last_error": lastError,
		"claimed_by": "", "claimed_until": nil,
	}))
}

// SetVenueSynced records on a reservation that its venue's platform has it, under
// reference.
func (tx *Tx) SetVenueSynced(reservationID, reference string, attempts int, at time.Time) error {
	at = dbTime(at)
	return tx.setVenueSync("set venue synced", reservationID, venueSynced,
		VenueSyncSynced, reference, attempts, at, at)
}

// SetVenueSyncAttempt records a failed attempt to reach a reservation's venue platform;
// the status stays as it is (pending).
func (tx *Tx) SetVenueSyncAttempt(reservationID string, attempts int, lastError string, at time.Time) error {
	return tx.setVenueSync("set venue sync attempt", reservationID, venueSyncAttempt,
		attempts, lastError, dbTime(at))
}

// SetVenueSyncFailed records that a reservation's venue platform could not be reached
// before the message's maximum age.
func (tx *Tx) SetVenueSyncFailed(reservationID string, attempts int, lastError string, at time.Time) error {
	return tx.setVenueSync("set venue sync failed", reservationID, venueSyncFailed,
		VenueSyncFailed, attempts, lastError, dbTime(at))
}

// setVenueSync runs s, one of the venue sync statements, with args and then the
// reservation's id. They write only the venue_sync columns (and updated_at), never the
// rest of the row, so they cannot undo a concurrent change of the reservation.
func (tx *Tx) setVenueSync(op, reservationID string, s stmt, args ...any) error {
	if reservationID == "" {
		return nil
	}
	_, err := s.exec(tx.g, append(args, reservationID)...)
	return wrap(op, err)
}

// ListOutbox lists messages (of one status, or all for ""), newest first, at most limit
// (default 100).
func (db *DB) ListOutbox(ctx context.Context, status string, limit int) ([]OutboxMessage, error) {
	if limit <= 0 {
		limit = defaultSweep
	}
	g := db.q(ctx)
	if status != "" {
		g = g.Where("status = ?", status)
	}
	var out []OutboxMessage
	if err := g.Order("created_at DESC, id DESC").Limit(limit).Find(&out).Error; err != nil {
		return nil, wrap("list outbox", err)
	}
	return out, nil
}

// ListOutboxForReservation lists a reservation's messages, oldest first.
func (db *DB) ListOutboxForReservation(ctx context.Context, reservationID string) ([]OutboxMessage, error) {
	var out []OutboxMessage
	err := db.q(ctx).Where("reservation_id = ?", reservationID).Order("created_at, id").Find(&out).Error
	if err != nil {
		return nil, wrap("list outbox for reservation", err)
	}
	return out, nil
}

// RetryOutbox sends a message (of any status) back to pending, due at now, its attempts
// kept; its maximum age counts from now. A venue message's reservation shows its venue
// sync pending again. ErrNotFound if there is no such message.
func (db *DB) RetryOutbox(ctx context.Context, id string, now time.Time) error {
	now = dbTime(now)
	err := db.Transact(ctx, func(tx *Tx) error {
		var m OutboxMessage
		if err := tx.g.Where("id = ?", id).Take(&m).Error; err != nil {
			return err
		}
		err := tx.g.Model(&OutboxMessage{}).Where("id = ?", id).UpdateColumns(map[string]any{
			"status": OutboxPending, "next_attempt_at": now, "retried_at": now, "delivered_at": nil,
		}).Error
		if err != nil {
			return err
		}
		if m.Kind != OutboxVenue {
			return nil
		}
		return tx.setVenueSync("retry outbox", m.ReservationID, venueSyncPending, VenueSyncPending, now)
	})
	return wrap("retry outbox", err)
}

// InsertVenueNotification keeps a notification of the "log" connector. Its id is the
// outbox message's: inserting it again changes nothing.
func (tx *Tx) InsertVenueNotification(n VenueNotification) error {
	n.CreatedAt = dbTime(n.CreatedAt)
	if n.Payload == nil {
		n.Payload = []byte{}
	}
	_, err := insertRow(tx.g, &n, true)
	return wrap("insert venue notification", err)
}

// ListVenueNotifications lists a venue's notifications, newest first, at most limit
// (default 100).
func (db *DB) ListVenueNotifications(ctx context.Context, venueID string, limit int) ([]VenueNotification, error) {
	if limit <= 0 {
		limit = defaultSweep
	}
	var out []VenueNotification
	err := db.q(ctx).Where("venue_id = ?", venueID).Order("created_at DESC, id DESC").Limit(limit).Find(&out).Error
	if err != nil {
		return nil, wrap("list venue notifications", err)
	}
	return out, nil
}

// RetryFailedVenueSync sends the latest venue message of a reservation back to pending,
// due at now, if it failed, and shows the reservation's venue sync pending again, in one
// transaction; its maximum age counts from now. It returns the message's id, or "" when
// the reservation's latest venue message has not failed (nothing changed): a concurrent
// retry, or one of a sync that is pending or done, changes nothing twice.
func (db *DB) RetryFailedVenueSync(ctx context.Context, reservationID string, now time.Time) (string, error) {
	now = dbTime(now)
	var id string
	err := db.Transact(ctx, func(tx *Tx) error {
		id = ""
		var m OutboxMessage
		err := tx.g.Where("reservation_id = ? AND kind = ?", reservationID, OutboxVenue).
			Order("created_at DESC, id DESC").Take(&m).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		ok, err := rowsOne("retry failed venue sync", tx.g.Model(&OutboxMessage{}).
			Where("id = ? AND status = ?", m.ID, OutboxFailed).
			UpdateColumns(map[string]any{"status": OutboxPending, "next_attempt_at": now, "retried_at": now, "delivered_at": nil}))
		if err != nil || !ok {
			return err
		}
		id = m.ID
		return tx.setVenueSync("retry failed venue sync", reservationID, venueSyncPending, VenueSyncPending, now)
	})
	return id, wrap("retry failed venue sync", err)
}
