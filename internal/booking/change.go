package booking

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/prima-dining/partner-api/internal/ids"
	"github.com/prima-dining/partner-api/payments"
	"github.com/prima-dining/partner-api/store"
)

// Changing a booking (PATCH /v1/reservations/{id}).
//
// Every change is one transaction on the locked reservation row: a move takes the new
// slot's table with the same conditional update as a hold, and gives the old one back
// only in that transaction, so the guest never has no table nor two. Money follows the
// price of what is booked:
//   - held: the hold's payment intent is replaced by one for the new amount (nothing
//     was captured yet; the old intent is cancelled);
//   - confirmed and cheaper: the difference is owed back as the cancellation policy
//     allows, in the change's transaction, and paid like any refund;
//   - confirmed and dearer: nothing changes yet; a payment for the difference is
//     created and the change waits in pending_change until finalize applies it.

// errNoTable: the new slot has no table left (answered as slot_unavailable).
var errNoTable = errors.New("booking: no table at the new slot")

// errConcurrentChange: the reservation changed between the read that priced a change
// and its transaction; the change is priced again.
var errConcurrentChange = errors.New("booking: reservation changed meanwhile")

// Changes changes partners' bookings. A dearer change of a confirmed booking waits for
// its payment in pending_change and is applied by Reservations.Finalize.
type Changes struct{ *core }

// Modify changes one of p's held or confirmed reservations.
func (s *Changes) Modify(ctx context.Context, p Partner, id string, req ChangeRequest) (Reservation, error) {
	defer s.db.NoteWrite(ctx, p.ID) // its reads through this process see the write (store.OwnWrites)
	if r, ok, err := s.applied(ctx, p, id); ok {
		return r, err // changed once already under this Idempotency-Key
	}
	if g := req.Guest; g != nil && g.Language != nil {
		lang, err := CanonicalLanguage(*g.Language, "guest.language")
		if err != nil {
			return Reservation{}, err
		}
		g.Language = &lang
	}
	for range 3 {
		r, err := s.modifyOnce(ctx, p, id, req)
		if !errors.Is(err, errConcurrentChange) {
			return r, err
		}
	}
	return Reservation{}, &StateError{Status: StatusConfirmed, Action: "change (another change of it was in progress; retry)"}
}

func (s *core) modifyOnce(ctx context.Context, p Partner, id string, req ChangeRequest) (Reservation, error) {
	now := s.now()
	current, err := s.row(ctx, p, id)
	if err != nil {
		return Reservation{}, err
	}
	if err := modifiable(current, now); err != nil {
		if errors.Is(err, ErrHoldExpired) {
			// Record the expiry the way every other call does.
			_, _ = s.update(ctx, p, id, func(tx *store.Tx, r *store.Reservation) error {
				if err := expireOverdue(tx, r, now); err != nil {
					return err
				}
				return refuse(ErrHoldExpired)
			})
		}
		return Reservation{}, err
	}
	slot, err := s.changeTarget(ctx, p, current, req, now)
	if err != nil {
		return Reservation{}, err
	}
	if req.Answers != nil {
		// The booking's answers after the change, checked as a hold's against the
		// questions of the (new) slot.
		merged := AnswersFromJSON(current.Answers)
		for id, v := range req.Answers {
			if v == nil {
				delete(merged, id)
			} else {
				merged[id] = v
			}
		}
		checked, err := checkAnswers(QuestionsFromJSON(slot.Venue.Questions), SlotType(slot.Type), merged)
		if err != nil {
			return Reservation{}, err
		}
		req.Answers = checked
	}
	total := priceOf(current, slot, partySizeAfter(current, req))
	switch {
	case current.Status == string(StatusHeld) && paymentChanges(current, slot, total):
		return s.modifyHeldPayment(ctx, p, current, req, slot, total)
	case current.Status == string(StatusConfirmed) && total > netPaid(current):
		return s.requestChange(ctx, p, current, req, slot, total-netPaid(current))
	}
	row, venueMsg, err := s.applyChange(ctx, p, id, req, slot, changeMoney{total: total})
	if err != nil {
		return Reservation{}, s.explainNoTable(ctx, p, slot, partySizeAfter(current, req), now, err)
	}
	s.settleChangePayments(ctx, row.Payments)
	if row.PaymentRefundDue > 0 {
		s.payRefund(ctx, row)
	}
	return s.afterSync(ctx, p, row, venueMsg), nil
}

