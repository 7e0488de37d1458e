package inventory

// Unit tests of the pure parts of slot generation: no database, no network, no clock
// but the ones passed in.

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prima-dining/partner-api/internal/booking"
	"github.com/prima-dining/partner-api/store"
)

func mustLoad(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("load %s: %v", name, err)
	}
	return loc
}

func day(t *testing.T, s string) time.Time {
	t.Helper()
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// paramOf returns the Param of err, which must be a *booking.ParamError.
func paramOf(t *testing.T, err error) string {
	t.Helper()
	var pe *booking.ParamError
	if !errors.As(err, &pe) {
		t.Fatalf("error %v (%T) is not a *booking.ParamError", err, err)
	}
	if !errors.Is(err, booking.ErrInvalidParameter) {
		t.Errorf("error %v does not match booking.ErrInvalidParameter", err)
	}
	if pe.Message == "" || !strings.HasSuffix(pe.Message, ".") {
		t.Errorf("message %q is not a sentence for humans", pe.Message)
	}
	return pe.Param
}

func TestWeekdayNameNamesEveryDayMondayFirst(t *testing.T) {
	want := map[time.Weekday]string{
		time.Monday: "mon", time.Tuesday: "tue", time.Wednesday: "wed", time.Thursday: "thu",
		time.Friday: "fri", time.Saturday: "sat", time.Sunday: "sun",
	}
	for d, name := range want {
		if got := weekdayName(d); got != name {
			t.Errorf("weekdayName(%s) = %q, want %q", d, got, name)
		}
	}
	// 2026-03-16 is a Monday: a week of dates walks Weekdays in order.
	for i, name := range Weekdays {
		if got := weekdayName(day(t, "2026-03-16").AddDate(0, 0, i).Weekday()); got != name {
			t.Errorf("day %d of the week = %q, want %q", i, got, name)
		}
	}
}

func TestCheckShapeRefusesWhatTheVenueCannotSeat(t *testing.T) {
	venue := store.Venue{ID: "ven_1", SeatingAreas: "bar,dining_room,terrace", Currency: "gbp"}
	price := &booking.Price{Amount: 5000, Per: booking.PerCover}
	ok := SlotShape{DurationMinutes: 90, PartySizeMin: 2, PartySizeMax: 4, SeatingArea: "dining_room", Type: booking.SlotStandard, Tables: 3}
	cases := []struct {
		name      string
		change    func(*SlotShape)
		wantParam string // "" means accepted
	}{
		{"standard without price", func(*SlotShape) {}, ""},
		{"prime with price", func(s *SlotShape) { s.Type, s.Price = booking.SlotPrime, price }, ""},
		{"one-size party", func(s *SlotShape) { s.PartySizeMin, s.PartySizeMax = 2, 2 }, ""},
		{"every listed area", func(s *SlotShape) { s.SeatingArea = "terrace" }, ""},
		{"max below min", func(s *SlotShape) { s.PartySizeMin, s.PartySizeMax = 5, 4 }, "party_size_max"},
		{"unknown area", func(s *SlotShape) { s.SeatingArea = "rooftop" }, "seating_area"},
		{"area is a prefix of a listed one", func(s *SlotShape) { s.SeatingArea = "dining" }, "seating_area"},
		{"area differs in case", func(s *SlotShape) { s.SeatingArea = "Bar" }, "seating_area"},
		{"empty area", func(s *SlotShape) { s.SeatingArea = "" }, "seating_area"},
		{"prime without price", func(s *SlotShape) { s.Type = booking.SlotPrime }, "price"},
		{"standard with price", func(s *SlotShape) { s.Price = price }, "price"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sh := ok
			tc.change(&sh)
			err := checkShape(sh, venue)
			if tc.wantParam == "" {
				if err != nil {
					t.Fatalf("checkShape = %v, want nil", err)
				}
				return
			}
			if got := paramOf(t, err); got != tc.wantParam {
				t.Fatalf("param = %q, want %q (%v)", got, tc.wantParam, err)
			}
		})
	}
}

func TestCheckShapeNamesTheVenuesSeatingAreas(t *testing.T) {
	err := checkShape(SlotShape{PartySizeMin: 1, PartySizeMax: 2, SeatingArea: "rooftop", Type: booking.SlotStandard},
		store.Venue{SeatingAreas: "bar,terrace"})
	var pe *booking.ParamError
	if !errors.As(err, &pe) || pe.Message != "The venue's seating areas are bar, terrace." {
		t.Fatalf("checkShape = %v", err)
	}
}

