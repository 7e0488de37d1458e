package store_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/prima-dining/partner-api/store"
	"github.com/prima-dining/partner-api/store/storetest"
)

// TestSlotDayCountsFollowEveryChangeOfSlots makes every kind of change a slot goes through
// (a batch insert, holds that fill and free the last table, a closure, an allocation, a
// venue moving city, an edit of the time and party range, a delete), concurrently where
// writers meet, and after each compares the city calendar's counts (slot_day_counts,
// migration 00025) with the same counts grouped from the slots themselves.
func TestSlotDayCountsFollowEveryChangeOfSlots(t *testing.T) {
	db := storetest.OpenPostgres(t)
	mustVenues(t, db, venue("ven_a", "Alpha", "New York", "French"), venue("ven_b", "Beta", "New York", "Thai"))
	day := time.Date(2030, 6, 1, 22, 0, 0, 0, time.UTC) // 18:00 EDT
	var slots []store.Slot
	for i := range 40 {
		s := slot(fmt.Sprintf("slot_%02d", i), []string{"ven_a", "ven_b"}[i%2], day.Add(time.Duration(i%8)*30*time.Minute).AddDate(0, 0, i/20), 1+i%3)
		if i%5 == 0 {
			s.Type = "prime"
		}
		slots = append(slots, s)
	}
	mustSlots(t, db, slots...)
	agree := func(step string) {
		t.Helper()
		const grouped = `SELECT city_key, local_date, local_time, type, party_size_min, party_size_max,
			count(*) FILTER (WHERE status = 'open'),
			count(*) FILTER (WHERE status = 'open' AND tables_taken + tables_reserved < tables)
			FROM slots GROUP BY 1, 2, 3, 4, 5, 6`
		const kept = `SELECT city_key, local_date, local_time, type, party_size_min, party_size_max, open_slots, bookable_slots
			FROM slot_day_counts WHERE open_slots <> 0 OR bookable_slots <> 0`
		read := func(q string) map[string][2]int {
			rows, err := db.SQL().QueryContext(ctxT(t), q)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			out := map[string][2]int{}
			for rows.Next() {
				var city, date, at, typ string
				var lo, hi, open, bookable int
				if err := rows.Scan(&city, &date, &at, &typ, &lo, &hi, &open, &bookable); err != nil {
					t.Fatal(err)
				}
				if open != 0 || bookable != 0 {
					out[fmt.Sprintf("%s %s %s %s %d-%d", city, date, at, typ, lo, hi)] = [2]int{open, bookable}
				}
			}
			return out
		}
		want, got := read(grouped), read(kept)
		if fmt.Sprint(want) != fmt.Sprint(got) {
			t.Fatalf("after %s: slot_day_counts\n%v\nwant (from the slots)\n%v", step, got, want)
		}
	}
	agree("the insert")

	// Holds: every table of every slot, two writers per slot at once, then half given back.
	errs := make(chan error, 2*len(slots))
	for _, s := range slots {
		for range 2 {
			go func() {
				errs <- exec(t, db, "UPDATE slots SET tables_taken = tables_taken + 1 WHERE id = ? AND tables_taken + tables_reserved < tables", s.ID)
			}()
		}
	}
	for range 2 * len(slots) {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	agree("the holds")
	mustExec(t, db, "UPDATE slots SET tables_taken = tables_taken - 1 WHERE tables_taken > 0 AND id < 'slot_20'")
	agree("the releases")
	mustExec(t, db, "UPDATE slots SET status = 'closed' WHERE venue_id = 'ven_b' AND local_date = '2030-06-01'")
	agree("a closure")
	mustExec(t, db, "UPDATE slots SET tables_reserved = 1 WHERE id IN ('slot_21', 'slot_23') AND tables_taken = 0")
	agree("an allocation")
	mustExec(t, db, "UPDATE venues SET city = 'Boston', city_key = 'boston' WHERE id = 'ven_a'")
	agree("a venue moving city")
	mustExec(t, db, "UPDATE slots SET local_time = '23:45', party_size_max = 8 WHERE id = 'slot_30'")
	agree("an edit")
	mustExec(t, db, "DELETE FROM slots WHERE id IN ('slot_31', 'slot_32', 'slot_33')")
	agree("a delete")
}

func mustExec(t *testing.T, db *store.DB, q string, args ...any) {
	t.Helper()
	if err := exec(t, db, q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// TestCityCalendarCountsAPartnersOwnAllocation: a slot whose shared tables are gone but
// whose allocation to one partner has a table left is bookable for that partner only, in
// the city calendar as in search (the counts are of the shared pool, so a partner with a
// live allocation in the city is counted from the slots).
func TestCityCalendarCountsAPartnersOwnAllocation(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		mustVenues(t, db, venue("ven_a", "Alpha", "New York", "French"))
		mustPartner(t, db, "ptn_own", true)
		day := time.Date(2030, 6, 1, 22, 0, 0, 0, time.UTC) // 18:00 EDT
		s := slot("slot_1", "ven_a", day, 2)
		s.TablesTaken, s.TablesReserved = 1, 1
		mustSlots(t, db, s, slot("slot_2", "ven_a", day.AddDate(0, 0, 1), 1))
		mustExec(t, db, "INSERT INTO slot_allocations (id, slot_id, partner_id, tables, tables_taken, release_at, released, created_at, updated_at) "+
			"VALUES ('alc_1', 'slot_1', 'ptn_own', 1, 0, ?, ?, ?, ?)", day.Add(-time.Hour), false, t0, t0)
		q := store.SlotQuery{City: "New York", PartySize: 2, Now: t0}
		for _, c := range []struct {
			partner  string
			bookable int
		}{{"ptn_own", 1}, {"ptn_other", 0}} {
			scope := store.Scope{PartnerID: c.partner, AllVenues: true}
			days, err := db.AvailabilityCalendar(ctxT(t), scope, q, "2030-06-01", "2030-06-02")
			if err != nil {
				t.Fatal(err)
			}
			if len(days) != 2 || days[0].LocalDate != "2030-06-01" || days[0].Slots != 1 || days[0].Bookable != c.bookable || days[1].Bookable != 1 {
				t.Fatalf("%s: %+v, want 2030-06-01 with 1 slot, %d bookable, then a bookable day", c.partner, days, c.bookable)
			}
			q1 := q
			q1.LocalDate = "2030-06-01"
			found, _, err := db.SearchSlots(ctxT(t), scope, q1, store.Page{Limit: 10})
			if err != nil || len(found) != c.bookable {
				t.Fatalf("%s: search finds %d (%v), the calendar %d", c.partner, len(found), err, c.bookable)
			}
		}
	})
}
