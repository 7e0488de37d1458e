package store

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/prima-dining/partner-api/internal/ids"
)

// Webhook endpoint statuses (WebhookEndpoint.Status).
const (
	EndpointEnabled  = "enabled"
	EndpointDisabled = "disabled"
)

// Subscribes reports whether the endpoint wants events of type eventType: its Events
// (space-separated) name it, or are "*".
func (e WebhookEndpoint) Subscribes(eventType string) bool {
	events := strings.Fields(e.Events)
	return slices.Contains(events, "*") || slices.Contains(events, eventType)
}

// PartnerEventMessages returns one partner outbox message of type eventType per endpoint
// subscribed to it, for InsertOutbox.
func PartnerEventMessages(endpoints []WebhookEndpoint, eventType, reservationID, venueID string, now time.Time) []OutboxMessage {
	var msgs []OutboxMessage
	for _, e := range endpoints {
		if e.Status != EndpointEnabled || !e.Subscribes(eventType) {
			continue
		}
		msgs = append(msgs, OutboxMessage{
			ID: ids.New("msg"), Kind: OutboxPartner, Type: eventType,
			ReservationID: reservationID, PartnerID: e.PartnerID, VenueID: venueID, EndpointID: e.ID,
			Status: OutboxPending, NextAttemptAt: now, CreatedAt: now,
		})
	}
	return msgs
}

// CreateWebhookEndpoint inserts e, and runs also in the same transaction. Defaults are
// filled in place: ID we_…, Status enabled, CreatedAt now. ErrConflict if its id is taken.
func (db *DB) CreateWebhookEndpoint(ctx context.Context, e *WebhookEndpoint, also ...Step) error {
	if e.ID == "" {
		e.ID = ids.New("we")
	}
	if e.Status == "" {
		e.Status = EndpointEnabled
	}
	if e.CreatedAt.IsZero() {
		e.CreatedAt = time.Now()
	}
	e.CreatedAt = dbTime(e.CreatedAt)
	return db.Transact(ctx, func(tx *Tx) error {
		if err := tx.g.Create(e).Error; err != nil {
			return wrap("create webhook endpoint", err)
		}
		return tx.run(also)
	})
}

// ListWebhookEndpoints lists a partner's endpoints, newest first.
func (db *DB) ListWebhookEndpoints(ctx context.Context, partnerID string) ([]WebhookEndpoint, error) {
	var out []WebhookEndpoint
	err := db.q(ctx).Where("partner_id = ?", partnerID).Order("created_at DESC, id DESC").Find(&out).Error
	if err != nil {
		return nil, wrap("list webhook endpoints", err)
	}
	return out, nil
}

// GetWebhookEndpoint returns one endpoint, whoever's it is (for the outbox worker);
// ErrNotFound if none.
func (db *DB) GetWebhookEndpoint(ctx context.Context, id string) (WebhookEndpoint, error) {
	var e WebhookEndpoint
	if err := db.q(ctx).Where("id = ?", id).Take(&e).Error; err != nil {
		return WebhookEndpoint{}, wrap("get webhook endpoint", err)
	}
	return e, nil
}

// DeleteWebhookEndpoint deletes a partner's endpoint; ErrNotFound if it has none of that
// id (another partner's included). Messages still pending for it fail when their turn
// comes.
func (db *DB) DeleteWebhookEndpoint(ctx context.Context, partnerID, id string) error {
	res := db.q(ctx).Where("id = ? AND partner_id = ?", id, partnerID).Delete(&WebhookEndpoint{})
	if res.Error != nil {
		return wrap("delete webhook endpoint", res.Error)
	}
	if res.RowsAffected == 0 {
		return wrap("delete webhook endpoint", ErrNotFound)
	}
	return nil
}

// EnabledWebhookEndpoints lists a partner's enabled endpoints, oldest first, in the
// caller's transaction (to write their messages with the change they report).
func (tx *Tx) EnabledWebhookEndpoints(partnerID string) ([]WebhookEndpoint, error) {
	var out []WebhookEndpoint
	err := tx.g.Where("partner_id = ? AND status = ?", partnerID, EndpointEnabled).
		Order("created_at, id").Find(&out).Error
	if err != nil {
		return nil, wrap("enabled webhook endpoints", err)
	}
	return out, nil
}

// DisableWebhookEndpoint disables an enabled endpoint, saying why; it reports whether it
// did (false: already disabled or deleted).
func (tx *Tx) DisableWebhookEndpoint(id, reason string) (bool, error) {
	return rowsOne("disable webhook endpoint", tx.g.Model(&WebhookEndpoint{}).
		Where("id = ? AND status = ?", id, EndpointEnabled).
		UpdateColumns(map[string]any{"status": EndpointDisabled, "disabled_reason": reason}))
}
