package store_test

import (
	"errors"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/prima-dining/partner-api/store"
	"github.com/prima-dining/partner-api/store/storetest"
)

var all = store.Scope{PartnerID: "ptn_all", AllVenues: true}

func TestListVenuesKeysetPagingVisitsEveryRowOnce(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		// Repeated names make the id the tie-breaker.
		names := []string{"Zuni", "alpha", "Alpha", "Bistro", "bistro", "Café", "Mezze", "Alpha"}
		var vs []store.Venue
		for i := range 23 {
			vs = append(vs, venue(fmt.Sprintf("ven_%02d", 22-i), names[i%len(names)], "NYC", "French"))
		}
		mustVenues(t, db, vs...)
		want := append([]store.Venue(nil), vs...)
		sort.Slice(want, func(i, j int) bool {
			if want[i].NameKey != want[j].NameKey {
				return want[i].NameKey < want[j].NameKey
			}
			return want[i].ID < want[j].ID
		})

		for _, limit := range []int{1, 5, 23, 50} {
			var got []string
			after, pages := "", 0
			for {
				page, more, err := db.ListVenues(ctxT(t), all, store.VenueFilter{}, store.Page{Limit: limit, StartingAfter: after})
				if err != nil {
					t.Fatal(err)
				}
				pages++
				got = append(got, ids(page, venueID)...)
				if !more {
					break
				}
				if len(page) != limit {
					t.Fatalf("limit %d: short page of %d with has_more", limit, len(page))
				}
				after = page[len(page)-1].ID
			}
			if !sameIDs(got, ids(want, venueID)) {
				t.Fatalf("limit %d: paged %v\nwant %v", limit, got, ids(want, venueID))
			}
			if wantPages := (23 + limit - 1) / limit; pages != wantPages {
				t.Fatalf("limit %d: %d pages, want %d", limit, pages, wantPages)
			}
		}
		if _, _, err := db.ListVenues(ctxT(t), all, store.VenueFilter{}, store.Page{Limit: 5, StartingAfter: "ven_nope"}); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unknown starting_after: %v, want ErrNotFound", err)
		}
	})
}

func TestListVenuesFilters(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		mustVenues(t, db,
			venue("ven_1", "Le Bernardin", "New York", "French"),
			venue("ven_2", "Bern's 100%_Steak", "Tampa", "Steak"),
			venue("ven_3", "Balthazar", "New York", "French"),
			venue("ven_4", "Carbone", "New York", "Italian"),
		)
		cases := []struct {
			f    store.VenueFilter
			want []string
		}{
			{store.VenueFilter{City: "NEW YORK"}, []string{"ven_3", "ven_4", "ven_1"}},
			{store.VenueFilter{City: "new york", Cuisine: "french"}, []string{"ven_3", "ven_1"}},
			{store.VenueFilter{Query: "BERN"}, []string{"ven_2", "ven_1"}},
			{store.VenueFilter{Query: "100%_"}, []string{"ven_2"}},
			{store.VenueFilter{Query: "%"}, []string{"ven_2"}}, // wildcards are literal
			{store.VenueFilter{Query: "_"}, []string{"ven_2"}},
		}
		for _, c := range cases {
			got, more, err := db.ListVenues(ctxT(t), all, c.f, store.Page{Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			if more || !sameIDs(ids(got, venueID), c.want) {
				t.Fatalf("%+v: got %v (more %v), want %v", c.f, ids(got, venueID), more, c.want)
			}
		}
		if n, err := db.CountVenues(ctxT(t)); err != nil || n != 4 {
			t.Fatalf("count = %d, %v", n, err)
		}
	})
}

