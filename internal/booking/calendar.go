package booking

import (
	"context"
	"time"

	"github.com/prima-dining/partner-api/store"
)

// MaxCalendarDays is the longest range AvailabilityCalendar answers.
const MaxCalendarDays = 62

// LimitedSlots is the most bookable slots a day may have and read DayLimited.
const LimitedSlots = 2

// MaxLookupSlots is the most slot ids one Lookup answers.
const MaxLookupSlots = 100

// Day statuses of a calendar.
const (
	DayAvailable = "available" // more than LimitedSlots bookable slots
	DayLimited   = "limited"   // 1 to LimitedSlots bookable slots
	DaySoldOut   = "sold_out"  // slots for the party, none with a table left
	DayClosed    = "closed"    // no slot for the party that has not started
)

// CalendarQuery is what a calendar covers: the filters of a search (LocalDate unused) for
// each local date From through To.
type CalendarQuery struct {
	store.SlotQuery
	From, To time.Time
}

// CalendarDay is one local date of a calendar. NextAvailable is, on a sold-out or
// closed day, the next date with a bookable slot (within MaxCalendarDays after the
// range; "" if none).
type CalendarDay struct {
	Date          string
	Status        string
	BookableSlots int
	FirstTime     string
	LastTime      string
	NextAvailable string
}

// Calendar answers, per local date of the range, whether the search with the same
// filters would list slots, by one grouped query over the search's predicates. The read
// replica may serve it (store.OwnWrites), as it may serve the search.
func (s *Reservations) Calendar(ctx context.Context, p Partner, q CalendarQuery) ([]CalendarDay, error) {
	switch {
	case q.VenueID == "" && q.City == "":
		return nil, &ParamError{Param: "venue_id", Message: "A calendar needs venue_id or city."}
	case q.To.Before(q.From):
		return nil, &ParamError{Param: "to", Message: "to must not be before from."}
	case q.To.Sub(q.From) > (MaxCalendarDays-1)*24*time.Hour:
		return nil, &ParamError{Param: "to", Message: "A calendar covers at most 62 days: to must be at most 61 days after from."}
	case q.TimeFrom != "" && q.TimeTo != "" && q.TimeTo < q.TimeFrom:
		return nil, &ParamError{Param: "time_to", Message: "time_to must not be before time_from."}
	}
	if q.VenueID != "" {
		if _, err := s.GetVenue(ctx, p, q.VenueID); err != nil {
			return nil, err
		}
	}
	q.Now = s.now()
	from, to := q.From.Format(time.DateOnly), q.To.Format(time.DateOnly)
	var (
		rows []store.CalendarDay
		next string
	)
	err := s.db.Read(ctx, p.ID, store.OwnWrites, func(r *store.DB) error {
		var err error
		rows, err = r.AvailabilityCalendar(ctx, scope(p), q.SlotQuery, from, to)
		if err != nil {
			return err
		}
		if needsNext(rows, to) {
			next, err = r.NextBookableDate(ctx, scope(p), q.SlotQuery, to, q.To.AddDate(0, 0, MaxCalendarDays).Format(time.DateOnly))
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	byDate := make(map[string]store.CalendarDay, len(rows))
	for _, r := range rows {
		byDate[r.LocalDate] = r
	}
	days := make([]CalendarDay, 0, int(q.To.Sub(q.From)/(24*time.Hour))+1)
	for d := q.From; !d.After(q.To); d = d.AddDate(0, 0, 1) {
		r := byDate[d.Format(time.DateOnly)]
		days = append(days, CalendarDay{Date: d.Format(time.DateOnly), Status: dayStatus(r),
			BookableSlots: r.Bookable, FirstTime: r.FirstTime, LastTime: r.LastTime})
	}
	// Walking back, next is the nearest later date with a bookable slot.
	for i := len(days) - 1; i >= 0; i-- {
		if days[i].BookableSlots > 0 {
			next = days[i].Date
			continue
		}
		days[i].NextAvailable = next
	}
	return days, nil
}

func dayStatus(r store.CalendarDay) string {
	switch {
	case r.Slots == 0:
		return DayClosed
	case r.Bookable == 0:
		return DaySoldOut
	case r.Bookable <= LimitedSlots:
		return DayLimited
	}
	return DayAvailable
}

// needsNext reports whether a day of the range has nothing bookable and no later day of
// the range has: only then is the date beyond the range worth a query.
func needsNext(rows []store.CalendarDay, to string) bool {
	for i := len(rows) - 1; i >= 0; i-- {
		if rows[i].Bookable > 0 {
			// A day after it without rows, or this is the last day with a bookable slot
			// but the range goes on.
			return rows[i].LocalDate < to
		}
	}
	return true
}

// Slot standings of a Lookup.
const (
	LookupBookable     = "bookable"
	LookupUnavailable  = "unavailable"
	LookupNotFound     = "not_found"
	LookupPartyOutside = "party_size_out_of_range"
)

// SlotStanding answers one slot id of a Lookup. TablesLeft is what the party could hold
// now (0 unless Status is LookupBookable); Price is nil for standard and unknown slots.
type SlotStanding struct {
	SlotID     string
	Status     string
	TablesLeft int
	Price      *Price
}

// Lookup answers, for each of ids in order (duplicates answered each time), whether the
// slot is bookable for a party of partySize now, by the search's predicates. An unknown
// id, or one of a venue p may not sell, answers LookupNotFound.
func (s *Reservations) Lookup(ctx context.Context, p Partner, partySize int, ids []string) ([]SlotStanding, error) {
	if len(ids) > MaxLookupSlots {
		return nil, &ParamError{Param: "slot_ids", Message: "At most 100 slot ids per lookup."}
	}
	now := s.now()
	found := map[string]SlotStanding{}
	err := s.db.Read(ctx, p.ID, store.OwnWrites, func(r *store.DB) error {
		rows, err := r.LookupSlots(ctx, scope(p), unique(ids), partySize, now)
		if err != nil {
			return err
		}
		slots := make([]Slot, 0, len(rows))
		for _, row := range rows {
			slots = append(slots, slotFromRow(row.Slot))
		}
		if err := countOwnAllocations(ctx, r, p, slots, now); err != nil {
			return err
		}
		for i, sl := range slots {
			st := SlotStanding{SlotID: sl.ID, Status: LookupUnavailable, Price: sl.Price}
			switch {
			case partySize < sl.PartySizeMin || partySize > sl.PartySizeMax:
				st.Status = LookupPartyOutside
			case rows[i].Bookable:
				st.Status, st.TablesLeft = LookupBookable, sl.TablesLeft()
			}
			found[sl.ID] = st
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]SlotStanding, 0, len(ids))
	for _, id := range ids {
		st, ok := found[id]
		if !ok {
			st = SlotStanding{SlotID: id, Status: LookupNotFound}
		}
		out = append(out, st)
	}
	return out, nil
}

func unique(ids []string) []string {
	seen := make(map[string]bool, len(ids))
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}