// modifiable says why r cannot be changed now, if it cannot.
func modifiable(r store.Reservation, now time.Time) error {
	switch Status(r.Status) {
	case StatusHeld:
		if r.ExpiresAt != nil && !r.ExpiresAt.After(now) {
			return ErrHoldExpired
		}
	case StatusConfirmed:
	default:
		return stateError(Status(r.Status), "change")
	}
	cutoff := ModificationPolicy{AllowedUntilHoursBefore: r.PolicyModifyUntilHours}.Cutoff(r.StartsAt)
	if !now.Before(cutoff) {
		return ErrModifyCutoff
	}
	return nil
}

// changeTarget returns the slot r will be in after req, checking that the party fits it
// and, for a move, that it is an open slot of the same venue.
func (s *core) changeTarget(ctx context.Context, p Partner, r store.Reservation, req ChangeRequest, now time.Time) (store.Slot, error) {
	slotID := r.SlotID
	if req.SlotID != nil {
		slotID = *req.SlotID
	}
	slot, err := s.db.GetSlot(ctx, scope(p), slotID)
	if errors.Is(err, store.ErrNotFound) {
		return store.Slot{}, &NotFoundError{Kind: "slot", ID: slotID, Param: "slot_id"}
	} else if err != nil {
		return store.Slot{}, err
	}
	if slot.VenueID != r.VenueID {
		return store.Slot{}, &ParamError{Param: "slot_id", Message: fmt.Sprintf("A booking can move only to another slot of its venue (%s).", r.VenueID)}
	}
	if slot.ID != r.SlotID && (slot.Status != "open" || !slot.StartsAt.After(now)) {
		return store.Slot{}, ErrSlotNotBookable
	}
	if n := partySizeAfter(r, req); n < slot.PartySizeMin || n > slot.PartySizeMax {
		return store.Slot{}, &PartySizeError{PartySize: n, Min: slot.PartySizeMin, Max: slot.PartySizeMax}
	}
	return slot, nil
}

func partySizeAfter(r store.Reservation, req ChangeRequest) int {
	if req.PartySize != nil {
		return *req.PartySize
	}
	return r.PartySize
}

// priceOf is what a party of n pays for slot when the reservation r changes into it,
// with the charges r keeps (chargesFor): 0 for a standard slot.
func priceOf(r store.Reservation, slot store.Slot, n int) int64 {
	if slot.Type != string(SlotPrime) {
		// A deposit booking keeps the deposit it was made with, for its new party size.
		return depositOf(r).Total(n)
	}
	p := priceOfSlot(slot)
	p.Charges = chargesFor(r, slot)
	return p.Total(n)
}

// paymentChanges says whether a held reservation needs another payment intent.
func paymentChanges(r store.Reservation, slot store.Slot, total int64) bool {
	if r.PaymentIntentID == nil {
		return total > 0
	}
	return total != r.PaymentAmount || slotCurrency(slot) != r.PaymentCurrency
}

// netPaid is what a confirmed booking's guest has paid and keeps paying: captured (or
// authorised for an applied change and being captured), less refunds made or owed.
func netPaid(r store.Reservation) int64 {
	paid := r.PaymentAmountCaptured - r.PaymentAmountRefunded - r.PaymentRefundDue
	for _, p := range r.Payments {
		if p.ChangeStatus == store.ChangeApplied {
			paid += paidOn(p) - p.AmountRefunded - p.RefundDue
		}
	}
	return paid
}

// paidOn is what an applied change payment charges: its capture, or its whole amount
// while the sweeper still has to capture it.
func paidOn(p store.ReservationPayment) int64 {
	if p.Status == string(payments.StatusRequiresCapture) {
		return p.Amount
	}
	return p.AmountCaptured
}

