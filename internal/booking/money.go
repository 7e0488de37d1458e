package booking

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/prima-dining/partner-api/payments"
	"github.com/prima-dining/partner-api/store"
)

// Money owed back to a guest is recorded on the reservation (payment_refund_due) in the
// same transaction as the change that owes it, and paid afterwards; the sweeper retries
// whatever is still due. So a refund is never lost to a provider outage or a crash, and
// the provider's idempotency key keeps a retried refund from being paid twice.

// owe adds amount to what the reservation must refund, never more than what was
// captured and not yet refunded or owed.
func owe(r *store.Reservation, amount int64) {
	left := r.PaymentAmountCaptured - r.PaymentAmountRefunded - r.PaymentRefundDue
	r.PaymentRefundDue += min(max(amount, 0), max(left, 0))
}

// refundLease bounds a refund payer's claim; a payer that crashed is replaced after it.
const refundLease = 30 * time.Second

// payRefund pays what the reservation owes and records the provider's answer. Payers
// take turns (a claim on the row), so two never pay the same amount, and each first
// records what the provider already refunded (a payer that crashed after paying), so a
// retried obligation is never paid twice. A failure is logged and left for the sweeper.
func (s *Service) payRefund(ctx context.Context, r store.Reservation) {
	if r.PaymentRefundDue <= 0 || r.PaymentIntentID == nil {
		return
	}
	ctx = context.WithoutCancel(ctx)
	for range 3 { // more may be owed by the time one payment is made
		now := s.now()
		claimed, err := s.db.ClaimRefund(ctx, "reservations", r.ID, now, now.Add(refundLease))
		if err != nil || !claimed {
			return // nothing owed, or another payer is paying it
		}
		more := s.payRefundClaimed(ctx, r.ID, *r.PaymentIntentID)
		if err := s.db.ReleaseRefund(ctx, "reservations", r.ID); err != nil {
			s.log.WarnContext(ctx, "release refund claim", "reservation_id", r.ID, "error", err)
		}
		if !more {
			return
		}
	}
}

// payRefundClaimed pays, under the claim, what is owed; it reports whether to look again.
func (s *Service) payRefundClaimed(ctx context.Context, id, intentID string) bool {
	seen, err := s.gateway.Get(ctx, intentID)
	if err != nil {
		s.log.WarnContext(ctx, "refund: read intent (will retry)", "reservation_id", id, "error", err)
		return false
	}
	s.recordIntent(ctx, id, seen)
	r, err := s.db.GetReservation(ctx, "", id)
	if err != nil || r.PaymentRefundDue <= 0 {
		return false
	}
	// The key names this exact obligation: a retry after a crash gets the first refund
	// back from the provider instead of a second one.
	key := fmt.Sprintf("prima-refund-%s-%d-%d", r.ID, r.PaymentAmountRefunded, r.PaymentRefundDue)
	intent, err := s.gateway.Refund(ctx, intentID, r.PaymentRefundDue, key)
	if err != nil {
		s.log.WarnContext(ctx, "refund (will retry)", "reservation_id", r.ID, "amount", r.PaymentRefundDue, "error", err)
		return false
	}
	s.recordIntent(ctx, r.ID, intent)
	return true
}

// payRefundsDue retries every refund still owed.
func (s *Service) payRefundsDue(ctx context.Context) error {
	due, err := s.db.RefundsDue(ctx, 100)
	if err != nil {
		return err
	}
	for _, r := range due {
		s.payRefund(ctx, r)
	}
	return nil
}

// refundUnbooked returns money captured for a hold that did not become a booking.
func (s *Service) refundUnbooked(ctx context.Context, id string, intent payments.Intent) {
	row, err := s.mutate(context.WithoutCancel(ctx), Partner{}, id, func(_ *store.Tx, r *store.Reservation) (error, error) {
		if r.Status == string(StatusConfirmed) {
			return nil, nil // it did become a booking: keep the money
		}
		applyIntent(r, s.gateway.Name(), intent)
		owe(r, r.PaymentAmountCaptured)
		return nil, nil
	})
	if err != nil {
		s.log.ErrorContext(ctx, "record refund of unbooked hold", "reservation_id", id, "error", err)
		return
	}
	s.payRefund(ctx, row)
}

// Quote is what cancelling a reservation now would do to its payment.
type Quote struct {
	Reservation Reservation
	Cancellable bool
	Currency    string
	Refund      int64
	Fee         int64
	// FreeUntil is when free cancellation ends; zero when cancelling is always free.
	FreeUntil time.Time
}

// Quote says what cancelling now would refund and keep.
func (s *Service) Quote(ctx context.Context, p Partner, id string) (Quote, error) {
	row, err := s.row(ctx, p, id)
	if err != nil {
		return Quote{}, err
	}
	r := reservationFromRow(row)
	q := Quote{Reservation: r, Cancellable: r.Status == StatusHeld || r.Status == StatusConfirmed}
	if r.Policy.FeeType != FeeNone && r.Policy.FeeType != "" {
		q.FreeUntil = r.StartsAt.Add(-time.Duration(r.Policy.FreeUntilHoursBefore) * time.Hour)
	}
	if len(r.Payments) == 0 {
		return q, nil
	}
	q.Currency = r.Payments[0].Currency
	if r.Status == StatusConfirmed {
		paid := netPaid(row)
		q.Refund = r.Policy.Refund(paid, r.StartsAt, s.now())
		q.Fee = paid - q.Refund
	}
	return q, nil
}

// Reconcile compares held prime reservations that have not moved for a while with their
// intents at the provider. An intent that was captured (finalize crashed between the
// capture and the commit) is confirmed, or refunded when its hold ran out; any other
// status is recorded so the reservation shows it.
func (s *Service) Reconcile(ctx context.Context) (int, error) {
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
func (s *Service) confirmCaptured(ctx context.Context, id string, intent payments.Intent) (store.Reservation, error) {
	now := s.now()
	row, err := s.mutate(ctx, Partner{}, id, func(tx *store.Tx, r *store.Reservation) (error, error) {
		applyIntent(r, s.gateway.Name(), intent)
		if expired, err := expireIfDue(tx, r, now); err != nil || expired {
			owe(r, r.PaymentAmountCaptured)
			return nil, err
		}
		if r.Status == string(StatusHeld) {
			confirm(r, now)
		}
		return nil, nil
	})
	if err == nil && row.PaymentRefundDue > 0 {
		s.payRefund(ctx, row)
	}
	return row, err
}

// confirm moves a held reservation row to confirmed.
func confirm(r *store.Reservation, now time.Time) {
	code := newConfirmationCode()
	r.Status = string(StatusConfirmed)
	r.ConfirmationCode = &code
	r.ConfirmedAt = &now
	r.UpdatedAt = now
	r.ExpiresAt, r.HoldMaxAt = nil, nil
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
func (s *Service) WebhooksEnabled() bool { return s.cfg.WebhookSecret != "" }

// HandleStripeWebhook verifies and applies a Stripe event. It reports whether the event
// was a duplicate of one already handled.
func (s *Service) HandleStripeWebhook(ctx context.Context, payload []byte, signature string) (bool, error) {
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
func (s *Service) ApplyPaymentEvent(ctx context.Context, ev payments.Event) (bool, error) {
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
				if expired, err := expireIfDue(tx, &r, now); err != nil {
					return err
				} else if expired {
					owe(&r, r.PaymentAmountCaptured)
				} else {
					confirm(&r, now) // captured by a finalize that did not get to commit
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
