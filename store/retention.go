package store

import (
	"context"
	"time"
)

// Retention is how long finished records are kept before PurgeFinished deletes them; a
// zero duration keeps them for ever.
type Retention struct {
	// Deliveries covers delivered outbox messages, the provider events already handled
	// (their ids only guard against duplicates, which Stripe stops retrying after three
	// days) and the log connector's venue notifications.
	Deliveries time.Duration
	// Audit covers the audit log.
	Audit time.Duration
	// Events covers partners' events (GET /v1/events) and their delivery attempts;
	// zero means Deliveries. Partners are told events are kept 30 days.
	Events time.Duration
}

// EventRetention is how long partners' events are kept by default: the 30 days the
// API promises.
const EventRetention = 30 * 24 * time.Hour

// purgeBatch bounds each DELETE, so a purge never holds a long lock.
const purgeBatch = 1000

// PurgeFinished deletes what r says is old enough, in batches, and returns how many rows
// of each table it deleted. Pending and failed deliveries are never deleted: an
// operator may still retry them.
func (db *DB) PurgeFinished(ctx context.Context, now time.Time, r Retention) (map[string]int64, error) {
	events := r.Events
	if events <= 0 {
		events = r.Deliveries
	}
	targets := []struct {
		table, where string
		keep         time.Duration
	}{
		{"outbox", "status = 'delivered' AND delivered_at < ?", r.Deliveries},
		{"processed_events", "received_at < ?", r.Deliveries},
		{"venue_notifications", "created_at < ?", r.Deliveries},
		{"audit_events", "occurred_at < ?", r.Audit},
		{"partner_events", "created_at < ?", events},
		{"webhook_attempts", "attempted_at < ?", events},
	}
	out := map[string]int64{}
	for _, t := range targets {
		if t.keep <= 0 {
			continue
		}
		before := dbTime(now.Add(-t.keep))
		for {
			// DELETE … WHERE id IN (SELECT … LIMIT n): a bounded delete both dialects run.
			res := db.q(ctx).Exec("DELETE FROM "+t.table+" WHERE id IN (SELECT id FROM "+t.table+
				" WHERE "+t.where+" ORDER BY id LIMIT ?)", before, purgeBatch)
			if res.Error != nil {
				return out, wrap("purge "+t.table, res.Error)
			}
			out[t.table] += res.RowsAffected
			if res.RowsAffected < purgeBatch {
				break
			}
		}
	}
	return out, nil
}
