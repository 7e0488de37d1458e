package store_test

import (
	"slices"
	"testing"
	"time"

	"github.com/prima-dining/partner-api/store"
	"github.com/prima-dining/partner-api/store/storetest"
)

// The availability feed matches a freed table only where an active watch waits for it:
// a watch of the venue's day, or of its city's day. Anything else (another day, another
// city, a watch expired or no longer active) is not a place to match.
func TestWatchedPlacesAreTheDaysOfActiveWatches(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		mustPartner(t, db, "ptn_w", true)
		mustVenues(t, db, venue("ven_a", "Alpha", "Lisbon", "French"), venue("ven_b", "Beta", "Lisbon", "Thai"),
			venue("ven_c", "Gamma", "Porto", "Thai"))
		day := time.Date(2030, 6, 1, 22, 0, 0, 0, time.UTC)
		a1, b1, c1 := slot("slot_a1", "ven_a", day, 1), slot("slot_b1", "ven_b", day, 1), slot("slot_c1", "ven_c", day, 1)
		a2 := slot("slot_a2", "ven_a", day.AddDate(0, 0, 1), 1)
		b2 := slot("slot_b2", "ven_b", day.AddDate(0, 0, 1), 1)
		mustSlots(t, db, a1, b1, c1, a2, b2)
		watch := func(id, venueID, city, date, status string, expires time.Time) {
			w := store.Watch{ID: id, PartnerID: "ptn_w", VenueID: venueID, LocalDate: date, TimeFrom: "18:00", TimeTo: "23:00",
				PartySize: 2, GuestFirstName: "A", GuestLastName: "B", GuestEmail: "a@example.com", GuestPhone: "+12125550143",
				Status: status, ExpiresAt: expires, CreatedAt: t0, UpdatedAt: t0}
			if city != "" {
				w.City, w.CityKey = city, "lisbon"
			}
			if err := db.InsertWatch(ctxT(t), &w); err != nil {
				t.Fatalf("insert watch %s: %v", id, err)
			}
		}
		later := t0.Add(24 * time.Hour)
		watch("wat_venue", "ven_a", "", "2030-06-01", store.WatchActive, later)
		watch("wat_city", "", "Lisbon", "2030-06-02", store.WatchActive, later)
		watch("wat_gone", "ven_c", "", "2030-06-01", store.WatchActive, t0.Add(-time.Minute))
		watch("wat_done", "ven_b", "", "2030-06-01", store.WatchMatched, later)

		var (
			places store.WatchedPlaces
			slots  []store.Slot
		)
		err := db.Transact(ctxT(t), func(tx *store.Tx) error {
			var err error
			if places, err = tx.WatchedPlaces([]string{"2030-06-01", "2030-06-02"}, t0); err != nil {
				return err
			}
			slots, err = tx.SlotsForFeed([]string{"slot_a1", "slot_b1", "slot_c1", "slot_a2", "slot_b2"})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]bool{"slot_a1": true, "slot_b1": false, "slot_c1": false, "slot_a2": true, "slot_b2": true}
		for _, sl := range slots {
			if got := places.Watched(sl); got != want[sl.ID] {
				t.Errorf("%s (venue %s, %s, city %q): watched %v, want %v", sl.ID, sl.VenueID, sl.LocalDate, sl.Venue.CityKey, got, want[sl.ID])
			}
		}
		if len(slots) != len(want) {
			t.Fatalf("read %d slots, want %d", len(slots), len(want))
		}
	})
}

