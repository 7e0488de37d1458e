package store

import (
	"context"
	"time"

	"github.com/prima-dining/partner-api/internal/ids"
)

// EventFilter narrows ListPartnerEvents; zero fields match everything. Created bounds
// are on the event's created_at: From inclusive (gte) or after (gt), To exclusive (lt)
// or inclusive (lte).
type EventFilter struct {
	Type          string
	ReservationID string
	CreatedGTE    *time.Time
	CreatedGT     *time.Time
	CreatedLT     *time.Time
	CreatedLTE    *time.Time
}

// EmitPartnerEvents records one event per type in types for partnerID, in the caller's
// transaction, and one outbox message per enabled endpoint subscribed to it. Every event
// is kept (GET /v1/events) even when no endpoint wants it. It returns the events.
func (tx *Tx) EmitPartnerEvents(partnerID, reservationID, venueID string, types []string, now time.Time) ([]PartnerEvent, error) {
	if len(types) == 0 || partnerID == "" {
		return nil, nil
	}
	now = dbTime(now)
	events := make([]PartnerEvent, 0, len(types))
	for _, typ := range types {
		events = append(events, PartnerEvent{
			ID: ids.New("evt"), PartnerID: partnerID, Type: typ,
			ReservationID: reservationID, VenueID: venueID, CreatedAt: now,
		})
	}
	if err := tx.g.CreateInBatches(events, insertBatch).Error; err != nil {
		return nil, wrap("insert partner events", err)
	}
	endpoints, err := tx.EnabledWebhookEndpoints(partnerID)
	if err != nil {
		return nil, err
	}
	var msgs []OutboxMessage
	for _, ev := range events {
		for _, e := range endpoints {
			if e.Subscribes(ev.Type) {
				msgs = append(msgs, partnerMessage(e, ev, now))
			}
		}
	}
	return events, tx.InsertOutbox(msgs)
}

// EmitRenderedEvent records one event of typ for partnerID whose body is fixed when it
// happens (render makes it from the event's id: an availability change, a watch's match),
// so GET /v1/events shows it as its webhooks carried it, and one outbox message with that
// body to each of endpoints that is partnerID's, enabled and subscribed (subscribed says
// which: availability.updated is sent only to endpoints that name it).
func (tx *Tx) EmitRenderedEvent(partnerID, typ, reservationID, venueID string, endpoints []WebhookEndpoint,
	subscribed func(WebhookEndpoint) bool, now time.Time, render func(id string) ([]byte, error)) error {
	now = dbTime(now)
	ev := PartnerEvent{ID: ids.New("evt"), PartnerID: partnerID, Type: typ, ReservationID: reservationID, VenueID: venueID, CreatedAt: now}
	body, err := render(ev.ID)
	if err != nil {
		return err
	}
	ev.Payload = body
	if err := tx.g.Create(&ev).Error; err != nil {
		return wrap("insert partner event", err)
	}
	var msgs []OutboxMessage
	for _, e := range endpoints {
		if e.PartnerID == partnerID && e.Status == EndpointEnabled && subscribed(e) {
			m := partnerMessage(e, ev, now)
			m.Payload = body
			msgs = append(msgs, m)
		}
	}
	return tx.InsertOutbox(msgs)
}

// partnerMessage is the outbox message delivering ev to endpoint e.
func partnerMessage(e WebhookEndpoint, ev PartnerEvent, now time.Time) OutboxMessage {
	return OutboxMessage{
		ID: ids.New("msg"), Kind: OutboxPartner, Type: ev.Type, EventID: ev.ID,
		ReservationID: ev.ReservationID, PartnerID: ev.PartnerID, VenueID: ev.VenueID, EndpointID: e.ID,
		Status: OutboxPending, NextAttemptAt: now, CreatedAt: now,
	}
}

