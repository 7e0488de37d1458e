package store

import (
	"context"
	"time"

	"gorm.io/gorm"
)

// Idempotency key states.
const (
	IdempotencyInFlight = "in_flight"
	IdempotencyDone     = "done"
)

// IdempotencyKeyTTL is how long a key names its first request; an older row may be
// claimed again by any request.
const IdempotencyKeyTTL = 24 * time.Hour

// idemKey selects one idempotency key row. A map makes GORM quote the column "key".
func idemKey(partnerID, key string) map[string]any {
	return map[string]any{"partner_id": partnerID, "key": key}
}

// idemKeyColumns are the columns of IdempotencyKey, in its fields' order: the INSERT of
// a claim writes every one (TestIdempotencyInsertWritesEveryColumn checks them against
// GORM's).
const idemKeyColumns = `partner_id, "key", fingerprint, state, response_status, response_body, ` +
	`locked_until, created_at, recovery_point, resource_id`

// Every POST runs the claim and the completion, every hold and finalize records a
// recovery point: GORM's cost per call was most of theirs, so they are written here.
var (
	idemClaim = newStmt(`INSERT INTO idempotency_keys (` + idemKeyColumns +
		`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`)
	idemComplete = newStmt(`UPDATE idempotency_keys SET state = ?, response_status = ?, response_body = ? ` +
		`WHERE partner_id = ? AND "key" = ? AND state = ?`)
	// idemPoint[from set][what is written]: the recovery point alone, the point and the
	// resource, or both cleared.
	idemPoint = func() (out [2][3]stmt) {
		set := [3]string{"recovery_point = ?", "recovery_point = ?, resource_id = ?", "recovery_point = NULL, resource_id = NULL"}
		from := [2]string{"recovery_point IS NULL", "recovery_point = ?"}
		for f := range from {
			for w := range set {
				out[f][w] = newStmt(`UPDATE idempotency_keys SET ` + set[w] +
					` WHERE partner_id = ? AND "key" = ? AND state = ? AND ` + from[f])
			}
		}
		return out
	}()
)

// Kinds of RecordIdempotencyPoint's write, the second index of idemPoint.
const (
	pointOnly = iota
	pointAndResource
	pointCleared
)

// ClaimIdempotencyKey claims (partnerID, key) for a request whose fingerprint is given,
// until lockedUntil. It returns (the claimed row, true) when this call owns the key now:
// the key was free, or its row was older than IdempotencyKeyTTL (a new life: its
// recovery point is cleared), or it was in_flight with the same fingerprint and
// locked_until < now (its request died: the row keeps its recovery point, which the new
// owner resumes from). Otherwise it returns (the existing row, false): done with a
// response to replay, in flight, or taken by a request with another fingerprint. Of
// concurrent claimers exactly one wins: the claim is an INSERT … ON CONFLICT DO NOTHING
// and the takeover a conditional UPDATE.
func (db *DB) ClaimIdempotencyKey(ctx context.Context, partnerID, key, fingerprint string, now, lockedUntil time.Time) (IdempotencyKey, bool, error) {
	now, lockedUntil = dbTime(now), dbTime(lockedUntil)
	row := IdempotencyKey{
		PartnerID:   partnerID,
		Key:         key,
		Fingerprint: fingerprint,
		State:       IdempotencyInFlight,
		LockedUntil: lockedUntil,
		CreatedAt:   now,
	}
	// A row deleted (released) between our INSERT and SELECT sends us round again; a few
	// rounds are plenty.
	if row.CreatedAt.IsZero() {
		row.CreatedAt = dbTime(time.Now()) // as GORM's Create filled it
	}
	for range 3 {
		n, err := idemClaim.exec(db.q(ctx), row.PartnerID, row.Key, row.Fingerprint, row.State,
			row.ResponseStatus, row.ResponseBody, row.LockedUntil, row.CreatedAt, row.RecoveryPoint, row.ResourceID)
		if err != nil {
			return IdempotencyKey{}, false, wrap("claim idempotency key", err)
		}
		if n == 1 {
			return row, true, nil
		}
		// Expired: the key starts a new life, with nothing recorded.
		res := db.q(ctx).Model(&IdempotencyKey{}).Where(idemKey(partnerID, key)).
			Where("created_at < ?", now.Add(-IdempotencyKeyTTL)).
			UpdateColumns(map[string]any{
				"fingerprint":     fingerprint,
				"state":           IdempotencyInFlight,
				"response_status": 0,
				"response_body":   nil,
				"locked_until":    lockedUntil,
				"created_at":      now,
				"recovery_point":  nil,
				"resource_id":     nil,
			})
		if res.Error != nil {
			return IdempotencyKey{}, false, wrap("claim idempotency key: renew", res.Error)
		}
		if res.RowsAffected == 1 {
			return row, true, nil
		}
		// Abandoned: the same request takes the lease over and resumes from the
		// recovery point its first run recorded (never a fresh start once an effect
		// committed).
		res = db.q(ctx).Model(&IdempotencyKey{}).Where(idemKey(partnerID, key)).
			Where("state = ? AND locked_until < ? AND fingerprint = ?", IdempotencyInFlight, now, fingerprint).
			UpdateColumn("locked_until", lockedUntil)
		if res.Error != nil {
			return IdempotencyKey{}, false, wrap("claim idempotency key: take over", res.Error)
		}
		taken := res.RowsAffected == 1
		var existing IdempotencyKey
		err = db.q(ctx).Where(idemKey(partnerID, key)).Limit(1).Find(&existing).Error
		if err != nil {
			return IdempotencyKey{}, false, wrap("claim idempotency key", err)
		}
		if existing.Key != "" {
			return existing, taken, nil
		}
	}
	return IdempotencyKey{}, false, wrap("claim idempotency key", ErrConflict)
}