func TestSlotRowStartsAtTheVenuesLocalTime(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	sh := SlotShape{DurationMinutes: 90, PartySizeMin: 2, PartySizeMax: 6, SeatingArea: "terrace", Type: booking.SlotStandard, Tables: 4}
	cases := []struct {
		zone, date, hhmm string
		wantUTC          time.Time
		wantDate         string
	}{
		{"Europe/London", "2026-01-15", "19:30", time.Date(2026, 1, 15, 19, 30, 0, 0, time.UTC), "2026-01-15"},
		{"Europe/London", "2026-07-15", "19:30", time.Date(2026, 7, 15, 18, 30, 0, 0, time.UTC), "2026-07-15"},
		{"America/New_York", "2026-01-15", "19:30", time.Date(2026, 1, 16, 0, 30, 0, 0, time.UTC), "2026-01-15"},
		{"Asia/Tokyo", "2026-01-15", "08:00", time.Date(2026, 1, 14, 23, 0, 0, 0, time.UTC), "2026-01-15"},
		{"Asia/Kolkata", "2026-01-15", "00:00", time.Date(2026, 1, 14, 18, 30, 0, 0, time.UTC), "2026-01-15"},
		{"UTC", "2026-01-15", "23:59", time.Date(2026, 1, 15, 23, 59, 0, 0, time.UTC), "2026-01-15"},
	}
	for _, tc := range cases {
		t.Run(tc.zone+" "+tc.date+" "+tc.hhmm, func(t *testing.T) {
			v := store.Venue{ID: "ven_1", TimeZone: tc.zone, Currency: "usd"}
			row := slotRow(v, mustLoad(t, tc.zone), day(t, tc.date), tc.hhmm, sh, now)
			if !row.StartsAt.Equal(tc.wantUTC) || row.StartsAt.Location() != time.UTC {
				t.Errorf("StartsAt = %s, want %s in UTC", row.StartsAt, tc.wantUTC)
			}
			if row.LocalDate != tc.wantDate || row.LocalTime != tc.hhmm {
				t.Errorf("local = %s %s, want %s %s", row.LocalDate, row.LocalTime, tc.wantDate, tc.hhmm)
			}
		})
	}
}

// Europe/London moves from GMT to BST on 2026-03-29 and back on 2026-10-25: a 19:00
// service stays at 19:00 local time on each side and on the day itself, so its UTC
// instant moves by an hour.
func TestSlotRowKeepsLocalTimeAcrossDSTChange(t *testing.T) {
	london := mustLoad(t, "Europe/London")
	v := store.Venue{ID: "ven_1", TimeZone: "Europe/London", Currency: "gbp"}
	sh := SlotShape{DurationMinutes: 120, PartySizeMin: 1, PartySizeMax: 4, SeatingArea: "bar", Type: booking.SlotStandard, Tables: 1}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		date    string
		wantUTC string
	}{
		{"2026-03-28", "2026-03-28T19:00:00Z"}, // GMT
		{"2026-03-29", "2026-03-29T18:00:00Z"}, // the change day: BST from 01:00 GMT
		{"2026-03-30", "2026-03-30T18:00:00Z"}, // BST
		{"2026-10-24", "2026-10-24T18:00:00Z"}, // BST
		{"2026-10-25", "2026-10-25T19:00:00Z"}, // the change day: GMT from 01:00 GMT
		{"2026-10-26", "2026-10-26T19:00:00Z"}, // GMT
	}
	for _, tc := range cases {
		row := slotRow(v, london, day(t, tc.date), "19:00", sh, now)
		if got := row.StartsAt.Format(time.RFC3339); got != tc.wantUTC {
			t.Errorf("%s 19:00 London starts at %s, want %s", tc.date, got, tc.wantUTC)
		}
		if row.LocalDate != tc.date || row.LocalTime != "19:00" {
			t.Errorf("%s: local %s %s, want %s 19:00", tc.date, row.LocalDate, row.LocalTime, tc.date)
		}
	}
}

