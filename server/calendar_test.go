package server_test

import (
	"context"
	"encoding/json"
	"fmt"
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

// calendarFixture inserts one venue in New York whose days, from tomorrow (New York
// time), read: 4 slots (one prime, one seating 1–2 only), 1 slot, 1 slot of 1 table
// (held below to sell it out), nothing, 2 slots; and a venue in the same city with one
// slot on the nothing day. It returns the venue, its slots and the sold-out slot.
func calendarFixture(e *env) (store.Venue, []store.Slot, store.Slot) {
	e.t.Helper()
	at := func(day, hour, minute int) time.Duration { return untilNewYork(day+1, hour, minute) }
	v, slots := e.addVenue(
		slotSpec{tables: 2, in: at(0, 12, 0)},
		slotSpec{tables: 2, in: at(0, 18, 30), prime: true},
		slotSpec{tables: 1, in: at(0, 19, 0), minP: 1, maxP: 2},
		slotSpec{tables: 3, in: at(0, 21, 15)},
		slotSpec{tables: 1, in: at(1, 20, 0)},
		slotSpec{tables: 1, in: at(2, 19, 30)}, // sold out below
		slotSpec{tables: 2, in: at(4, 13, 0), prime: true},
		slotSpec{tables: 2, in: at(4, 20, 45)},
	)
	e.addVenue(slotSpec{tables: 1, in: at(3, 19, 0)})
	return v, slots, slots[5]
}

type calendarAnswer struct {
	Object string                           `json:"object"`
	Data   []client.AvailabilityCalendarDay `json:"data"`
}

func TestAvailabilityCalendarAgreesWithDayByDaySearch(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		v, slots, soldOut := calendarFixture(e)
		hold, err := e.client.CreateReservationWithResponse(context.Background(), &client.CreateReservationParams{IdempotencyKey: key()}, holdBody(soldOut.ID, 2))
		if err != nil || hold.JSON201 == nil {
			t.Fatalf("hold: %v %s", err, hold.Body)
		}
		from, _ := time.Parse(time.DateOnly, slots[0].LocalDate)
		from = from.AddDate(0, 0, -1) // today: nothing left that has not started, or nothing at all
		to := from.AddDate(0, 0, 30)  // 31 days

		filters := []url.Values{
			{"venue_id": {v.ID}, "party_size": {"2"}},
			{"city": {"New York"}, "party_size": {"2"}},
			{"venue_id": {v.ID}, "party_size": {"4"}},
			{"venue_id": {v.ID}, "party_size": {"2"}, "type": {"standard"}},
			{"city": {"new york"}, "party_size": {"2"}, "type": {"prime"}},
			{"venue_id": {v.ID}, "party_size": {"2"}, "time_from": {"13:00"}, "time_to": {"20:00"}},
		}
		days := 0
		for _, f := range filters {
			q := url.Values{}
			for k, vs := range f {
				q[k] = vs
			}
			q.Set("from", from.Format(time.DateOnly))
			q.Set("to", to.Format(time.DateOnly))
			var cal calendarAnswer
			status, _, body := e.do("GET", "/v1/availability/calendar?"+q.Encode(), e.token, "")
			decode(t, status, http.StatusOK, body, &cal)
			if cal.Object != "availability_calendar" || len(cal.Data) != 31 {
				t.Fatalf("%v: object %q with %d days, want 31", f, cal.Object, len(cal.Data))
			}
			for i, d := range cal.Data {
				date := from.AddDate(0, 0, i).Format(time.DateOnly)
				if d.Date.Format(time.DateOnly) != date {
					t.Fatalf("%v: day %d is %s, want %s", f, i, d.Date, date)
				}
				sq := url.Values{}
				for k, vs := range f {
					sq[k] = vs
				}
				sq.Set("date", date)
				sq.Set("limit", "100")
				var page client.SlotList
				status, _, body := e.do("GET", "/v1/availability?"+sq.Encode(), e.token, "")
				decode(t, status, http.StatusOK, body, &page)
				n := len(page.Data)
				if d.BookableSlots != n {
					t.Errorf("%v %s: calendar %d bookable slots, search lists %d", f, date, d.BookableSlots, n)
				}
				switch {
				case n > 2 && d.Status != client.AvailabilityCalendarDayStatusAvailable,
					n > 0 && n <= 2 && d.Status != client.AvailabilityCalendarDayStatusLimited,
					n == 0 && d.Status != client.AvailabilityCalendarDayStatusSoldOut && d.Status != client.AvailabilityCalendarDayStatusClosed:
					t.Errorf("%v %s: status %s with %d slots in search", f, date, d.Status, n)
				}
				if n > 0 && (deref(d.FirstTime) != page.Data[0].LocalTime || deref(d.LastTime) != page.Data[n-1].LocalTime || d.NextAvailableDate != nil) {
					t.Errorf("%v %s: times %s–%s next %v, search %s–%s", f, date, deref(d.FirstTime), deref(d.LastTime), d.NextAvailableDate, page.Data[0].LocalTime, page.Data[n-1].LocalTime)
				}
				if n == 0 && (d.FirstTime != nil || d.LastTime != nil) {
					t.Errorf("%v %s: times %v–%v on a day without slots", f, date, d.FirstTime, d.LastTime)
				}
				days++
			}
		}
		t.Logf("%d calendar days compared with a search each", days)

		// The held day reads sold_out and names the next date with a table; so does the
		// empty day (closed) at the venue; at the city level, the other venue's slot fills it.
		byDate := func(f url.Values) map[string]client.AvailabilityCalendarDay {
			f.Set("from", from.Format(time.DateOnly))
			f.Set("to", to.Format(time.DateOnly))
			var cal calendarAnswer
			status, _, body := e.do("GET", "/v1/availability/calendar?"+f.Encode(), e.token, "")
			decode(t, status, http.StatusOK, body, &cal)
			out := map[string]client.AvailabilityCalendarDay{}
			for _, d := range cal.Data {
				out[d.Date.Format(time.DateOnly)] = d
			}
			return out
		}
		venue := byDate(url.Values{"venue_id": {v.ID}, "party_size": {"2"}})
		want := []struct {
			date   string
			status string
			slots  int
			next   string
		}{
			{slots[0].LocalDate, "available", 4, ""},
			{slots[4].LocalDate, "limited", 1, ""},
			{soldOut.LocalDate, "sold_out", 0, slots[6].LocalDate},
			{from.AddDate(0, 0, 4).Format(time.DateOnly), "closed", 0, slots[6].LocalDate},
			{slots[6].LocalDate, "limited", 2, ""},
			{to.Format(time.DateOnly), "closed", 0, ""},
		}
		for _, w := range want {
			d := venue[w.date]
			next := ""
			if d.NextAvailableDate != nil {
				next = d.NextAvailableDate.Format(time.DateOnly)
			}
			if d.Status != w.status || d.BookableSlots != w.slots || next != w.next {
				t.Errorf("%s: %s, %d slots, next %q; want %s, %d, %q", w.date, d.Status, d.BookableSlots, next, w.status, w.slots, w.next)
			}
		}
		city := byDate(url.Values{"city": {"New York"}, "party_size": {"2"}})
		if d := city[soldOut.LocalDate]; d.Status != "sold_out" || deref(d.NextAvailableDate).Format(time.DateOnly) != from.AddDate(0, 0, 4).Format(time.DateOnly) {
			t.Errorf("city, the held day: %s next %v; want sold_out, next the other venue's day", d.Status, d.NextAvailableDate)
		}
		party4 := byDate(url.Values{"venue_id": {v.ID}, "party_size": {"4"}})
		if d := party4[slots[0].LocalDate]; d.Status != "available" || d.BookableSlots != 3 {
			t.Errorf("party of 4 on the first day: %s %d, want available 3 (one slot seats 1–2)", d.Status, d.BookableSlots)
		}

		// Releasing the hold makes the day bookable again.
		status, _, body := e.do("POST", "/v1/reservations/"+hold.JSON201.Id+"/cancel", e.token, "", "Idempotency-Key", key())
		if status != http.StatusOK {
			t.Fatalf("release the hold: %d %s", status, body)
		}
		if d := byDate(url.Values{"venue_id": {v.ID}, "party_size": {"2"}})[soldOut.LocalDate]; d.Status != "limited" || d.BookableSlots != 1 {
			t.Errorf("after the release: %s %d, want limited 1", d.Status, d.BookableSlots)
		}
	})
}

