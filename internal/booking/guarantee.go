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

// Card guarantees: a hold of a card-guaranteed slot saves the guest's card with a
// SetupIntent (its client_secret is returned like a PaymentIntent's); finalize checks
// server-side that the card was saved; a no-show recorded by the operator, or a
// cancellation inside the fee window, makes the fee due in the same transaction as the
// outcome, and the fee is then charged off-session with the saved payment method under
// a key per reservation and reason, so however often the call is retried, and however
// many run at once, the guest is charged at most once. A failed charge leaves the
// booking's outcome as recorded, the fee unpaid, and sends reservation.fee_failed.

// errNoCardSaver: the gateway in use cannot save cards.
var errNoCardSaver = errors.New("booking: the payment gateway cannot save cards")

func (s *core) cardSaver() (payments.CardSaver, error) {
	saver, ok := s.gateway.(payments.CardSaver)
	if !ok {
		return nil, fmt.Errorf("%w: %w", ErrPaymentProvider, errNoCardSaver)
	}
	return saver, nil
}

// attachSetup creates the hold's SetupIntent. When the provider fails, the hold is
// released, as attachPayment does.
func (s *core) attachSetup(ctx context.Context, row *store.Reservation, slot store.Slot) error {
	saver, err := s.cardSaver()
	if err == nil {
		var si payments.SetupIntent
		si, err = saver.CreateSetup(ctx, payments.CreateSetup{
			Description: fmt.Sprintf("PRIMA card guarantee of reservation %s at %s", row.ID, slot.Venue.Name),
			Metadata: map[string]string{
				"reservation_id": row.ID, "partner_id": row.PartnerID, "venue_id": row.VenueID, "slot_id": row.SlotID,
			},
			IdempotencyKey: paymentKey("setup", row.ID, row.PaymentAttempt),
		})
		if err == nil {
			row.SetupIntentID, row.SetupClientSecret, row.SetupStatus, row.CardCustomer = &si.ID, si.ClientSecret, si.Status, si.Customer
			err = s.db.Transact(ctx, func(tx *store.Tx) error {
				ok, err := tx.UpdateReservation(row, string(StatusHeld))
				if err == nil && !ok {
					err = errors.New("hold changed while its card guarantee was created")
				}
				return err
			})
			if err != nil {
				return fmt.Errorf("booking: record card guarantee of %s: %w", row.ID, err)
			}
			return nil
		}
	}
	undo := func(tx *store.Tx) error {
		return idempotency.FromContext(ctx).Record(tx, idempotency.PointHeld, "", "")
	}
	if rerr := s.releaseHold(ctx, row.ID, "payment_provider_error", undo); rerr != nil {
		s.log.ErrorContext(ctx, "release hold after card guarantee failure", "reservation_id", row.ID, "error", rerr)
	}
	if errors.Is(err, ErrPaymentProvider) {
		return err
	}
	return fmt.Errorf("%w: create setup intent: %w", ErrPaymentProvider, err)
}

// verifySetup reads the hold's SetupIntent at the provider: finalize books only a hold
// whose card was saved (never trusting the client).
func (s *core) verifySetup(ctx context.Context, row store.Reservation) (payments.SetupIntent, error) {
	saver, err := s.cardSaver()
	if err != nil {
		return payments.SetupIntent{}, err
	}
	si, err := saver.GetSetup(ctx, *row.SetupIntentID)
	if err != nil {
		return payments.SetupIntent{}, fmt.Errorf("%w: read setup intent: %w", ErrPaymentProvider, err)
	}
	if si.Status != payments.SetupSucceeded || si.PaymentMethod == "" {
		return si, &PaymentError{Status: payments.IntentStatus(si.Status)}
	}
	return si, nil
}

// insideFeeWindow reports whether cancelling the card-guaranteed booking r at now costs
// its fee: after the free cancellation window of its policy.
func insideFeeWindow(r store.Reservation, now time.Time) bool {
	if r.PaymentPolicy != string(PolicyCardGuarantee) {
		return false
	}
	return now.After(r.StartsAt.Add(-time.Duration(r.PolicyFreeHours) * time.Hour))
}

// Retries of a fee the provider failed to charge (an outage, not a decline): the sweeper
// tries again after feeRetryDelay, under the fee's one key, and after feeMaxTries
// failures in all the fee is unpaid (FeeProviderError). A fee made due waits
// feeSweepGrace before the sweeper may charge it, so it does not race the request that
// made it due (that request charges it at once); a process that died before charging
// leaves it to the sweeper.
const (
	feeRetryBase  = 30 * time.Second
	feeRetryCap   = 15 * time.Minute
	feeMaxTries   = 8 // 30 s, 1, 2, 4, 8, 15, 15 min: about an hour
	feeSweepGrace = time.Minute
	// feeClaim is how long a sweeper's claim on a fee keeps other sweepers off it.
	feeClaim = 2 * time.Minute
)

// FeeProviderError is the fee_decline_code of a fee the provider could not be reached
// to charge, however often it was tried.
const FeeProviderError = "payment_provider_error"