// On a DST change day a local time may not exist (the clocks skip it) or exist twice
// (the clocks repeat it). Whatever instant slotRow picks, the local date and time it
// stores are the ones that instant has in the venue's zone, so search by local date and
// the UTC start never disagree.
func TestSlotRowLocalFieldsMatchStartsAtOnSkippedAndRepeatedHours(t *testing.T) {
	ny := mustLoad(t, "America/New_York")
	v := store.Venue{ID: "ven_1", TimeZone: "America/New_York", Currency: "usd"}
	sh := SlotShape{DurationMinutes: 60, PartySizeMin: 1, PartySizeMax: 2, SeatingArea: "bar", Type: booking.SlotStandard, Tables: 1}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

	// 2026-03-08 02:30 does not exist in New York (02:00 EST jumps to 03:00 EDT).
	skipped := slotRow(v, ny, day(t, "2026-03-08"), "02:30", sh, now)
	local := skipped.StartsAt.In(ny)
	if skipped.LocalDate != local.Format(time.DateOnly) || skipped.LocalTime != local.Format("15:04") {
		t.Errorf("skipped hour: stored %s %s, but StartsAt %s is %s in New York",
			skipped.LocalDate, skipped.LocalTime, skipped.StartsAt, local)
	}
	if skipped.LocalDate != "2026-03-08" || skipped.LocalTime == "02:30" {
		t.Errorf("skipped hour: stored %s %s, a local time that does not exist", skipped.LocalDate, skipped.LocalTime)
	}

	// 2026-11-01 01:30 happens twice in New York (EDT, then EST): either is right, and
	// it is stored as 01:30.
	repeated := slotRow(v, ny, day(t, "2026-11-01"), "01:30", sh, now)
	first, second := time.Date(2026, 11, 1, 5, 30, 0, 0, time.UTC), time.Date(2026, 11, 1, 6, 30, 0, 0, time.UTC)
	if !repeated.StartsAt.Equal(first) && !repeated.StartsAt.Equal(second) {
		t.Errorf("repeated hour: StartsAt %s, want %s or %s", repeated.StartsAt, first, second)
	}
	if repeated.LocalDate != "2026-11-01" || repeated.LocalTime != "01:30" {
		t.Errorf("repeated hour: stored %s %s, want 2026-11-01 01:30", repeated.LocalDate, repeated.LocalTime)
	}
}

func TestSlotRowCopiesTheShapeAndPricesInTheVenuesCurrency(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	v := store.Venue{ID: "ven_1", TimeZone: "Europe/Paris", Currency: "eur"}
	paris := mustLoad(t, "Europe/Paris")
	prime := SlotShape{
		DurationMinutes: 150, PartySizeMin: 2, PartySizeMax: 8, SeatingArea: "chef_table",
		Type: booking.SlotPrime, Tables: 2,
		// The shape's own currency is ignored: prices are in the venue's currency.
		Price: &booking.Price{Amount: 12500, Currency: "usd", Per: booking.PerBooking},
	}
	row := slotRow(v, paris, day(t, "2026-04-10"), "20:15", prime, now)
	if !strings.HasPrefix(row.ID, "slot_") || row.VenueID != "ven_1" || row.Status != SlotOpen {
		t.Errorf("id, venue, status = %q %q %q", row.ID, row.VenueID, row.Status)
	}
	if row.DurationMinutes != 150 || row.PartySizeMin != 2 || row.PartySizeMax != 8 || row.SeatingArea != "chef_table" ||
		row.Type != "prime" || row.Tables != 2 || row.TablesTaken != 0 || row.ScheduleID != nil {
		t.Errorf("shape not copied: %+v", row)
	}
	if row.PriceAmount != 12500 || row.PriceCurrency != "eur" || row.PricePer != "booking" {
		t.Errorf("price = %d %s per %s, want 12500 eur per booking", row.PriceAmount, row.PriceCurrency, row.PricePer)
	}
	if !row.CreatedAt.Equal(now) || !row.UpdatedAt.Equal(now) {
		t.Errorf("created/updated = %s/%s, want %s", row.CreatedAt, row.UpdatedAt, now)
	}
	if other := slotRow(v, paris, day(t, "2026-04-10"), "20:15", prime, now); other.ID == row.ID {
		t.Errorf("two slot rows share the id %s", row.ID)
	}

	standard := prime
	standard.Type, standard.Price = booking.SlotStandard, nil
	free := slotRow(v, paris, day(t, "2026-04-10"), "20:15", standard, now)
	if free.PriceAmount != 0 || free.PriceCurrency != "" || free.PricePer != "" {
		t.Errorf("a standard slot has a price: %d %q %q", free.PriceAmount, free.PriceCurrency, free.PricePer)
	}
}

