package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	client "github.com/prima-dining/partner-api/sdk/go"
	"github.com/prima-dining/partner-api/server"
	"github.com/prima-dining/partner-api/store"
	"github.com/prima-dining/partner-api/store/storetest"
)

// watchBody is a watch of the slot's venue, date and time, for a party of 2.
func watchBody(slot store.Slot, autoHold bool, guest int) string {
	return fmt.Sprintf(`{"venue_id":%q,"date":%q,"time_from":%q,"time_to":%q,"party_size":2,`+
		`"guest":{"first_name":"Guest","last_name":"N%d","email":"guest%d@example.com","phone":"+12125550143"},"auto_hold":%v}`,
		slot.VenueID, slot.LocalDate, slot.LocalTime, slot.LocalTime, guest, guest, autoHold)
}

func (e *env) createWatch(t *testing.T, token, body string) client.Watch {
	t.Helper()
	var w client.Watch
	status, _, b := e.do("POST", "/v1/watches", token, body, "Idempotency-Key", key())
	decode(t, status, http.StatusCreated, b, &w)
	return w
}

func (e *env) getWatch(t *testing.T, token, id string) client.Watch {
	t.Helper()
	var w client.Watch
	status, _, b := e.do("GET", "/v1/watches/"+id, token, "")
	decode(t, status, http.StatusOK, b, &w)
	return w
}