// ListPartnerEvents lists a partner's events matching f, newest first (by id, which is
// time-ordered). An unknown (or another partner's) StartingAfter is ErrNotFound.
func (db *DB) ListPartnerEvents(ctx context.Context, partnerID string, f EventFilter, p Page) ([]PartnerEvent, bool, error) {
	g := db.q(ctx).Model(&PartnerEvent{}).Where("partner_id = ?", partnerID)
	if f.Type != "" {
		g = g.Where("type = ?", f.Type)
	}
	if f.ReservationID != "" {
		g = g.Where("reservation_id = ?", f.ReservationID)
	}
	for _, b := range []struct {
		op string
		at *time.Time
	}{{">=", f.CreatedGTE}, {">", f.CreatedGT}, {"<", f.CreatedLT}, {"<=", f.CreatedLTE}} {
		if b.at != nil {
			g = g.Where("created_at "+b.op+" ?", dbTime(*b.at))
		}
	}
	if p.StartingAfter != "" {
		var n int64
		err := db.q(ctx).Model(&PartnerEvent{}).Where("partner_id = ? AND id = ?", partnerID, p.StartingAfter).Count(&n).Error
		if err != nil {
			return nil, false, wrap("list partner events: starting_after", err)
		}
		if n == 0 {
			return nil, false, wrap("list partner events: starting_after", ErrNotFound)
		}
		g = g.Where("id < ?", p.StartingAfter)
	}
	limit := pageLimit(p)
	var out []PartnerEvent
	if err := g.Order("id DESC").Limit(limit + 1).Find(&out).Error; err != nil {
		return nil, false, wrap("list partner events", err)
	}
	return trimPage(out, limit)
}

// GetPartnerEvent returns one of a partner's events (partnerID "" = any partner's, for
// the outbox worker); ErrNotFound if there is none.
func (db *DB) GetPartnerEvent(ctx context.Context, partnerID, id string) (PartnerEvent, error) {
	g := db.q(ctx).Where("id = ?", id)
	if partnerID != "" {
		g = g.Where("partner_id = ?", partnerID)
	}
	var ev PartnerEvent
	if err := g.Take(&ev).Error; err != nil {
		return PartnerEvent{}, wrap("get partner event", err)
	}
	return ev, nil
}

// SetPartnerEventPayload stores an event's rendered payload unless one is stored
// already, and returns the one that is: the first rendering wins, so every delivery and
// every read shows the same bytes.
func (db *DB) SetPartnerEventPayload(ctx context.Context, id string, payload []byte) ([]byte, error) {
	if payload == nil {
		payload = []byte{}
	}
	err := db.q(ctx).Model(&PartnerEvent{}).Where("id = ? AND (payload IS NULL OR length(payload) = 0)", id).UpdateColumn("payload", payload).Error
	if err != nil {
		return nil, wrap("set partner event payload", err)
	}
	ev, err := db.GetPartnerEvent(ctx, "", id)
	if err != nil {
		return nil, err
	}
	return ev.Payload, nil
}

// RedeliverPartnerEvent queues one of a partner's events again for one of its
// endpoints (enabled or not: the partner asked), due now, with the event's payload.
// ErrNotFound if either is not the partner's.
// The message gets id msgID (a new one if "").
func (db *DB) RedeliverPartnerEvent(ctx context.Context, partnerID, eventID, endpointID, msgID string, now time.Time, also ...Step) (OutboxMessage, error) {
	var msg OutboxMessage
	err := db.Transact(ctx, func(tx *Tx) error {
		var ev PartnerEvent
		if err := tx.g.Where("id = ? AND partner_id = ?", eventID, partnerID).Take(&ev).Error; err != nil {
			return err
		}
		var e WebhookEndpoint
		if err := tx.g.Where("id = ? AND partner_id = ?", endpointID, partnerID).Take(&e).Error; err != nil {
			return err
		}
		msg = partnerMessage(e, ev, dbTime(now))
		msg.Payload = ev.Payload
		if msgID != "" {
			msg.ID = msgID
		}
		if err := tx.InsertOutbox([]OutboxMessage{msg}); err != nil {
			return err
		}
		return tx.run(also)
	})
	return msg, wrap("redeliver partner event", err)
}

// RecordWebhookAttempt keeps one delivery attempt, in the transaction of its outcome.
func (tx *Tx) RecordWebhookAttempt(a WebhookAttempt) error {
	if a.ID == "" {
		a.ID = ids.New("wha")
	}
	a.AttemptedAt = dbTime(a.AttemptedAt)
	return wrap("record webhook attempt", tx.g.Create(&a).Error)
}

// ListWebhookAttempts lists the delivery attempts of one of a partner's events, oldest
// first, at most limit (default 100).
func (db *DB) ListWebhookAttempts(ctx context.Context, partnerID, eventID string, limit int) ([]WebhookAttempt, error) {
	if limit <= 0 {
		limit = defaultSweep
	}
	var out []WebhookAttempt
	err := db.q(ctx).Where("partner_id = ? AND event_id = ?", partnerID, eventID).
		Order("attempted_at, id").Limit(limit).Find(&out).Error
	if err != nil {
		return nil, wrap("list webhook attempts", err)
	}
	return out, nil
}
