package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/prima-dining/partner-api/internal/ids"
)

// pgxWorkers is one pgx connection per benchmark worker: the ceiling the server is
// compared with, at the same concurrency and with no HTTP, JSON, GORM or middleware.
type pgxWorkers struct {
	conns []*pgx.Conn
	// tokenSQL is the API's token lookup (store.TokenByHashStatement), run before each
	// search of searchWithTokenOp and before each request of a booking flow.
	tokenSQL string
}

func newPgxWorkers(ctx context.Context, dbURL string, n int, tokenSQL string) (*pgxWorkers, error) {
	w := &pgxWorkers{tokenSQL: tokenSQL}
	for range n {
		c, err := pgx.Connect(ctx, dbURL)
		if err != nil {
			w.close()
			return nil, fmt.Errorf("pgx connect: %w", err)
		}
		w.conns = append(w.conns, c)
	}
	return w, nil
}

func (w *pgxWorkers) close() {
	for _, c := range w.conns {
		_ = c.Close(context.Background())
	}
}

// searchOp runs the server's search SQL of each search draws picks, reading every
// value of every row.
func (w *pgxWorkers) searchOp(stmts []statement, draws []int) func(context.Context, int, int) error {
	return func(ctx context.Context, worker, seq int) error {
		st := stmts[draws[seq%len(draws)]]
		rows, err := w.conns[worker].Query(ctx, st.SQL, st.Args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			if _, err := rows.Values(); err != nil {
				return err
			}
		}
		return rows.Err()
	}
}

// searchWithTokenOp is searchOp preceded by the API's token lookup: every statement the
// server issues for one search.
func (w *pgxWorkers) searchWithTokenOp(hash string, stmts []statement, draws []int) func(context.Context, int, int) error {
	search := w.searchOp(stmts, draws)
	return func(ctx context.Context, worker, seq int) error {
		if err := w.query(ctx, w.conns[worker], w.tokenSQL, hash); err != nil {
			return err
		}
		return search(ctx, worker, seq)
	}
}

