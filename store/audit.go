package store

import (
	"context"
	"time"

	"gorm.io/gorm/clause"
)

// AuditEvent is one authenticated request, as the audit log keeps it.
type AuditEvent struct {
	ID             string    `gorm:"column:id;primaryKey"`
	OccurredAt     time.Time `gorm:"column:occurred_at"`
	PartnerID      string    `gorm:"column:partner_id"`
	TokenID        string    `gorm:"column:token_id"`
	Method         string    `gorm:"column:method"`
	Route          string    `gorm:"column:route"`
	Status         int       `gorm:"column:status"`
	RequestID      string    `gorm:"column:request_id"`
	IdempotencyKey string    `gorm:"column:idempotency_key"`
	ClientAddr     string    `gorm:"column:client_addr"`
	DurationMS     float64   `gorm:"column:duration_ms"`
}

// TableName is the audit log's table.
func (AuditEvent) TableName() string { return "audit_events" }

// AuditFilter narrows ListAuditEvents; zero fields match everything.
type AuditFilter struct {
	PartnerID string // "" = every partner's (operators only)
	TokenID   string
	Status    int
	Since     time.Time
}

// InsertAuditEvents writes a batch of events in one statement per insertBatch rows.
// Rows whose id is already stored are skipped, so a batch whose insert committed but
// whose answer was lost (a terminated connection) can be written again.
func (db *DB) InsertAuditEvents(ctx context.Context, events []AuditEvent) error {
	if len(events) == 0 {
		return nil
	}
	for i := range events {
		events[i].OccurredAt = dbTime(events[i].OccurredAt)
	}
	return wrap("insert audit events", db.q(ctx).Clauses(clause.OnConflict{DoNothing: true}).CreateInBatches(events, insertBatch).Error)
}

// ListAuditEvents lists events newest first, a page at a time; ErrNotFound when
// StartingAfter is not an event of this list's partner.
func (db *DB) ListAuditEvents(ctx context.Context, f AuditFilter, p Page) ([]AuditEvent, bool, error) {
	g := db.q(ctx).Model(&AuditEvent{})
	if f.PartnerID != "" {
		g = g.Where("partner_id = ?", f.PartnerID)
	}
	if f.TokenID != "" {
		g = g.Where("token_id = ?", f.TokenID)
	}
	if f.Status != 0 {
		g = g.Where("status = ?", f.Status)
	}
	if !f.Since.IsZero() {
		g = g.Where("occurred_at >= ?", dbTime(f.Since))
	}
	if p.StartingAfter != "" {
		q := db.q(ctx).Model(&AuditEvent{}).Where("id = ?", p.StartingAfter)
		if f.PartnerID != "" {
			q = q.Where("partner_id = ?", f.PartnerID)
		}
		var n int64
		if err := q.Count(&n).Error; err != nil {
			return nil, false, wrap("list audit events: starting_after", err)
		}
		if n == 0 {
			return nil, false, wrap("list audit events: starting_after", ErrNotFound)
		}
		g = g.Where("id < ?", p.StartingAfter)
	}
	limit := pageLimit(p)
	var out []AuditEvent
	if err := g.Order("id DESC").Limit(limit + 1).Find(&out).Error; err != nil {
		return nil, false, wrap("list audit events", err)
	}
	return trimPage(out, limit)
}
