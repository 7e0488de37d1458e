package booking

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/prima-dining/partner-api/store"
)

// The venue's view of its bookings: a venue operator lists and reads the reservations at
// its venues, whichever partner made them, and records how a visit went. Every query is
// restricted to the operator's venues.

// VenueReservation is a reservation as its venue sees it, with the partner that made it.
type VenueReservation struct {
	Reservation
	PartnerName string
}

// ListVenueReservations lists the reservations at the venues operatorID manages,
// newest first, filtered by f.
func (s *Service) ListVenueReservations(ctx context.Context, operatorID string, f ReservationFilter, page Page) ([]VenueReservation, bool, error) {
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

// GetVenueReservation returns one reservation at a venue operatorID manages.
func (s *Service) GetVenueReservation(ctx context.Context, operatorID, id string) (VenueReservation, error) {
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
func (s *Service) RecordOutcome(ctx context.Context, operatorID, by, id string, outcome Status) (VenueReservation, error) {
	if outcome != StatusCompleted && outcome != StatusNoShow {
		return VenueReservation{}, &ParamError{Param: "status", Message: "status must be completed or no_show."}
	}
	// The operator may see it: the check that it is one of its venues' bookings.
	if _, err := s.GetVenueReservation(ctx, operatorID, id); err != nil {
		return VenueReservation{}, err
	}
	now := s.now()
	_, err := s.mutate(ctx, Partner{TokenID: by}, id, func(_ *store.Tx, r *store.Reservation) (error, error) {
		switch {
		case r.Status == string(outcome):
			return nil, nil
		case r.Status != string(StatusConfirmed):
			return &StateError{Status: Status(r.Status), Action: fmt.Sprintf("mark as %s", outcome)}, nil
		case now.Before(r.StartsAt):
			return &StateError{Status: "confirmed and has not started", Action: fmt.Sprintf("mark as %s", outcome)}, nil
		}
		r.Status = string(outcome)
		r.UpdatedAt = now
		return nil, nil
	})
	if err != nil {
		return VenueReservation{}, err
	}
	return s.GetVenueReservation(ctx, operatorID, id)
}

// withPartners maps rows and names each one's partner.
func (s *Service) withPartners(ctx context.Context, rows []store.Reservation) ([]VenueReservation, error) {
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

// countOwnAllocations takes the unsold tables of p's own allocations out of each slot's
// TablesReserved, so TablesLeft counts them as p's.
func (s *Service) countOwnAllocations(ctx context.Context, p Partner, slots []Slot, now time.Time) error {
	var ids []string
	for _, sl := range slots {
		if sl.TablesReserved > 0 {
			ids = append(ids, sl.ID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	own, err := s.db.PartnerAllocationsFree(ctx, p.ID, ids, now)
	if err != nil {
		return err
	}
	for i := range slots {
		slots[i].TablesReserved = max(0, slots[i].TablesReserved-own[slots[i].ID])
	}
	return nil
}