// changeMoney is what a change does to the reservation's payments.
type changeMoney struct {
	// total is the price of the booking after the change, as priced before the
	// transaction; the transaction checks it against the locked row.
	total int64
	// intent replaces a hold's payment intent (or, with a zero ID, removes it).
	intent *payments.Intent
	// pending is the change payment of a pending change being applied.
	pending *store.ReservationPayment
}

// applyChange applies req to the reservation in one transaction, re-checking it under
// the row lock.
func (s *core) applyChange(ctx context.Context, p Partner, id string, req ChangeRequest, slot store.Slot, money changeMoney) (store.Reservation, string, error) {
	now := s.now()
	return s.updateNotifying(ctx, p, id, recorded(ctx, func(tx *store.Tx, r *store.Reservation) error {
		if err := expireOverdue(tx, r, now); err != nil {
			return err
		}
		if err := modifiable(*r, now); err != nil {
			return refuse(err)
		}
		if money.pending != nil && (r.PendingPaymentID == nil || *r.PendingPaymentID != money.pending.ID) {
			return refuse(ErrChangeExpired) // replaced or withdrawn meanwhile
		}
		if req.SlotID == nil && r.SlotID != slot.ID {
			return refuse(errConcurrentChange) // moved meanwhile: the change was priced in the old slot
		}
		if err := checkPrice(*r, slot, priceOf(*r, slot, partySizeAfter(*r, req)), money); err != nil {
			return refuse(err)
		}
		if money.pending == nil {
			// A change made directly replaces any change still waiting for its payment.
			if err := endPendingChange(tx, r, now); err != nil {
				return err
			}
		}
		charges := chargesFor(*r, slot) // before the row takes the new slot's type
		if slot.ID != r.SlotID {
			// The new table first: the old one is given back only if this commits.
			if err := expireDue(tx, slot.ID, now, 100); err != nil {
				return err
			}
			// Read in this transaction: the partner's allocations of the slot decide
			// where the table comes from.
			seen, err := tx.GetSlot(scope(p), slot.ID)
			if err != nil {
				return err
			}
			allocationID, took, err := tx.TakeTableFor(seen, r.PartnerID, now)
			if err != nil {
				return err
			}
			if !took {
				return refuse(errNoTable)
			}
			if err := tx.ReleaseTableOf(r, now); err != nil {
				return err
			}
			r.AllocationID = nil
			if allocationID != "" {
				r.AllocationID = &allocationID
			}
			r.SlotID, r.StartsAt, r.LocalDate = slot.ID, slot.StartsAt, slot.LocalDate
			r.DurationMinutes, r.SeatingArea, r.SlotType = slot.DurationMinutes, slot.SeatingArea, slot.Type
		}
		applyFields(r, req)
		bookedPrice(r, slot, charges)
		if err := s.applyMoney(tx, r, money, now); err != nil {
			return err
		}
		r.UpdatedAt = now
		return nil
	}))
}

// applyFields copies the guest details, notes and reference of req onto r.
func applyFields(r *store.Reservation, req ChangeRequest) {
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	if req.PartySize != nil {
		r.PartySize = *req.PartySize
	}
	if g := req.Guest; g != nil {
		set(&r.GuestFirstName, g.FirstName)
		set(&r.GuestLastName, g.LastName)
		set(&r.GuestEmail, g.Email)
		set(&r.GuestPhone, g.Phone)
		set(&r.GuestLanguage, g.Language)
		set(&r.GuestLoyaltyNumber, g.LoyaltyNumber)
		set(&r.GuestRoomNumber, g.RoomNumber)
		set(&r.GuestReference, g.Reference)
		if g.MarketingConsent != nil {
			r.GuestMarketingConsent = *g.MarketingConsent
		}
	}
	set(&r.Notes, req.Notes)
	set(&r.PartnerReference, req.PartnerReference)
	if req.Answers != nil {
		// Checked by modifyOnce: JSON values, which always marshal.
		if s, err := answersJSON(req.Answers); err == nil {
			r.Answers = s
		}
	}
}

