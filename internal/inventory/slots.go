package inventory

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/prima-dining/partner-api/internal/booking"
	"github.com/prima-dining/partner-api/internal/idempotency"
	"github.com/prima-dining/partner-api/internal/ids"
	"github.com/prima-dining/partner-api/store"
)

// Slot statuses.
const (
	SlotOpen      = "open"
	SlotWithdrawn = "withdrawn"
)

// Weekdays in the order schedules name them, Monday first.
var Weekdays = []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}

func weekdayName(d time.Weekday) string { return Weekdays[(int(d)+6)%7] }

// SlotShape is what a schedule's slots, or a one-off slot, look like.
type SlotShape struct {
	DurationMinutes int
	PartySizeMin    int
	PartySizeMax    int
	SeatingArea     string
	Type            booking.SlotType
	Price           *booking.Price // prime only; Currency is the venue's
	Tables          int
}

// ScheduleInput is a weekly schedule to add.
type ScheduleInput struct {
	Days  []string // mon … sun
	Times []string // HH:MM, venue-local
	SlotShape
	ValidFrom   string // YYYY-MM-DD; "" means the venue's today
	ValidUntil  string // YYYY-MM-DD; "" means open-ended
	HorizonDays int    // 0 means DefaultHorizonDays
}

// Schedule is a weekly schedule of a venue.
type Schedule struct {
	ID      string
	VenueID string
	Days    []string
	Times   []string
	SlotShape
	ValidFrom        string
	ValidUntil       string
	HorizonDays      int
	GeneratedThrough string
	// SlotsGenerated is how many slots the call that returned it generated.
	SlotsGenerated int
	CreatedAt      time.Time
}

// Slot is a slot as its venue sees it.
type Slot struct {
	booking.Slot // TablesReserved: allocated to partners, unsold; PaymentPolicy: the one in effect
	VenueID      string
	ScheduleID   string
	Status       string
	UpdatedAt    time.Time
	// PolicySource says where PaymentPolicy comes from: PolicyFromSlot or PolicyFromVenue.
	PolicySource string
}

// Where a slot's payment policy comes from.
const (
	PolicyFromVenue = "venue"
	PolicyFromSlot  = "slot"
)

// TablesBelowTakenError refuses to set a slot's tables below those held or booked
// (Taken) plus those allocated to partners and unsold (Allocated).
type TablesBelowTakenError struct {
	SlotID    string
	Requested int
	Taken     int
	Allocated int
}

func (e *TablesBelowTakenError) Error() string {
	return fmt.Sprintf("inventory: slot %s has %d tables held or booked and %d allocated; cannot set %d", e.SlotID, e.Taken, e.Allocated, e.Requested)
}

// checkShape checks a slot shape against its venue.
func checkShape(sh SlotShape, v store.Venue) error {
	if sh.PartySizeMin > sh.PartySizeMax {
		return &booking.ParamError{Param: "party_size_max", Message: "party_size_max must not be below party_size_min."}
	}
	if areas := strings.Split(v.SeatingAreas, ","); !slices.Contains(areas, sh.SeatingArea) {
		return &booking.ParamError{Param: "seating_area", Message: fmt.Sprintf("The venue's seating areas are %s.", strings.Join(areas, ", "))}
	}
	switch {
	case sh.Type == booking.SlotPrime && sh.Price == nil:
		return &booking.ParamError{Param: "price", Message: "A prime slot needs a price."}
	case sh.Type == booking.SlotStandard && sh.Price != nil:
		return &booking.ParamError{Param: "price", Message: "A standard slot is free; leave price out."}
	}
	return nil
}

// slotRow builds a slot of venue v starting at local date and time (its venue's zone).
func slotRow(v store.Venue, loc *time.Location, date time.Time, hhmm string, sh SlotShape, now time.Time) store.Slot {
	h, m := 0, 0
	_, _ = fmt.Sscanf(hhmm, "%d:%d", &h, &m)
	starts := time.Date(date.Year(), date.Month(), date.Day(), h, m, 0, 0, loc)
	row := store.Slot{
		ID: ids.New("slot"), VenueID: v.ID, StartsAt: starts.UTC(),
		LocalDate: starts.Format(time.DateOnly), LocalTime: starts.Format("15:04"),
		DurationMinutes: sh.DurationMinutes, PartySizeMin: sh.PartySizeMin, PartySizeMax: sh.PartySizeMax,
		SeatingArea: sh.SeatingArea, Type: string(sh.Type), Tables: sh.Tables, Status: SlotOpen,
		CreatedAt: now, UpdatedAt: now,
	}
	if sh.Price != nil {
		row.PriceAmount, row.PriceCurrency, row.PricePer = sh.Price.Amount, v.Currency, string(sh.Price.Per)
	}
	return row
}