// The feed marks every change it claimed as sent in one statement: each slot's own
// version, and nothing else.
func TestMarkSlotChangesSentMarksEachClaimedVersion(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		mustVenues(t, db, venue("ven_a", "Alpha", "Lisbon", "French"))
		day := time.Date(2030, 6, 1, 22, 0, 0, 0, time.UTC)
		mustSlots(t, db, slot("slot_1", "ven_a", day, 3), slot("slot_2", "ven_a", day.Add(time.Hour), 3), slot("slot_3", "ven_a", day.Add(2*time.Hour), 3))
		for i, id := range []string{"slot_1", "slot_2", "slot_2", "slot_3"} {
			mustExec(t, db, "UPDATE slots SET tables = ? WHERE id = ?", 4+i, id)
		}
		var claimed []store.SlotChange
		at := t0.Add(time.Hour)
		err := db.Transact(ctxT(t), func(tx *store.Tx) error {
			var err error
			if claimed, err = tx.ClaimSlotChanges(at, 0, 10); err != nil {
				return err
			}
			// slot_3 is left for another batch.
			keep := claimed[:0]
			for _, c := range claimed {
				if c.SlotID != "slot_3" {
					keep = append(keep, c)
				}
			}
			claimed = keep
			return tx.MarkSlotChangesSent(claimed, at)
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(claimed) != 2 {
			t.Fatalf("claimed %+v, want slot_1 and slot_2", claimed)
		}
		for _, id := range []string{"slot_1", "slot_2", "slot_3"} {
			c, err := db.SlotChangeOf(ctxT(t), id)
			if err != nil {
				t.Fatal(err)
			}
			sent := id != "slot_3"
			if (c.SentVersion == c.Version) != sent || (c.SentAt != nil) != sent {
				t.Errorf("%s: version %d, sent %d at %v; want sent=%v", id, c.Version, c.SentVersion, c.SentAt, sent)
			}
			if sent && !c.SentAt.Equal(at) {
				t.Errorf("%s: sent at %v, want %v", id, c.SentAt, at)
			}
		}
	})
}

// On PostgreSQL the feed reads its batch's slots with one statement whatever the batch's
// size: spelled out as IN (…), each size was a statement of its own, which every
// connection prepared and PostgreSQL planned anew. Ids with characters that PostgreSQL's
// array syntax quotes are read as they are.
func TestPostgresSlotsForFeedIsOneStatementForEveryBatchSize(t *testing.T) {
	db := onePostgresConnection(t)
	mustVenues(t, db, venue("ven_a", "Alpha", "Lisbon", "French"))
	ids := awkwardIDs("slot_")
	day := time.Date(2030, 6, 1, 18, 0, 0, 0, time.UTC)
	for i, id := range ids {
		mustSlots(t, db, slot(id, "ven_a", day.Add(time.Duration(i)*time.Minute), 1))
	}
	for n := 1; n <= len(ids); n++ {
		var got []store.Slot
		err := db.Transact(ctxT(t), func(tx *store.Tx) error {
			var err error
			got, err = tx.SlotsForFeed(append(slices.Clone(ids[:n]), "slot_gone", `slot_"`))
			return err
		})
		if err != nil {
			t.Fatalf("%d ids: %v", n, err)
		}
		want := slices.Sorted(slices.Values(ids[:n]))
		gotIDs := make([]string, len(got))
		for i, sl := range got {
			gotIDs[i] = sl.ID
			if sl.Venue.ID != "ven_a" {
				t.Errorf("%s: venue %q, want ven_a", sl.ID, sl.Venue.ID)
			}
		}
		if !slices.Equal(gotIDs, want) {
			t.Fatalf("%d ids: read %q, want %q", n, gotIDs, want)
		}
	}
	if statements := preparedLike(t, db, `SELECT "slots"."id"%FROM "slots" INNER JOIN "venues" "Venue"%`); statements != 1 {
		t.Fatalf("the feed's slots were read by %d prepared statements, want 1 for batches of 3 to %d ids", statements, len(ids)+2)
	}
}

