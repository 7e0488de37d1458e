package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"testing"
	"time"

	client "github.com/prima-dining/partner-api/sdk/go"
	"github.com/prima-dining/partner-api/store"
	"github.com/prima-dining/partner-api/store/storetest"
)

// availabilityEvent is an availability.updated message in the outbox, with its body.
type availabilityEvent struct {
	partnerID, endpointID string
	body                  client.AvailabilityUpdatedEvent
	raw                   []byte
}

// jsonEqual reports whether two JSON documents are the same value.
func jsonEqual(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

// subscribe registers an endpoint of the token's partner for events and returns its id.
func (e *env) subscribe(t *testing.T, token string, events ...string) string {
	t.Helper()
	b, _ := json.Marshal(map[string]any{"url": "http://127.0.0.1:9/hooks", "events": events})
	var ep client.WebhookEndpoint
	status, _, body := e.do("POST", "/v1/webhook_endpoints", token, string(b), "Idempotency-Key", key())
	decode(t, status, http.StatusCreated, body, &ep)
	return ep.Id
}

// availabilityEvents lists the availability.updated messages of the slot in the outbox,
// oldest first.
func (e *env) availabilityEvents(t *testing.T, slotID string) []availabilityEvent {
	t.Helper()
	rows, err := e.db.SQL().Query(`SELECT partner_id, endpoint_id, payload FROM outbox WHERE type = 'availability.updated' ORDER BY created_at, id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []availabilityEvent
	for rows.Next() {
		var (
			ev      availabilityEvent
			payload []byte
		)
		if err := rows.Scan(&ev.partnerID, &ev.endpointID, &payload); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(payload, &ev.body); err != nil {
			t.Fatalf("availability.updated payload: %v: %s", err, payload)
		}
		ev.raw = payload
		if ev.body.Data.Object.SlotId == slotID {
			out = append(out, ev)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// feed runs the availability feed once, a second (the events' pacing) after the last run.
func (e *env) feed(t *testing.T, clock *fakeClock) {
	t.Helper()
	clock.advance(1100 * time.Millisecond)
	if _, err := e.booking.AvailabilityFeed.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestAvailabilityUpdatedFollowsEveryCapacityChange: each path that changes a slot's
// capacity (hold, release, expiry, cancellation of a booking, the operator's tables and
// status, a closure, an allocation) makes one availability.updated event per subscribed
// endpoint of each partner that may sell the slot, carrying what that partner could hold;
// "*" endpoints and partners that may not sell the venue get none.
func TestAvailabilityUpdatedFollowsEveryCapacityChange(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		clock := &fakeClock{t: time.Now().UTC()}
		e := newEnv(t, db, withClock(clock.now), withHoldTTL(10*time.Minute))
		// Two slots of one evening (New York time), whatever the hour the test runs at: the
		// closure below closes both.
		v, slots := e.addVenue(slotSpec{tables: 2, in: untilNewYork(2, 19, 0)}, slotSpec{tables: 1, in: untilNewYork(2, 19, 30)})
		slot := slots[0]
		op := e.newOperatorToken("lupa-group", []string{v.ID})
		acme := partnerID(t, db, "acme-rewards")
		epAcme := e.subscribe(t, e.token, "availability.updated")
		e.subscribe(t, e.token, "*") // "*" does not include availability.updated
		rival := e.newToken("rival-concierge")
		rivalID := partnerID(t, db, "rival-concierge")
		epRival := e.subscribe(t, rival, "availability.updated", "reservation.confirmed")
		outsider := e.newToken("outsider")
		e.subscribe(t, outsider, "availability.updated")
		if _, err := db.SQL().Exec(e.rebind("UPDATE partners SET all_venues = ? WHERE name = ?"), false, "outsider"); err != nil {
			t.Fatal(err)
		}

		type want struct {
			bookable   bool
			acme, rval int // tables left for each
		}
		seen := 0
		step := func(what string, w want) {
			t.Helper()
			e.feed(t, clock)
			evs := e.availabilityEvents(t, slot.ID)
			got := evs[seen:]
			seen = len(evs)
			if len(got) != 2 {
				t.Fatalf("%s: %d availability.updated events, want 2 (one per subscribed partner's endpoint): %+v", what, len(got), got)
			}
			for _, ev := range got {
				o := ev.body.Data.Object
				left := w.acme
				switch {
				case ev.partnerID == acme && ev.endpointID == epAcme:
				case ev.partnerID == rivalID && ev.endpointID == epRival:
					left = w.rval
				default:
					t.Fatalf("%s: event for partner %s endpoint %s, want only the two subscribed endpoints", what, ev.partnerID, ev.endpointID)
				}
				if string(ev.body.Type) != "availability.updated" || ev.body.Object != "event" || o.Object != "availability_update" ||
					o.VenueId != v.ID || o.Slot.Id != slot.ID || o.ChangedAt.IsZero() {
					t.Fatalf("%s: event body %+v", what, ev.body)
				}
				// GET /v1/events keeps the event as its webhook carried it (issue 20).
				tok := e.token
				if ev.partnerID == rivalID {
					tok = rival
				}
				status, _, body := e.do("GET", "/v1/events/"+ev.body.Id, tok, "")
				if status != http.StatusOK || !jsonEqual(body, ev.raw) {
					t.Fatalf("%s: GET /v1/events/%s: %d %s\nwant the delivery's body %s", what, ev.body.Id, status, body, ev.raw)
				}
				wantBookable := left > 0
				if o.Bookable != wantBookable || o.TablesLeft != left || o.Slot.TablesLeft != left {
					t.Fatalf("%s: partner %s sees bookable %v with %d (slot %d) tables left, want %v with %d",
						what, ev.partnerID, o.Bookable, o.TablesLeft, o.Slot.TablesLeft, wantBookable, left)
				}
			}
			// Nothing more is due: the feed is idle until the next change.
			e.feed(t, clock)
			if n := len(e.availabilityEvents(t, slot.ID)); n != seen {
				t.Fatalf("%s: %d more events with no change", what, n-seen)
			}
		}

		first := e.hold(slot.ID, 2)
		step("hold", want{true, 1, 1})
		move := func(to string) {
			t.Helper()
			status, _, body := e.do("PATCH", "/v1/reservations/"+first.Id, e.token, fmt.Sprintf(`{"slot_id":%q}`, to), "Idempotency-Key", key())
			if status != http.StatusOK {
				t.Fatalf("change of slot: %d %s", status, body)
			}
		}
		move(slots[1].ID)
		step("a change moves the hold away", want{true, 2, 2})
		move(slot.ID)
		step("a change moves the hold back", want{true, 1, 1})
		second := e.hold(slot.ID, 2)
		step("second hold sells out", want{false, 0, 0})
		if status, _, body := e.do("POST", "/v1/reservations/"+second.Id+"/cancel", e.token, `{"reason":"requested_by_guest"}`, "Idempotency-Key", key()); status != http.StatusOK {
			t.Fatalf("release: %d %s", status, body)
		}
		step("release", want{true, 1, 1})
		if r := e.finalize(first.Id); r.StatusCode() != http.StatusOK {
			t.Fatalf("finalize: %s", r.Body)
		}
		if status, _, body := e.do("POST", "/v1/reservations/"+first.Id+"/cancel", e.token, `{"reason":"requested_by_guest"}`, "Idempotency-Key", key()); status != http.StatusOK {
			t.Fatalf("cancel: %d %s", status, body)
		}
		step("cancellation of a booking", want{true, 2, 2})
		e.hold(slot.ID, 2)
		step("hold to expire", want{true, 1, 1})
		clock.advance(11 * time.Minute)
		if _, err := e.booking.Payments.Sweep(context.Background()); err != nil {
			t.Fatal(err)
		}
		step("expiry", want{true, 2, 2})
		status, _, body := e.do("PATCH", "/v1/operator/slots/"+slot.ID, op, `{"tables":4}`)
		if status != http.StatusOK {
			t.Fatalf("operator tables: %d %s", status, body)
		}
		step("operator raises the tables", want{true, 4, 4})
		e.allocate(t, op, slot.ID, acme, 3)
		step("allocation to acme", want{true, 4, 1})
		status, _, body = e.do("PATCH", "/v1/operator/slots/"+slot.ID, op, `{"status":"withdrawn"}`)
		if status != http.StatusOK {
			t.Fatalf("operator status: %d %s", status, body)
		}
		step("operator withdraws the slot", want{false, 0, 0})
		status, _, body = e.do("PATCH", "/v1/operator/slots/"+slot.ID, op, `{"status":"open"}`)
		if status != http.StatusOK {
			t.Fatalf("operator status: %d %s", status, body)
		}
		step("operator reopens the slot", want{true, 4, 1})
		status, _, body = e.do("POST", "/v1/operator/venues/"+v.ID+"/closures", op,
			fmt.Sprintf(`{"date_from":%q,"date_to":%q,"reason":"private event"}`, slot.LocalDate, slot.LocalDate), "Idempotency-Key", key())
		if status != http.StatusCreated {
			t.Fatalf("closure: %d %s", status, body)
		}
		step("closure", want{false, 0, 0})
		// The venue's other slot, the same evening, changed with the hold moving in (sold
		// out), moving out (bookable) and the closure (not bookable): two events each.
		other := e.availabilityEvents(t, slots[1].ID)
		if len(other) != 6 {
			t.Fatalf("the other slot: %d events, want 6", len(other))
		}
		for i, want := range []bool{false, false, true, true, false, false} {
			if got := other[i].body.Data.Object.Bookable; got != want {
				t.Fatalf("the other slot's event %d: bookable %v, want %v", i, got, want)
			}
		}
	})
}

// TestAvailabilityUpdatedCoalescesPerSlot: ten holds within one second make at most two
// events (the first change at once, the rest together a second later), the last
// carrying the slot as it stands.
func TestAvailabilityUpdatedCoalescesPerSlot(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		clock := &fakeClock{t: time.Now().UTC()}
		e := newEnv(t, db, withClock(clock.now))
		_, slots := e.addVenue(slotSpec{tables: 12})
		e.subscribe(t, e.token, "availability.updated")
		run := func() {
			if _, err := e.booking.AvailabilityFeed.RunOnce(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		for i := range 10 {
			e.hold(slots[0].ID, 2)
			clock.advance(90 * time.Millisecond) // ten holds within 0.9 s
			run()                                // the feed runs between every two holds
			if i == 0 {
				if n := len(e.availabilityEvents(t, slots[0].ID)); n != 1 {
					t.Fatalf("after the first hold: %d events, want 1 at once", n)
				}
			}
		}
		if n := len(e.availabilityEvents(t, slots[0].ID)); n != 1 {
			t.Fatalf("within the second: %d events, want 1", n)
		}
		clock.advance(time.Second)
		run()
		run()
		evs := e.availabilityEvents(t, slots[0].ID)
		if len(evs) != 2 {
			t.Fatalf("ten holds in one second made %d events, want 2", len(evs))
		}
		if last := evs[1].body.Data.Object; last.TablesLeft != 2 || !last.Bookable {
			t.Fatalf("the coalesced event says %d tables left (bookable %v), want 2", last.TablesLeft, last.Bookable)
		}
	})
}

// rebind turns ? placeholders into PostgreSQL's $n when needed.
func (e *env) rebind(query string) string {
	if e.db.Dialect() != store.DialectPostgres {
		return query
	}
	out, n := []byte{}, 0
	for i := 0; i < len(query); i++ {
		if query[i] == '?' {
			n++
			out = append(out, fmt.Sprintf("$%d", n)...)
			continue
		}
		out = append(out, query[i])
	}
	return string(out)
}