// AddSchedule adds a weekly schedule to one of op's venues and generates its slots.
//
// The schedule and the request's Idempotency-Key recovery point commit together; a retry
// of a request that died after that resumes: it generates what is missing of the same
// schedule's slots (generation skips slots it has) instead of adding a second schedule.
func (s *Service) AddSchedule(ctx context.Context, op Operator, venueID string, in ScheduleInput) (Schedule, error) {
	v, err := s.venue(ctx, op, venueID)
	if err != nil {
		return Schedule{}, err
	}
	key := idempotency.FromContext(ctx)
	if id := key.AppliedTo(); id != "" {
		row, err := s.db.GetSchedule(ctx, id)
		if err != nil {
			return Schedule{}, fmt.Errorf("inventory: resume schedule %s: %w", id, err)
		}
		return s.generated(ctx, row, v)
	}
	if err := checkShape(in.SlotShape, v); err != nil {
		return Schedule{}, err
	}
	loc, err := time.LoadLocation(v.TimeZone)
	if err != nil {
		return Schedule{}, fmt.Errorf("inventory: venue %s time zone: %w", v.ID, err)
	}
	if in.ValidFrom == "" {
		in.ValidFrom = s.now().In(loc).Format(time.DateOnly)
	}
	if in.ValidUntil != "" && in.ValidUntil < in.ValidFrom {
		return Schedule{}, &booking.ParamError{Param: "valid_until", Message: "valid_until must not be before valid_from."}
	}
	if in.HorizonDays <= 0 {
		in.HorizonDays = DefaultHorizonDays
	}
	days := slices.DeleteFunc(slices.Clone(Weekdays), func(d string) bool { return !slices.Contains(in.Days, d) })
	times := slices.Compact(slices.Sorted(slices.Values(in.Times)))
	now := s.now()
	row := store.Schedule{
		ID: ids.New("sch"), VenueID: v.ID, Days: strings.Join(days, ","), Times: strings.Join(times, ","),
		DurationMinutes: in.DurationMinutes, PartySizeMin: in.PartySizeMin, PartySizeMax: in.PartySizeMax,
		SeatingArea: in.SeatingArea, Type: string(in.Type), Tables: in.Tables,
		ValidFrom: in.ValidFrom, ValidUntil: in.ValidUntil, HorizonDays: in.HorizonDays,
		CreatedAt: now, UpdatedAt: now,
	}
	if in.Price != nil {
		row.PriceAmount, row.PricePer = in.Price.Amount, string(in.Price.Per)
	}
	if err := s.db.CreateSchedule(ctx, &row, key.Applies(row.ID)); err != nil {
		return Schedule{}, fmt.Errorf("inventory: add schedule: %w", err)
	}
	key.Committed(idempotency.PointApplied)
	return s.generated(ctx, row, v)
}

// generated generates a new schedule's slots and answers the schedule with their count.
func (s *Service) generated(ctx context.Context, row store.Schedule, v store.Venue) (Schedule, error) {
	loc, err := time.LoadLocation(v.TimeZone)
	if err != nil {
		return Schedule{}, fmt.Errorf("inventory: venue %s time zone: %w", v.ID, err)
	}
	n, err := s.generate(ctx, row, v)
	if err != nil {
		return Schedule{}, err
	}
	out := scheduleFromRow(row, v.Currency)
	out.SlotsGenerated = n
	out.GeneratedThrough = s.through(row, loc)
	return out, nil
}

