package store_test

import (
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/prima-dining/partner-api/store"
	"github.com/prima-dining/partner-api/store/storetest"
)

// PostgreSQL plans the first five executions of a prepared statement for their values
// (custom plans) and then keeps its generic plan, planned once, unless the custom plans
// looked cheaper on average. The search hides its values from the planner
// (searchSlotsSQL), so a custom plan costs what the generic plan does and the generic
// plan is kept, whatever the values and however large the catalogue. With the values in
// sight, a party no slot seats (or, at 20,000 venues, LIMIT 21 of a city's day) looked
// cheaper than the generic plan's guess, and every search was planned anew.
func TestPostgresSearchKeepsItsGenericPlan(t *testing.T) {
	db := storetest.OpenPostgres(t)
	ctx := ctxT(t)
	mustPartner(t, db, "ptn_plan", true)
	var vs []store.Venue
	var ss []store.Slot
	day := time.Date(2030, 5, 2, 16, 0, 0, 0, time.UTC) // 12:00 in New York
	// Enough slots in a city's day (3,300) that the generic plan's guess costs more than
	// a custom plan for a party no slot seats.
	for i := range 300 {
		v := venue(fmt.Sprintf("ven_plan_%03d", i), fmt.Sprintf("Plan %03d", i), []string{"New York", "Boston"}[i%2], "French")
		vs = append(vs, v)
		for h := range 22 { // every half hour from 12:00 to 22:30
			s := slot(fmt.Sprintf("slt_plan_%03d_%02d", i, h), v.ID, day.Add(time.Duration(h)*30*time.Minute), 2)
			s.PartySizeMin, s.PartySizeMax = 1+h%3, 2+2*(h%3) // 1-2, 2-4, 3-6: no table seats 7 or 8
			if h%5 == 0 {
				s.Type = "prime"
			}
			ss = append(ss, s)
		}
	}
	mustVenues(t, db, vs...)
	mustSlots(t, db, ss...)
	if _, err := db.SQL().ExecContext(ctx, "ANALYZE slots, venues"); err != nil {
		t.Fatal(err)
	}
	// One connection, so that its prepared statements can be counted.
	conn, err := db.SQL().Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	scope := store.Scope{PartnerID: "ptn_plan", AllVenues: true}
	// Parties no table seats first: their custom plans look the cheapest.
	for _, party := range []int{7, 8, 7, 8, 7, 2, 4, 1, 6, 3, 5} {
		for _, from := range []string{"", "19:00"} {
			for _, typ := range []string{"", "prime"} {
				q := store.SlotQuery{City: "new york", LocalDate: "2030-05-02", PartySize: party, TimeFrom: from, Type: typ, Now: t0}
				text, args, err := db.SearchSlotsStatement(ctx, scope, q, store.Page{Limit: 20})
				if err != nil {
					t.Fatal(err)
				}
				rows, err := conn.QueryContext(ctx, text, args...)
				if err != nil {
					t.Fatalf("search %+v: %v", q, err)
				}
				for rows.Next() {
				}
				if err := rows.Err(); err != nil {
					t.Fatalf("search %+v: %v", q, err)
				}
				_ = rows.Close()
			}
		}
	}
	rows, err := conn.QueryContext(ctx, `SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements
		WHERE statement LIKE 'SELECT slots.id, %' ORDER BY statement`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var statement string
		var generic, custom int64
		if err := rows.Scan(&statement, &generic, &custom); err != nil {
			t.Fatal(err)
		}
		n++
		if generic == 0 || custom > 5 {
			t.Errorf("search planned %d times for its values and %d times generic, want the generic plan after 5: %s", custom, generic, statement)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if n != 4 {
		t.Fatalf("%d prepared searches, want 4 (with and without a time and a type)", n)
	}
}

// TestSearchSlotsFindEveryPartyTypeAndTime searches one city's day whose start times each
// have their own types and party ranges, after slots changed type, party range and
// status, for every party, type and window: on PostgreSQL the first and last times the
// day's counts (slot_day_counts) give for the query bound the range read (dayBounds),
// and must never drop a slot the query matches.
func TestSearchSlotsFindEveryPartyTypeAndTime(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		mustVenues(t, db, venue("ven_a", "Alpha", "New York", "French"), venue("ven_b", "Beta", "New York", "French"))
		day := time.Date(2030, 6, 1, 16, 0, 0, 0, time.UTC) // 12:00 EDT
		kinds := []struct {
			typ      string
			min, max int
		}{{"standard", 1, 2}, {"prime", 2, 4}, {"standard", 5, 8}, {"prime", 6, 6}, {"standard", 2, 6}}
		var slots []store.Slot
		for _, v := range []string{"ven_a", "ven_b"} {
			for h := range 23 { // every half hour from 12:00 to 23:00
				k := kinds[h%len(kinds)]
				if v == "ven_b" {
					k = kinds[(h/2)%len(kinds)]
				}
				s := slot(fmt.Sprintf("slot_%s_%02d", v, h), v, day.Add(time.Duration(h)*30*time.Minute), 1)
				s.Type, s.PartySizeMin, s.PartySizeMax = k.typ, k.min, k.max
				slots = append(slots, s)
			}
		}
		mustSlots(t, db, slots...)
		// Changes the counts must follow: a type, a party range, a withdrawal.
		change := func(id, set string, edit func(*store.Slot)) {
			mustExec(t, db, "UPDATE slots SET "+set+" WHERE id = ?", id)
			for i := range slots {
				if slots[i].ID == id {
					edit(&slots[i])
				}
			}
		}
		change("slot_ven_a_03", "type = 'prime'", func(s *store.Slot) { s.Type = "prime" })
		change("slot_ven_b_20", "party_size_min = 1, party_size_max = 1", func(s *store.Slot) { s.PartySizeMin, s.PartySizeMax = 1, 1 })
		change("slot_ven_a_22", "status = 'withdrawn'", func(s *store.Slot) { s.Status = "withdrawn" })
		before := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
		windows := [][2]string{{"", ""}, {"18:00", ""}, {"", "14:00"}, {"19:00", "20:30"}, {"22:45", ""}}
		for party := 1; party <= 9; party++ {
			for _, typ := range []string{"", "standard", "prime"} {
				for _, w := range windows {
					var want []string
					for _, s := range slots {
						if s.Status == "open" && s.PartySizeMin <= party && party <= s.PartySizeMax && (typ == "" || s.Type == typ) &&
							(w[0] == "" || s.LocalTime >= w[0]) && (w[1] == "" || s.LocalTime <= w[1]) {
							want = append(want, s.ID)
						}
					}
					sort.Slice(want, func(i, j int) bool { return slotOrder(slots, want[i], want[j]) })
					q := store.SlotQuery{City: "New York", LocalDate: "2030-06-01", PartySize: party, Type: typ, TimeFrom: w[0], TimeTo: w[1], Now: before}
					var got []string
					after := ""
					for {
						page, more, err := db.SearchSlots(ctxT(t), all, q, store.Page{Limit: 4, StartingAfter: after})
						if err != nil {
							t.Fatalf("%+v: %v", q, err)
						}
						got = append(got, ids(page, slotID)...)
						if !more {
							break
						}
						after = page[len(page)-1].ID
					}
					if !sameIDs(got, want) {
						t.Fatalf("party %d type %q from %q to %q: got %v, want %v", party, typ, w[0], w[1], got, want)
					}
				}
			}
		}
	})
}
