package inventory

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/prima-dining/partner-api/internal/booking"
	"github.com/prima-dining/partner-api/internal/idempotency"
	"github.com/prima-dining/partner-api/internal/ids"
	"github.com/prima-dining/partner-api/store"
)

// DefaultReleaseHoursBefore is when an allocation's unsold tables return to the shared
// pool when the operator does not say.
const DefaultReleaseHoursBefore = 24

// Allocation is tables of a slot kept for one partner until ReleaseAt.
type Allocation struct {
	ID          string
	SlotID      string
	PartnerID   string
	Tables      int
	TablesTaken int
	ReleaseAt   time.Time
	Released    bool
	CreatedAt   time.Time
}

// AllocationInput is an allocation to make.
type AllocationInput struct {
	PartnerID string
	Tables    int
	// ReleaseHoursBefore the slot's start the unsold tables return to the shared pool;
	// nil means DefaultReleaseHoursBefore.
	ReleaseHoursBefore *int
}

// AllocationUnavailableError refuses an allocation: the shared pool has fewer free
// tables than asked (Free says how many), or the partner has one already (Exists).
type AllocationUnavailableError struct {
	Requested, Free int
	Exists          bool
}

func (e *AllocationUnavailableError) Error() string {
	if e.Exists {
		return "inventory: the partner already has an allocation of the slot"
	}
	return fmt.Sprintf("inventory: %d tables free in the shared pool, %d asked", e.Free, e.Requested)
}

// Allocate keeps tables of one of op's slots for a partner until a release time
// before the slot: the store raises the slot's reserved tables by a conditional update,
// so only tables free in the shared pool can be allocated, whatever holds race with it.
//
// The allocation and the request's Idempotency-Key recovery point commit together: a
// retry of a request that died after that answers the same allocation instead of
// refusing it as one that exists.
func (s *Service) Allocate(ctx context.Context, op Operator, slotID string, in AllocationInput) (Allocation, error) {
	key := idempotency.FromContext(ctx)
	if id := key.AppliedTo(); id != "" {
		return s.allocated(ctx, op, slotID, id)
	}
	sl, err := s.db.GetOperatorSlot(ctx, op.ID, slotID)
	if errors.Is(err, store.ErrNotFound) {
		return Allocation{}, &booking.NotFoundError{Kind: "slot", ID: slotID, Param: "slot_id"}
	} else if err != nil {
		return Allocation{}, err
	}
	partner, err := s.db.GetPartner(ctx, in.PartnerID)
	if errors.Is(err, store.ErrNotFound) {
		return Allocation{}, &booking.ParamError{Param: "partner_id", Message: fmt.Sprintf("No partner %s.", in.PartnerID)}
	} else if err != nil {
		return Allocation{}, err
	}
	// Tables kept for a partner that may not sell the venue could never be sold.
	_, err = s.db.GetVenue(ctx, store.Scope{PartnerID: partner.ID, AllVenues: partner.AllVenues}, sl.VenueID)
	if errors.Is(err, store.ErrNotFound) {
		return Allocation{}, &booking.ParamError{Param: "partner_id", Message: fmt.Sprintf("Partner %s may not sell this venue, so it cannot be allocated its tables.", in.PartnerID)}
	} else if err != nil {
		return Allocation{}, err
	}
	hours := DefaultReleaseHoursBefore
	if in.ReleaseHoursBefore != nil {
		hours = *in.ReleaseHoursBefore
	}
	now := s.now()
	releaseAt := sl.StartsAt.Add(-time.Duration(hours) * time.Hour)
	if !releaseAt.After(now) {
		return Allocation{}, &booking.ParamError{Param: "release_hours_before", Message: "The release time would be in the past; allocate closer to the start or to a later slot."}
	}
	row := store.SlotAllocation{
		ID: ids.New("alc"), SlotID: sl.ID, PartnerID: in.PartnerID, Tables: in.Tables,
		ReleaseAt: releaseAt, CreatedAt: now, UpdatedAt: now,
	}
	cur, result, err := s.db.CreateAllocation(ctx, op.ID, &row, key.Applies(row.ID))
	switch {
	case errors.Is(err, store.ErrNotFound):
		return Allocation{}, &booking.NotFoundError{Kind: "slot", ID: slotID, Param: "slot_id"}
	case err != nil:
		return Allocation{}, fmt.Errorf("inventory: allocate: %w", err)
	case result == store.AllocationExists:
		return Allocation{}, &AllocationUnavailableError{Exists: true, Requested: in.Tables}
	case result == store.AllocationNoRoom:
		return Allocation{}, &AllocationUnavailableError{Requested: in.Tables, Free: max(0, cur.Tables-cur.TablesTaken-cur.TablesReserved)}
	}
	key.Committed(idempotency.PointApplied)
	return allocationFromRow(row, now), nil
}

// allocated answers the allocation id of slotID that an earlier run of this request's
// Idempotency-Key made before it died.
func (s *Service) allocated(ctx context.Context, op Operator, slotID, id string) (Allocation, error) {
	all, err := s.ListAllocations(ctx, op, slotID)
	if err != nil {
		return Allocation{}, err
	}
	for _, a := range all {
		if a.ID == id {
			return a, nil
		}
	}
	return Allocation{}, fmt.Errorf("inventory: resume allocation %s: %w", id, store.ErrNotFound)
}

// ListAllocations lists the allocations of one of op's slots.
func (s *Service) ListAllocations(ctx context.Context, op Operator, slotID string) ([]Allocation, error) {
	rows, err := s.db.ListAllocations(ctx, op.ID, slotID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, &booking.NotFoundError{Kind: "slot", ID: slotID, Param: "slot_id"}
	} else if err != nil {
		return nil, err
	}
	now := s.now()
	out := make([]Allocation, 0, len(rows))
	for _, r := range rows {
		out = append(out, allocationFromRow(r, now))
	}
	return out, nil
}

func allocationFromRow(r store.SlotAllocation, now time.Time) Allocation {
	return Allocation{
		ID: r.ID, SlotID: r.SlotID, PartnerID: r.PartnerID, Tables: r.Tables, TablesTaken: r.TablesTaken,
		ReleaseAt: r.ReleaseAt.UTC(), Released: r.Released || !r.ReleaseAt.After(now), CreatedAt: r.CreatedAt.UTC(),
	}
}