// through is the last local date a schedule's slots are generated for now: the end of
// its horizon from the venue's today, or its last date.
func (s *Service) through(sch store.Schedule, loc *time.Location) string {
	today := s.now().In(loc)
	t := time.Date(today.Year(), today.Month(), today.Day(), 12, 0, 0, 0, loc).AddDate(0, 0, sch.HorizonDays-1).Format(time.DateOnly)
	if sch.ValidUntil != "" && sch.ValidUntil < t {
		t = sch.ValidUntil
	}
	return t
}

// generate inserts the schedule's slots from the day after its GeneratedThrough (or its
// first date, or today) through its horizon, skipping starts already past. Slots inside a
// closure are inserted withdrawn. It is idempotent: the store keeps one slot per schedule
// and start.
func (s *Service) generate(ctx context.Context, sch store.Schedule, v store.Venue) (int, error) {
	loc, err := time.LoadLocation(v.TimeZone)
	if err != nil {
		return 0, fmt.Errorf("inventory: venue %s time zone: %w", v.ID, err)
	}
	now := s.now()
	from := sch.ValidFrom
	if today := now.In(loc).Format(time.DateOnly); today > from {
		from = today
	}
	if sch.GeneratedThrough >= from {
		next, _ := time.Parse(time.DateOnly, sch.GeneratedThrough)
		from = next.AddDate(0, 0, 1).Format(time.DateOnly)
	}
	through := s.through(sch, loc)
	if from > through {
		return 0, nil
	}
	closures, err := s.db.ListClosures(ctx, v.ID, from)
	if err != nil {
		return 0, err
	}
	shape := shapeFromSchedule(sch, v.Currency)
	days, times := strings.Split(sch.Days, ","), strings.Split(sch.Times, ",")
	var rows []store.Slot
	start, _ := time.Parse(time.DateOnly, from)
	end, _ := time.Parse(time.DateOnly, through)
	for d := start; !d.After(end); d = d.AddDate(0, 0, 1) {
		if !slices.Contains(days, weekdayName(d.Weekday())) {
			continue
		}
		for _, hhmm := range times {
			row := slotRow(v, loc, d, hhmm, shape, now)
			if !row.StartsAt.After(now) {
				continue
			}
			if closed(closures, row.LocalDate, row.LocalTime) {
				row.Status = SlotWithdrawn
			}
			id := sch.ID
			row.ScheduleID = &id
			rows = append(rows, row)
		}
	}
	n, err := s.db.AddScheduleSlots(ctx, sch.ID, rows, through, now)
	if err != nil {
		return 0, fmt.Errorf("inventory: generate slots of %s: %w", sch.ID, err)
	}
	return n, nil
}

// RollHorizon generates the slots every schedule is due, as its horizon moves forward
// day by day; a background loop calls it. It returns how many slots it added.
func (s *Service) RollHorizon(ctx context.Context) (int, error) {
	total := 0
	// A day's margin: every venue's today is within a day of UTC's.
	today := s.now().AddDate(0, 0, -1).Format(time.DateOnly)
	after := ""
	for {
		batch, err := s.db.ActiveSchedules(ctx, today, after, 100)
		if err != nil {
			return total, err
		}
		for _, sch := range batch {
			after = sch.ID
			v, err := s.db.GetVenue(ctx, store.Scope{AllVenues: true}, sch.VenueID)
			if err != nil {
				return total, err
			}
			loc, err := time.LoadLocation(v.TimeZone)
			if err != nil {
				s.log.WarnContext(ctx, "schedule's venue has no valid time zone", "schedule_id", sch.ID, "error", err)
				continue
			}
			if sch.GeneratedThrough >= s.through(sch, loc) {
				continue
			}
			n, err := s.generate(ctx, sch, v)
			if err != nil {
				return total, err
			}
			total += n
		}
		if len(batch) < 100 {
			return total, nil
		}
	}
}

func closed(cs []store.Closure, date, hhmm string) bool {
	for _, c := range cs {
		if date >= c.DateFrom && date <= c.DateTo && (c.TimeFrom == "" || hhmm >= c.TimeFrom && hhmm <= c.TimeTo) {
			return true
		}
	}
	return false
}

func shapeFromSchedule(r store.Schedule, currency string) SlotShape {
	sh := SlotShape{
		DurationMinutes: r.DurationMinutes, PartySizeMin: r.PartySizeMin, PartySizeMax: r.PartySizeMax,
		SeatingArea: r.SeatingArea, Type: booking.SlotType(r.Type), Tables: r.Tables,
	}
	if sh.Type == booking.SlotPrime {
		sh.Price = &booking.Price{Amount: r.PriceAmount, Currency: currency, Per: booking.PricePer(r.PricePer)}
	}
	return sh
}