func TestSearchSlotsKeysetPagingVisitsEveryRowOnce(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		mustVenues(t, db,
			venue("ven_a", "Alpha", "NYC", "French"),
			venue("ven_b", "Beta", "NYC", "French"),
			venue("ven_c", "Gamma", "NYC", "French"),
		)
		// Same local date; many equal start times across venues, and sub-second starts, so
		// every column of the keyset matters.
		day := time.Date(2030, 6, 1, 22, 0, 0, 0, time.UTC) // 18:00 EDT
		var ss []store.Slot
		for i := range 30 {
			v := []string{"ven_c", "ven_a", "ven_b"}[i%3]
			start := day.Add(time.Duration(i/4) * 15 * time.Minute)
			if i%7 == 0 {
				start = start.Add(250 * time.Millisecond)
			}
			s := slot(fmt.Sprintf("slot_%02d", 29-i), v, start, 2)
			ss = append(ss, s)
		}
		// Not bookable: full, withdrawn, party too large, in the past, another date.
		full := slot("slot_full", "ven_a", day, 1)
		full.TablesTaken = 1
		withdrawn := slot("slot_wd", "ven_a", day, 1)
		withdrawn.Status = "withdrawn"
		small := slot("slot_small", "ven_a", day, 1)
		small.PartySizeMax = 1
		past := slot("slot_past", "ven_a", day.Add(-3*time.Hour), 1)
		other := slot("slot_other", "ven_a", day.Add(24*time.Hour), 1)
		mustSlots(t, db, append(ss, full, withdrawn, small, past, other)...)

		want := append([]store.Slot(nil), ss...)
		sort.Slice(want, func(i, j int) bool {
			a, b := want[i], want[j]
			if !a.StartsAt.Equal(b.StartsAt) {
				return a.StartsAt.Before(b.StartsAt)
			}
			if a.VenueID != b.VenueID {
				return a.VenueID < b.VenueID
			}
			return a.ID < b.ID
		})
		q := store.SlotQuery{LocalDate: "2030-06-01", PartySize: 2, Now: day.Add(-time.Hour)}
		for _, limit := range []int{1, 4, 7, 30, 100} {
			var got []string
			after := ""
			for {
				page, more, err := db.SearchSlots(ctxT(t), all, q, store.Page{Limit: limit, StartingAfter: after})
				if err != nil {
					t.Fatal(err)
				}
				for _, s := range page {
					if s.Venue.ID != s.VenueID || s.Venue.Name == "" {
						t.Fatalf("%s: venue not filled: %+v", s.ID, s.Venue)
					}
				}
				got = append(got, ids(page, slotID)...)
				if !more {
					break
				}
				after = page[len(page)-1].ID
			}
			if !sameIDs(got, ids(want, slotID)) {
				t.Fatalf("limit %d: paged %v\nwant %v", limit, got, ids(want, slotID))
			}
		}
		if _, _, err := db.SearchSlots(ctxT(t), all, q, store.Page{Limit: 5, StartingAfter: "slot_nope"}); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unknown starting_after: %v, want ErrNotFound", err)
		}
	})
}

func TestSearchSlotsFilters(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		mustVenues(t, db, venue("ven_a", "Alpha", "New York", "French"), venue("ven_b", "Beta", "Boston", "Thai"))
		day := time.Date(2030, 6, 1, 22, 0, 0, 0, time.UTC) // 18:00 EDT
		a1 := slot("slot_a1", "ven_a", day, 1)
		a2 := slot("slot_a2", "ven_a", day.Add(2*time.Hour), 1) // 20:00
		a2.Type, a2.SeatingArea = "prime", "patio"
		b1 := slot("slot_b1", "ven_b", day.Add(time.Hour), 1) // 19:00
		mustSlots(t, db, a1, a2, b1)
		base := store.SlotQuery{LocalDate: "2030-06-01", PartySize: 2, Now: t0}
		cases := []struct {
			name string
			mod  func(*store.SlotQuery)
			want []string
		}{
			{"all", func(*store.SlotQuery) {}, []string{"slot_a1", "slot_b1", "slot_a2"}},
			{"venue", func(q *store.SlotQuery) { q.VenueID = "ven_b" }, []string{"slot_b1"}},
			{"city", func(q *store.SlotQuery) { q.City = "NEW YORK" }, []string{"slot_a1", "slot_a2"}},
			{"cuisine", func(q *store.SlotQuery) { q.Cuisine = "thai" }, []string{"slot_b1"}},
			{"from", func(q *store.SlotQuery) { q.TimeFrom = "19:00" }, []string{"slot_b1", "slot_a2"}},
			{"to", func(q *store.SlotQuery) { q.TimeTo = "19:00" }, []string{"slot_a1", "slot_b1"}},
			{"area", func(q *store.SlotQuery) { q.SeatingArea = "patio" }, []string{"slot_a2"}},
			{"type", func(q *store.SlotQuery) { q.Type = "standard" }, []string{"slot_a1", "slot_b1"}},
			{"party", func(q *store.SlotQuery) { q.PartySize = 7 }, nil},
			{"now", func(q *store.SlotQuery) { q.Now = day.Add(time.Hour) }, []string{"slot_a2"}},
		}
		for _, c := range cases {
			q := base
			c.mod(&q)
			got, _, err := db.SearchSlots(ctxT(t), all, q, store.Page{Limit: 10})
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			if !sameIDs(ids(got, slotID), c.want) {
				t.Fatalf("%s: got %v, want %v", c.name, ids(got, slotID), c.want)
			}
		}
	})
}

