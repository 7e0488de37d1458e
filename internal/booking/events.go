package booking

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	"github.com/prima-dining/partner-api/internal/ids"
	"github.com/prima-dining/partner-api/internal/webhooks"
	"github.com/prima-dining/partner-api/payments"
	"github.com/prima-dining/partner-api/store"
)

// Venue sync statuses, as the reservation shows them.
const (
	SyncNotApplicable = "not_applicable"
	SyncPending       = "pending"
	SyncSynced        = "synced"
	SyncFailed        = "failed"
)

// VenueSyncer delivers one outbox message now, within deadline (webhooks.Worker).
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
			partner, venue = append(partner, webhooks.EventReservationConfirmed), webhooks.EventReservationConfirmed
		case StatusCancelled:
			partner, venue = append(partner, webhooks.EventReservationCancelled), webhooks.EventReservationCancelled
		case StatusExpired:
			partner = append(partner, webhooks.EventReservationExpired)
		case StatusCompleted:
			partner = append(partner, webhooks.EventReservationCompleted) // e.g. to credit the guest's points
		case StatusNoShow:
			partner = append(partner, webhooks.EventReservationNoShow)
		}
	} else if len(bookedChanges(before, after)) > 0 {
		partner = append(partner, webhooks.EventReservationUpdated)
		if after.Status == string(StatusConfirmed) {
			venue = webhooks.EventReservationUpdated // the venue's platform shows the change
		}
	}
	if before.PaymentStatus != after.PaymentStatus {
		switch payments.IntentStatus(after.PaymentStatus) {
		case payments.StatusSucceeded:
			partner = append(partner, webhooks.EventPaymentCaptured)
		case payments.StatusCanceled:
			partner = append(partner, webhooks.EventPaymentCanceled)
		}
	}
	if after.PaymentAmountRefunded > before.PaymentAmountRefunded {
		partner = append(partner, webhooks.EventPaymentRefunded)
	}
	if after.PaymentDeclineCode != "" && after.PaymentDeclineCode != before.PaymentDeclineCode {
		partner = append(partner, webhooks.EventPaymentFailed)
	}
	if after.FeeStatus == FeeUnpaid && before.FeeStatus != FeeUnpaid {
		partner = append(partner, webhooks.EventReservationFeeFailed)
	}
	return partner, venue
}

// emit writes the outbox messages a change makes, in the change's own transaction, so
// an event is never lost nor sent for a change that did not commit. A change the venue
// must hear of marks the reservation's venue sync pending. It returns the id of the
// venue message, if any.
func emit(tx *store.Tx, before store.Reservation, after *store.Reservation, by string, now time.Time) (string, error) {
	if err := recordHistory(tx, before, *after, by, now); err != nil {
		return "", err
	}
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
	if _, err := tx.EmitPartnerEvents(after.PartnerID, after.ID, after.VenueID, partnerEvents, now); err != nil {
		return "", err
	}
	return venueMsg, tx.InsertOutbox(msgs)
}

// syncNow tries the venue message at once, so the answer usually shows synced; a
// failure leaves it to the worker.
func (s *core) syncNow(ctx context.Context, messageID string) {
	if s.cfg.VenueSync == nil || messageID == "" {
		return
	}
	if err := s.cfg.VenueSync.DeliverNow(context.WithoutCancel(ctx), messageID, inlineSyncDeadline); err != nil {
		s.log.InfoContext(ctx, "venue sync deferred to the worker", "message_id", messageID, "error", err)
	}
}

// History entry types beyond the partner event types.
const (
	historyHeld            = "reservation.held"
	historyChangeRequested = "reservation.change_requested"
	historyExtended        = "reservation.extended"
)

