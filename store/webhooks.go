package store

import (
	"context"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

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

// GetWebhookEndpointOf returns one of a partner's endpoints; ErrNotFound if it has none
// of that id (another partner's included).
func (db *DB) GetWebhookEndpointOf(ctx context.Context, partnerID, id string) (WebhookEndpoint, error) {
	var e WebhookEndpoint
	if err := db.q(ctx).Where("id = ? AND partner_id = ?", id, partnerID).Take(&e).Error; err != nil {
		return WebhookEndpoint{}, wrap("get webhook endpoint", err)
	}
	return e, nil
}

// WebhookEndpointChange is what UpdateWebhookEndpoint changes; nil fields stay.
type WebhookEndpointChange struct {
	URL    *string
	Events *string // space-separated
	Status *string // enabled | disabled
}

// UpdateWebhookEndpoint changes one of a partner's endpoints and returns it as it now is,
// running also in the same transaction; ErrNotFound if the partner has none of that id.
// Enabling clears the reason it was disabled.
func (db *DB) UpdateWebhookEndpoint(ctx context.Context, partnerID, id string, c WebhookEndpointChange, also ...Step) (WebhookEndpoint, error) {
	cols := map[string]any{}
	if c.URL != nil {
		cols["url"] = *c.URL
	}
	if c.Events != nil {
		cols["events"] = *c.Events
	}
	if c.Status != nil {
		cols["status"] = *c.Status
		if *c.Status == EndpointEnabled {
			cols["disabled_reason"] = ""
		} else {
			cols["disabled_reason"] = "Disabled through the API."
		}
	}
	var out WebhookEndpoint
	err := db.Transact(ctx, func(tx *Tx) error {
		if len(cols) > 0 {
			res := tx.g.Model(&WebhookEndpoint{}).Where("id = ? AND partner_id = ?", id, partnerID).UpdateColumns(cols)
			if res.Error != nil {
				return res.Error
			}
		}
		if err := tx.g.Where("id = ? AND partner_id = ?", id, partnerID).Take(&out).Error; err != nil {
			return err
		}
		return tx.run(also)
	})
	return out, wrap("update webhook endpoint", err)
}

// RotateWebhookSecret gives one of a partner's endpoints the signing secret secret; its
// current one becomes its previous secret, which still signs until overlapUntil (an
// older previous secret is dropped). It runs also in the same transaction and returns
// the endpoint as it now is; ErrNotFound if the partner has none of that id.
func (db *DB) RotateWebhookSecret(ctx context.Context, partnerID, id, secret string, overlapUntil time.Time, also ...Step) (WebhookEndpoint, error) {
	overlapUntil = dbTime(overlapUntil)
	var out WebhookEndpoint
	err := db.Transact(ctx, func(tx *Tx) error {
		var cur WebhookEndpoint
		if err := tx.g.Where("id = ? AND partner_id = ?", id, partnerID).Take(&cur).Error; err != nil {
			return err
		}
		// Conditional on the secret read: two concurrent rotations cannot both keep
		// the same previous secret.
		ok, err := rowsOne("rotate webhook secret", tx.g.Model(&WebhookEndpoint{}).
			Where("id = ? AND secret = ?", id, cur.Secret).
			UpdateColumns(map[string]any{"secret": secret, "previous_secret": cur.Secret, "previous_secret_expires_at": overlapUntil}))
		if err != nil {
			return err
		}
		if !ok {
			return ErrConflict
		}
		if err := tx.g.Where("id = ?", id).Take(&out).Error; err != nil {
			return err
		}
		return tx.run(also)
	})
	return out, wrap("rotate webhook secret", err)
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
	// GORM's statement, built once (readBuilt): every status change reads them.
	var out []WebhookEndpoint
	_, err := readBuilt(tx.g, readShape{name: "enabled webhook endpoints"}, func(dry *gorm.DB) *gorm.DB {
		return dry.Where("partner_id = ? AND status = ?", "", "").Order("created_at, id").Find(&[]WebhookEndpoint{})
	}, &out, partnerID, EndpointEnabled)
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