// Statements the API issues for one hold and one finalize of a standard slot (as
// PostgreSQL's statement log shows them; the comparison is in docs/benchmarks.md), with
// the same transactions: the idempotency key of each POST (no token lookup: the API's
// tokens are cached); the hold's transaction (slot and venue, overdue holds of the slot,
// the partner's row locked and its active holds counted for the active-hold cap, the
// conditional take of a table, the reservation, its history entry and the key's
// recovery point); the finalize transaction (the reservation locked, the partner's
// webhook endpoints, the history entry, the event GET /v1/events lists, the venue's
// outbox message, the conditional status change, the key's recovery point); the inline
// venue sync (claim, read,
// payload, venue, and the delivered/notification/sync-status transaction); and the
// reads of the reservation each answer is rendered from. The message is due in an hour
// (rather than now, as the API writes it) only so that the running server's outbox
// worker leaves it to this flow's own inline delivery.
const (
	sqlIdemIn  = `INSERT INTO idempotency_keys (partner_id, key, fingerprint, state, response_status, response_body, locked_until, created_at) VALUES ($1, $2, $3, 'in_flight', 0, NULL, $4, $5) ON CONFLICT DO NOTHING`
	sqlIdemOut = `UPDATE idempotency_keys SET response_body = $1, response_status = $2, state = 'done' WHERE key = $3 AND partner_id = $4 AND state = 'in_flight'`
	sqlIdemAt  = `UPDATE idempotency_keys SET recovery_point = $1, resource_id = $2 WHERE key = $3 AND partner_id = $4 AND state = 'in_flight' AND recovery_point IS NULL`
	sqlEvent   = `INSERT INTO partner_events (id, partner_id, type, reservation_id, venue_id, payload, created_at) VALUES ($1, $2, $3, $4, $5, NULL, $6)`
	sqlSlot    = `SELECT s.*, v.* FROM slots s JOIN venues v ON s.venue_id = v.id WHERE s.id = $1 LIMIT 1`
	sqlDue     = `SELECT r.*, v.* FROM reservations r LEFT JOIN venues v ON r.venue_id = v.id WHERE r.status = 'held' AND r.expires_at <= $1 AND r.slot_id = $2 ORDER BY r.expires_at, r.id LIMIT 100`
	sqlLockPtn = `SELECT id FROM partners WHERE id = $1 LIMIT 1 FOR UPDATE`
	sqlCount   = `SELECT count(*) FROM reservations WHERE partner_id = $1 AND status = 'held' AND expires_at > $2`
	sqlTake    = `UPDATE slots SET tables_taken = tables_taken + 1, updated_at = $1 WHERE id = $2 AND status = 'open' AND tables_taken < tables`
	sqlInsRes  = `INSERT INTO reservations (id, partner_id, token_id, slot_id, venue_id, status, party_size, guest_first_name, guest_last_name, guest_email, guest_phone, partner_reference, expires_at, hold_max_at, starts_at, local_date, duration_minutes, seating_area, slot_type, policy_fee_type, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 'held', 2, 'Bench', $6, $7, '+12125550143', $8, $9, $10, $11, $12, $13, $14, $15, 'none', $16, $16)`
	sqlHistory = `INSERT INTO reservation_events (id, reservation_id, type, token_id, changes, created_at) VALUES ($1, $2, $3, $4, $5, $6)`
	sqlGetRes  = `SELECT r.*, v.* FROM reservations r LEFT JOIN venues v ON r.venue_id = v.id WHERE r.id = $1 AND r.partner_id = $2 LIMIT 1`
	sqlLockRes = `SELECT * FROM reservations WHERE id = $1 AND partner_id = $2 LIMIT 1 FOR UPDATE`
	sqlHooks   = `SELECT * FROM webhook_endpoints WHERE partner_id = $1 AND status = 'enabled' ORDER BY created_at, id`
	sqlOutbox  = `INSERT INTO outbox (id, kind, type, reservation_id, partner_id, venue_id, endpoint_id, payload, status, attempts, next_attempt_at, last_error, claimed_by, claimed_until, platform_reference, created_at) VALUES ($1, 'venue', 'reservation.confirmed', $2, $3, $4, '', NULL, 'pending', 0, $6, '', '', NULL, '', $5)`
	sqlConfirm = `UPDATE reservations SET status = 'confirmed', confirmation_code = $1, confirmed_at = $2, updated_at = $2, expires_at = NULL, hold_max_at = NULL, venue_sync_status = 'pending' WHERE id = $3 AND status = 'held'`
	sqlClaim   = `UPDATE outbox SET claimed_by = $1, claimed_until = $2 WHERE outbox.id = $3 AND outbox.status = 'pending' AND (outbox.claimed_until IS NULL OR outbox.claimed_until < $4) AND (outbox.kind <> 'venue' OR NOT EXISTS (SELECT 1 FROM outbox older WHERE older.reservation_id = outbox.reservation_id AND older.kind = 'venue' AND older.status = 'pending' AND (older.created_at < outbox.created_at OR (older.created_at = outbox.created_at AND older.id < outbox.id))))`
	sqlGetMsg  = `SELECT * FROM outbox WHERE id = $1 LIMIT 1`
	sqlPayload = `UPDATE outbox SET payload = $1 WHERE id = $2 AND claimed_by = $3 AND status = 'pending'`
	sqlVenue   = `SELECT * FROM venues WHERE id = $1 LIMIT 1`
	sqlDeliver = `UPDATE outbox SET attempts = 1, claimed_by = '', claimed_until = NULL, delivered_at = $1, last_error = '', platform_reference = $2, status = 'delivered' WHERE id = $3 AND claimed_by = $4 AND status = 'pending'`
	sqlNotice  = `INSERT INTO venue_notifications (id, venue_id, reservation_id, type, payload, created_at) VALUES ($1, $2, $3, 'reservation.confirmed', $4, $5) ON CONFLICT DO NOTHING`
	sqlSynced  = `UPDATE reservations SET updated_at = $1, venue_sync_attempts = 1, venue_sync_error = '', venue_sync_reference = $2, venue_sync_status = 'synced', venue_synced_at = $1 WHERE id = $3`
)

// body stands in for a rendered reservation (the API's are about 1.2 kB).
var body = []byte(`{"object":"reservation","status":"confirmed","guest":{"first_name":"Bench"},"padding":"` + strings.Repeat("x", 1100) + `"}`)

func drain(rows pgx.Rows) error {
	defer rows.Close()
	for rows.Next() {
		if _, err := rows.Values(); err != nil {
			return err
		}
	}
	return rows.Err()
}

type querier interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}

type execer interface {
	Exec(context.Context, string, ...any) (pgconn.CommandTag, error)
}

func (w *pgxWorkers) query(ctx context.Context, c querier, sql string, args ...any) error {
	rows, err := c.Query(ctx, sql, args...)
	if err != nil {
		return err
	}
	return drain(rows)
}