func scheduleFromRow(r store.Schedule, currency string) Schedule {
	return Schedule{
		ID: r.ID, VenueID: r.VenueID, Days: strings.Split(r.Days, ","), Times: strings.Split(r.Times, ","),
		SlotShape: shapeFromSchedule(r, currency), ValidFrom: r.ValidFrom, ValidUntil: r.ValidUntil,
		HorizonDays: r.HorizonDays, GeneratedThrough: r.GeneratedThrough, CreatedAt: r.CreatedAt,
	}
}

// ListSchedules lists the schedules of one of op's venues.
func (s *Service) ListSchedules(ctx context.Context, op Operator, venueID string) ([]Schedule, error) {
	v, err := s.venue(ctx, op, venueID)
	if err != nil {
		return nil, err
	}
	rows, err := s.db.ListSchedules(ctx, v.ID)
	if err != nil {
		return nil, err
	}
	out := make([]Schedule, 0, len(rows))
	for _, r := range rows {
		out = append(out, scheduleFromRow(r, v.Currency))
	}
	return out, nil
}

// SlotInput is a one-off slot to add.
type SlotInput struct {
	LocalDate string // YYYY-MM-DD
	LocalTime string // HH:MM
	SlotShape
	// PaymentPolicy is the slot's own payment policy; nil follows the venue's.
	PaymentPolicy *booking.SlotPolicyInput
}

// AddSlot adds a one-off slot to one of op's venues. The slot and the request's
// Idempotency-Key recovery point commit together: a retry of a request that died after
// the insert answers that slot instead of adding another.
func (s *Service) AddSlot(ctx context.Context, op Operator, venueID string, in SlotInput) (Slot, error) {
	v, err := s.venue(ctx, op, venueID)
	if err != nil {
		return Slot{}, err
	}
	if err := checkShape(in.SlotShape, v); err != nil {
		return Slot{}, err
	}
	var policy, per string
	var amount int64
	if in.PaymentPolicy != nil {
		if policy, amount, per, err = booking.CheckSlotPolicy(*in.PaymentPolicy, in.Type); err != nil {
			return Slot{}, err
		}
	}
	loc, err := time.LoadLocation(v.TimeZone)
	if err != nil {
		return Slot{}, fmt.Errorf("inventory: venue %s time zone: %w", v.ID, err)
	}
	date, err := time.Parse(time.DateOnly, in.LocalDate)
	if err != nil {
		return Slot{}, &booking.ParamError{Param: "local_date", Message: "local_date must be a date, YYYY-MM-DD."}
	}
	key := idempotency.FromContext(ctx)
	if id := key.AppliedTo(); id != "" {
		row, err := s.db.GetOperatorSlot(ctx, op.ID, id)
		if err != nil {
			return Slot{}, fmt.Errorf("inventory: resume slot %s: %w", id, err)
		}
		return slotFromRow(row), nil
	}
	now := s.now()
	row := slotRow(v, loc, date, in.LocalTime, in.SlotShape, now)
	row.PaymentPolicy, row.PaymentPolicyAmount, row.PaymentPolicyPer = policy, amount, per
	if !row.StartsAt.After(now) {
		return Slot{}, &booking.ParamError{Param: "local_date", Message: "The slot would start in the past."}
	}
	if err := s.db.InsertSlot(ctx, &row, key.Applies(row.ID)); err != nil {
		return Slot{}, fmt.Errorf("inventory: add slot: %w", err)
	}
	key.Committed(idempotency.PointApplied)
	row.Venue = v
	return slotFromRow(row), nil
}

// SlotFilter narrows ListSlots.
type SlotFilter = store.OperatorSlotFilter