func TestClosedCoversWholeDaysAndServicesInclusively(t *testing.T) {
	closures := []store.Closure{
		{DateFrom: "2026-05-01", DateTo: "2026-05-03"},                                     // whole days
		{DateFrom: "2026-05-10", DateTo: "2026-05-11", TimeFrom: "12:00", TimeTo: "14:30"}, // lunch only
	}
	cases := []struct {
		date, hhmm string
		want       bool
	}{
		{"2026-04-30", "23:59", false},
		{"2026-05-01", "00:00", true},
		{"2026-05-02", "19:00", true},
		{"2026-05-03", "23:59", true},
		{"2026-05-04", "00:00", false},
		{"2026-05-10", "11:59", false},
		{"2026-05-10", "12:00", true},
		{"2026-05-10", "14:30", true},
		{"2026-05-10", "14:31", false},
		{"2026-05-11", "13:00", true}, // the service is closed on every day of the range
		{"2026-05-11", "19:00", false},
		{"2026-05-12", "13:00", false},
	}
	for _, tc := range cases {
		if got := closed(closures, tc.date, tc.hhmm); got != tc.want {
			t.Errorf("closed(%s %s) = %v, want %v", tc.date, tc.hhmm, got, tc.want)
		}
	}
	if closed(nil, "2026-05-02", "19:00") {
		t.Error("closed with no closures = true")
	}
}

func TestShapeFromSchedulePricesOnlyPrimeSlots(t *testing.T) {
	base := store.Schedule{
		DurationMinutes: 90, PartySizeMin: 2, PartySizeMax: 4, SeatingArea: "bar", Tables: 6,
		PriceAmount: 2500, PricePer: "cover",
	}
	prime := base
	prime.Type = "prime"
	sh := shapeFromSchedule(prime, "gbp")
	if sh.DurationMinutes != 90 || sh.PartySizeMin != 2 || sh.PartySizeMax != 4 || sh.SeatingArea != "bar" ||
		sh.Tables != 6 || sh.Type != booking.SlotPrime {
		t.Errorf("prime shape: %+v", sh)
	}
	if sh.Price == nil || *sh.Price != (booking.Price{Amount: 2500, Currency: "gbp", Per: booking.PerCover}) {
		t.Errorf("prime price: %+v", sh.Price)
	}
	// A standard schedule's leftover price columns never make a price.
	standard := base
	standard.Type = "standard"
	if sh := shapeFromSchedule(standard, "gbp"); sh.Type != booking.SlotStandard || sh.Price != nil {
		t.Errorf("standard shape: %+v (price %+v)", sh, sh.Price)
	}
}

func TestScheduleFromRowSplitsDaysAndTimes(t *testing.T) {
	created := time.Date(2026, 2, 1, 9, 0, 0, 0, time.UTC)
	s := scheduleFromRow(store.Schedule{
		ID: "sch_1", VenueID: "ven_1", Days: "mon,fri,sat", Times: "18:00,20:30", Type: "standard",
		ValidFrom: "2026-02-01", ValidUntil: "2026-06-30", HorizonDays: 30, GeneratedThrough: "2026-03-02",
		CreatedAt: created,
	}, "usd")
	if strings.Join(s.Days, " ") != "mon fri sat" || strings.Join(s.Times, " ") != "18:00 20:30" {
		t.Errorf("days %q times %q", s.Days, s.Times)
	}
	if s.ID != "sch_1" || s.VenueID != "ven_1" || s.ValidFrom != "2026-02-01" || s.ValidUntil != "2026-06-30" ||
		s.HorizonDays != 30 || s.GeneratedThrough != "2026-03-02" || !s.CreatedAt.Equal(created) || s.SlotsGenerated != 0 {
		t.Errorf("schedule: %+v", s)
	}
}

