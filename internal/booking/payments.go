package booking

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/prima-dining/partner-api/internal/idempotency"
	"github.com/prima-dining/partner-api/payments"
	"github.com/prima-dining/partner-api/store"
)

// Payments keeps reservations' payments in step with the provider: its webhooks, the
// reconciler that catches what a crash left behind, and the sweeper that ends overdue
// holds and settles what ended ones still owe (sweeper.go). In the sandbox it also
// stands in for the partner's Stripe.js.
type Payments struct{ *core }

// Gateway is the payment gateway in use.
func (s *Payments) Gateway() payments.Gateway { return s.gateway }

// RunReconciler reconciles held prime reservations with the provider every interval.
func (s *Payments) RunReconciler(ctx context.Context, every time.Duration) {
	s.repeat(ctx, every, "reconciled payments", s.Reconcile)
}

// Reconcile compares held prime reservations that have not moved for a while with their
// intents at the provider. An intent that was captured (finalize crashed between the
// capture and the commit) is confirmed, or refunded when its hold ran out; any other
// status is recorded so the reservation shows it.
func (s *Payments) Reconcile(ctx context.Context) (int, error) {
	held, err := s.db.HeldWithPayments(ctx, s.now().Add(-30*time.Second), 50)
	if err != nil {
		return 0, err
	}
	fixed := 0
	for _, r := range held {
		intent, err := s.gateway.Get(ctx, *r.PaymentIntentID)
		if err != nil {
			s.log.WarnContext(ctx, "reconcile: read intent", "reservation_id", r.ID, "error", err)
			continue
		}
		if intent.Status == payments.StatusSucceeded {
			if _, err := s.confirmCaptured(ctx, r.ID, intent); err != nil {
				s.log.WarnContext(ctx, "reconcile: confirm captured hold", "reservation_id", r.ID, "error", err)
				continue
			}
			fixed++
			continue
		}
		if string(intent.Status) != r.PaymentStatus {
			s.recordIntent(ctx, r.ID, intent)
			fixed++
		}
	}
	return fixed, nil
}

// confirmCaptured confirms a hold whose intent is already captured, or, when the hold
// has run out, expires it and refunds the money.
func (s *core) confirmCaptured(ctx context.Context, id string, intent payments.Intent) (store.Reservation, error) {
	now := s.now()
	row, err := s.update(ctx, Partner{}, id, func(tx *store.Tx, r *store.Reservation) error {
		applyIntent(r, s.gateway.Name(), intent)
		expired, err := expireIfDue(tx, r, now)
		if err != nil {
			return err
		}
		if expired {
			owe(r, r.PaymentAmountCaptured)
			return nil
		}
		if r.Status == string(StatusHeld) {
			return confirm(r, now)
		}
		return nil
	})
	if err == nil && row.PaymentRefundDue > 0 {
		s.payRefund(ctx, row)
	}
	return row, err
}

// statusRank orders intent statuses so that a late, out-of-order event never moves a
// payment backwards: the final statuses never change, and an authorised intent only
// moves on to captured or cancelled.
func statusRank(st payments.IntentStatus) int {
	switch st {
	case payments.StatusSucceeded, payments.StatusCanceled:
		return 2
	case payments.StatusRequiresCapture:
		return 1
	}
	return 0
}

// ErrWebhookSignature: a webhook whose signature does not verify.
var ErrWebhookSignature = errors.New("booking: webhook signature invalid")

// ErrWebhooksDisabled: no webhook secret is configured, so webhooks are not accepted.
var ErrWebhooksDisabled = errors.New("booking: provider webhooks not enabled")

// WebhooksEnabled reports whether provider webhooks are accepted.
func (s *Payments) WebhooksEnabled() bool { return s.cfg.WebhookSecret != "" }

// HandleStripeWebhook verifies and applies a Stripe event. It reports whether the event
// was a duplicate of one already handled.
func (s *Payments) HandleStripeWebhook(ctx context.Context, payload []byte, signature string) (bool, error) {
	if !s.WebhooksEnabled() {
		return false, ErrWebhooksDisabled
	}
	ev, err := payments.VerifyStripeWebhook(payload, signature, s.cfg.WebhookSecret, 300*time.Second, s.now())
	if err != nil {
		return false, fmt.Errorf("%w: %w", ErrWebhookSignature, err)
	}
	return s.ApplyPaymentEvent(ctx, ev)
}

