package store_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/prima-dining/partner-api/store"
	"github.com/prima-dining/partner-api/store/storetest"
)

// On PostgreSQL a table's pages are filled only to its fillfactor (migration 00030), so
// the update of a hold's table, its reservation's venue sync and its message's claim
// find room on their own page: a heap-only update, which writes no index entry. Loaded
// to the default fillfactor of 100, the page has no room, and the new version goes to
// another page with an entry in every index.
func TestPostgresBookingUpdatesStayOnTheirPage(t *testing.T) {
	db := storetest.OpenPostgres(t)
	ctx := ctxT(t)
	mustPartner(t, db, "ptn_hot", true)
	mustVenues(t, db, venue("ven_hot", "Heap Only", "NYC", "French"))
	// Several pages of slots, loaded in one statement as a schedule's are.
	var ss []store.Slot
	for i := range 400 {
		ss = append(ss, slot(fmt.Sprintf("slt_hot_%03d", i), "ven_hot", t0.Add(time.Duration(24+i)*time.Hour), 4))
	}
	mustSlots(t, db, ss...)
	var pages int
	if err := db.SQL().QueryRowContext(ctx, `SELECT count(DISTINCT (ctid::text::point)[0]) FROM slots WHERE venue_id = 'ven_hot'`).Scan(&pages); err != nil {
		t.Fatal(err)
	}
	if pages < 3 {
		t.Fatalf("the slots fill %d pages; the test needs full pages before the last", pages)
	}
	page := func(table, id string) int {
		t.Helper()
		var p int
		q := `SELECT (ctid::text::point)[0]::int FROM ` + table + ` WHERE id = $1`
		if err := db.SQL().QueryRowContext(ctx, q, id).Scan(&p); err != nil {
			t.Fatalf("%s %s: %v", table, id, err)
		}
		return p
	}
	// The first slot's page was filled before any other.
	first := ss[0]
	before := page("slots", first.ID)
	mustHold(t, db, hold("res_hot", "ptn_hot", first, t0.Add(10*time.Minute)))
	if after := page("slots", first.ID); after != before {
		t.Errorf("taking a table moved the slot from page %d to page %d: no room was left on its page (fillfactor)", before, after)
	}
	var factor string
	if err := db.SQL().QueryRowContext(ctx,
		`SELECT coalesce(array_to_string(reloptions, ','), '') FROM pg_class WHERE oid = 'slots'::regclass`).Scan(&factor); err != nil {
		t.Fatal(err)
	}
	if factor != "fillfactor=85" {
		t.Errorf("slots' storage options are %q, want fillfactor=85", factor)
	}
	for table, want := range map[string]string{"reservations": "fillfactor=90", "outbox": "fillfactor=80"} {
		var got string
		if err := db.SQL().QueryRowContext(ctx,
			`SELECT coalesce(array_to_string(reloptions, ','), '') FROM pg_class WHERE oid = $1::regclass`, table).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("%s's storage options are %q, want %s", table, got, want)
		}
	}
}