// ListSlots lists the slots of one of op's venues.
func (s *Service) ListSlots(ctx context.Context, op Operator, venueID string, f SlotFilter, page store.Page) ([]Slot, bool, error) {
	if _, err := s.venue(ctx, op, venueID); err != nil {
		return nil, false, err
	}
	if f.DateFrom != "" && f.DateTo != "" && f.DateTo < f.DateFrom {
		return nil, false, &booking.ParamError{Param: "date_to", Message: "date_to must not be before date_from."}
	}
	f.VenueID = venueID
	rows, more, err := s.db.ListOperatorSlots(ctx, op.ID, f, page)
	if err != nil {
		return nil, false, booking.PageError(err, page)
	}
	out := make([]Slot, 0, len(rows))
	for _, r := range rows {
		out = append(out, slotFromRow(r))
	}
	return out, more, nil
}

// SlotChange is what to change on a slot (nil: unchanged).
type SlotChange struct {
	Tables *int
	Status *string // open | withdrawn
	// PaymentPolicy sets the slot's own payment policy (booking.PolicyVenueDefault
	// removes it). Holds already made keep the policy they were made with.
	PaymentPolicy *booking.SlotPolicyInput
}

// UpdateSlot changes one of op's slots. Tables never go below those held or booked
// (TablesBelowTakenError); the store decides that with a conditional update, so a hold
// racing with the change is either counted or refused.
func (s *Service) UpdateSlot(ctx context.Context, op Operator, id string, c SlotChange) (Slot, error) {
	notFound := &booking.NotFoundError{Kind: "slot", ID: id, Param: "slot_id"}
	now := s.now()
	var (
		row store.Slot
		err error
	)
	// The policy is checked before anything changes, so bad input changes nothing.
	var policy, per string
	var amount int64
	if c.PaymentPolicy != nil {
		cur, err := s.db.GetOperatorSlot(ctx, op.ID, id)
		if errors.Is(err, store.ErrNotFound) {
			return Slot{}, notFound
		} else if err != nil {
			return Slot{}, err
		}
		if policy, amount, per, err = booking.CheckSlotPolicy(*c.PaymentPolicy, booking.SlotType(cur.Type)); err != nil {
			return Slot{}, err
		}
	}
	if c.Tables != nil {
		var ok bool
		row, ok, err = s.db.SetSlotTables(ctx, op.ID, id, *c.Tables, now)
		if errors.Is(err, store.ErrNotFound) {
			return Slot{}, notFound
		} else if err != nil {
			return Slot{}, err
		}
		if !ok {
			return Slot{}, &TablesBelowTakenError{SlotID: id, Requested: *c.Tables, Taken: row.TablesTaken, Allocated: row.TablesReserved}
		}
	}
	if c.Status != nil {
		row, err = s.db.SetSlotStatus(ctx, op.ID, id, *c.Status, now)
	}
	if err == nil && c.PaymentPolicy != nil {
		row, err = s.db.SetSlotPaymentPolicy(ctx, op.ID, id, policy, amount, per, now)
	} else if err == nil && c.Tables == nil && c.Status == nil {
		row, err = s.db.GetOperatorSlot(ctx, op.ID, id)
	}
	if errors.Is(err, store.ErrNotFound) {
		return Slot{}, notFound
	} else if err != nil {
		return Slot{}, err
	}
	return slotFromRow(row), nil
}

func slotFromRow(r store.Slot) Slot {
	out := Slot{
		Slot: booking.Slot{
			ID: r.ID, StartsAt: r.StartsAt.UTC(), LocalDate: r.LocalDate, LocalTime: r.LocalTime,
			DurationMinutes: r.DurationMinutes, PartySizeMin: r.PartySizeMin, PartySizeMax: r.PartySizeMax,
			SeatingArea: r.SeatingArea, Type: booking.SlotType(r.Type), Tables: r.Tables, TablesTaken: r.TablesTaken,
			TablesReserved: r.TablesReserved,
			Venue:          booking.VenueSummary{ID: r.Venue.ID, Name: r.Venue.Name, City: r.Venue.City, Cuisine: r.Venue.Cuisine, TimeZone: r.Venue.TimeZone, Currency: r.Venue.Currency},
		},
		VenueID: r.VenueID, Status: r.Status, UpdatedAt: r.UpdatedAt,
	}
	if r.ScheduleID != nil {
		out.ScheduleID = *r.ScheduleID
	}
	if out.Type == booking.SlotPrime {
		out.Price = &booking.Price{Amount: r.PriceAmount, Currency: r.PriceCurrency, Per: booking.PricePer(r.PricePer)}
	}
	var own bool
	out.PaymentPolicy, own = booking.SlotPaymentPolicy(r)
	out.PolicySource = PolicyFromVenue
	if own {
		out.PolicySource = PolicyFromSlot
	}
	return out
}