// applyMoney does the change's part to the payments, inside its transaction.
func (s *core) applyMoney(tx *store.Tx, r *store.Reservation, money changeMoney, now time.Time) error {
	switch {
	case money.intent != nil:
		if r.PaymentIntentID != nil {
			// The replaced intent stays listed among the reservation's payments.
			old := store.ReservationPayment{
				ID: ids.New("pay"), ReservationID: r.ID, Provider: r.PaymentProvider,
				IntentID: *r.PaymentIntentID, ClientSecret: r.PaymentClientSecret,
				Amount: r.PaymentAmount, Currency: r.PaymentCurrency, Status: r.PaymentStatus,
				DeclineCode: r.PaymentDeclineCode, ChangeStatus: store.ChangeReplaced,
				CreatedAt: now, UpdatedAt: now,
			}
			if err := tx.InsertReservationPayment(r, &old); err != nil {
				return err
			}
		}
		r.PaymentIntentID, r.PaymentProvider, r.PaymentClientSecret = nil, "", ""
		r.PaymentAmount, r.PaymentCurrency, r.PaymentStatus, r.PaymentDeclineCode = 0, "", "", ""
		if money.intent.ID != "" {
			applyIntent(r, s.gateway.Name(), *money.intent)
		}
	case money.pending != nil:
		pay := findPayment(r, money.pending.ID)
		if pay == nil {
			return fmt.Errorf("change payment %s not on reservation %s", money.pending.ID, r.ID)
		}
		pay.Status = money.pending.Status
		pay.AmountCaptured = max(pay.AmountCaptured, money.pending.AmountCaptured)
		pay.ChangeStatus = store.ChangeApplied
		pay.UpdatedAt = now
		r.PendingPaymentID = nil
		return tx.UpdateReservationPayment(pay)
	case r.Status == string(StatusConfirmed):
		if cheaper := netPaid(*r) - money.total; cheaper > 0 {
			return oweAcross(tx, r, reservationFromRow(*r).Policy.Refund(cheaper, r.StartsAt, now), now)
		}
	}
	return nil
}

// checkPrice makes sure the change was priced on what the locked row r is: want is the
// price of r after the change.
func checkPrice(r store.Reservation, slot store.Slot, want int64, money changeMoney) error {
	if want != money.total {
		if money.pending != nil {
			return ErrChangeExpired
		}
		return errConcurrentChange
	}
	switch {
	case r.Status == string(StatusHeld) && money.intent == nil && paymentChanges(r, slot, want):
		return errConcurrentChange // the hold's intent no longer matches: price it again
	case r.Status == string(StatusConfirmed) && money.pending == nil && want > netPaid(r):
		return errConcurrentChange // now dearer than what was paid: it needs a payment
	case r.Status == string(StatusConfirmed) && money.pending != nil && want != netPaid(r)+money.pending.Amount:
		return ErrChangeExpired
	}
	return nil
}

func findPayment(r *store.Reservation, id string) *store.ReservationPayment {
	for i := range r.Payments {
		if r.Payments[i].ID == id {
			return &r.Payments[i]
		}
	}
	return nil
}

// oweAcross owes amount back to the guest from the newest captured change payments
// first, then from the hold's payment, writing the change payments it touches.
func oweAcross(tx *store.Tx, r *store.Reservation, amount int64, now time.Time) error {
	for i := len(r.Payments) - 1; i >= 0 && amount > 0; i-- {
		p := &r.Payments[i]
		if p.ChangeStatus != store.ChangeApplied {
			continue
		}
		take := min(amount, max(paidOn(*p)-p.AmountRefunded-p.RefundDue, 0))
		if take == 0 {
			continue
		}
		p.RefundDue += take
		p.UpdatedAt = now
		amount -= take
		if err := tx.UpdateReservationPayment(p); err != nil {
			return err
		}
	}
	owe(r, amount)
	return nil
}