// watchEvents lists the watch.matched messages in the outbox, oldest first.
func (e *env) watchEvents(t *testing.T) []client.WatchMatchedEvent {
	t.Helper()
	rows, err := e.db.SQL().Query(`SELECT payload FROM outbox WHERE type = 'watch.matched' ORDER BY created_at, id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []client.WatchMatchedEvent
	for rows.Next() {
		var payload []byte
		if err := rows.Scan(&payload); err != nil {
			t.Fatal(err)
		}
		var ev client.WatchMatchedEvent
		if err := json.Unmarshal(payload, &ev); err != nil {
			t.Fatalf("watch.matched payload: %v: %s", err, payload)
		}
		out = append(out, ev)
	}
	return out
}

// TestFreedTableGoesToTheOldestWatchThenTheNext: 100 auto-hold watches from two
// partners on a sold-out slot; one cancellation gives exactly one hold, to the oldest
// watch, with exactly one watch.matched naming it; when that hold expires unpaid, the
// next watch (the other partner's) gets exactly one hold; the slot is never over
// capacity and the other 98 watches stay active.
func TestFreedTableGoesToTheOldestWatchThenTheNext(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		clock := &fakeClock{t: time.Now().UTC()}
		e := newEnv(t, db, withClock(clock.now), withHoldTTL(10*time.Minute), withMaxActiveHolds(-1),
			withRateLimit(server.RateLimit{PerSecond: 1e6, Burst: 1e6}))
		_, slots := e.addVenue(slotSpec{tables: 1})
		slot := slots[0]
		tokenB := e.newToken("rival-concierge")
		e.subscribe(t, e.token, "watch.matched")
		e.subscribe(t, tokenB, "*")
		booked := e.book(slot.ID, 2) // sold out
		watches := make([]client.Watch, 100)
		for i := range watches {
			token := e.token
			if i%2 == 1 {
				token = tokenB
			}
			watches[i] = e.createWatch(t, token, watchBody(slot, true, i))
			if watches[i].Status != client.WatchStatusActive {
				t.Fatalf("watch %d on a sold-out slot is %s, want active", i, watches[i].Status)
			}
			clock.advance(time.Millisecond)
		}
		heldWatches := func() int {
			return e.count(t, "SELECT count(*) FROM watches WHERE status = 'held'")
		}
		checkCapacity := func(what string) {
			t.Helper()
			taken, active, _ := e.counts(slot.ID)
			if taken > 1 || active > 1 || taken != active {
				t.Fatalf("%s: slot of 1 table has %d taken, %d held or confirmed", what, taken, active)
			}
		}
		e.feed(t, clock)
		if n := heldWatches(); n != 0 {
			t.Fatalf("%d watches held before any table freed up", n)
		}

		if status, _, body := e.do("POST", "/v1/reservations/"+booked.Id+"/cancel", e.token, `{"reason":"requested_by_guest"}`, "Idempotency-Key", key()); status != http.StatusOK {
			t.Fatalf("cancel: %d %s", status, body)
		}
		e.feed(t, clock)
		e.feed(t, clock) // a second pass changes nothing: the table is held
		checkCapacity("after the cancellation")
		first := e.getWatch(t, e.token, watches[0].Id)
		if first.Status != client.WatchStatusHeld || first.ReservationId == nil || first.SlotId == nil || *first.SlotId != slot.ID {
			t.Fatalf("oldest watch after the cancellation: %+v, want held with a reservation", first)
		}
		if n := heldWatches(); n != 1 {
			t.Fatalf("%d watches held after one cancellation, want 1", n)
		}
		hold := e.get(*first.ReservationId)
		if hold.Status != client.ReservationStatusHeld || hold.SlotId != slot.ID || hold.Guest.LastName != "N0" || hold.ExpiresAt == nil {
			t.Fatalf("the watch's hold: %+v", hold)
		}
		evs := e.watchEvents(t)
		if len(evs) != 1 || evs[0].Data.Object.Id != watches[0].Id || evs[0].Data.Object.ReservationId == nil ||
			*evs[0].Data.Object.ReservationId != hold.Id || string(evs[0].Type) != "watch.matched" {
			t.Fatalf("watch.matched events after the cancellation: %+v, want one for the oldest watch with its hold", evs)
		}
		// GET /v1/events keeps it as its webhook carried it (issue 20).
		status, _, body := e.do("GET", "/v1/events?type=watch.matched", e.token, "")
		var kept client.EventList
		decode(t, status, http.StatusOK, body, &kept)
		if len(kept.Data) != 1 || kept.Data[0].Id != evs[0].Id || kept.Data[0].Data.Object.Object != "watch" ||
			kept.Data[0].Data.Object.AdditionalProperties["id"] != watches[0].Id {
			t.Fatalf("GET /v1/events?type=watch.matched: %s, want the one event %s about watch %s", body, evs[0].Id, watches[0].Id)
		}

		// The hold lapses unpaid: the next watch in line, the other partner's, gets it.
		clock.advance(11 * time.Minute)
		if _, err := e.booking.Payments.Sweep(context.Background()); err != nil {
			t.Fatal(err)
		}
		e.feed(t, clock)
		e.feed(t, clock)
		checkCapacity("after the expiry")
		if got := e.get(hold.Id); got.Status != client.ReservationStatusExpired {
			t.Fatalf("first watch's hold is %s, want expired", got.Status)
		}
		second := e.getWatch(t, tokenB, watches[1].Id)
		if second.Status != client.WatchStatusHeld || second.ReservationId == nil {
			t.Fatalf("next watch after the expiry: %+v, want held", second)
		}
		if n := heldWatches(); n != 2 {
			t.Fatalf("%d watches held, want 2 (the first, whose hold expired, and the next)", n)
		}
		if n := e.count(t, "SELECT count(*) FROM reservations WHERE status = 'held'"); n != 1 {
			t.Fatalf("%d live holds, want 1", n)
		}
		if evs := e.watchEvents(t); len(evs) != 2 || evs[1].Data.Object.Id != watches[1].Id {
			t.Fatalf("watch.matched events: %d, want 2, the second for the next watch", len(evs))
		}
		if n := e.count(t, "SELECT count(*) FROM watches WHERE status = 'active'"); n != 98 {
			t.Fatalf("%d watches still active, want 98", n)
		}
	})
}

// TestWatchesAreAPartnersOwn: create, read, list with paging and cancel; another
// partner's watch is a 404; bad input is a 400 that stores nothing; cancelling twice is
// 409 watch_state_invalid; a notify-only watch is matched without taking the table; an
// auto-hold on a prime slot makes its payment intent; a watch expires with its window.
func TestWatchesAreAPartnersOwn(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		clock := &fakeClock{t: time.Now().UTC()}
		e := newEnv(t, db, withClock(clock.now))
		_, slots := e.addVenue(slotSpec{tables: 1}, slotSpec{tables: 1, prime: true, in: 72 * time.Hour})
		other := e.newToken("rival-concierge")

		for _, bad := range []string{
			fmt.Sprintf(`{"venue_id":%q,"city":"New York","date":%q,"time_from":"18:00","time_to":"22:00","party_size":2,"guest":{"first_name":"A","last_name":"B","email":"a@example.com","phone":"+12125550143"}}`, slots[0].VenueID, slots[0].LocalDate),
			fmt.Sprintf(`{"venue_id":%q,"date":%q,"time_from":"22:00","time_to":"18:00","party_size":2,"guest":{"first_name":"A","last_name":"B","email":"a@example.com","phone":"+12125550143"}}`, slots[0].VenueID, slots[0].LocalDate),
			fmt.Sprintf(`{"venue_id":%q,"date":"2020-01-01","time_from":"18:00","time_to":"22:00","party_size":2,"guest":{"first_name":"A","last_name":"B","email":"a@example.com","phone":"+12125550143"}}`, slots[0].VenueID),
			`{"city":"Atlantis","date":"2099-01-01","time_from":"18:00","time_to":"22:00","party_size":2,"guest":{"first_name":"A","last_name":"B","email":"a@example.com","phone":"+12125550143"}}`,
		} {
			status, _, body := e.do("POST", "/v1/watches", e.token, bad, "Idempotency-Key", key())
			if status != http.StatusBadRequest || apiError(t, body).Code != "parameter_invalid" {
				t.Fatalf("bad watch %s: %d %s, want 400 parameter_invalid", bad, status, body)
			}
		}
		if n := e.count(t, "SELECT count(*) FROM watches"); n != 0 {
			t.Fatalf("%d watches stored after refusals", n)
		}

		// A free table: a notify-only watch matches at once and the table stays free.
		told := e.createWatch(t, e.token, watchBody(slots[0], false, 1))
		if told.Status != client.WatchStatusMatched || told.SlotId == nil || *told.SlotId != slots[0].ID || told.ReservationId != nil {
			t.Fatalf("notify-only watch on a free table: %+v", told)
		}
		if taken, _, _ := e.counts(slots[0].ID); taken != 0 {
			t.Fatalf("a notify-only match took %d tables", taken)
		}
		// An auto-hold watch on a free prime table holds it with its payment intent.
		held := e.createWatch(t, e.token, watchBody(slots[1], true, 2))
		if held.Status != client.WatchStatusHeld || held.ReservationId == nil {
			t.Fatalf("auto-hold watch on a free table: %+v", held)
		}
		if r := e.get(*held.ReservationId); r.Payment == nil || r.Payment.ClientSecret == "" || r.Status != client.ReservationStatusHeld {
			t.Fatalf("the watch's prime hold has no payment intent: %+v", r)
		}
		// Sold out now: an active watch, then paging, another partner's view, cancel.
		active := e.createWatch(t, e.token, watchBody(slots[1], true, 3))
		if active.Status != client.WatchStatusActive {
			t.Fatalf("watch on a sold-out slot: %s", active.Status)
		}
		var page1, page2 client.WatchList
		status, _, body := e.do("GET", "/v1/watches?limit=2", e.token, "")
		decode(t, status, http.StatusOK, body, &page1)
		if len(page1.Data) != 2 || !page1.HasMore || page1.Data[0].Id != active.Id {
			t.Fatalf("first page: %+v", page1)
		}
		status, _, body = e.do("GET", "/v1/watches?limit=2&starting_after="+page1.Data[1].Id, e.token, "")
		decode(t, status, http.StatusOK, body, &page2)
		if len(page2.Data) != 1 || page2.HasMore || page2.Data[0].Id != told.Id {
			t.Fatalf("second page: %+v", page2)
		}
		for _, path := range []string{"/v1/watches/" + active.Id} {
			if status, _, body := e.do("GET", path, other, ""); status != http.StatusNotFound || apiError(t, body).Code != "resource_missing" {
				t.Fatalf("another partner's watch: %d %s", status, body)
			}
		}
		if status, _, body := e.do("POST", "/v1/watches/"+active.Id+"/cancel", other, "", "Idempotency-Key", key()); status != http.StatusNotFound {
			t.Fatalf("another partner cancels: %d %s", status, body)
		}
		var list client.WatchList
		status, _, body = e.do("GET", "/v1/watches", other, "")
		decode(t, status, http.StatusOK, body, &list)
		if len(list.Data) != 0 {
			t.Fatalf("another partner lists %d watches", len(list.Data))
		}
		var cancelled client.Watch
		status, _, body = e.do("POST", "/v1/watches/"+active.Id+"/cancel", e.token, "", "Idempotency-Key", key())
		decode(t, status, http.StatusOK, body, &cancelled)
		if cancelled.Status != client.WatchStatusCancelled || cancelled.CancelledAt == nil {
			t.Fatalf("cancelled: %+v", cancelled)
		}
		status, _, body = e.do("POST", "/v1/watches/"+active.Id+"/cancel", e.token, "", "Idempotency-Key", key())
		if status != http.StatusConflict || apiError(t, body).Code != "watch_state_invalid" {
			t.Fatalf("cancel again: %d %s", status, body)
		}

		// A watch expires with its window.
		_, later := e.addVenue(slotSpec{tables: 1, in: 96 * time.Hour})
		e.book(later[0].ID, 2)
		expiring := e.createWatch(t, e.token, watchBody(later[0], true, 4))
		clock.advance(97 * time.Hour)
		if _, err := e.booking.Payments.Sweep(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got := e.getWatch(t, e.token, expiring.Id); got.Status != client.WatchStatusExpired {
			t.Fatalf("watch past its window is %s, want expired", got.Status)
		}
	})
}