func TestAvailabilityCalendarRefusesLongRangesAndMissingFilters(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		v, _ := e.addVenue(slotSpec{tables: 1})
		cases := []struct {
			query  string
			status int
			code   string
			param  string
		}{
			{"venue_id=" + v.ID + "&party_size=2&from=2027-01-01&to=2027-03-04", 400, "parameter_invalid", "to"}, // 63 days
			{"venue_id=" + v.ID + "&party_size=2&from=2027-01-10&to=2027-01-09", 400, "parameter_invalid", "to"},
			{"party_size=2&from=2027-01-01&to=2027-01-31", 400, "parameter_invalid", "venue_id"},
			{"venue_id=" + v.ID + "&party_size=2&from=2027-01-01&to=2027-01-31&time_from=20:00&time_to=19:00", 400, "parameter_invalid", "time_to"},
			{"venue_id=" + v.ID + "&party_size=2&from=2027-01-01", 400, "parameter_missing", "to"},
			{"venue_id=ven_nope&party_size=2&from=2027-01-01&to=2027-01-31", 404, "resource_missing", "venue_id"},
		}
		for _, c := range cases {
			status, _, body := e.do("GET", "/v1/availability/calendar?"+c.query, e.token, "")
			if status != c.status {
				t.Errorf("%s: %d, want %d: %s", c.query, status, c.status, body)
				continue
			}
			if got := apiError(t, body); got.Code != c.code || deref(got.Param) != c.param {
				t.Errorf("%s: code %s param %v, want %s %s", c.query, got.Code, deref(got.Param), c.code, c.param)
			}
		}
		// 62 days is the most.
		var cal calendarAnswer
		status, _, body := e.do("GET", "/v1/availability/calendar?venue_id="+v.ID+"&party_size=2&from=2027-01-01&to=2027-03-03", e.token, "")
		decode(t, status, http.StatusOK, body, &cal)
		if len(cal.Data) != 62 {
			t.Fatalf("62 days: %d entries", len(cal.Data))
		}
	})
}