func TestScopeHidesVenuesNotGranted(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := ctxT(t)
		mustPartner(t, db, "ptn_some", false)
		mustPartner(t, db, "ptn_other", false)
		mustVenues(t, db,
			venue("ven_1", "Alpha", "NYC", "French"),
			venue("ven_2", "Beta", "NYC", "French"),
			venue("ven_3", "Gamma", "NYC", "French"),
		)
		day := t0.Add(24 * time.Hour)
		mustSlots(t, db,
			slot("slot_1", "ven_1", day, 1), slot("slot_2", "ven_2", day, 1), slot("slot_3", "ven_3", day, 1))
		if err := db.GrantVenues(ctx, "ptn_some", []string{"ven_2", "ven_3"}); err != nil {
			t.Fatal(err)
		}
		// Granting twice is harmless.
		if err := db.GrantVenues(ctx, "ptn_some", []string{"ven_2"}); err != nil {
			t.Fatal(err)
		}
		if err := db.GrantVenues(ctx, "ptn_other", []string{"ven_1"}); err != nil {
			t.Fatal(err)
		}
		some := store.Scope{PartnerID: "ptn_some"}

		vs, _, err := db.ListVenues(ctx, some, store.VenueFilter{}, store.Page{Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if !sameIDs(ids(vs, venueID), []string{"ven_2", "ven_3"}) {
			t.Fatalf("venues %v, want [ven_2 ven_3]", ids(vs, venueID))
		}
		if _, err := db.GetVenue(ctx, some, "ven_1"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("hidden venue: %v, want ErrNotFound", err)
		}
		if v, err := db.GetVenue(ctx, some, "ven_2"); err != nil || v.Name != "Beta" {
			t.Fatalf("granted venue: %v %v", v.Name, err)
		}
		if _, err := db.GetSlot(ctx, some, "slot_1"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("hidden slot: %v, want ErrNotFound", err)
		}
		err = db.Transact(ctx, func(tx *store.Tx) error {
			_, err := tx.GetSlot(some, "slot_1")
			if !errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("tx hidden slot: %w", err)
			}
			_, err = tx.GetSlot(some, "slot_2")
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		q := store.SlotQuery{LocalDate: slot("x", "", day, 1).LocalDate, PartySize: 2, Now: t0}
		ss, _, err := db.SearchSlots(ctx, some, q, store.Page{Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if !sameIDs(ids(ss, slotID), []string{"slot_2", "slot_3"}) {
			t.Fatalf("slots %v, want [slot_2 slot_3]", ids(ss, slotID))
		}
		// A hidden row is not a valid cursor either.
		if _, _, err := db.ListVenues(ctx, some, store.VenueFilter{}, store.Page{Limit: 1, StartingAfter: "ven_1"}); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("hidden venue cursor: %v", err)
		}
		if _, _, err := db.SearchSlots(ctx, some, q, store.Page{Limit: 1, StartingAfter: "slot_1"}); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("hidden slot cursor: %v", err)
		}
		if got, err := db.NearbySlots(ctx, some, "ven_1", day, 2, 5, "", t0); err != nil || len(got) != 0 {
			t.Fatalf("nearby in hidden venue: %v %v", ids(got, slotID), err)
		}
		// All-venues scope sees everything.
		if vs, _, _ := db.ListVenues(ctx, all, store.VenueFilter{}, store.Page{Limit: 10}); len(vs) != 3 {
			t.Fatalf("all scope sees %d venues", len(vs))
		}
	})
}

func TestNearbySlotsReturnsTheNearestBookable(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		mustVenues(t, db, venue("ven_a", "Alpha", "NYC", "French"), venue("ven_b", "Beta", "NYC", "French"))
		around := time.Date(2030, 6, 1, 23, 0, 0, 0, time.UTC)
		at := func(minutes int) time.Time { return around.Add(time.Duration(minutes) * time.Minute) }
		full := slot("slot_full", "ven_a", at(5), 1)
		full.TablesTaken = 1
		mustSlots(t, db,
			slot("slot_m120", "ven_a", at(-120), 1),
			slot("slot_m30", "ven_a", at(-30), 1),
			slot("slot_m15", "ven_a", at(-15), 1),
			slot("slot_0", "ven_a", at(0), 1), // the excluded one
			full,
			slot("slot_p15", "ven_a", at(15), 1),
			slot("slot_p45", "ven_a", at(45), 1),
			slot("slot_p90", "ven_a", at(90), 1),
			slot("slot_b", "ven_b", at(1), 1), // another venue
			slot("slot_past", "ven_a", at(-200), 1),
		)
		now := at(-180)
		got, err := db.NearbySlots(ctxT(t), all, "ven_a", around, 2, 4, "slot_0", now)
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"slot_m30", "slot_m15", "slot_p15", "slot_p45"}
		if !sameIDs(ids(got, slotID), want) {
			t.Fatalf("nearby %v, want %v", ids(got, slotID), want)
		}
		if got[0].Venue.Name != "Alpha" {
			t.Fatalf("venue not filled")
		}
		got, err = db.NearbySlots(ctxT(t), all, "ven_a", around, 2, 100, "slot_0", now)
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"slot_m120", "slot_m30", "slot_m15", "slot_p15", "slot_p45", "slot_p90"}; !sameIDs(ids(got, slotID), want) {
			t.Fatalf("nearby (n=100) %v, want %v", ids(got, slotID), want)
		}
	})
}

