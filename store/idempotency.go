package store

import (
	"context"
	"time"

	"gorm.io/gorm/clause"
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

// ClaimIdempotencyKey claims (partnerID, key) for a request whose fingerprint is given,
// until lockedUntil. It returns (the claimed row, true) when this call owns the key now:
// the key was free, or its row was older than IdempotencyKeyTTL, or it was in_flight with
// the same fingerprint and locked_until < now (its request died). Otherwise it returns
// (the existing row, false): done with a response to replay, in flight, or taken by a
// request with another fingerprint. Of concurrent claimers exactly one wins: the claim is
// an INSERT … ON CONFLICT DO NOTHING and the takeover a conditional UPDATE.
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
	for range 3 {
		res := db.q(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&row)
		if res.Error != nil {
			return IdempotencyKey{}, false, wrap("claim idempotency key", res.Error)
		}
		if res.RowsAffected == 1 {
			return row, true, nil
		}
		res = db.q(ctx).Model(&IdempotencyKey{}).Where(idemKey(partnerID, key)).
			Where("created_at < ? OR (state = ? AND locked_until < ? AND fingerprint = ?)",
				now.Add(-IdempotencyKeyTTL), IdempotencyInFlight, now, fingerprint).
			UpdateColumns(map[string]any{
				"fingerprint":     fingerprint,
				"state":           IdempotencyInFlight,
				"response_status": 0,
				"response_body":   nil,
				"locked_until":    lockedUntil,
				"created_at":      now,
			})
		if res.Error != nil {
			return IdempotencyKey{}, false, wrap("claim idempotency key: take over", res.Error)
		}
		if res.RowsAffected == 1 {
			return row, true, nil
		}
		var existing IdempotencyKey
		err := db.q(ctx).Where(idemKey(partnerID, key)).Limit(1).Find(&existing).Error
		if err != nil {
			return IdempotencyKey{}, false, wrap("claim idempotency key", err)
		}
		if existing.Key != "" {
			return existing, false, nil
		}
	}
	return IdempotencyKey{}, false, wrap("claim idempotency key", ErrConflict)
}

// CompleteIdempotencyKey stores the response of the request that claimed the key and
// marks it done. A key already done keeps its first response; ErrNotFound if the key
// has no row (it was released or purged).
func (db *DB) CompleteIdempotencyKey(ctx context.Context, partnerID, key string, status int, body []byte) error {
	if body == nil {
		body = []byte{}
	}
	res := db.q(ctx).Model(&IdempotencyKey{}).Where(idemKey(partnerID, key)).
		Where("state = ?", IdempotencyInFlight).
		UpdateColumns(map[string]any{
			"state":           IdempotencyDone,
			"response_status": status,
			"response_body":   body,
		})
	if res.Error != nil {
		return wrap("complete idempotency key", res.Error)
	}
	if res.RowsAffected == 1 {
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

// ReleaseIdempotencyKey deletes an in_flight claim, so the request may be retried with
// the same key (used when it failed before changing anything). A done key is kept.
func (db *DB) ReleaseIdempotencyKey(ctx context.Context, partnerID, key string) error {
	err := db.q(ctx).Where(idemKey(partnerID, key)).Where("state = ?", IdempotencyInFlight).
		Delete(&IdempotencyKey{}).Error
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