// explainNoTable turns errNoTable into slot_unavailable with alternatives.
func (s *core) explainNoTable(ctx context.Context, p Partner, slot store.Slot, partySize int, now time.Time, err error) error {
	if errors.Is(err, errNoTable) {
		return s.unavailable(ctx, p, slot, partySize, now)
	}
	return err
}

// modifyHeldPayment changes a prime hold whose amount changes: a new intent for the new
// amount first, then the change, then the old intent is cancelled. If the change does
// not happen, the new intent is cancelled instead.
func (s *core) modifyHeldPayment(ctx context.Context, p Partner, current store.Reservation, req ChangeRequest, slot store.Slot, total int64) (Reservation, error) {
	now := s.now()
	next := payments.Intent{} // zero ID: the hold becomes free of charge
	if total > 0 {
		var err error
		next, err = s.createForRequest(ctx, "hold-change", current.ID, payments.CreateIntent{
			Amount:      total,
			Currency:    slotCurrency(slot),
			Description: fmt.Sprintf("PRIMA reservation %s at %s", current.ID, slot.Venue.Name),
			Metadata: map[string]string{
				"reservation_id": current.ID, "partner_id": current.PartnerID,
				"venue_id": current.VenueID, "slot_id": slot.ID,
			},
		})
		if err != nil {
			return Reservation{}, fmt.Errorf("%w: create payment intent: %w", ErrPaymentProvider, err)
		}
	}
	row, _, err := s.applyChange(ctx, p, current.ID, req, slot, changeMoney{total: total, intent: &next})
	if err != nil {
		if next.ID != "" {
			s.cancelChangeIntent(ctx, next.ID)
		}
		return Reservation{}, s.explainNoTable(ctx, p, slot, partySizeAfter(current, req), now, err)
	}
	if current.PaymentIntentID != nil {
		s.cancelChangeIntent(ctx, *current.PaymentIntentID)
	}
	if fresh, err := s.db.GetReservation(ctx, p.ID, current.ID); err == nil {
		row = fresh
	}
	return reservationFromRow(row), nil
}

// requestChange records a dearer change of a confirmed booking with a payment intent
// for the difference; finalize applies it once the payment is authorised.
func (s *core) requestChange(ctx context.Context, p Partner, current store.Reservation, req ChangeRequest, slot store.Slot, diff int64) (Reservation, error) {
	now := s.now()
	if slot.ID != current.SlotID && slot.TablesTaken >= slot.Tables {
		// A courtesy check before asking for money; finalize takes the table for real.
		return Reservation{}, s.unavailable(ctx, p, slot, partySizeAfter(current, req), now)
	}
	body, err := json.Marshal(req)
	if err != nil {
		return Reservation{}, err
	}
	payID := ids.New("pay")
	// Not keyed by payID, which is new on every run: a retry of this request resends the
	// same key and parameters, so the provider answers the intent it made.
	intent, err := s.createForRequest(ctx, "change", current.ID, payments.CreateIntent{
		Amount:      diff,
		Currency:    slotCurrency(slot),
		Description: fmt.Sprintf("PRIMA reservation %s at %s: change", current.ID, slot.Venue.Name),
		Metadata: map[string]string{
			"reservation_id": current.ID, "partner_id": current.PartnerID,
			"venue_id": current.VenueID, "slot_id": slot.ID, "purpose": "change",
		},
	})
	if err != nil {
		return Reservation{}, fmt.Errorf("%w: create payment intent: %w", ErrPaymentProvider, err)
	}
	expires := now.Add(s.cfg.HoldTTL)
	var replaced string
	row, err := s.update(ctx, p, current.ID, recorded(ctx, func(tx *store.Tx, r *store.Reservation) error {
		if err := modifiable(*r, now); err != nil {
			return refuse(err)
		}
		if r.Status != string(StatusConfirmed) {
			return refuse(stateError(Status(r.Status), "change"))
		}
		if r.PendingPaymentID != nil {
			if old := findPayment(r, *r.PendingPaymentID); old != nil {
				old.ChangeStatus, old.UpdatedAt = store.ChangeReplaced, now
				replaced = old.IntentID
				if err := tx.UpdateReservationPayment(old); err != nil {
					return err
				}
			}
		}
		pay := store.ReservationPayment{
			ID: payID, ReservationID: r.ID, Provider: s.gateway.Name(), IntentID: intent.ID,
			ClientSecret: intent.ClientSecret, Amount: intent.Amount, Currency: intent.Currency,
			Status: string(intent.Status), ChangeRequest: string(body), ChangeStatus: store.ChangePending,
			ChangeExpiresAt: &expires, CreatedAt: now, UpdatedAt: now,
		}
		if err := tx.InsertReservationPayment(r, &pay); err != nil {
			return err
		}
		r.PendingPaymentID = &pay.ID
		r.UpdatedAt = now
		return nil
	}))
	if err != nil {
		s.cancelChangeIntent(ctx, intent.ID)
		return Reservation{}, err
	}
	if replaced != "" {
		s.cancelChangeIntent(ctx, replaced)
	}
	return reservationFromRow(row), nil
}

