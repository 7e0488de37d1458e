package booking

import (
	"context"
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
func (s *core) payRefund(ctx context.Context, r store.Reservation) {
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
func (s *core) payRefundClaimed(ctx context.Context, id, intentID string) bool {
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
	// The key names this exact obligation and attempt: a retry after a crash or a
	// timeout gets the first refund back from the provider instead of a second one, and
	// a retry after a failure the provider stored sends a new key (paymentFailed).
	key := paymentKey(fmt.Sprintf("refund-%d-%d", r.PaymentAmountRefunded, r.PaymentRefundDue), r.ID, r.PaymentAttempt)
	intent, err := s.gateway.Refund(ctx, intentID, r.PaymentRefundDue, key)
	if err != nil {
		s.paymentFailed(ctx, r.ID, r.PaymentAttempt, err)
		s.log.WarnContext(ctx, "refund (will retry)", "reservation_id", r.ID, "amount", r.PaymentRefundDue, "error", err)
		return false
	}
	s.paymentSucceeded(ctx, r.ID)
	s.recordIntent(ctx, r.ID, intent)
	return true
}

// payRefundsDue retries every refund still owed.
func (s *core) payRefundsDue(ctx context.Context) error {
	// Refunds whose last try failed wait out their backoff (payment_retry_at).
	due, err := s.db.RefundsDue(ctx, s.now(), 100)
	if err != nil {
		return err
	}
	for _, r := range due {
		s.payRefund(ctx, r)
	}
	return nil
}

// refundUnbooked returns money captured for a hold that did not become a booking.
func (s *core) refundUnbooked(ctx context.Context, id string, intent payments.Intent) {
	row, err := s.update(context.WithoutCancel(ctx), Partner{}, id, func(_ *store.Tx, r *store.Reservation) error {
		if r.Status == string(StatusConfirmed) {
			return nil // it did become a booking: keep the money
		}
		applyIntent(r, s.gateway.Name(), intent)
		owe(r, r.PaymentAmountCaptured)
		return nil
	})
	if err != nil {
		s.log.ErrorContext(ctx, "record refund of unbooked hold", "reservation_id", id, "error", err)
		return
	}
	s.payRefund(ctx, row)
}