// ClosureInput is a closure to make.
type ClosureInput struct {
	DateFrom, DateTo string // YYYY-MM-DD, inclusive
	TimeFrom, TimeTo string // HH:MM, inclusive; both "" for all day
	Reason           string
}

// Closure is a closure of a venue, with what making it withdrew.
type Closure struct {
	ID                   string
	VenueID              string
	DateFrom, DateTo     string
	TimeFrom, TimeTo     string
	Reason               string
	SlotsWithdrawn       int
	ReservationsAffected int
	CreatedAt            time.Time
}

// AddClosure closes one of op's venues for dates or a service: the open slots it covers
// are withdrawn at once (partner search stops showing them, holds on them are refused),
// and slots generated later inside it are generated withdrawn. The closure and the
// request's Idempotency-Key recovery point commit together: a retry of a request that
// died after that answers the same closure, its counts read again.
func (s *Service) AddClosure(ctx context.Context, op Operator, venueID string, in ClosureInput) (Closure, error) {
	v, err := s.venue(ctx, op, venueID)
	if err != nil {
		return Closure{}, err
	}
	switch {
	case in.DateTo < in.DateFrom:
		return Closure{}, &booking.ParamError{Param: "date_to", Message: "date_to must not be before date_from."}
	case (in.TimeFrom == "") != (in.TimeTo == ""):
		return Closure{}, &booking.ParamError{Param: "time_to", Message: "Give both time_from and time_to for a service, or neither for whole days."}
	case in.TimeTo < in.TimeFrom:
		return Closure{}, &booking.ParamError{Param: "time_to", Message: "time_to must not be before time_from."}
	}
	key := idempotency.FromContext(ctx)
	if id := key.AppliedTo(); id != "" {
		row, withdrawn, affected, err := s.db.GetClosure(ctx, v.ID, id)
		if err != nil {
			return Closure{}, fmt.Errorf("inventory: resume closure %s: %w", id, err)
		}
		out := closureFromRow(row)
		out.SlotsWithdrawn, out.ReservationsAffected = withdrawn, int(affected)
		return out, nil
	}
	now := s.now()
	row := store.Closure{
		ID: ids.New("clo"), VenueID: v.ID, DateFrom: in.DateFrom, DateTo: in.DateTo,
		TimeFrom: in.TimeFrom, TimeTo: in.TimeTo, Reason: in.Reason, CreatedAt: now,
	}
	withdrawn, affected, err := s.db.AddClosure(ctx, &row, now, key.Applies(row.ID))
	if err != nil {
		return Closure{}, fmt.Errorf("inventory: add closure: %w", err)
	}
	key.Committed(idempotency.PointApplied)
	out := closureFromRow(row)
	out.SlotsWithdrawn, out.ReservationsAffected = withdrawn, int(affected)
	return out, nil
}

// ListClosures lists the closures of one of op's venues that have not ended.
func (s *Service) ListClosures(ctx context.Context, op Operator, venueID string) ([]Closure, error) {
	v, err := s.venue(ctx, op, venueID)
	if err != nil {
		return nil, err
	}
	loc, err := time.LoadLocation(v.TimeZone)
	if err != nil {
		return nil, fmt.Errorf("inventory: venue %s time zone: %w", v.ID, err)
	}
	rows, err := s.db.ListClosures(ctx, v.ID, s.now().In(loc).Format(time.DateOnly))
	if err != nil {
		return nil, err
	}
	out := make([]Closure, 0, len(rows))
	for _, r := range rows {
		out = append(out, closureFromRow(r))
	}
	return out, nil
}

func closureFromRow(r store.Closure) Closure {
	return Closure{
		ID: r.ID, VenueID: r.VenueID, DateFrom: r.DateFrom, DateTo: r.DateTo,
		TimeFrom: r.TimeFrom, TimeTo: r.TimeTo, Reason: r.Reason, CreatedAt: r.CreatedAt,
	}
}