// ApplyPaymentEvent makes the reservation's payment follow a provider event. The event id
// is recorded in the same transaction as the change, so a redelivered event changes
// nothing twice, and a failed one is handled again when the provider retries it.
func (s *Payments) ApplyPaymentEvent(ctx context.Context, ev payments.Event) (bool, error) {
	if ev.IntentID == "" {
		return false, nil // not about a payment intent: nothing to follow
	}
	target, err := s.db.GetReservationByIntent(ctx, ev.IntentID)
	if errors.Is(err, store.ErrNotFound) {
		// A change's payment (or a replaced hold payment) follows its events too;
		// recording is monotonic, so a duplicate changes nothing twice. Any other
		// intent is not ours (another integration on the account).
		if pay, err := s.db.GetReservationPaymentByIntent(ctx, ev.IntentID); err == nil && ev.Intent != nil {
			in := *ev.Intent
			in.AmountRefunded = max(in.AmountRefunded, ev.AmountRefunded)
			s.recordChangeIntent(ctx, pay.ID, in)
		}
		return false, nil
	} else if err != nil {
		return false, err
	}
	now := s.now()
	var (
		duplicate bool
		row       store.Reservation
	)
	err = s.db.Transact(ctx, func(tx *store.Tx) error {
		fresh, err := tx.RecordEvent(ev.ID, ev.Type, now)
		if err != nil {
			return err
		}
		if !fresh {
			duplicate = true
			return nil
		}
		r, err := tx.GetReservation("", target.ID)
		if err != nil {
			return err
		}
		before := r
		from := r.Status
		applyEvent(&r, ev)
		ended := r.Status == string(StatusExpired) || r.Status == string(StatusReleased)
		if r.PaymentStatus == string(payments.StatusSucceeded) {
			switch {
			case ended:
				owe(&r, r.PaymentAmountCaptured) // money for a hold that ended goes back
			case r.Status == string(StatusHeld):
				expired, err := expireIfDue(tx, &r, now)
				if err != nil {
					return err
				}
				if expired {
					owe(&r, r.PaymentAmountCaptured)
				} else if err := confirm(&r, now); err != nil { // captured by a finalize that did not get to commit
					return err
				}
			}
		}
		r.UpdatedAt = now
		if _, err := emit(tx, before, &r, "", now); err != nil {
			return err
		}
		ok, err := tx.UpdateReservation(&r, from)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("reservation %s changed under a row lock", r.ID)
		}
		row = r
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("booking: apply event %s: %w", ev.ID, err)
	}
	if row.PaymentRefundDue > 0 {
		s.payRefund(ctx, row)
	}
	return duplicate, nil
}

// applyEvent copies what the event says onto the row, never moving the payment back.
func applyEvent(r *store.Reservation, ev payments.Event) {
	if ev.Intent != nil {
		in := *ev.Intent
		current := payments.IntentStatus(r.PaymentStatus)
		final := statusRank(current) == 2
		if !final && statusRank(in.Status) >= statusRank(current) {
			r.PaymentStatus = string(in.Status)
		}
		r.PaymentAmountCaptured = max(r.PaymentAmountCaptured, in.AmountCaptured)
		if in.DeclineCode != "" || ev.Type == "payment_intent.succeeded" || ev.Type == "payment_intent.amount_capturable_updated" {
			r.PaymentDeclineCode = in.DeclineCode
		}
	}
	if ev.AmountRefunded > r.PaymentAmountRefunded {
		r.PaymentRefundDue = max(0, r.PaymentRefundDue-(ev.AmountRefunded-r.PaymentAmountRefunded))
		r.PaymentAmountRefunded = ev.AmountRefunded
	}
}

// ConfirmSandboxPayment stands in for Stripe.js on the partner's client: it confirms the
// sandbox intent of one of p's holds with a test payment method.
func (s *Payments) ConfirmSandboxPayment(ctx context.Context, p Partner, intentID, paymentMethod string) (payments.Intent, error) {
	defer s.db.NoteWrite(ctx, p.ID) // its reads through this process see the write (store.OwnWrites)
	sandbox, ok := s.gateway.(*payments.Sandbox)
	if !ok {
		return payments.Intent{}, ErrSandboxNotEnabled
	}
	notFound := &NotFoundError{Kind: "payment intent", ID: intentID, Param: "payment_intent_id"}
	// The intent is a reservation's first payment or one a change added (the difference
	// of a dearer change, a replaced hold payment): both are the partner's to confirm.
	// record stores what the provider answers on the row the intent belongs to.
	row, err := s.db.GetReservationByIntent(ctx, intentID)
	record := func(in payments.Intent) { s.recordIntent(ctx, row.ID, in) }
	if errors.Is(err, store.ErrNotFound) {
		pay, perr := s.db.GetReservationPaymentByIntent(ctx, intentID)
		if errors.Is(perr, store.ErrNotFound) {
			return payments.Intent{}, notFound
		} else if perr != nil {
			return payments.Intent{}, perr
		}
		row, err = s.db.GetReservation(ctx, p.ID, pay.ReservationID)
		record = func(in payments.Intent) { s.recordChangeIntent(ctx, pay.ID, in) }
	}
	if errors.Is(err, store.ErrNotFound) || (err == nil && row.PartnerID != p.ID) {
		return payments.Intent{}, notFound
	} else if err != nil {
		return payments.Intent{}, err
	}
	// Keyed by the request, so a retry of a confirm that was made but not answered (the
	// process died) gets the intent as it stands instead of a refusal.
	key := ""
	if attempt := idempotency.FromContext(ctx).Attempt(); attempt != "" {
		key = "prima-confirm-" + intentID + "-" + attempt
	}
	intent, err := sandbox.ConfirmOnce(ctx, intentID, paymentMethod, key)
	switch {
	case errors.Is(err, payments.ErrDeclined):
		record(intent)
		return intent, &PaymentError{Declined: true, Status: intent.Status, DeclineCode: intent.DeclineCode}
	case errors.Is(err, payments.ErrInvalidState):
		return intent, &StateError{Status: Status(row.Status), Action: "confirm the payment of"}
	case errors.Is(err, payments.ErrNotFound):
		return payments.Intent{}, notFound
	case err != nil:
		return payments.Intent{}, fmt.Errorf("%w: %w", ErrPaymentProvider, err)
	}
	record(intent)
	return intent, nil
}