// finalizeChange applies the pending change of a confirmed booking once its payment is
// authorised: the change commits first (taking the new table), then the difference is
// captured; a capture that fails is retried by the sweeper.
func (s *core) finalizeChange(ctx context.Context, p Partner, current store.Reservation) (Reservation, error) {
	now := s.now()
	pay := findPayment(&current, *current.PendingPaymentID)
	if pay == nil {
		return Reservation{}, fmt.Errorf("booking: pending change of %s not found", current.ID)
	}
	if pay.ChangeExpiresAt == nil || !now.Before(*pay.ChangeExpiresAt) {
		s.endChange(ctx, current.ID, pay.ID, store.ChangeExpired)
		return Reservation{}, ErrChangeExpired
	}
	if err := modifiable(current, now); err != nil {
		s.endChange(ctx, current.ID, pay.ID, store.ChangeExpired)
		return Reservation{}, err
	}
	intent, err := s.gateway.Get(ctx, pay.IntentID)
	if err != nil {
		return Reservation{}, fmt.Errorf("%w: read payment intent: %w", ErrPaymentProvider, err)
	}
	if intent.Status != payments.StatusRequiresCapture && intent.Status != payments.StatusSucceeded {
		s.recordChangeIntent(ctx, pay.ID, intent)
		return Reservation{}, &PaymentError{Status: intent.Status, DeclineCode: intent.DeclineCode}
	}
	req := changeRequestFromRow(*pay)
	slot, err := s.changeTarget(ctx, p, current, req, now)
	if err != nil {
		s.endChange(ctx, current.ID, pay.ID, store.ChangeUnavailable)
		return Reservation{}, err
	}
	applied := *pay
	applied.Status = string(intent.Status)
	applied.AmountCaptured = intent.AmountCaptured
	total := netPaid(current) + pay.Amount
	row, venueMsg, err := s.applyChange(ctx, p, current.ID, req, slot, changeMoney{total: total, pending: &applied})
	if errors.Is(err, errNoTable) {
		s.endChange(ctx, current.ID, pay.ID, store.ChangeUnavailable)
	}
	if err != nil {
		return Reservation{}, s.explainNoTable(ctx, p, slot, partySizeAfter(current, req), now, err)
	}
	s.settleChangePayments(ctx, row.Payments)
	if fresh, err := s.db.GetReservation(ctx, p.ID, row.ID); err == nil {
		row = fresh
	}
	return s.afterSync(ctx, p, row, venueMsg), nil
}

