package store_test

import (
	"testing"
	"time"

	"github.com/prima-dining/partner-api/store"
	"github.com/prima-dining/partner-api/store/storetest"
)

func searchIDs(t *testing.T, db *store.DB, q store.SlotQuery) []string {
	t.Helper()
	got, _, err := db.SearchSlots(ctxT(t), all, q, store.Page{Limit: 10})
	if err != nil {
		t.Fatalf("search %+v: %v", q, err)
	}
	ids := make([]string, 0, len(got))
	for _, s := range got {
		ids = append(ids, s.ID)
	}
	return ids
}

// The database keeps slots.city_key (migration 00005, which the city search relies on)
// equal to the venue's: on insert, whatever the row says, and when the venue moves.
func TestSlotsFollowTheirVenuesCity(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		mustVenues(t, db, venue("ven_a", "Alpha", "Lisbon", "French"), venue("ven_b", "Beta", "Porto", "Thai"))
		day := time.Date(2030, 6, 1, 22, 0, 0, 0, time.UTC)
		mustSlots(t, db, slot("slot_a1", "ven_a", day, 1), slot("slot_b1", "ven_b", day.Add(time.Hour), 1))
		q := store.SlotQuery{LocalDate: "2030-06-01", PartySize: 2, Now: t0, City: "LISBON"}
		if got := searchIDs(t, db, q); len(got) != 1 || got[0] != "slot_a1" {
			t.Fatalf("Lisbon: %v, want [slot_a1]", got)
		}
		var key string
		if err := db.SQL().QueryRowContext(ctxT(t), "SELECT city_key FROM slots WHERE id = 'slot_b1'").Scan(&key); err != nil {
			t.Fatal(err)
		}
		if key != "porto" {
			t.Fatalf("slot_b1 city_key %q, want porto", key)
		}
		if _, err := db.SQL().ExecContext(ctxT(t), "UPDATE venues SET city = 'Lisbon', city_key = 'lisbon' WHERE id = 'ven_b'"); err != nil {
			t.Fatal(err)
		}
		if got := searchIDs(t, db, q); len(got) != 2 {
			t.Fatalf("Lisbon after Beta moved: %v, want both slots", got)
		}
		q.City = "porto"
		if got := searchIDs(t, db, q); len(got) != 0 {
			t.Fatalf("Porto after Beta moved: %v, want none", got)
		}
	})
}