// feeRetryDelay is the wait after failures failed tries in a row.
func feeRetryDelay(failures int) time.Duration {
	d := feeRetryBase
	for i := 1; i < failures && d < feeRetryCap; i++ {
		d *= 2
	}
	return min(d, feeRetryCap)
}

// feeDue makes a card-guaranteed booking's fee due for reason at now, once: a fee already
// due, paid or unpaid is left as it is.
func feeDue(r *store.Reservation, reason string, now time.Time) {
	if r.PaymentPolicy != string(PolicyCardGuarantee) || r.FeeStatus != "" {
		return
	}
	fee := Deposit{Amount: r.DepositAmount, Per: PricePer(r.DepositPer)}.Total(r.PartySize)
	if fee <= 0 {
		return
	}
	r.FeeStatus, r.FeeReason, r.FeeAmount = FeePending, reason, fee
	retry := now.Add(feeSweepGrace)
	r.FeeRetryAt = &retry
}

// chargeFee charges a pending fee off-session and records the outcome on the row, from
// pending only. A provider outage leaves it pending with a backoff (feeFailed): the
// sweeper, or the next call of the operator or the partner, charges it under the same
// key, so the guest is charged at most once.
func (s *core) chargeFee(ctx context.Context, row store.Reservation) store.Reservation {
	status, intentID, code := FeePaid, "", ""
	saver, err := s.cardSaver()
	var in payments.Intent
	switch {
	case err != nil:
		s.log.WarnContext(ctx, "charge fee", "reservation_id", row.ID, "error", err)
		return row
	case row.CardPaymentMethod == "" || row.CardCustomer == "":
		status, code = FeeUnpaid, "no_saved_card"
	default:
		metadata := map[string]string{"reservation_id": row.ID, "partner_id": row.PartnerID, "venue_id": row.VenueID, "reason": row.FeeReason}
		if row.PartnerReference != "" {
			metadata["partner_reference"] = row.PartnerReference
		}
		in, err = saver.ChargeOffSession(ctx, payments.OffSessionCharge{
			Amount: row.FeeAmount, Currency: reservationCurrency(row), Customer: row.CardCustomer,
			PaymentMethod: row.CardPaymentMethod, Metadata: metadata,
			Description:    fmt.Sprintf("PRIMA %s fee of reservation %s", row.FeeReason, row.ID),
			IdempotencyKey: paymentKey("fee-"+row.FeeReason, row.ID, 0),
		})
		intentID = in.ID
		switch {
		case err == nil:
		case errors.Is(err, payments.ErrDeclined):
			status, code = FeeUnpaid, in.DeclineCode
			if code == "" {
				code = "card_declined"
			}
		default:
			s.log.WarnContext(ctx, "charge fee", "reservation_id", row.ID, "error", err)
			return s.feeFailed(ctx, row)
		}
	}
	updated, err := s.update(ctx, Partner{}, row.ID, func(_ *store.Tx, r *store.Reservation) error {
		if r.FeeStatus != FeePending {
			return nil // recorded by a concurrent call
		}
		r.FeeStatus, r.FeeDeclineCode, r.FeeRetryAt = status, code, nil
		if intentID != "" {
			r.FeeIntentID = &intentID
		}
		return nil
	})
	if err != nil {
		s.log.WarnContext(ctx, "record fee", "reservation_id", row.ID, "error", err)
		return row
	}
	return updated
}

// Outcomes of a sandbox SetupIntent confirmation (ConfirmSandboxSetup).
const (
	SetupOutcomeSucceeded      = "succeeded"
	SetupOutcomeDeclined       = payments.SetupDeclined
	SetupOutcomeRequiresAction = payments.SetupRequiresAction
)

// ConfirmSandboxSetup plays, in the sandbox, the guest confirming the SetupIntent of one
// of p's card-guarantee holds on the partner's client (Stripe.js confirmSetup): outcome
// succeeded saves paymentMethod (a test card, which decides how a later off-session fee
// fares), declined answers a PaymentError (402 card_declined) and saves nothing,
// requires_action leaves it waiting for 3-D Secure. The SetupIntent's status is
// recorded on the hold; finalize still reads it back from the gateway. The SetupIntent
// of a hold that ended was cancelled: confirming it is 409 (hold_expired for an expired
// hold).
func (s *Payments) ConfirmSandboxSetup(ctx context.Context, p Partner, setupIntentID, outcome, paymentMethod string) (payments.SetupIntent, error) {
	defer s.db.NoteWrite(ctx, p.ID) // its reads through this process see the write (store.OwnWrites)
	sandbox, ok := s.gateway.(*payments.Sandbox)
	if !ok {
		return payments.SetupIntent{}, ErrSandboxNotEnabled
	}
	notFound := &NotFoundError{Kind: "setup intent", ID: setupIntentID, Param: "setup_intent_id"}
	row, err := s.db.GetReservationBySetupIntent(ctx, setupIntentID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && row.PartnerID != p.ID) {
		return payments.SetupIntent{}, notFound
	} else if err != nil {
		return payments.SetupIntent{}, err
	}
	var si payments.SetupIntent
	if outcome == SetupOutcomeSucceeded {
		si, err = sandbox.ConfirmSetup(ctx, setupIntentID, paymentMethod)
	} else {
		si, err = sandbox.FailSetup(ctx, setupIntentID, outcome)
	}
	switch {
	case errors.Is(err, payments.ErrDeclined):
		s.recordSetup(ctx, row.ID, si)
		return si, &PaymentError{Declined: true, Status: payments.IntentStatus(si.Status), DeclineCode: "card_declined"}
	case errors.Is(err, payments.ErrInvalidState):
		if row.Status == string(StatusExpired) {
			return si, ErrHoldExpired
		}
		return si, &StateError{Status: Status(row.Status), Action: "confirm the card guarantee of"}
	case errors.Is(err, payments.ErrNotFound):
		return payments.SetupIntent{}, notFound
	case err != nil:
		return payments.SetupIntent{}, fmt.Errorf("%w: %w", ErrPaymentProvider, err)
	}
	s.recordSetup(ctx, row.ID, si)
	return si, nil
}

