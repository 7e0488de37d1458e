package store

import (
	"context"
	"time"
)

// OutboxStats counts the pending and failed outbox messages, and finds when the oldest
// pending one was written (zero when none is pending): the outbox's lag, for metrics.
func (db *DB) OutboxStats(ctx context.Context) (pending, failed int64, oldestPending time.Time, err error) {
	var rows []struct {
		Status string
		N      int64
	}
	if err := db.q(ctx).Model(&OutboxMessage{}).Select("status, count(*) AS n").
		Where("status IN ?", []string{"pending", "failed"}).Group("status").Scan(&rows).Error; err != nil {
		return 0, 0, time.Time{}, wrap("outbox stats", err)
	}
	for _, r := range rows {
		if r.Status == "pending" {
			pending = r.N
		} else {
			failed = r.N
		}
	}
	if pending > 0 {
		var oldest OutboxMessage
		if err := db.q(ctx).Select("created_at").Where("status = ?", "pending").
			Order("created_at").Limit(1).Take(&oldest).Error; err != nil {
			return 0, 0, time.Time{}, wrap("outbox stats", err)
		}
		oldestPending = oldest.CreatedAt
	}
	return pending, failed, oldestPending, nil
}