// TestTimeComparisonsOrderFractionalSeconds guards the text encoding of times on SQLite:
// `expires_at <= ?` must compare instants, whatever the fraction and the caller's zone.
func TestTimeComparisonsOrderFractionalSeconds(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		mustPartner(t, db, "ptn_a", true)
		mustVenues(t, db, venue("ven_1", "Alpha", "NYC", "French"))
		s := slot("slot_1", "ven_1", t0.Add(24*time.Hour), 20)
		mustSlots(t, db, s)
		paris := time.FixedZone("CEST", 2*3600)
		tokyo := time.FixedZone("JST", 9*3600)
		base := t0
		expiries := map[string]time.Time{
			"res_whole":      base,                                                 // 12:00:00
			"res_tenth":      base.Add(100 * time.Millisecond).In(paris),           // .1
			"res_micro":      base.Add(123456 * time.Microsecond),                  // .123456
			"res_half":       base.Add(500 * time.Millisecond).In(tokyo),           // .5 exactly
			"res_half_nanos": base.Add(500*time.Millisecond + 999*time.Nanosecond), // truncated to .5
			"res_after_half": base.Add(500*time.Millisecond + time.Microsecond),    // .500001
			"res_sixtenths":  base.Add(600 * time.Millisecond),                     // .6
			"res_next":       base.Add(time.Second),                                // 12:00:01
			"res_before":     base.Add(-time.Microsecond),                          // 11:59:59.999999
		}
		for id, exp := range expiries {
			mustHold(t, db, hold(id, "ptn_a", s, exp))
		}
		cutoff := base.Add(500 * time.Millisecond).In(time.FixedZone("PDT", -7*3600))
		wantDue := []string{"res_before", "res_whole", "res_tenth", "res_micro", "res_half", "res_half_nanos"}

		if n := countRows(t, db, "reservations", "expires_at <= ?", cutoff.UTC()); n != len(wantDue) {
			t.Fatalf("expires_at <= cutoff counted %d rows, want %d", n, len(wantDue))
		}
		var got []store.Reservation
		err := db.Transact(ctxT(t), func(tx *store.Tx) error {
			var err error
			got, err = tx.ExpireDueHolds("", cutoff, 100)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if !sameSet(ids(got, resID), wantDue) {
			t.Fatalf("expired %v, want %v", ids(got, resID), wantDue)
		}
		// Oldest expiry first.
		for i := 1; i < len(got); i++ {
			if got[i].ExpiresAt.Before(*got[i-1].ExpiresAt) {
				t.Fatalf("expired out of order: %v", ids(got, resID))
			}
		}
		if got := tablesTaken(t, db, s.ID); got != len(expiries)-len(wantDue) {
			t.Fatalf("tables_taken = %d, want %d", got, len(expiries)-len(wantDue))
		}
		// Times come back in UTC, equal to what was written (to the microsecond).
		r, err := db.GetReservation(ctxT(t), "ptn_a", "res_tenth")
		if err != nil {
			t.Fatal(err)
		}
		if r.ExpiresAt.Location() != time.UTC || !r.ExpiresAt.Equal(expiries["res_tenth"]) {
			t.Fatalf("expires_at read back as %v, want %v in UTC", r.ExpiresAt, expiries["res_tenth"])
		}
	})
}

