package server_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/prima-dining/partner-api/internal/ids"
	client "github.com/prima-dining/partner-api/sdk/go"
	"github.com/prima-dining/partner-api/store"
	"github.com/prima-dining/partner-api/store/storetest"
)

// On PostgreSQL, with the process's caches on, search answers are kept per city and day
// and dropped when a slot there changes: through this process (a hold, a cancel, an
// operator's edit) before the next request, and through anything else (another
// process, psql) when the database's notice arrives. A change on another day keeps them.
func TestSearchAnswersFollowEverySlotChange(t *testing.T) {
	db := storetest.OpenPostgres(t)
	e := newEnv(t, db)
	storetest.Listen(t, db)
	ctx := context.Background()
	// A city of its own: other tests' slots, in this database's other schemas, send their
	// notices on the same channel, and one of New York on the same day would evict these
	// answers.
	city := "Cachetown " + ids.New("c")
	now := time.Now().UTC()
	v := store.Venue{
		ID: ids.New("ven"), Name: "Cache Bistro", NameKey: "cache bistro", AddressLine1: "1 Test Street",
		City: city, CityKey: strings.ToLower(city), PostalCode: "10014", Country: "US", Cuisine: "french", CuisineKey: "french",
		TimeZone: "America/New_York", Currency: "usd", SeatingAreas: "dining_room", PolicyFreeHours: 24,
		PolicyFeeType: "none", CreatedAt: now,
	}
	if err := db.InsertVenues(ctx, []store.Venue{v}); err != nil {
		t.Fatal(err)
	}
	loc, _ := time.LoadLocation(v.TimeZone)
	slotAt := func(in time.Duration) store.Slot {
		starts := now.Add(in).Truncate(time.Minute)
		return store.Slot{
			ID: ids.New("slot"), VenueID: v.ID, StartsAt: starts,
			LocalDate: starts.In(loc).Format(time.DateOnly), LocalTime: starts.In(loc).Format("15:04"),
			DurationMinutes: 120, PartySizeMin: 1, PartySizeMax: 6, SeatingArea: "dining_room",
			Type: "standard", Tables: 4, Status: "open", CreatedAt: now, UpdatedAt: now,
		}
	}
	day, other := slotAt(untilNewYork(2, 19, 0)), slotAt(untilNewYork(3, 19, 0))
	if err := db.InsertSlots(ctx, []store.Slot{day, other}); err != nil {
		t.Fatal(err)
	}
	// search answers the slot's tables_left in the city's search of its day (-1: not
	// listed), and whether the answer came from the cache.
	search := func(s store.Slot) (int, bool) {
		t.Helper()
		hits := e.cacheHits("searches")
		var out client.SlotList
		status, _, body := e.do("GET", "/v1/availability?party_size=2&date="+s.LocalDate+"&city="+url.QueryEscape(city), e.token, "")
		decode(t, status, http.StatusOK, body, &out)
		cached := e.cacheHits("searches") == hits+1
		for _, got := range out.Data {
			if got.Id == s.ID {
				return got.TablesLeft, cached
			}
		}
		return -1, cached
	}
	// within searches s until want is true of (tables_left, cached), for at most d.
	within := func(d time.Duration, what string, s store.Slot, want func(int, bool) bool) {
		t.Helper()
		for deadline := time.Now().Add(d); ; time.Sleep(20 * time.Millisecond) {
			left, cached := search(s)
			if want(left, cached) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: still tables_left %d (from the cache: %v) after %s", what, left, cached, d)
			}
		}
	}
	until := func(what string, s store.Slot, want func(int, bool) bool) {
		t.Helper()
		within(5*time.Second, what, s, want)
	}
	// The notices of the slots' creation may still be on their way: search until an
	// answer comes from the cache.
	until("the second search of the day", day, func(left int, cached bool) bool { return left == 4 && cached })
	until("the other day", other, func(left int, cached bool) bool { return left == 4 && cached })

	t.Run("a hold through this process", func(t *testing.T) {
		r := e.hold(day.ID, 2)
		if left, cached := search(day); left != 3 || cached {
			t.Fatalf("the search right after the hold: tables_left %d (cached: %v), want 3 from the database", left, cached)
		}
		status, _, body := e.do("POST", "/v1/reservations/"+r.Id+"/cancel", e.token, "", "Idempotency-Key", key())
		decode(t, status, http.StatusOK, body, nil)
		if left, _ := search(day); left != 4 {
			t.Fatalf("the search right after the cancel: tables_left %d, want 4", left)
		}
	})

	t.Run("a change made outside this process", func(t *testing.T) {
		until("cached again", day, func(left int, cached bool) bool { return left == 4 && cached })
		// As psql or another process would: only the database's notice tells this one.
		if _, err := db.SQL().ExecContext(ctx, `UPDATE slots SET tables = 6 WHERE id = $1`, day.ID); err != nil {
			t.Fatal(err)
		}
		// Within 1 s, half the answers' life (2 s): the notice, not the answer's age.
		within(time.Second, "the notice of the new tables", day, func(left int, _ bool) bool { return left == 6 })
		// The other day's answer was not touched by it.
		if left, cached := search(other); left != 4 || !cached {
			t.Fatalf("the other day after a change of this one: tables_left %d (cached: %v), want 4 from the cache", left, cached)
		}
	})

	t.Run("an operator's edit through this process", func(t *testing.T) {
		until("cached again", day, func(left int, cached bool) bool { return left == 6 && cached })
		op := e.newOperatorToken("cache-operator", []string{v.ID})
		status, _, body := e.do("PATCH", "/v1/operator/slots/"+day.ID, op, `{"status":"withdrawn"}`)
		decode(t, status, http.StatusOK, body, nil)
		if left, cached := search(day); left != -1 || cached {
			t.Fatalf("the search right after the slot was withdrawn: tables_left %d (cached: %v), want it gone", left, cached)
		}
	})
}
