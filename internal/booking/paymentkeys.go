package booking

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/prima-dining/partner-api/internal/idempotency"
	"github.com/prima-dining/partner-api/internal/ids"
	"github.com/prima-dining/partner-api/payments"
)

// Every provider mutation of a reservation (create, capture, cancel, refund) carries an
// idempotency key stable for one logical attempt and new for the next: a retry of the
// same attempt (a timeout, a crash, a partner retrying finalize) sends the same key and
// the provider answers the first request's result instead of acting twice; after a
// failure the provider stored under the key (payments.ErrKeySpent, which Stripe replays
// for a day) the reservation's attempt moves on, so the next try is a new request that
// can succeed. Background retries of a failed cancel or refund back off exponentially,
// from payment_retry_at, instead of running at every sweep.

// Backoff of the sweeper's retries of a reservation's failed provider mutation.
const (
	paymentRetryBase = 2 * time.Second
	paymentRetryCap  = 15 * time.Minute
)

// paymentKey is the idempotency key of one attempt at purpose ("hold", "capture",
// "cancel", "refund-…") for the reservation id.
func paymentKey(purpose, id string, attempt int) string {
	return fmt.Sprintf("prima-%s-%s-%d", purpose, id, attempt)
}

// createForRequest creates a payment intent for purpose on the reservation id, keyed by
// the request of ctx: the same key on every retry of that request under its
// Idempotency-Key, so a retry after a crash or a timeout gets the intent the first run
// made instead of a second one. An intent the key made that has since been cancelled (the
// earlier run undid its change), or a failure the provider stored under the key, is not
// an answer to reuse: that retry is a new attempt, with a key of its own. A request
// without an Idempotency-Key is an attempt of its own.
func (s *core) createForRequest(ctx context.Context, purpose, id string, in payments.CreateIntent) (payments.Intent, error) {
	attempt := idempotency.FromContext(ctx).Attempt()
	if attempt == "" {
		attempt = newAttempt()
	}
	in.IdempotencyKey = fmt.Sprintf("prima-%s-%s-%s", purpose, id, attempt)
	intent, err := s.gateway.Create(ctx, in)
	if err == nil && intent.Status == payments.StatusCanceled || errors.Is(err, payments.ErrKeySpent) {
		in.IdempotencyKey += "-" + newAttempt()
		intent, err = s.gateway.Create(ctx, in)
	}
	return intent, err
}

// newAttempt is a fresh attempt name, for a key no earlier request used.
func newAttempt() string { return strings.TrimPrefix(ids.New("try"), "try_") }

// paymentRetryDelay is the wait after failures failed tries in a row: 2 s, 4 s, 8 s, …
// up to 15 min.
func paymentRetryDelay(failures int) time.Duration {
	d := paymentRetryBase
	for i := 1; i < failures && d < paymentRetryCap; i++ {
		d *= 2
	}
	return min(d, paymentRetryCap)
}

// paymentAttempt reads the reservation's current attempt number.
func (s *core) paymentAttempt(ctx context.Context, id string) int {
	r, err := s.db.GetReservation(ctx, "", id)
	if err != nil {
		// A key of attempt 0 is still a valid key: at worst it replays a stored failure,
		// which paymentFailed then moves past.
		s.log.WarnContext(ctx, "read payment attempt", "reservation_id", id, "error", err)
		return 0
	}
	return r.PaymentAttempt
}

// paymentFailed records that the provider mutation of attempt failed with err: the
// sweeper waits before trying again, and a failure stored under the key moves the attempt on.
func (s *core) paymentFailed(ctx context.Context, id string, attempt int, err error) {
	s.recordFailure(ctx, "reservation_id", id, attempt, err, s.db.RecordPaymentFailure)
}

// paymentSucceeded clears the reservation's failures after a provider mutation succeeded.
func (s *core) paymentSucceeded(ctx context.Context, id string) {
	s.recordSuccess(ctx, "reservation_id", id, s.db.RecordPaymentSuccess)
}

// changePaymentFailed is paymentFailed for the change payment id.
func (s *core) changePaymentFailed(ctx context.Context, id string, attempt int, err error) {
	s.recordFailure(ctx, "payment_id", id, attempt, err, s.db.RecordChangePaymentFailure)
}

// changePaymentSucceeded is paymentSucceeded for the change payment id.
func (s *core) changePaymentSucceeded(ctx context.Context, id string) {
	s.recordSuccess(ctx, "payment_id", id, s.db.RecordChangePaymentSuccess)
}

// recordFailure records, with record, a failed provider mutation of the row id (logged
// under idKey) and its backoff.
func (s *core) recordFailure(ctx context.Context, idKey, id string, attempt int, err error,
	record func(context.Context, string, int, bool, func(int) time.Time) (int, error)) {
	now := s.now()
	spent := errors.Is(err, payments.ErrKeySpent)
	failures, rerr := record(context.WithoutCancel(ctx), id, attempt, spent,
		func(failures int) time.Time { return now.Add(paymentRetryDelay(failures)) })
	if rerr != nil {
		s.log.WarnContext(ctx, "record payment failure", idKey, id, "error", rerr)
		return
	}
	s.log.DebugContext(ctx, "payment failure recorded", idKey, id, "attempt", attempt,
		"new_key", spent, "failures", failures, "retry_in", paymentRetryDelay(failures))
}

// recordSuccess clears, with record, the failures of the row id (logged under idKey).
func (s *core) recordSuccess(ctx context.Context, idKey, id string, record func(context.Context, string) error) {
	if err := record(context.WithoutCancel(ctx), id); err != nil {
		s.log.WarnContext(ctx, "record payment success", idKey, id, "error", err)
	}
}