// bookedChanges lists the fields of what was booked that differ between two versions of
// a reservation, each as text.
func bookedChanges(before, after store.Reservation) map[string]FieldChange {
	out := map[string]FieldChange{}
	add := func(field, from, to string) {
		if from != to {
			out[field] = FieldChange{From: from, To: to}
		}
	}
	add("slot_id", before.SlotID, after.SlotID)
	if !before.StartsAt.Equal(after.StartsAt) {
		add("starts_at", before.StartsAt.UTC().Format(time.RFC3339), after.StartsAt.UTC().Format(time.RFC3339))
	}
	add("duration_minutes", strconv.Itoa(before.DurationMinutes), strconv.Itoa(after.DurationMinutes))
	add("seating_area", before.SeatingArea, after.SeatingArea)
	add("type", before.SlotType, after.SlotType)
	add("party_size", strconv.Itoa(before.PartySize), strconv.Itoa(after.PartySize))
	add("guest.first_name", before.GuestFirstName, after.GuestFirstName)
	add("guest.last_name", before.GuestLastName, after.GuestLastName)
	add("guest.email", before.GuestEmail, after.GuestEmail)
	add("guest.phone", before.GuestPhone, after.GuestPhone)
	add("guest.language", before.GuestLanguage, after.GuestLanguage)
	add("guest.loyalty_number", before.GuestLoyaltyNumber, after.GuestLoyaltyNumber)
	add("guest.room_number", before.GuestRoomNumber, after.GuestRoomNumber)
	add("guest.marketing_consent", strconv.FormatBool(before.GuestMarketingConsent), strconv.FormatBool(after.GuestMarketingConsent))
	add("guest.reference", before.GuestReference, after.GuestReference)
	if before.Answers != after.Answers {
		from, to := AnswersFromJSON(before.Answers), AnswersFromJSON(after.Answers)
		for id := range to {
			add("answers."+id, answerText(from[id]), answerText(to[id]))
		}
		for id := range from {
			if _, ok := to[id]; !ok {
				add("answers."+id, answerText(from[id]), "")
			}
		}
	}
	add("notes", before.Notes, after.Notes)
	add("partner_reference", before.PartnerReference, after.PartnerReference)
	return out
}

// recordHistory appends what the change did to the reservation's history. Payment-only
// changes (a capture, a refund) show on the reservation's payments instead.
func recordHistory(tx *store.Tx, before, after store.Reservation, by string, now time.Time) error {
	var (
		typ     string
		changes = bookedChanges(before, after)
	)
	if before.PaymentAmount != after.PaymentAmount && before.Status == after.Status {
		changes["payment.amount"] = FieldChange{From: strconv.FormatInt(before.PaymentAmount, 10), To: strconv.FormatInt(after.PaymentAmount, 10)}
	}
	switch {
	case before.Status != after.Status:
		typ = "reservation." + after.Status
		changes["status"] = FieldChange{From: before.Status, To: after.Status}
	case len(changes) > 0:
		typ = webhooks.EventReservationUpdated
	case after.PendingPaymentID != nil && !equalPtr(before.PendingPaymentID, after.PendingPaymentID):
		typ = historyChangeRequested
		changes["pending_change"] = FieldChange{From: deref(before.PendingPaymentID), To: *after.PendingPaymentID}
	case after.Status == string(StatusHeld) && !equalTimePtr(before.ExpiresAt, after.ExpiresAt):
		typ = historyExtended
		changes["expires_at"] = FieldChange{From: timeText(before.ExpiresAt), To: timeText(after.ExpiresAt)}
	default:
		return nil
	}
	return insertHistory(tx, after.ID, typ, by, changes, now)
}

func insertHistory(tx *store.Tx, reservationID, typ, by string, changes map[string]FieldChange, now time.Time) error {
	body, err := json.Marshal(changes)
	if err != nil {
		return err
	}
	return tx.InsertReservationEvent(&store.ReservationEvent{
		ID: ids.New("rev"), ReservationID: reservationID, Type: typ, TokenID: by,
		Changes: string(body), CreatedAt: now,
	})
}

func equalPtr(a, b *string) bool { return (a == nil && b == nil) || (a != nil && b != nil && *a == *b) }

func equalTimePtr(a, b *time.Time) bool {
	return (a == nil && b == nil) || (a != nil && b != nil && a.Equal(*b))
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func timeText(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}