// Deadlines a sandbox reservation can be advanced past (AdvanceSandboxClock).
const (
	DeadlineHoldExpiry         = "hold_expiry"
	DeadlineCancellationCutoff = "cancellation_cutoff"
	DeadlineModificationCutoff = "modification_cutoff"
)

// AdvanceSandboxClock moves one of p's sandbox reservations past a deadline now, so a
// partner can try a time-based path in seconds. The sandbox moves the deadline rather
// than a clock, in one update on the locked row: an expired hold goes through the same
// expiry as any other (its table released, reservation.expired emitted) and its intent
// is cancelled; a cutoff becomes the whole hours before the start that put it in the
// past, on the reservation's own copy of its venue's policy.
func (s *Payments) AdvanceSandboxClock(ctx context.Context, p Partner, id, deadline string) (Reservation, error) {
	defer s.db.NoteWrite(ctx, p.ID) // its reads through this process see the write (store.OwnWrites)
	if !s.SandboxActive() {
		return Reservation{}, ErrSandboxNotEnabled
	}
	now := s.now()
	// hoursPast is the whole hours before startsAt whose cutoff has passed by now.
	hoursPast := func(startsAt time.Time) int { return max(int(startsAt.Sub(now)/time.Hour)+1, 0) }
	row, err := s.update(ctx, p, id, recorded(ctx, func(tx *store.Tx, r *store.Reservation) error {
		if err := expireOverdue(tx, r, now); err != nil && deadline != DeadlineHoldExpiry {
			return err
		} else if err != nil {
			return nil // expired already: the deadline is passed
		}
		switch deadline {
		case DeadlineHoldExpiry:
			if r.Status == string(StatusExpired) {
				return nil // past it already
			}
			if r.Status != string(StatusHeld) {
				return refuse(stateError(Status(r.Status), "expire the hold of"))
			}
			r.ExpiresAt = &now
			_, err := expireIfDue(tx, r, now)
			return err
		case DeadlineCancellationCutoff, DeadlineModificationCutoff:
			if r.Status != string(StatusHeld) && r.Status != string(StatusConfirmed) {
				return refuse(stateError(Status(r.Status), "advance the clock of"))
			}
			if deadline == DeadlineCancellationCutoff {
				r.PolicyFreeHours = max(r.PolicyFreeHours, hoursPast(r.StartsAt))
			} else {
				r.PolicyModifyUntilHours = max(r.PolicyModifyUntilHours, hoursPast(r.StartsAt))
			}
			r.UpdatedAt = now
			return nil
		}
		return refuse(&ParamError{Param: "to", Message: "to must be hold_expiry, cancellation_cutoff or modification_cutoff."})
	}))
	if err != nil {
		return Reservation{}, err
	}
	if row.Status == string(StatusExpired) && row.PaymentIntentID != nil && payments.IntentStatus(row.PaymentStatus).Open() {
		s.cancelIntent(ctx, row.ID, *row.PaymentIntentID)
		if fresh, err := s.db.GetReservation(ctx, p.ID, id); err == nil {
			row = fresh
		}
	}
	if row.Status == string(StatusExpired) && setupOpen(row) {
		s.cancelSetup(ctx, row)
		if fresh, err := s.db.GetReservation(ctx, p.ID, id); err == nil {
			row = fresh
		}
	}
	return reservationFromRow(row), nil
}

// SandboxActive reports whether the sandbox gateway is in use.
func (s *Payments) SandboxActive() bool {
	_, ok := s.gateway.(*payments.Sandbox)
	return ok
}