// recordSetup stores the SetupIntent's status as last seen on the reservation id.
func (s *core) recordSetup(ctx context.Context, id string, si payments.SetupIntent) {
	_, err := s.update(ctx, Partner{}, id, func(_ *store.Tx, r *store.Reservation) error {
		if si.Status != "" {
			r.SetupStatus = si.Status
		}
		return nil
	})
	if err != nil {
		s.log.WarnContext(ctx, "record setup intent status", "reservation_id", id, "error", err)
	}
}

// setupOpen reports whether r's SetupIntent may still save a card: made, and neither
// succeeded nor cancelled as last seen.
func setupOpen(r store.Reservation) bool {
	return r.SetupIntentID != nil && r.SetupStatus != payments.SetupSucceeded && r.SetupStatus != payments.SetupCanceled
}

// cancelSetup cancels the SetupIntent of r, a card-guarantee hold that ended (expired
// or released) without a booking, as an ended prime hold's PaymentIntent is cancelled:
// its client_secret then saves nothing. One whose card was saved meanwhile cannot be
// cancelled; its status is recorded and nothing more is tried. A provider failure is
// retried by the sweeper after a backoff, under the same key until the provider keeps a
// failure under it (a card-guarantee hold has no PaymentIntent of its own, so its
// payment_attempt and payment_retry_at serve its SetupIntent).
func (s *core) cancelSetup(ctx context.Context, r store.Reservation) {
	saver, err := s.cardSaver()
	if err != nil {
		s.log.WarnContext(ctx, "cancel setup intent", "reservation_id", r.ID, "error", err)
		return
	}
	si, err := saver.CancelSetup(ctx, *r.SetupIntentID, paymentKey("cancel-setup", r.ID, r.PaymentAttempt))
	switch {
	case err == nil, errors.Is(err, payments.ErrInvalidState) && si.Status != "":
		s.paymentSucceeded(ctx, r.ID)
		s.recordSetup(ctx, r.ID, si)
	case errors.Is(err, payments.ErrNotFound):
		// Nothing at the provider to cancel: stop trying.
		s.paymentSucceeded(ctx, r.ID)
		s.recordSetup(ctx, r.ID, payments.SetupIntent{Status: payments.SetupCanceled})
	default:
		s.paymentFailed(ctx, r.ID, r.PaymentAttempt, err)
		s.log.WarnContext(ctx, "cancel setup intent", "reservation_id", r.ID, "setup_intent_id", *r.SetupIntentID, "error", err)
	}
}

// feeFailed records that the provider failed to charge row's pending fee: it is tried
// again after a backoff, or, after feeMaxTries failures, left unpaid with
// FeeProviderError, which sends the partner reservation.fee_failed.
func (s *core) feeFailed(ctx context.Context, row store.Reservation) store.Reservation {
	now := s.now()
	updated, err := s.update(context.WithoutCancel(ctx), Partner{}, row.ID, func(_ *store.Tx, r *store.Reservation) error {
		if r.FeeStatus != FeePending {
			return nil // recorded by a concurrent call
		}
		r.FeeFailures++
		if r.FeeFailures >= feeMaxTries {
			r.FeeStatus, r.FeeDeclineCode, r.FeeRetryAt = FeeUnpaid, FeeProviderError, nil
			return nil
		}
		retry := now.Add(feeRetryDelay(r.FeeFailures))
		r.FeeRetryAt = &retry
		return nil
	})
	if err != nil {
		s.log.WarnContext(ctx, "record fee failure", "reservation_id", row.ID, "error", err)
		return row
	}
	return updated
}

// retryFeesDue charges the pending fees whose retry time has come. Each is claimed
// first (a conditional update of its fee_retry_at), so sweepers in several processes
// charge it once between them; the charge's key makes even a lost claim harmless.
func (s *core) retryFeesDue(ctx context.Context, now time.Time) error {
	due, err := s.db.FeesDue(ctx, now, 100)
	if err != nil {
		return err
	}
	for _, r := range due {
		ok, err := s.db.ClaimFee(ctx, r.ID, *r.FeeRetryAt, now.Add(feeClaim))
		if err != nil {
			return err
		}
		if ok {
			s.chargeFee(ctx, r)
		}
	}
	return nil
}
