package booking

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/prima-dining/partner-api/internal/idempotency"
	"github.com/prima-dining/partner-api/store"
)

// The venue's view of its bookings: a venue operator lists and reads the reservations at
// its venues, whichever partner made them, and records how a visit went. Every query is
// restricted to the operator's venues.

// VenueReservations is what a venue operator sees and records of the bookings at its
// venues.
type VenueReservations struct{ *core }

// VenueReservation is a reservation as its venue sees it, with the partner that made it.
type VenueReservation struct {
	Reservation
	PartnerName string
}

// List lists the reservations at the venues operatorID manages,
// newest first, filtered by f.
func (s *VenueReservations) List(ctx context.Context, operatorID string, f ReservationFilter, page Page) ([]VenueReservation, bool, error) {
	if f.DateFrom != "" && f.DateTo != "" && f.DateTo < f.DateFrom {
		return nil, false, &ParamError{Param: "date_to", Message: "date_to must not be before date_from."}
	}
	if page.StartingAfter != "" {
		if _, err := s.db.GetOperatorReservation(ctx, operatorID, page.StartingAfter); err != nil {
			return nil, false, PageError(err, page)
		}
	}
	f.OperatorID = operatorID
	rows, more, err := s.db.ListReservations(ctx, "", f, page)
	if err != nil {
		return nil, false, PageError(err, page)
	}
	out, err := s.withPartners(ctx, rows)
	return out, more, err
}

// Get returns one reservation at a venue operatorID manages.
func (s *VenueReservations) Get(ctx context.Context, operatorID, id string) (VenueReservation, error) {
	row, err := s.db.GetOperatorReservation(ctx, operatorID, id)
	if errors.Is(err, store.ErrNotFound) {
		return VenueReservation{}, &NotFoundError{Kind: "reservation", ID: id, Param: "reservation_id"}
	} else if err != nil {
		return VenueReservation{}, err
	}
	out, err := s.withPartners(ctx, []store.Reservation{row})
	if err != nil {
		return VenueReservation{}, err
	}
	return out[0], nil
}

// RecordOutcome moves a confirmed booking at one of operatorID's venues to completed or
// no_show, once it has started: a conditional update from confirmed on the locked row,
// so two calls cannot both change it, with the partner's event (reservation.completed or
// reservation.no_show) and the history entry (by the operator's token, by) written in
// the same transaction. The same outcome again answers the reservation unchanged.
func (s *VenueReservations) RecordOutcome(ctx context.Context, operatorID, by, id string, outcome Status) (VenueReservation, error) {
	if outcome != StatusCompleted && outcome != StatusNoShow {
		return VenueReservation{}, &ParamError{Param: "status", Message: "status must be completed or no_show."}
	}
	// The operator may see it: the check that it is one of its venues' bookings.
	if _, err := s.Get(ctx, operatorID, id); err != nil {
		return VenueReservation{}, err
	}
	if point, resource := idempotency.FromContext(ctx).Resumed(); point == idempotency.PointApplied && resource == id {
		return s.Get(ctx, operatorID, id) // recorded once already under this Idempotency-Key
	}
	now := s.now()
	_, err := s.update(ctx, Partner{TokenID: by}, id, recorded(ctx, func(_ *store.Tx, r *store.Reservation) error {
		if r.Status == string(outcome) {
			return nil // the same outcome again
		}
		if err := recordOutcome(r, outcome, now); err != nil {
			return refuse(err)
		}
		if outcome == StatusNoShow {
			feeDue(r, FeeReasonNoShow, now)
		}
		return nil
	}))
	if err != nil {
		return VenueReservation{}, err
	}
	// The fee is charged once whatever the retries: its key is the reservation's and
	// the reason's, and only a pending fee is charged (a retry finishes a crashed one).
	if row, err := s.db.GetReservation(ctx, "", id); err == nil && row.FeeStatus == FeePending {
		s.chargeFee(ctx, row)
	}
	return s.Get(ctx, operatorID, id)
}

// historyGoodwillRefund is the history entry of a goodwill refund.
const historyGoodwillRefund = "payment.refunded"

// GoodwillRefund refunds amount (minor units) of what a booking at one of operatorID's
// venues captured, for reason, outside its cancellation policy. In one transaction on
// the locked row it checks the amount against what was captured and is neither refunded
// nor owed back yet (so concurrent refunds never add up to more), owes it back across
// the booking's payments, newest first, and records the reason in the history by the
// operator's token by; the refund is then paid like any other (retried by the sweeper if
// the provider fails), and recording it sends the partner payment.refunded.
func (s *VenueReservations) GoodwillRefund(ctx context.Context, operatorID, by, id string, amount int64, reason string) (VenueReservation, error) {
	reason = strings.TrimSpace(reason)
	switch {
	case amount <= 0:
		return VenueReservation{}, &ParamError{Param: "amount", Message: "amount must be a positive number of minor units."}
	case reason == "":
		return VenueReservation{}, &ParamError{Param: "reason", Message: "reason must say why the booking is refunded."}
	}
	if _, err := s.Get(ctx, operatorID, id); err != nil {
		return VenueReservation{}, err
	}
	if point, resource := idempotency.FromContext(ctx).Resumed(); point == idempotency.PointApplied && resource == id {
		// Owed once already under this Idempotency-Key: pay it if the first run could not.
		if row, err := s.db.GetReservation(ctx, "", id); err == nil {
			s.payOwed(ctx, row)
		}
		return s.Get(ctx, operatorID, id)
	}
	now := s.now()
	row, err := s.update(ctx, Partner{TokenID: by}, id, recorded(ctx, func(tx *store.Tx, r *store.Reservation) error {
		if refundable := max(netPaid(*r), 0); amount > refundable {
			currency := r.PaymentCurrency
			if currency == "" {
				currency = r.Venue.Currency
			}
			return refuse(&RefundTooLargeError{Refundable: refundable, Currency: currency})
		}
		if err := oweAcross(tx, r, amount, now); err != nil {
			return err
		}
		r.UpdatedAt = now
		return insertHistory(tx, r.ID, historyGoodwillRefund, by, map[string]FieldChange{
			"payment.refund_amount": {To: strconv.FormatInt(amount, 10)},
			"payment.refund_reason": {To: reason},
		}, now)
	}))
	if err != nil {
		return VenueReservation{}, err
	}
	s.payOwed(ctx, row)
	return s.Get(ctx, operatorID, id)
}

// payOwed pays what the reservation row and its change payments owe back now; what
// fails is left to the sweeper.
func (s *core) payOwed(ctx context.Context, row store.Reservation) {
	s.settleChangePayments(ctx, row.Payments)
	if row.PaymentRefundDue > 0 {
		s.payRefund(ctx, row)
	}
}

// withPartners maps rows and names each one's partner.
func (s *VenueReservations) withPartners(ctx context.Context, rows []store.Reservation) ([]VenueReservation, error) {
	partnerIDs := make([]string, 0, len(rows))
	for _, r := range rows {
		if !slices.Contains(partnerIDs, r.PartnerID) {
			partnerIDs = append(partnerIDs, r.PartnerID)
		}
	}
	names, err := s.db.PartnerNames(ctx, partnerIDs)
	if err != nil {
		return nil, err
	}
	out := make([]VenueReservation, 0, len(rows))
	for _, r := range rows {
		out = append(out, VenueReservation{Reservation: reservationFromRow(r), PartnerName: names[r.PartnerID]})
	}
	return out, nil
}