func execOne(ctx context.Context, q execer, sql string, args ...any) error {
	tag, err := q.Exec(ctx, sql, args...)
	if err != nil {
		return err
	}
	if tag.RowsAffected() != 1 {
		return fmt.Errorf("%.40s…: %d rows", sql, tag.RowsAffected())
	}
	return nil
}

// bookingOp holds and finalizes a distinct slot with the API's statements, issued
// directly.
func (w *pgxWorkers) bookingOp(tokens []token, slots []string) func(context.Context, int, int) error {
	return func(ctx context.Context, worker, seq int) error {
		c := w.conns[worker]
		tk := tokens[worker%len(tokens)]
		slotID := slots[seq]
		fp := sha256.Sum256([]byte(slotID))
		fingerprint := hex.EncodeToString(fp[:])

		resID, venueID, err := w.hold(ctx, c, tk, slotID, seq, fingerprint)
		if err != nil {
			return err
		}

		// Finalize.
		now := time.Now().UTC()
		key := randomHex(12)
		if _, err := c.Exec(ctx, sqlIdemIn, tk.partnerID, key, fingerprint, now.Add(time.Minute), now); err != nil {
			return err
		}
		if err := w.query(ctx, c, sqlGetRes, resID, tk.partnerID); err != nil {
			return err
		}
		msgID := ids.New("msg")
		err = pgx.BeginFunc(ctx, c, func(tx pgx.Tx) error {
			if err := w.query(ctx, tx, sqlLockRes, resID, tk.partnerID); err != nil {
				return err
			}
			if err := w.query(ctx, tx, sqlHooks, tk.partnerID); err != nil {
				return err
			}
			if err := execOne(ctx, tx, sqlHistory, ids.New("rev"), resID, "reservation.confirmed", tk.tokenID, `{"status":{"From":"held","To":"confirmed"}}`, now); err != nil {
				return err
			}
			if err := execOne(ctx, tx, sqlEvent, ids.New("evt"), tk.partnerID, "reservation.confirmed", resID, venueID, now); err != nil {
				return err
			}
			if err := execOne(ctx, tx, sqlOutbox, msgID, resID, tk.partnerID, venueID, now, now.Add(time.Hour)); err != nil {
				return err
			}
			if err := execOne(ctx, tx, sqlConfirm, "PRM-"+strings.ToUpper(randomHex(6)), now, resID); err != nil {
				return err
			}
			return execOne(ctx, tx, sqlIdemAt, "applied", resID, key, tk.partnerID)
		})
		if err != nil {
			return fmt.Errorf("finalize: %w", err)
		}
		// Inline venue sync.
		workerID := fmt.Sprintf("bench-%d", worker)
		if err := execOne(ctx, c, sqlClaim, workerID, now.Add(time.Minute), msgID, now); err != nil {
			return err
		}
		if err := w.query(ctx, c, sqlGetMsg, msgID); err != nil {
			return err
		}
		if err := w.query(ctx, c, sqlGetRes, resID, tk.partnerID); err != nil {
			return err
		}
		if err := execOne(ctx, c, sqlPayload, body, msgID, workerID); err != nil {
			return err
		}
		if err := w.query(ctx, c, sqlVenue, venueID); err != nil {
			return err
		}
		err = pgx.BeginFunc(ctx, c, func(tx pgx.Tx) error {
			if err := execOne(ctx, tx, sqlDeliver, now, "log_"+msgID, msgID, workerID); err != nil {
				return err
			}
			if err := execOne(ctx, tx, sqlNotice, msgID, venueID, resID, body, now); err != nil {
				return err
			}
			return execOne(ctx, tx, sqlSynced, now, "log_"+msgID, resID)
		})
		if err != nil {
			return fmt.Errorf("venue sync: %w", err)
		}
		if err := w.query(ctx, c, sqlGetRes, resID, tk.partnerID); err != nil {
			return err
		}
		return execOne(ctx, c, sqlIdemOut, body, 200, key, tk.partnerID)
	}
}