// A batch lookup's two reads are one statement each on PostgreSQL whatever the number of
// ids, as the feed's are: spelt out as IN ($1, …), every batch size was a statement of
// its own, prepared and planned on every connection. The answers are those of each
// batch: the known ids, each bookable or not.
func TestPostgresLookupSlotsIsOneStatementForEveryBatchSize(t *testing.T) {
	db := onePostgresConnection(t)
	mustVenues(t, db, venue("ven_a", "Alpha", "Lisbon", "French"))
	ids := awkwardIDs("slot_")
	day := time.Date(2030, 6, 1, 18, 0, 0, 0, time.UTC)
	for i, id := range ids {
		sl := slot(id, "ven_a", day.Add(time.Duration(i)*time.Minute), 1)
		if i%3 == 2 {
			sl.PartySizeMax = 1 // not for a party of 2
		}
		mustSlots(t, db, sl)
	}
	for n := 1; n <= len(ids); n++ {
		got, err := db.LookupSlots(ctxT(t), store.Scope{AllVenues: true}, append(slices.Clone(ids[:n]), "slot_gone", `slot_"`), 2, t0)
		if err != nil {
			t.Fatalf("%d ids: %v", n, err)
		}
		want := slices.Sorted(slices.Values(ids[:n]))
		gotIDs := make([]string, len(got))
		for i, sl := range got {
			gotIDs[i] = sl.ID
			if wantBookable := slices.Index(ids, sl.ID)%3 != 2; sl.Bookable != wantBookable || sl.Venue.ID != "ven_a" {
				t.Errorf("%d ids: %s bookable %v venue %q, want %v and ven_a", n, sl.ID, sl.Bookable, sl.Venue.ID, wantBookable)
			}
		}
		if !slices.Equal(gotIDs, want) {
			t.Fatalf("%d ids: found %q, want %q", n, gotIDs, want)
		}
	}
	for _, read := range []struct{ name, like string }{
		{"standing", `SELECT slots.id, CASE WHEN%`},
		{"rows", `SELECT "slots"."id"%FROM "slots" INNER JOIN "venues" "Venue"%`},
	} {
		if statements := preparedLike(t, db, read.like); statements != 1 {
			t.Errorf("the lookup's %s were read by %d prepared statements, want 1 for batches of 3 to %d ids", read.name, statements, len(ids)+2)
		}
	}
}

// Lists of ids are bound as one text[] on PostgreSQL wherever the store reads by them
// (idIn): after partner names and allocations are read for lists of 1 to 7 ids on one
// connection, no statement that connection prepared spells a list out as IN ($1, $2, …).
func TestPostgresIDListsAreNotSpeltOut(t *testing.T) {
	db := onePostgresConnection(t)
	ids := awkwardIDs("ptn_")
	for _, id := range ids {
		mustPartner(t, db, id, true)
	}
	for n := 1; n <= len(ids); n++ {
		names, err := db.PartnerNames(ctxT(t), append(slices.Clone(ids[:n]), "ptn_gone"))
		if err != nil {
			t.Fatalf("%d ids: %v", n, err)
		}
		if len(names) != n {
			t.Fatalf("%d ids: %d names: %v", n, len(names), names)
		}
		for _, id := range ids[:n] {
			if names[id] != "Partner "+id {
				t.Fatalf("%d ids: %s is named %q", n, id, names[id])
			}
		}
		if _, err := db.PartnerAllocationsFree(ctxT(t), ids[0], ids[:n], t0); err != nil {
			t.Fatalf("%d ids: allocations: %v", n, err)
		}
	}
	rows, err := db.SQL().QueryContext(ctxT(t), `SELECT statement FROM pg_prepared_statements WHERE statement ~ 'IN \(\$[0-9]+, ?\$'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var text string
		if err := rows.Scan(&text); err != nil {
			t.Fatal(err)
		}
		t.Errorf("a list spelt out: %s", text)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
}

// onePostgresConnection opens the PostgreSQL test database with a pool of one
// connection, whose pg_prepared_statements then holds every statement the test's calls
// prepared.
func onePostgresConnection(t *testing.T) *store.DB {
	t.Helper()
	db, err := store.Open(ctxT(t), store.Config{URL: storetest.PostgresURL(t), MaxOpenConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// awkwardIDs are seven ids, four of which a text[] literal must quote or escape (a
// double quote, a backslash, braces and a comma, a space).
func awkwardIDs(prefix string) []string {
	return []string{prefix + `"q"`, prefix + `\b`, prefix + `{c},d`, prefix + " e", prefix + "1", prefix + "2", prefix + "3"}
}

// preparedLike counts the statements db's connection prepared whose text is LIKE pattern.
func preparedLike(t *testing.T, db *store.DB, pattern string) int {
	t.Helper()
	var n int
	if err := db.SQL().QueryRowContext(ctxT(t), `SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE $1`, pattern).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