// RecordIdempotencyPoint advances an in_flight key's recovery point from `from` ("" for
// none yet) to `to` ("" clears it: the effect was undone), naming resourceID (kept as it
// was when ""), in tx: in the same
// transaction as the effect the point stands for, so the two commit or vanish together.
// It returns false when the key is not at `from` (another run of the same key advanced it
// first, or it is done): the caller must then roll its transaction back.
func (tx *Tx) RecordIdempotencyPoint(partnerID, key, from, to, resourceID string) (bool, error) {
	args := make([]any, 0, 6)
	write := pointOnly
	switch {
	case to == "": // the effect was undone: the key is as if its request never ran
		write = pointCleared
	case resourceID != "":
		write = pointAndResource
		args = append(args, to, resourceID)
	default:
		args = append(args, to)
	}
	args = append(args, partnerID, key, IdempotencyInFlight)
	fromSet := 0
	if from != "" {
		fromSet = 1
		args = append(args, from)
	}
	n, err := idemPoint[fromSet][write].exec(tx.g, args...)
	if err != nil {
		return false, wrap("record idempotency point", err)
	}
	return n == 1, nil
}

// CompleteIdempotencyKey stores the response of the request that claimed the key and
// marks it done. A key already done keeps its first response; ErrNotFound if the key
// has no row (it was released or purged).
func (db *DB) CompleteIdempotencyKey(ctx context.Context, partnerID, key string, status int, body []byte) error {
	if body == nil {
		body = []byte{}
	}
	done, err := idemComplete.exec(db.q(ctx), IdempotencyDone, status, body, partnerID, key, IdempotencyInFlight)
	if err != nil {
		return wrap("complete idempotency key", err)
	}
	if done == 1 {
		return nil
	}
	var n int64
	if err := db.q(ctx).Model(&IdempotencyKey{}).Where(idemKey(partnerID, key)).Count(&n).Error; err != nil {
		return wrap("complete idempotency key", err)
	}
	if n == 0 {
		return wrap("complete idempotency key", ErrNotFound)
	}
	return nil
}

// ReleaseIdempotencyKey gives up an in_flight claim after a failure on our side. A key
// with no recovery point is deleted, so the request may be retried with the same key as
// if it had never run; a key whose request committed an effect is kept with its recovery
// point and its lease ended, so a retry resumes from there at once instead of doing the
// effect again. A done key is kept.
func (db *DB) ReleaseIdempotencyKey(ctx context.Context, partnerID, key string) error {
	err := db.q(ctx).Where(idemKey(partnerID, key)).Where("state = ? AND recovery_point IS NULL", IdempotencyInFlight).
		Delete(&IdempotencyKey{}).Error
	if err != nil {
		return wrap("release idempotency key", err)
	}
	err = db.q(ctx).Model(&IdempotencyKey{}).Where(idemKey(partnerID, key)).
		Where("state = ? AND recovery_point IS NOT NULL", IdempotencyInFlight).
		UpdateColumn("locked_until", gorm.Expr("created_at")).Error
	return wrap("release idempotency key", err)
}

// PurgeIdempotencyKeys deletes keys created before olderThan and returns how many.
func (db *DB) PurgeIdempotencyKeys(ctx context.Context, olderThan time.Time) (int64, error) {
	res := db.q(ctx).Where("created_at < ?", dbTime(olderThan)).Delete(&IdempotencyKey{})
	if res.Error != nil {
		return 0, wrap("purge idempotency keys", res.Error)
	}
	return res.RowsAffected, nil
}
