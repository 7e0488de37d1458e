package booking

import (
	"context"
	"errors"
	"time"

	"github.com/prima-dining/partner-api/payments"
	"github.com/prima-dining/partner-api/store"
)

// Sweep expires every hold whose time ran out, releasing its table, cancels the payment
// intents and setup intents of holds that ended (expired or released) while theirs is
// still open, and retries the card-guarantee fees a provider failure left pending.
// It is safe to run in every server process at once: each expiry is a conditional update.
func (s *Payments) Sweep(ctx context.Context) (int, error) {
	now := s.now()
	var expired int
	for {
		var batch []store.Reservation
		err := s.db.Transact(ctx, func(tx *store.Tx) error {
			var err error
			batch, err = tx.ExpireDueHolds("", now, 200)
			if err != nil {
				return err
			}
			return emitExpired(tx, batch, now)
		})
		if err != nil {
			return expired, err
		}
		expired += len(batch)
		if len(batch) < 200 {
			break
		}
	}
	s.cfg.Metrics.Hold("expired", expired)
	// Watches whose window passed.
	if _, err := s.expireWatches(ctx, now); err != nil {
		return expired, err
	}
	// Allocations whose release time came: their unsold tables join the shared pool
	// (holds release them themselves; this is for searches).
	if _, err := s.db.ReleaseDueAllocations(ctx, now, 200); err != nil {
		return expired, err
	}
	// Holds whose last cancel failed wait out their backoff (payment_retry_at).
	ended, err := s.db.EndedHoldsWithOpenPayments(ctx, now, 100)
	if err != nil {
		return expired, err
	}
	for _, r := range ended {
		s.settleEndedHold(ctx, r)
	}
	// Card-guarantee holds that ended with their SetupIntent still open.
	unsaved, err := s.db.EndedHoldsWithOpenSetups(ctx, now, 100)
	if err != nil {
		return expired, err
	}
	for _, r := range unsaved {
		s.cancelSetup(ctx, r)
	}
	// Fees left pending by a provider failure (or a process that died before charging).
	if err := s.retryFeesDue(ctx, now); err != nil {
		return expired, err
	}
	if _, err := s.settleChangesDue(ctx); err != nil {
		return expired, err
	}
	return expired, s.payRefundsDue(ctx)
}

// settleEndedHold cancels the open intent of a hold that ended. An intent that was
// captured meanwhile is refunded: there is no charge without a confirmed booking.
func (s *core) settleEndedHold(ctx context.Context, r store.Reservation) {
	intent, err := s.gateway.Cancel(ctx, *r.PaymentIntentID, paymentKey("cancel", r.ID, r.PaymentAttempt))
	if errors.Is(err, payments.ErrInvalidState) {
		seen, getErr := s.gateway.Get(ctx, *r.PaymentIntentID)
		if getErr == nil && seen.Status == payments.StatusSucceeded {
			s.paymentSucceeded(ctx, r.ID)
			s.refundUnbooked(ctx, r.ID, seen)
			return
		}
	}
	if err != nil {
		s.paymentFailed(ctx, r.ID, r.PaymentAttempt, err)
		s.log.WarnContext(ctx, "cancel payment of ended hold", "reservation_id", r.ID, "error", err)
		return
	}
	s.paymentSucceeded(ctx, r.ID)
	s.recordIntent(ctx, r.ID, intent)
}

// RunSweeper sweeps every interval until ctx ends.
func (s *Payments) RunSweeper(ctx context.Context, every time.Duration) {
	s.repeat(ctx, every, "expired holds", s.Sweep)
}
