package booking

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/prima-dining/partner-api/internal/webhooks"
	"github.com/prima-dining/partner-api/store"
)

// AvailabilityChange is what an availability.updated event tells one partner of a
// slot: the slot as that partner's search would show it (TablesLeft counting the
// partner's own allocation), whether the partner can hold it now, and when it changed.
type AvailabilityChange struct {
	Slot       Slot
	Bookable   bool
	TablesLeft int // 0 unless Bookable
	ChangedAt  time.Time
}

// RenderAvailability builds the body of an availability.updated delivery (the API's
// wire format lives in server/).
type RenderAvailability func(messageID string, createdAt time.Time, c AvailabilityChange) ([]byte, error)

// DefaultAvailabilityGap is the least time between two availability.updated events of
// one slot: the changes in between are told together, in the second.
const DefaultAvailabilityGap = time.Second

// AvailabilityFeed turns the journal of slot changes (store.SlotChange, written by the
// database in the transaction of every capacity change, whatever made it) into
// availability.updated events in the partner outbox: at most one per slot per Gap, to
// every enabled endpoint that names the event, of every partner that may sell the slot.
// It is safe to run in every process: each slot's journal row is claimed in the
// database, and its events and its sent mark commit together.
type AvailabilityFeed struct {
	*core
	// forgotAt is when this process last trimmed the journal: housekeeping, once a
	// minute, not a rule of correctness.
	forgetMu sync.Mutex
	forgotAt time.Time
}

// RunOnce sends the events of one batch of slots whose changes are due, and returns how
// many slots it told of.
func (f *AvailabilityFeed) RunOnce(ctx context.Context) (int, error) {
	if f.cfg.RenderAvailability == nil {
		return 0, errors.New("booking: availability feed: no RenderAvailability configured")
	}
	now := f.now()
	told := 0
	var claimed []string
	err := f.db.Transact(ctx, func(tx *store.Tx) error {
		told, claimed = 0, nil
		changes, err := tx.ClaimSlotChanges(now, f.cfg.AvailabilityGap, 200)
		if err != nil || len(changes) == 0 {
			return err
		}
		slotIDs := make([]string, len(changes))
		for i, c := range changes {
			slotIDs[i] = c.SlotID
		}
		rows, err := tx.SlotsForFeed(slotIDs)
		if err != nil {
			return err
		}
		bySlot := make(map[string]store.Slot, len(rows))
		for _, r := range rows {
			bySlot[r.ID] = r
		}
		// Nobody to tell (no endpoint names the event): no lookups venue by venue.
		anyone, err := tx.AnyEndpointNames(webhooks.EventAvailabilityUpdated)
		if err != nil {
			return err
		}
		endpoints := map[string][]store.WebhookEndpoint{} // by venue
		var freed []store.Slot                            // with a table free now
		for _, c := range changes {
			told++
			row, ok := bySlot[c.SlotID]
			if !ok {
				continue
			}
			if anyone {
				eps, seen := endpoints[row.VenueID]
				if !seen {
					if eps, err = tx.EndpointsForVenue(row.VenueID, webhooks.EventAvailabilityUpdated); err != nil {
						return err
					}
					endpoints[row.VenueID] = eps
				}
				if err := f.availabilityEvents(tx, row, eps, c.ChangedAt, now); err != nil {
					return err
				}
			}
			if row.Status == "open" && row.StartsAt.After(now) && row.Tables-row.TablesTaken-row.TablesReserved > 0 {
				freed = append(freed, row)
			}
		}
		if err := tx.MarkSlotChangesSent(changes, now); err != nil {
			return err
		}
		// Freed tables are matched only where a watch waits for them (matchSlot reads
		// the slot again, in a transaction of its own).
		dates := make([]string, 0, len(freed))
		for _, row := range freed {
			if !slices.Contains(dates, row.LocalDate) {
				dates = append(dates, row.LocalDate)
			}
		}
		places, err := tx.WatchedPlaces(dates, now)
		if err != nil {
			return err
		}
		for _, row := range freed {
			if places.Watched(row) {
				claimed = append(claimed, row.ID)
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	// Tables freed go to the watches waiting for them.
	for _, id := range claimed {
		if _, err := f.matchSlot(ctx, id); err != nil {
			return told, err
		}
	}
	// Journal rows long settled: their pacing no longer matters.
	f.forgetMu.Lock()
	due := now.Sub(f.forgotAt) >= time.Minute
	if due {
		f.forgotAt = now
	}
	f.forgetMu.Unlock()
	if due {
		if err := f.db.Transact(ctx, func(tx *store.Tx) error {
			_, err := tx.ForgetSlotChanges(now.Add(-time.Minute), 500)
			return err
		}); err != nil {
			return told, err
		}
	}
	return told, nil
}

// availabilityEvents writes one event of the slot per partner with an endpoint in eps, as
// that partner sees the slot, delivered to its endpoints in eps.
func (f *AvailabilityFeed) availabilityEvents(tx *store.Tx, row store.Slot, eps []store.WebhookEndpoint, changedAt, now time.Time) error {
	byPtn := map[string]AvailabilityChange{}
	for _, ep := range eps {
		change, ok := byPtn[ep.PartnerID]
		if !ok {
			sl := slotFromRow(row)
			if sl.TablesReserved > 0 {
				own, err := tx.PartnerAllocationsFree(ep.PartnerID, []string{sl.ID}, now)
				if err != nil {
					return err
				}
				sl.TablesReserved = max(0, sl.TablesReserved-own[sl.ID])
			}
			change = AvailabilityChange{
				Slot:      sl,
				Bookable:  row.Status == "open" && row.StartsAt.After(now) && sl.TablesLeft() > 0,
				ChangedAt: changedAt.UTC(),
			}
			if change.Bookable {
				change.TablesLeft = sl.TablesLeft()
			}
			byPtn[ep.PartnerID] = change
		}
	}
	// One event per partner (GET /v1/events lists it), carried by each of its endpoints
	// that names availability.updated.
	for _, ep := range eps {
		change, ok := byPtn[ep.PartnerID]
		if !ok {
			continue // this partner's event is written
		}
		delete(byPtn, ep.PartnerID)
		err := tx.EmitRenderedEvent(ep.PartnerID, webhooks.EventAvailabilityUpdated, "", row.VenueID, eps,
			func(e store.WebhookEndpoint) bool { return e.SubscribesExplicitly(webhooks.EventAvailabilityUpdated) }, now,
			func(id string) ([]byte, error) { return f.cfg.RenderAvailability(id, now, change) })
		if err != nil {
			return err
		}
	}
	return nil
}

// RunAvailabilityFeed runs the feed every interval until ctx ends.
func (f *AvailabilityFeed) RunAvailabilityFeed(ctx context.Context, every time.Duration) {
	f.repeat(ctx, every, "availability events", f.RunOnce)
}