// through is the last local date generated: horizon days counted from the venue's
// today (not UTC's), capped by the schedule's last date.
func TestThroughCountsTheHorizonFromTheVenuesToday(t *testing.T) {
	// 2026-03-14 23:30 UTC is already 2026-03-15 in Tokyo and still 2026-03-14 in New York.
	now := time.Date(2026, 3, 14, 23, 30, 0, 0, time.UTC)
	s := &Service{now: func() time.Time { return now }}
	cases := []struct {
		zone       string
		horizon    int
		validUntil string
		want       string
	}{
		{"Asia/Tokyo", 1, "", "2026-03-15"},
		{"America/New_York", 1, "", "2026-03-14"},
		{"America/New_York", 7, "", "2026-03-20"},
		{"America/New_York", 60, "", "2026-05-12"},
		{"America/New_York", 60, "2026-04-01", "2026-04-01"},
		{"America/New_York", 7, "2026-12-31", "2026-03-20"},
		// Across London's change to BST on 2026-03-29.
		{"Europe/London", 30, "", "2026-04-12"},
	}
	for _, tc := range cases {
		got := s.through(store.Schedule{HorizonDays: tc.horizon, ValidUntil: tc.validUntil}, mustLoad(t, tc.zone))
		if got != tc.want {
			t.Errorf("%s, %d days, until %q: through %s, want %s", tc.zone, tc.horizon, tc.validUntil, got, tc.want)
		}
	}
}

func TestSlotFromRowMapsTheRowAndPricesOnlyPrime(t *testing.T) {
	sch := "sch_1"
	updated := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	starts := time.Date(2026, 3, 20, 19, 0, 0, 0, time.FixedZone("CET", 3600))
	row := store.Slot{
		ID: "slot_1", VenueID: "ven_1", ScheduleID: &sch, StartsAt: starts, LocalDate: "2026-03-20", LocalTime: "19:00",
		DurationMinutes: 90, PartySizeMin: 2, PartySizeMax: 4, SeatingArea: "bar", Type: "prime",
		Tables: 5, TablesTaken: 2, TablesReserved: 1, Status: SlotWithdrawn,
		PriceAmount: 3000, PriceCurrency: "eur", PricePer: "cover", UpdatedAt: updated,
		Venue: store.Venue{ID: "ven_1", Name: "Chez A", City: "Paris", Cuisine: "French", TimeZone: "Europe/Paris", Currency: "eur"},
	}
	s := slotFromRow(row)
	if s.ID != "slot_1" || s.VenueID != "ven_1" || s.ScheduleID != "sch_1" || s.Status != SlotWithdrawn || !s.UpdatedAt.Equal(updated) {
		t.Errorf("ids and status: %+v", s)
	}
	if !s.StartsAt.Equal(starts) || s.StartsAt.Location() != time.UTC || s.LocalDate != "2026-03-20" || s.LocalTime != "19:00" {
		t.Errorf("times: %s (%s) %s %s", s.StartsAt, s.StartsAt.Location(), s.LocalDate, s.LocalTime)
	}
	if s.Tables != 5 || s.TablesTaken != 2 || s.TablesReserved != 1 || s.Type != booking.SlotPrime {
		t.Errorf("tables: %+v", s.Slot)
	}
	if s.Price == nil || *s.Price != (booking.Price{Amount: 3000, Currency: "eur", Per: booking.PerCover}) {
		t.Errorf("price: %+v", s.Price)
	}
	if s.Venue != (booking.VenueSummary{ID: "ven_1", Name: "Chez A", City: "Paris", Cuisine: "French", TimeZone: "Europe/Paris", Currency: "eur"}) {
		t.Errorf("venue: %+v", s.Venue)
	}
	row.ScheduleID, row.Type = nil, "standard"
	if s := slotFromRow(row); s.ScheduleID != "" || s.Price != nil {
		t.Errorf("one-off standard slot: schedule %q price %+v", s.ScheduleID, s.Price)
	}
}

func TestClosureFromRowKeepsItsRange(t *testing.T) {
	created := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	c := closureFromRow(store.Closure{ID: "clo_1", VenueID: "ven_1", DateFrom: "2026-05-10", DateTo: "2026-05-11",
		TimeFrom: "12:00", TimeTo: "14:30", Reason: "private event", CreatedAt: created})
	want := Closure{ID: "clo_1", VenueID: "ven_1", DateFrom: "2026-05-10", DateTo: "2026-05-11",
		TimeFrom: "12:00", TimeTo: "14:30", Reason: "private event", CreatedAt: created}
	if c != want {
		t.Errorf("closure = %+v, want %+v", c, want)
	}
}

func TestTablesBelowTakenErrorSaysWhatIsTaken(t *testing.T) {
	err := error(&TablesBelowTakenError{SlotID: "slot_1", Requested: 2, Taken: 3, Allocated: 1})
	if got := err.Error(); got != "inventory: slot slot_1 has 3 tables held or booked and 1 allocated; cannot set 2" {
		t.Errorf("Error() = %q", got)
	}
}