// SearchSlots scans its rows by hand (database/sql, no GORM): every slot column and the
// venue's summary and policy must read back as GetSlot (GORM) reads them.
func TestSearchSlotsReadsRowsAsGetSlotDoes(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		v := venue("ven_a", "Alpha", "New York", "French")
		v.PolicyFeeType, v.PolicyFeePercent, v.PolicyFeeAmount, v.PolicyFreeHours = "percent", 15, 2500, 48
		mustVenues(t, db, v)
		s := slot("slot_a1", "ven_a", time.Date(2030, 6, 1, 23, 30, 0, 123456000, time.UTC), 3)
		s.Type, s.PriceAmount, s.PriceCurrency, s.PricePer, s.SeatingArea = "prime", 5000, "USD", "cover", "patio"
		s.TablesTaken = 1
		mustSlots(t, db, s)
		got, _, err := db.SearchSlots(ctxT(t), all, store.SlotQuery{LocalDate: s.LocalDate, PartySize: 2, City: "new york", Now: t0}, store.Page{})
		if err != nil || len(got) != 1 {
			t.Fatalf("search: %v, %v", got, err)
		}
		want, err := db.GetSlot(ctxT(t), all, "slot_a1")
		if err != nil {
			t.Fatal(err)
		}
		g := got[0]
		if g.StartsAt.Location() != time.UTC || !g.StartsAt.Equal(want.StartsAt) || !g.CreatedAt.Equal(want.CreatedAt) || !g.UpdatedAt.Equal(want.UpdatedAt) {
			t.Fatalf("times %v %v %v, want %v %v %v (UTC)", g.StartsAt, g.CreatedAt, g.UpdatedAt, want.StartsAt, want.CreatedAt, want.UpdatedAt)
		}
		g.StartsAt, g.CreatedAt, g.UpdatedAt = want.StartsAt, want.CreatedAt, want.UpdatedAt
		wv := want.Venue
		want.Venue = store.Venue{ID: wv.ID, Name: wv.Name, City: wv.City, Cuisine: wv.Cuisine, TimeZone: wv.TimeZone,
			Currency: wv.Currency, PolicyFreeHours: wv.PolicyFreeHours, PolicyFeeType: wv.PolicyFeeType,
			PolicyFeePercent: wv.PolicyFeePercent, PolicyFeeAmount: wv.PolicyFeeAmount}
		if g != want {
			t.Fatalf("search row\n %+v\nwant\n %+v", g, want)
		}
	})
}