type lookupAnswer struct {
	Object string              `json:"object"`
	Data   []client.SlotLookup `json:"data"`
}

func TestSlotLookupAnswersEachOfAHundredIds(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		ctx := context.Background()
		var specs []slotSpec
		for i := range 30 {
			specs = append(specs, slotSpec{tables: 1 + i%3, prime: i%5 == 0})
		}
		specs = append(specs, slotSpec{tables: 2, minP: 1, maxP: 2}, slotSpec{tables: 2, in: -time.Hour}) // too small for 4; started
		mine, slots := e.addVenue(specs...)
		_, others := e.addVenue(slotSpec{tables: 5}, slotSpec{tables: 5}) // a venue the partner may not sell

		token := e.newToken("lookup-partner")
		p, err := db.GetPartnerByName(ctx, "lookup-partner")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.SQL().ExecContext(ctx, `UPDATE partners SET all_venues = `+falseLiteral(db)+` WHERE id = '`+p.ID+`'`); err != nil {
			t.Fatal(err)
		}
		if err := db.GrantVenues(ctx, p.ID, []string{mine.ID}); err != nil {
			t.Fatal(err)
		}
		// Sell out every third slot (the ones of 1 table): another partner holds it.
		soldOut := map[string]bool{}
		for i := 0; i < 30; i += 3 {
			hold, err := e.client.CreateReservationWithResponse(ctx, &client.CreateReservationParams{IdempotencyKey: key()}, holdBody(slots[i].ID, 4))
			if err != nil || hold.JSON201 == nil {
				t.Fatalf("hold %d: %v %s", i, err, hold.Body)
			}
			soldOut[slots[i].ID] = true
		}

		type want struct {
			status string
			tables int
			priced bool
		}
		var asked []string
		expect := map[string]want{}
		for i := 0; len(asked) < 100; i++ {
			switch {
			case i < 30:
				sl := slots[i]
				w := want{status: "bookable", tables: sl.Tables, priced: sl.Type == "prime"}
				if soldOut[sl.ID] {
					w.status, w.tables = "unavailable", 0
				}
				asked, expect[sl.ID] = append(asked, sl.ID), w
			case i == 30:
				asked, expect[slots[30].ID] = append(asked, slots[30].ID), want{status: "party_size_out_of_range"}
			case i == 31:
				asked, expect[slots[31].ID] = append(asked, slots[31].ID), want{status: "unavailable"}
			case i < 34:
				asked, expect[others[i-32].ID] = append(asked, others[i-32].ID), want{status: "not_found"}
			case i < 40:
				asked = append(asked, slots[1].ID) // duplicates: answered each time
			default:
				id := ids.New("slot")
				asked, expect[id] = append(asked, id), want{status: "not_found"}
			}
		}
		body, _ := json.Marshal(map[string]any{"party_size": 4, "slot_ids": asked})
		var got lookupAnswer
		status, _, resp := e.do("POST", "/v1/availability/lookup", token, string(body), "Content-Type", "application/json")
		decode(t, status, http.StatusOK, resp, &got)
		if got.Object != "list" || len(got.Data) != 100 {
			t.Fatalf("object %q with %d answers, want 100", got.Object, len(got.Data))
		}
		counts := map[string]int{}
		for i, a := range got.Data {
			w := expect[asked[i]]
			counts[string(a.Status)]++
			if a.SlotId != asked[i] || string(a.Status) != w.status || a.TablesLeft != w.tables || (a.Price != nil) != w.priced {
				t.Errorf("answer %d: %s %s tables %d price %v; want %s %s %d priced %v", i, a.SlotId, a.Status, a.TablesLeft, a.Price, asked[i], w.status, w.tables, w.priced)
			}
		}
		t.Logf("answers: %v", counts)
		if counts["bookable"] != 26 || counts["unavailable"] != 11 || counts["not_found"] != 62 || counts["party_size_out_of_range"] != 1 {
			t.Errorf("counts %v", counts)
		}

		// Every bookable answer agrees with a hold: the lookup's last table is holdable.
		hold, err := e.clientFor(token).CreateReservationWithResponse(ctx, &client.CreateReservationParams{IdempotencyKey: key()}, holdBody(slots[1].ID, 4))
		if err != nil || hold.JSON201 == nil {
			t.Fatalf("hold a bookable slot: %v %s", err, hold.Body)
		}

		// More than 100 ids, none, or a bad party size: 400 for the whole call.
		tooMany, _ := json.Marshal(map[string]any{"party_size": 2, "slot_ids": append(asked, "slot_one_more")})
		for _, b := range []string{string(tooMany), `{"party_size":2,"slot_ids":[]}`, fmt.Sprintf(`{"party_size":0,"slot_ids":[%q]}`, slots[1].ID), `{"slot_ids":["x"]}`} {
			status, _, resp := e.do("POST", "/v1/availability/lookup", token, b, "Content-Type", "application/json")
			if status != http.StatusBadRequest {
				t.Errorf("%.60s: %d, want 400: %s", b, status, resp)
				continue
			}
			if got := apiError(t, resp); !strings.HasPrefix(got.Code, "parameter_") && got.Code != "body_invalid" {
				t.Errorf("%.60s: code %s", b, got.Code)
			}
		}
	})
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
