package server_test

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"strconv"
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
// process, psql) when the database's notice arrives. A table taken, or given back to a
// slot that had one left, drops only the answers that list the slot or whose next page
// starts with it; a change on another day keeps them.
func TestSearchAnswersFollowEverySlotChange(t *testing.T) {
	db := storetest.OpenPostgres(t)
	// Answers live a minute here, so none ends of age while the test looks: what drops
	// one is a change, announced in the process or by the database.
	e := newEnv(t, db, withSearchCacheTTL(time.Minute))
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
	// On the same day: a slot for larger parties only, which the searches for two never
	// list, and a one-table slot after day.
	big, last := slotAt(untilNewYork(2, 19, 30)), slotAt(untilNewYork(2, 20, 0))
	big.PartySizeMin, big.PartySizeMax, big.Tables = 5, 8, 2
	last.Tables = 1
	if err := db.InsertSlots(ctx, []store.Slot{day, other, big, last}); err != nil {
		t.Fatal(err)
	}
	// search answers the slot's tables_left in the city's search of its day (-1: not
	// listed), and whether the answer came from the cache.
	// page is the city's search of a day for two, with extra query parameters, and
	// whether it came from the cache.
	page := func(date, extra string) (client.SlotList, bool) {
		t.Helper()
		hits := e.cacheHits("searches")
		var out client.SlotList
		status, _, body := e.do("GET", "/v1/availability?party_size=2&date="+date+"&city="+url.QueryEscape(city)+extra, e.token, "")
		decode(t, status, http.StatusOK, body, &out)
		return out, e.cacheHits("searches") == hits+1
	}
	search := func(s store.Slot) (int, bool) {
		t.Helper()
		out, cached := page(s.LocalDate, "")
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

	t.Run("an answer from the cache is the same answer", func(t *testing.T) {
		get := func(limit int, lang string, headers ...string) (int, http.Header, []byte, bool) {
			t.Helper()
			path := "/v1/availability?party_size=2&date=" + day.LocalDate + "&city=" + url.QueryEscape(city) + "&limit=" + strconv.Itoa(limit)
			hits := e.cacheHits("searches")
			status, h, body := e.do("GET", path, e.token, "", append([]string{"Accept-Language", lang}, headers...)...)
			return status, h, body, e.cacheHits("searches") == hits+1
		}
		// A page size not asked before: its first answer is read from the database, the
		// second served from the cache (unless a late notice of an earlier write dropped
		// it in between: then the next page size).
		var (
			limit  int
			h1, h2 http.Header
			b1, b2 []byte
		)
		for limit = 9; ; limit++ {
			if limit > 19 {
				t.Fatal("no page size gave an answer from the database, then one from the cache")
			}
			var s1, s2 int
			var cached1, cached2 bool
			s1, h1, b1, cached1 = get(limit, "en")
			s2, h2, b2, cached2 = get(limit, "en")
			if s1 != http.StatusOK || s2 != http.StatusOK {
				t.Fatalf("statuses %d, %d", s1, s2)
			}
			if !cached1 && cached2 {
				break
			}
		}
		if !bytes.Equal(b1, b2) || h1.Get("ETag") == "" || h1.Get("ETag") != h2.Get("ETag") || h2.Get("Content-Length") != strconv.Itoa(len(b2)) {
			t.Fatalf("the cache's answer differs from the database's:\n%s ETag %s\n%s ETag %s", b1, h1.Get("ETag"), b2, h2.Get("ETag"))
		}
		// And both are what a process that keeps no answers encodes.
		plain := newEnv(t, db, withSearchCacheTTL(-1))
		path := "/v1/availability?party_size=2&date=" + day.LocalDate + "&city=" + url.QueryEscape(city) + "&limit=" + strconv.Itoa(limit)
		if status, h, b := plain.do("GET", path, plain.token, "", "Accept-Language", "en"); status != http.StatusOK || !bytes.Equal(b, b2) || h.Get("ETag") != h2.Get("ETag") {
			t.Fatalf("a kept answer differs from one never kept:\n%s ETag %s\n%s ETag %s", b2, h2.Get("ETag"), b, h.Get("ETag"))
		}
		for _, h := range []http.Header{h1, h2} {
			if h.Get("Prima-Held-Etag") != "" {
				t.Fatal("the internal ETag header was sent")
			}
		}
		if s, _, b, _ := get(limit, "en", "If-None-Match", h2.Get("ETag")); s != http.StatusNotModified || len(b) != 0 {
			t.Fatalf("revalidating a cached answer: %d %q, want 304", s, b)
		}
		// Each language keeps its own encoding.
		_, _, fr1, fr1Cached := get(limit, "fr")
		_, _, fr2, fr2Cached := get(limit, "fr")
		_, _, en3, en3Cached := get(limit, "en")
		if fr1Cached && fr2Cached && en3Cached && (!bytes.Equal(fr1, fr2) || !bytes.Equal(en3, b1)) {
			t.Fatalf("French answers equal %v; English after French equal %v", bytes.Equal(fr1, fr2), bytes.Equal(en3, b1))
		}
	})

	t.Run("a table of a slot the answer does not list", func(t *testing.T) {
		until("cached again", day, func(left int, cached bool) bool { return left == 4 && cached })
		r := e.hold(big.ID, 6)
		if left, cached := search(day); left != 4 || !cached {
			t.Fatalf("after a hold of a slot for larger parties: tables_left %d (cached: %v), want 4 from the cache", left, cached)
		}
		status, _, body := e.do("POST", "/v1/reservations/"+r.Id+"/cancel", e.token, "", "Idempotency-Key", key())
		decode(t, status, http.StatusOK, body, nil)
		if left, cached := search(day); left != 4 || !cached {
			t.Fatalf("after its cancel: tables_left %d (cached: %v), want 4 from the cache", left, cached)
		}
	})

	t.Run("the last table of a slot, and the slot after a page", func(t *testing.T) {
		// A page of one: day, with last after it.
		first := func() (client.SlotList, bool) { return page(day.LocalDate, "&limit=1") }
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			out, cached := first()
			if cached && out.HasMore && len(out.Data) == 1 && out.Data[0].Id == day.ID {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the page of one was not cached with has_more within 5 s: %+v (cached: %v)", out, cached)
			}
		}
		r := e.hold(last.ID, 2) // its only table: last leaves every answer
		if out, cached := first(); out.HasMore || cached {
			t.Fatalf("the page of one after the slot after it was taken: has_more %v (cached: %v), want false from the database", out.HasMore, cached)
		}
		if left, _ := search(last); left != -1 {
			t.Fatalf("the full slot is offered: tables_left %d", left)
		}
		until("the day without last, cached", last, func(left int, cached bool) bool { return left == -1 && cached })
		// Its table back: it joins answers that did not list it.
		status, _, body := e.do("POST", "/v1/reservations/"+r.Id+"/cancel", e.token, "", "Idempotency-Key", key())
		decode(t, status, http.StatusOK, body, nil)
		if left, cached := search(last); left != 1 || cached {
			t.Fatalf("the search right after the full slot's cancel: tables_left %d (cached: %v), want 1 from the database", left, cached)
		}
		if out, _ := first(); !out.HasMore {
			t.Fatal("the page of one after the cancel: has_more false, want true")
		}
		// The same from outside this process: the table taken and given back in SQL.
		until("cached with last", last, func(left int, cached bool) bool { return left == 1 && cached })
		if _, err := db.SQL().ExecContext(ctx, `UPDATE slots SET tables_taken = 1 WHERE id = $1`, last.ID); err != nil {
			t.Fatal(err)
		}
		within(time.Second, "the notice of last taken", last, func(left int, _ bool) bool { return left == -1 })
		until("cached without last", last, func(left int, cached bool) bool { return left == -1 && cached })
		if _, err := db.SQL().ExecContext(ctx, `UPDATE slots SET tables_taken = 0 WHERE id = $1`, last.ID); err != nil {
			t.Fatal(err)
		}
		within(time.Second, "the notice of last given back", last, func(left int, _ bool) bool { return left == 1 })
	})

	t.Run("a change made outside this process", func(t *testing.T) {
		until("cached again", day, func(left int, cached bool) bool { return left == 4 && cached })
		// As psql or another process would: only the database's notice tells this one.
		if _, err := db.SQL().ExecContext(ctx, `UPDATE slots SET tables = 6 WHERE id = $1`, day.ID); err != nil {
			t.Fatal(err)
		}
		// Within 1 s: the notice (the answers live a minute).
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