// TestSearchSlotsDayBoundsKeepEverySlotOfTheWindow searches a city whose venues are in two
// zones, on the days their clocks change and a day they do not, with time windows around
// the changes: the starts_at bounds a city search derives from the window (dayBounds) must
// never drop a slot whose wall time is in it, and a party no slot seats finds nothing.
func TestSearchSlotsDayBoundsKeepEverySlotOfTheWindow(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ny, paris := venue("ven_ny", "Uptown", "New York", "French"), venue("ven_pa", "Rive", "Paris", "French")
		nyB, parisB := venue("ven_bny", "Uptown", "Border", "French"), venue("ven_bpa", "Rive", "Border", "French")
		paris.TimeZone, parisB.TimeZone = "Europe/Paris", "Europe/Paris"
		venues := []store.Venue{ny, paris, nyB, parisB}
		mustVenues(t, db, venues...)
		days := []string{"2030-03-10", "2030-03-31", "2030-06-01", "2030-10-27", "2030-11-03"}
		var slots []store.Slot
		city := map[string]string{}
		for _, v := range venues {
			city[v.ID] = v.CityKey
			loc, err := time.LoadLocation(v.TimeZone)
			if err != nil {
				t.Fatal(err)
			}
			for _, day := range days {
				d, _ := time.ParseInLocation(time.DateOnly, day, loc)
				// Every half hour of wall time, both sides of a repeated hour, none of a
				// skipped one.
				for at := d; at.Format(time.DateOnly) == day; at = at.Add(30 * time.Minute) {
					local := at.In(loc)
					slots = append(slots, store.Slot{
						ID: fmt.Sprintf("slot_%s_%s", v.ID, at.UTC().Format("20060102T1504")), VenueID: v.ID, StartsAt: at.UTC(),
						LocalDate: local.Format(time.DateOnly), LocalTime: local.Format("15:04"),
						DurationMinutes: 90, PartySizeMin: 1, PartySizeMax: 6, SeatingArea: "indoor",
						Type: "standard", Tables: 1, Status: "open", CreatedAt: t0, UpdatedAt: t0,
					})
				}
			}
		}
		mustSlots(t, db, slots...)
		before := time.Date(2029, 1, 1, 0, 0, 0, 0, time.UTC) // every slot is ahead
		windows := [][2]string{{"", ""}, {"00:00", ""}, {"01:30", ""}, {"02:00", "03:00"}, {"02:30", ""}, {"03:00", ""},
			{"", "01:30"}, {"", "02:30"}, {"01:00", "02:00"}, {"18:00", ""}, {"22:30", "23:30"}}
		for _, c := range []string{"new york", "paris", "border"} {
			for _, day := range days {
				searchDay(t, db, slots, city, c, day, windows, before)
			}
		}
	})
}

func searchDay(t *testing.T, db *store.DB, slots []store.Slot, city map[string]string, c, day string, windows [][2]string, before time.Time) {
	t.Helper()
	for _, w := range windows {
		var want []string
		for _, s := range slots {
			if city[s.VenueID] == c && s.LocalDate == day && (w[0] == "" || s.LocalTime >= w[0]) && (w[1] == "" || s.LocalTime <= w[1]) {
				want = append(want, s.ID)
			}
		}
		sort.Slice(want, func(i, j int) bool { return slotOrder(slots, want[i], want[j]) })
		q := store.SlotQuery{City: c, LocalDate: day, PartySize: 2, TimeFrom: w[0], TimeTo: w[1], Now: before}
		var got []string
		after := ""
		for {
			page, more, err := db.SearchSlots(ctxT(t), all, q, store.Page{Limit: 25, StartingAfter: after})
			if err != nil {
				t.Fatalf("%s %s %v: %v", c, day, w, err)
			}
			got = append(got, ids(page, slotID)...)
			if !more {
				break
			}
			after = page[len(page)-1].ID
		}
		if !sameIDs(got, want) {
			t.Fatalf("%s %s from %q to %q: got %d slots %v\nwant %d %v", c, day, w[0], w[1], len(got), got, len(want), want)
		}
	}
	q := store.SlotQuery{City: c, LocalDate: day, PartySize: 7, Now: before}
	if got, _, err := db.SearchSlots(ctxT(t), all, q, store.Page{Limit: 10}); err != nil || len(got) != 0 {
		t.Fatalf("%s %s party of 7: %v %v, want nothing", c, day, ids(got, slotID), err)
	}
}

// slotOrder is SearchSlots' order (starts_at, venue, id) for two slot ids of slots.
func slotOrder(slots []store.Slot, a, b string) bool {
	find := func(id string) store.Slot {
		for _, s := range slots {
			if s.ID == id {
				return s
			}
		}
		return store.Slot{}
	}
	x, y := find(a), find(b)
	if !x.StartsAt.Equal(y.StartsAt) {
		return x.StartsAt.Before(y.StartsAt)
	}
	if x.VenueID != y.VenueID {
		return x.VenueID < y.VenueID
	}
	return x.ID < y.ID
}
