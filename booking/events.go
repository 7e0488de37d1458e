package booking

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/prima-dining/partner-api/ids"
	"github.com/prima-dining/partner-api/payments"
	"github.com/prima-dining/partner-api/store"
)

// Event types: what partners can subscribe to, and what venues' platforms are told.
const (
	EventReservationConfirmed       = "reservation.confirmed"
	EventReservationCancelled       = "reservation.cancelled"
	EventReservationExpired         = "reservation.expired"
	EventReservationVenueSyncFailed = "reservation.venue_sync_failed"
	EventPaymentCaptured            = "payment.captured"
	EventPaymentRefunded            = "payment.refunded"
	EventPaymentFailed              = "payment.failed"
	EventPaymentCanceled            = "payment.canceled"
)

// EventTypes lists every partner event type.
var EventTypes = []string{
	EventReservationConfirmed, EventReservationCancelled, EventReservationExpired, EventReservationVenueSyncFailed,
	EventPaymentCaptured, EventPaymentRefunded, EventPaymentFailed, EventPaymentCanceled,
}

// Venue sync statuses, as the reservation shows them.
const (
	SyncNotApplicable = "not_applicable"
	SyncPending       = "pending"
	SyncSynced        = "synced"
	SyncFailed        = "failed"
)

// VenueSyncer delivers one outbox message now, within deadline (platforms.Worker).
type VenueSyncer interface {
	DeliverNow(ctx context.Context, messageID string, deadline time.Duration) error
}

// inlineSyncDeadline bounds how long finalize and cancel wait for the venue's platform
// before answering with venue_sync pending.
const inlineSyncDeadline = 2 * time.Second

// changeEvents says which events a change of a reservation row makes.
func changeEvents(before, after store.Reservation) (partner []string, venue string) {
	if before.Status != after.Status {
		switch Status(after.Status) {
		case StatusConfirmed:
			partner, venue = append(partner, EventReservationConfirmed), EventReservationConfirmed
		case StatusCancelled:
			partner, venue = append(partner, EventReservationCancelled), EventReservationCancelled
		case StatusExpired:
			partner = append(partner, EventReservationExpired)
		}
	}
	if before.PaymentStatus != after.PaymentStatus {
		switch payments.IntentStatus(after.PaymentStatus) {
		case payments.StatusSucceeded:
			partner = append(partner, EventPaymentCaptured)
		case payments.StatusCanceled:
			partner = append(partner, EventPaymentCanceled)
		}
	}
	if after.PaymentAmountRefunded > before.PaymentAmountRefunded {
		partner = append(partner, EventPaymentRefunded)
	}
	if after.PaymentDeclineCode != "" && after.PaymentDeclineCode != before.PaymentDeclineCode {
		partner = append(partner, EventPaymentFailed)
	}
	return partner, venue
}

// emit writes the outbox messages a change makes, in the change's own transaction, so
// an event is never lost nor sent for a change that did not commit. A change the venue
// must hear of marks the reservation's venue sync pending. It returns the id of the
// venue message, if any.
func emit(tx *store.Tx, before store.Reservation, after *store.Reservation, now time.Time) (string, error) {
	partnerEvents, venueEvent := changeEvents(before, *after)
	var msgs []store.OutboxMessage
	venueMsg := ""
	if venueEvent != "" {
		venueMsg = ids.New("msg")
		msgs = append(msgs, store.OutboxMessage{
			ID: venueMsg, Kind: "venue", Type: venueEvent, ReservationID: after.ID,
			PartnerID: after.PartnerID, VenueID: after.VenueID, Status: "pending",
			NextAttemptAt: now, CreatedAt: now,
		})
		after.VenueSyncStatus = SyncPending
		after.VenueSyncError = ""
	}
	if len(partnerEvents) > 0 {
		endpoints, err := tx.EnabledWebhookEndpoints(after.PartnerID)
		if err != nil {
			return "", err
		}
		for _, ep := range endpoints {
			subscribed := strings.Fields(ep.Events)
			for _, typ := range partnerEvents {
				if slices.Contains(subscribed, "*") || slices.Contains(subscribed, typ) {
					msgs = append(msgs, store.OutboxMessage{
						ID: ids.New("msg"), Kind: "partner", Type: typ, ReservationID: after.ID,
						PartnerID: after.PartnerID, VenueID: after.VenueID, EndpointID: ep.ID,
						Status: "pending", NextAttemptAt: now, CreatedAt: now,
					})
				}
			}
		}
	}
	return venueMsg, tx.InsertOutbox(msgs)
}

// syncNow tries the venue message at once, so the answer usually shows synced; a
// failure leaves it to the worker.
func (s *Service) syncNow(ctx context.Context, messageID string) {
	if s.cfg.VenueSync == nil || messageID == "" {
		return
	}
	if err := s.cfg.VenueSync.DeliverNow(context.WithoutCancel(ctx), messageID, inlineSyncDeadline); err != nil {
		s.log.InfoContext(ctx, "venue sync deferred to the worker", "message_id", messageID, "error", err)
	}
}
