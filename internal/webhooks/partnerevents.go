package webhooks

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/prima-dining/partner-api/internal/idempotency"
	"github.com/prima-dining/partner-api/internal/ids"
	"github.com/prima-dining/partner-api/internal/refusal"
	"github.com/prima-dining/partner-api/store"
)

// Event is one of a partner's events (GET /v1/events): Payload is the JSON body its
// webhook deliveries carry, byte for byte.
type Event struct {
	ID            string
	Type          string
	ReservationID string
	CreatedAt     time.Time
	Payload       []byte
}

// EventFilter narrows Events.List; zero fields match everything.
type EventFilter = store.EventFilter

// Attempt is one delivery attempt of an event to an endpoint.
type Attempt struct {
	ID, EventID, EndpointID string
	Outcome                 string // succeeded | failed
	StatusCode              int
	Error                   string
	Duration                time.Duration
	AttemptedAt             time.Time
}

// QueuedDelivery is an event queued again for an endpoint.
type QueuedDelivery struct {
	ID, EventID, EndpointID, Status string
	CreatedAt                       time.Time
}

// MaxAttemptsListed bounds Events.Attempts.
const MaxAttemptsListed = 100

// Events reads partners' events and queues them again on request.
type Events struct {
	db     *store.DB
	render func(context.Context, store.OutboxMessage) ([]byte, error)
	now    func() time.Time
}

// NewEvents returns partners' events on db; render builds an event's body the first time
// it is needed (the outbox worker's WorkerConfig.Render), now is the clock (nil:
// time.Now).
func NewEvents(db *store.DB, render func(context.Context, store.OutboxMessage) ([]byte, error), now func() time.Time) *Events {
	if render == nil {
		render = minimalPayload
	}
	if now == nil {
		now = time.Now
	}
	return &Events{db: db, render: render, now: now}
}

// List lists partnerID's events matching f, newest first, with their bodies.
func (e *Events) List(ctx context.Context, partnerID string, f EventFilter, p store.Page) ([]Event, bool, error) {
	rows, more, err := e.db.ListPartnerEvents(ctx, partnerID, f, p)
	if errors.Is(err, store.ErrNotFound) {
		return nil, false, &refusal.NotFoundError{Kind: "event", ID: p.StartingAfter, Param: "starting_after"}
	}
	if err != nil {
		return nil, false, err
	}
	out := make([]Event, 0, len(rows))
	for _, r := range rows {
		ev, err := e.withPayload(ctx, r)
		if err != nil {
			return nil, false, err
		}
		out = append(out, ev)
	}
	return out, more, nil
}

// Get returns one of partnerID's events with its body.
func (e *Events) Get(ctx context.Context, partnerID, id string) (Event, error) {
	row, err := e.db.GetPartnerEvent(ctx, partnerID, id)
	if errors.Is(err, store.ErrNotFound) {
		return Event{}, &refusal.NotFoundError{Kind: "event", ID: id, Param: "event_id"}
	}
	if err != nil {
		return Event{}, err
	}
	return e.withPayload(ctx, row)
}

// withPayload is the event of row, its body rendered now if no delivery has yet.
func (e *Events) withPayload(ctx context.Context, row store.PartnerEvent) (Event, error) {
	payload := row.Payload
	if len(payload) == 0 {
		var err error
		if payload, err = EventPayload(ctx, e.db, e.render, row.ID); err != nil {
			return Event{}, fmt.Errorf("webhooks: render event %s: %w", row.ID, err)
		}
	}
	return Event{ID: row.ID, Type: row.Type, ReservationID: row.ReservationID, CreatedAt: row.CreatedAt, Payload: payload}, nil
}

// Attempts lists the delivery attempts of one of partnerID's events, oldest first (at
// most MaxAttemptsListed; more reports whether there were more).
func (e *Events) Attempts(ctx context.Context, partnerID, eventID string) ([]Attempt, bool, error) {
	if _, err := e.db.GetPartnerEvent(ctx, partnerID, eventID); errors.Is(err, store.ErrNotFound) {
		return nil, false, &refusal.NotFoundError{Kind: "event", ID: eventID, Param: "event_id"}
	} else if err != nil {
		return nil, false, err
	}
	rows, err := e.db.ListWebhookAttempts(ctx, partnerID, eventID, MaxAttemptsListed+1)
	if err != nil {
		return nil, false, err
	}
	more := len(rows) > MaxAttemptsListed
	if more {
		rows = rows[:MaxAttemptsListed]
	}
	out := make([]Attempt, 0, len(rows))
	for _, r := range rows {
		out = append(out, Attempt{
			ID: r.ID, EventID: r.EventID, EndpointID: r.EndpointID, Outcome: r.Outcome, StatusCode: r.StatusCode,
			Error: r.Error, Duration: time.Duration(r.DurationMS) * time.Millisecond, AttemptedAt: r.AttemptedAt,
		})
	}
	return out, more, nil
}

// Redeliver queues one of partnerID's events for one of its endpoints. Its body is
// rendered first if it never was, so the delivery carries the event's body. The
// delivery and the request's Idempotency-Key recovery point commit together: a retry
// answers the delivery queued, and queues no second one.
func (e *Events) Redeliver(ctx context.Context, partnerID, eventID, endpointID string) (QueuedDelivery, error) {
	key := idempotency.FromContext(ctx)
	if id := key.AppliedTo(); id != "" {
		m, err := e.db.GetOutboxMessage(ctx, id)
		if err != nil {
			return QueuedDelivery{}, fmt.Errorf("webhooks: resume redelivery %s: %w", id, err)
		}
		return queuedFromMessage(m), nil
	}
	if _, err := e.Get(ctx, partnerID, eventID); err != nil {
		return QueuedDelivery{}, err
	}
	if _, err := e.db.GetWebhookEndpointOf(ctx, partnerID, endpointID); errors.Is(err, store.ErrNotFound) {
		return QueuedDelivery{}, &refusal.NotFoundError{Kind: "webhook endpoint", ID: endpointID, Param: "webhook_endpoint_id"}
	} else if err != nil {
		return QueuedDelivery{}, err
	}
	id := ids.New("msg")
	m, err := e.db.RedeliverPartnerEvent(ctx, partnerID, eventID, endpointID, id, e.now().UTC(), key.Applies(id))
	if errors.Is(err, store.ErrNotFound) {
		return QueuedDelivery{}, &refusal.NotFoundError{Kind: "webhook endpoint", ID: endpointID, Param: "webhook_endpoint_id"}
	}
	if err != nil {
		return QueuedDelivery{}, err
	}
	key.Committed(idempotency.PointApplied)
	return queuedFromMessage(m), nil
}

func queuedFromMessage(m store.OutboxMessage) QueuedDelivery {
	return QueuedDelivery{ID: m.ID, EventID: m.EventID, EndpointID: m.EndpointID, Status: m.Status, CreatedAt: m.CreatedAt}
}