// hold is the hold of a booking flow: the token lookup, the idempotency key and the
// hold's transaction, as the API issues them. It returns the reservation and its venue.
func (w *pgxWorkers) hold(ctx context.Context, c *pgx.Conn, tk token, slotID string, seq int, fingerprint string) (resID, venueID string, err error) {
	now := time.Now().UTC()
	key := randomHex(12)
	if _, err := c.Exec(ctx, sqlIdemIn, tk.partnerID, key, fingerprint, now.Add(time.Minute), now); err != nil {
		return "", "", err
	}
	resID = ids.New("res")
	err = pgx.BeginFunc(ctx, c, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, sqlSlot, slotID)
		if err != nil {
			return err
		}
		var (
			startsAt  time.Time
			localDate string
			duration  int32
			area      string
			typ       string
			found     bool
		)
		for rows.Next() {
			vals, err := rows.Values()
			if err != nil {
				rows.Close()
				return err
			}
			fd := rows.FieldDescriptions()
			for i, f := range fd {
				switch f.Name {
				case "venue_id":
					venueID, _ = vals[i].(string)
				case "starts_at":
					startsAt, _ = vals[i].(time.Time)
				case "local_date":
					localDate, _ = vals[i].(string)
				case "duration_minutes":
					duration, _ = vals[i].(int32)
				case "seating_area":
					area, _ = vals[i].(string)
				case "type":
					typ, _ = vals[i].(string)
				}
			}
			found = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if !found {
			return errors.New("slot not found")
		}
		if err := w.query(ctx, tx, sqlDue, now, slotID); err != nil {
			return err
		}
		if err := w.query(ctx, tx, sqlLockPtn, tk.partnerID); err != nil {
			return err
		}
		if err := w.query(ctx, tx, sqlCount, tk.partnerID, now); err != nil {
			return err
		}
		if err := execOne(ctx, tx, sqlTake, now, slotID); err != nil {
			return err
		}
		if err := execOne(ctx, tx, sqlInsRes, resID, tk.partnerID, tk.tokenID, slotID, venueID,
			fmt.Sprintf("Guest %d", seq), fmt.Sprintf("guest%d@example.com", seq), fmt.Sprintf("bench-%d", seq),
			now.Add(10*time.Minute), now.Add(30*time.Minute), startsAt, localDate, duration, area, typ, now); err != nil {
			return err
		}
		if err := execOne(ctx, tx, sqlHistory, ids.New("rev"), resID, "reservation.held", tk.tokenID, `{"status":{"From":"","To":"held"}}`, now); err != nil {
			return err
		}
		return execOne(ctx, tx, sqlIdemAt, "hold_created", resID, key, tk.partnerID)
	})
	if err != nil {
		return "", "", fmt.Errorf("hold: %w", err)
	}
	if err := execOne(ctx, c, sqlIdemOut, body, 201, key, tk.partnerID); err != nil {
		return "", "", err
	}
	return resID, venueID, nil

}

// Statements of a cancelled hold, after the API's: the reservation released, the table
// given back, the history entry and the key's recovery point (the answer is the locked
// row, as the API's is).
const (
	sqlRelease = `UPDATE reservations SET status = 'released', cancelled_at = $1, updated_at = $1, expires_at = NULL, hold_max_at = NULL WHERE id = $2 AND status = 'held'`
	sqlGive    = `UPDATE slots SET tables_taken = tables_taken - 1, updated_at = $1 WHERE id = $2 AND tables_taken > 0`
)

// holdCancelOp holds a distinct slot and cancels the hold with the API's statements,
// issued directly: the write of the search runs' mix.
func (w *pgxWorkers) holdCancelOp(tokens []token, slots []string) func(context.Context, int, int) error {
	return func(ctx context.Context, worker, seq int) error {
		c := w.conns[worker]
		tk := tokens[worker%len(tokens)]
		slotID := slots[seq%len(slots)]
		fp := sha256.Sum256([]byte(slotID))
		fingerprint := hex.EncodeToString(fp[:])
		resID, _, err := w.hold(ctx, c, tk, slotID, seq, fingerprint)
		if err != nil {
			return err
		}
		now := time.Now().UTC()
		key := randomHex(12)
		if _, err := c.Exec(ctx, sqlIdemIn, tk.partnerID, key, fingerprint, now.Add(time.Minute), now); err != nil {
			return err
		}
		err = pgx.BeginFunc(ctx, c, func(tx pgx.Tx) error {
			if err := w.query(ctx, tx, sqlLockRes, resID, tk.partnerID); err != nil {
				return err
			}
			if err := execOne(ctx, tx, sqlRelease, now, resID); err != nil {
				return err
			}
			if err := execOne(ctx, tx, sqlGive, now, slotID); err != nil {
				return err
			}
			if err := execOne(ctx, tx, sqlHistory, ids.New("rev"), resID, "reservation.released", tk.tokenID, `{"status":{"From":"held","To":"released"}}`, now); err != nil {
				return err
			}
			return execOne(ctx, tx, sqlIdemAt, "applied", resID, key, tk.partnerID)
		})
		if err != nil {
			return fmt.Errorf("cancel: %w", err)
		}
		return execOne(ctx, c, sqlIdemOut, body, 200, key, tk.partnerID)
	}
}