// endChange withdraws a pending change (expired, or its table gone) and cancels its
// payment intent.
func (s *core) endChange(ctx context.Context, reservationID, paymentID, why string) {
	now := s.now()
	var intentID string
	_, err := s.update(context.WithoutCancel(ctx), Partner{}, reservationID, func(tx *store.Tx, r *store.Reservation) error {
		pay := findPayment(r, paymentID)
		if pay == nil || pay.ChangeStatus != store.ChangePending {
			return nil
		}
		pay.ChangeStatus, pay.UpdatedAt = why, now
		intentID = pay.IntentID
		if r.PendingPaymentID != nil && *r.PendingPaymentID == paymentID {
			r.PendingPaymentID = nil
			r.UpdatedAt = now
		}
		return tx.UpdateReservationPayment(pay)
	})
	if err != nil {
		s.log.WarnContext(ctx, "end pending change", "reservation_id", reservationID, "payment_id", paymentID, "error", err)
		return
	}
	if intentID != "" {
		s.cancelChangeIntent(ctx, intentID)
	}
}

// cancelChangeIntent cancels an intent that no longer pays for anything; a failure is
// left to the sweeper (ChangePaymentsDue) or the provider's own expiry of authorisations.
func (s *core) cancelChangeIntent(ctx context.Context, intentID string) {
	ctx = context.WithoutCancel(ctx)
	pay, err := s.db.GetReservationPaymentByIntent(ctx, intentID)
	if err != nil {
		// Not a change payment's (it was never stored): one key per intent.
		if _, err := s.gateway.Cancel(ctx, intentID, "prima-cancel-"+intentID); err != nil {
			s.log.WarnContext(ctx, "cancel payment intent", "payment_intent_id", intentID, "error", err)
		}
		return
	}
	intent, err := s.gateway.Cancel(ctx, intentID, paymentKey("cancel", pay.ID, pay.PaymentAttempt))
	if err != nil {
		s.log.WarnContext(ctx, "cancel payment intent", "payment_intent_id", intentID, "error", err)
		s.changePaymentFailed(ctx, pay.ID, pay.PaymentAttempt, err)
		return
	}
	s.changePaymentSucceeded(ctx, pay.ID)
	s.recordChangeIntent(ctx, pay.ID, intent)
}

// recordChangeIntent stores what the provider says of a change payment's intent.
func (s *core) recordChangeIntent(ctx context.Context, paymentID string, intent payments.Intent) {
	err := s.db.Transact(context.WithoutCancel(ctx), func(tx *store.Tx) error {
		return tx.UpdateReservationPaymentLocked(paymentID, func(p *store.ReservationPayment) {
			if statusRank(payments.IntentStatus(p.Status)) <= statusRank(intent.Status) {
				p.Status = string(intent.Status)
			}
			p.AmountCaptured = max(p.AmountCaptured, intent.AmountCaptured)
			if intent.AmountRefunded > p.AmountRefunded {
				p.RefundDue = max(0, p.RefundDue-(intent.AmountRefunded-p.AmountRefunded))
				p.AmountRefunded = intent.AmountRefunded
			}
			// A later authorisation clears an earlier decline, as on the hold's payment.
			if intent.DeclineCode != "" || intent.Status == payments.StatusRequiresCapture || intent.Status == payments.StatusSucceeded {
				p.DeclineCode = intent.DeclineCode
			}
			p.UpdatedAt = s.now()
		})
	})
	if err != nil {
		s.log.WarnContext(ctx, "record change payment", "payment_id", paymentID, "error", err)
	}
}

// settleChangePayments does what the provider must still do for change payments:
// capture applied changes, pay refunds owed, cancel intents of changes that ended.
// Failures are logged; the sweeper calls it again for whatever is still due.
func (s *core) settleChangePayments(ctx context.Context, ps []store.ReservationPayment) {
	ctx = context.WithoutCancel(ctx)
	for _, p := range ps {
		switch {
		case p.ChangeStatus == store.ChangeApplied && p.Status == string(payments.StatusRequiresCapture):
			intent, err := s.gateway.Capture(ctx, p.IntentID, paymentKey("capture", p.ID, p.PaymentAttempt))
			if err != nil {
				s.log.WarnContext(ctx, "capture change payment (will retry)", "payment_id", p.ID, "error", err)
				s.changePaymentFailed(ctx, p.ID, p.PaymentAttempt, err)
				continue
			}
			s.changePaymentSucceeded(ctx, p.ID)
			s.recordChangeIntent(ctx, p.ID, intent)
			if p.RefundDue > 0 {
				p.Status, p.AmountCaptured = string(intent.Status), intent.AmountCaptured
				s.refundChangePayment(ctx, p)
			}
		case p.RefundDue > 0 && p.Status == string(payments.StatusSucceeded):
			s.refundChangePayment(ctx, p)
		case p.ChangeStatus != store.ChangeApplied && p.ChangeStatus != store.ChangePending && payments.IntentStatus(p.Status).Open():
			s.cancelChangeIntent(ctx, p.IntentID)
		}
	}
}

// refundChangePayment pays what a change payment owes, one payer at a time and after
// recording what the provider already refunded (see payRefund).
func (s *core) refundChangePayment(ctx context.Context, p store.ReservationPayment) {
	now := s.now()
	claimed, err := s.db.ClaimRefund(ctx, "reservation_payments", p.ID, now, now.Add(refundLease))
	if err != nil || !claimed {
		return
	}
	defer func() {
		if err := s.db.ReleaseRefund(ctx, "reservation_payments", p.ID); err != nil {
			s.log.WarnContext(ctx, "release refund claim", "payment_id", p.ID, "error", err)
		}
	}()
	seen, err := s.gateway.Get(ctx, p.IntentID)
	if err != nil {
		s.log.WarnContext(ctx, "refund change payment: read intent (will retry)", "payment_id", p.ID, "error", err)
		return
	}
	s.recordChangeIntent(ctx, p.ID, seen)
	fresh, err := s.db.GetReservationPaymentByIntent(ctx, p.IntentID)
	if err != nil || fresh.RefundDue <= 0 {
		return
	}
	// The key names what is owed, so a new debt is a new refund; and the attempt, so a
	// failure the provider stored under the key is not replayed for ever.
	key := fmt.Sprintf("prima-refund-%s-%d-%d", fresh.ID, fresh.AmountRefunded, fresh.RefundDue)
	if fresh.PaymentAttempt > 0 {
		key += fmt.Sprintf("-%d", fresh.PaymentAttempt)
	}
	intent, err := s.gateway.Refund(ctx, fresh.IntentID, fresh.RefundDue, key)
	if err != nil {
		s.log.WarnContext(ctx, "refund change payment (will retry)", "payment_id", p.ID, "amount", fresh.RefundDue, "error", err)
		s.changePaymentFailed(ctx, fresh.ID, fresh.PaymentAttempt, err)
		return
	}
	s.changePaymentSucceeded(ctx, fresh.ID)
	s.recordChangeIntent(ctx, p.ID, intent)
}

// settleChangesDue is the sweeper's pass over change payments: pending changes that
// expired are withdrawn, and what the provider still owes is done.
func (s *core) settleChangesDue(ctx context.Context) (int, error) {
	now := s.now()
	due, err := s.db.ChangePaymentsDue(ctx, now, 100)
	if err != nil {
		return 0, err
	}
	var settle []store.ReservationPayment
	for _, p := range due {
		if p.ChangeStatus == store.ChangePending {
			s.endChange(ctx, p.ReservationID, p.ID, store.ChangeExpired)
			continue
		}
		settle = append(settle, p)
	}
	s.settleChangePayments(ctx, settle)
	return len(due), nil
}

// endPendingChange withdraws r's pending change inside tx (the booking is cancelled);
// its intent is cancelled afterwards by settleChangePayments or the sweeper.
func endPendingChange(tx *store.Tx, r *store.Reservation, now time.Time) error {
	if r.PendingPaymentID == nil {
		return nil
	}
	if pay := findPayment(r, *r.PendingPaymentID); pay != nil {
		pay.ChangeStatus, pay.UpdatedAt = store.ChangeReplaced, now
		if err := tx.UpdateReservationPayment(pay); err != nil {
			return err
		}
	}
	r.PendingPaymentID = nil
	return nil
}
