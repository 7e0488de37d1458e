package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	client "github.com/prima-dining/partner-api/sdk/go"
	"github.com/prima-dining/partner-api/store"
	"github.com/prima-dining/partner-api/store/storetest"
)

// createEndpoint registers url for every event type and returns its id and secret.
func (e *env) createEndpoint(t *testing.T, token, url string) (string, string) {
	t.Helper()
	status, _, body := e.do(http.MethodPost, "/v1/webhook_endpoints", token, fmt.Sprintf(`{"url":%q,"events":["*"]}`, url))
	var ep client.WebhookEndpoint
	if err := json.Unmarshal(body, &ep); status != http.StatusCreated || err != nil || ep.Secret == nil {
		t.Fatalf("create endpoint: %d %s", status, body)
	}
	return ep.Id, *ep.Secret
}

// eventPage is GET /v1/events with query, its events kept as the raw bytes served.
type eventPage struct {
	Data    []json.RawMessage `json:"data"`
	HasMore bool              `json:"has_more"`
}

func (e *env) listEvents(t *testing.T, token string, query url.Values) eventPage {
	t.Helper()
	status, _, body := e.do(http.MethodGet, "/v1/events?"+query.Encode(), token, "")
	var page eventPage
	if err := json.Unmarshal(body, &page); status != http.StatusOK || err != nil {
		t.Fatalf("list events %s: %d %s", query.Encode(), status, body)
	}
	return page
}

func eventID(t *testing.T, raw []byte) client.Event {
	t.Helper()
	var ev client.Event
	if err := json.Unmarshal(raw, &ev); err != nil || ev.Id == "" {
		t.Fatalf("not an event: %v %s", err, raw)
	}
	return ev
}

func compact(t *testing.T, raw []byte) string {
	t.Helper()
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		t.Fatalf("%v: %s", err, raw)
	}
	return b.String()
}

// A partner's receiver is down for 30 minutes of (simulated) booking time. Afterwards the
// partner pages GET /v1/events back to the last event it handled and gets every event it
// missed exactly once, with the ids and bodies the deliveries carry once it is back.
func TestEventsRecoverWhatAReceiverMissedDuringAnOutage(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		clk := &fakeClock{t: time.Now().UTC()}
		e := newEnv(t, db, withClock(clk.now))
		_, slots := e.addVenue(slotSpec{tables: 5}, slotSpec{tables: 5})
		// The worker runs on the booking clock: each round moves it past the backoff.
		catchUp := func() {
			for range 3 {
				clk.advance(time.Second)
				e.drain()
			}
		}
		rcv := newReceiver(t, 0, "ok")
		endpointID, secret := e.createEndpoint(t, e.token, rcv.srv.URL)
		rcv.secret = secret

		first := e.book(slots[0].ID, 2)
		e.drain()
		rcv.mu.Lock()
		if len(rcv.accepted) != 1 {
			t.Fatalf("before the outage the receiver accepted %v", rcv.accepted)
		}
		var lastHandled string
		for id := range rcv.accepted {
			lastHandled = id
		}
		rcv.failFirst = 1 << 30 // down
		rcv.mu.Unlock()

		// 30 minutes down: two bookings and a cancellation, the worker failing to deliver.
		downFrom := clk.now()
		clk.advance(10 * time.Minute)
		second := e.book(slots[1].ID, 2)
		e.drain()
		clk.advance(10 * time.Minute)
		third := e.book(slots[0].ID, 3)
		e.drain()
		clk.advance(10 * time.Minute)
		cancel, err := e.client.CancelReservationWithResponse(context.Background(), first.Id,
			&client.CancelReservationParams{}, client.CancelReservationRequest{})
		if err != nil || cancel.JSON200 == nil {
			t.Fatalf("cancel: %v %s", err, cancel.Body)
		}
		e.drain()

		// The partner pages back from the newest event to the last one it handled.
		var missed []json.RawMessage
		seen := map[string]int{}
		q := url.Values{"limit": {"2"}}
	pages:
		for range 20 {
			page := e.listEvents(t, e.token, q)
			for _, raw := range page.Data {
				id := eventID(t, raw).Id
				if id == lastHandled {
					break pages
				}
				seen[id]++
				missed = append(missed, raw)
				q.Set("starting_after", id)
			}
			if !page.HasMore {
				t.Fatalf("paged to the end without meeting %s", lastHandled)
			}
		}
		if len(missed) != 3 {
			t.Fatalf("missed %d events, want 3 (two confirmations, one cancellation)", len(missed))
		}
		wantTypes := map[string]string{second.Id: "reservation.confirmed", third.Id: "reservation.confirmed", first.Id: "reservation.cancelled"}
		for _, raw := range missed {
			ev := eventID(t, raw)
			if seen[ev.Id] != 1 {
				t.Fatalf("event %s listed %d times", ev.Id, seen[ev.Id])
			}
			if string(ev.Type) != wantTypes[ev.Data.Object.Id] {
				t.Fatalf("event %s: %s of %s", ev.Id, ev.Type, ev.Data.Object.Id)
			}
			if ev.CreatedAt.Before(downFrom) || ev.CreatedAt.After(downFrom.Add(30*time.Minute)) {
				t.Fatalf("event %s created at %s, outside the outage from %s", ev.Id, ev.CreatedAt, downFrom)
			}
		}

		// Back up: the receiver gets the same events, same ids and same bodies.
		rcv.setHealthy()
		catchUp()
		rcv.mu.Lock()
		for _, raw := range missed {
			id := eventID(t, raw).Id
			if rcv.accepted[id] != 1 || len(rcv.bodies[id]) == 0 {
				t.Fatalf("event %s accepted %d times by the receiver", id, rcv.accepted[id])
			}
			if compact(t, []byte(rcv.bodies[id][0])) != compact(t, raw) {
				t.Fatalf("event %s: webhook body %s\nlisted body %s", id, rcv.bodies[id][0], raw)
			}
		}
		if len(rcv.accepted) != 4 || rcv.badSig != 0 {
			t.Fatalf("receiver accepted %v, %d bad signatures", rcv.accepted, rcv.badSig)
		}
		rcv.mu.Unlock()

		// GET /v1/events/{id} is the same body; the filters narrow the list.
		secondEvent := missed[len(missed)-1]
		for _, raw := range missed {
			if eventID(t, raw).Data.Object.Id == second.Id {
				secondEvent = raw
			}
		}
		secondID := eventID(t, secondEvent).Id
		status, _, body := e.do(http.MethodGet, "/v1/events/"+secondID, e.token, "")
		if status != http.StatusOK || compact(t, body) != compact(t, secondEvent) {
			t.Fatalf("get event: %d %s", status, body)
		}
		if got := e.listEvents(t, e.token, url.Values{"type": {"reservation.cancelled"}}); len(got.Data) != 1 || eventID(t, got.Data[0]).Data.Object.Id != first.Id {
			t.Fatalf("type filter: %d events", len(got.Data))
		}
		if got := e.listEvents(t, e.token, url.Values{"reservation_id": {first.Id}}); len(got.Data) != 2 {
			t.Fatalf("reservation filter: %d events, want its confirmation and cancellation", len(got.Data))
		}
		window := url.Values{"created_gte": {downFrom.Add(time.Minute).Format(time.RFC3339Nano)}, "created_lt": {downFrom.Add(25 * time.Minute).Format(time.RFC3339Nano)}}
		if got := e.listEvents(t, e.token, window); len(got.Data) != 2 {
			t.Fatalf("created window: %d events, want the two bookings", len(got.Data))
		}

		// The attempts are readable: failures with the 503 and their timing, then the success.
		status, _, body = e.do(http.MethodGet, "/v1/events/"+secondID+"/attempts", e.token, "")
		var attempts client.WebhookAttemptList
		if err := json.Unmarshal(body, &attempts); status != http.StatusOK || err != nil || len(attempts.Data) < 2 {
			t.Fatalf("attempts: %d %s", status, body)
		}
		for i, a := range attempts.Data {
			last := i == len(attempts.Data)-1
			if a.EventId != secondID || a.WebhookEndpointId != endpointID || a.DurationMs < 0 ||
				(last && (a.Outcome != client.WebhookAttemptOutcomeSucceeded || a.StatusCode != 200)) ||
				(!last && (a.Outcome != client.WebhookAttemptOutcomeFailed || a.StatusCode != 503 || a.Error == "")) {
				t.Fatalf("attempt %d of %d: %+v", i, len(attempts.Data), a)
			}
		}

		// Delivered again on request: same webhook-id, same body.
		status, _, body = e.do(http.MethodPost, "/v1/events/"+lastHandled+"/redeliver", e.token,
			fmt.Sprintf(`{"webhook_endpoint_id":%q}`, endpointID), "Idempotency-Key", key())
		var queued client.EventDelivery
		if err := json.Unmarshal(body, &queued); status != http.StatusAccepted || err != nil || queued.EventId != lastHandled || queued.Status != client.EventDeliveryStatusPending {
			t.Fatalf("redeliver: %d %s", status, body)
		}
		catchUp()
		rcv.mu.Lock()
		if rcv.accepted[lastHandled] != 2 || rcv.bodies[lastHandled][0] != rcv.bodies[lastHandled][1] {
			t.Fatalf("redelivered event accepted %d times", rcv.accepted[lastHandled])
		}
		rcv.mu.Unlock()

		// Another partner sees none of it.
		other := e.newToken("other-partner")
		for _, path := range []string{"/v1/events/" + secondID, "/v1/events/" + secondID + "/attempts"} {
			status, _, body = e.do(http.MethodGet, path, other, "")
			if status != http.StatusNotFound || apiError(t, body).Code != "resource_missing" {
				t.Fatalf("another partner's %s: %d %s", path, status, body)
			}
		}
		if got := e.listEvents(t, other, nil); len(got.Data) != 0 {
			t.Fatalf("another partner lists %d events", len(got.Data))
		}
		status, _, body = e.do(http.MethodPost, "/v1/events/"+secondID+"/redeliver", other,
			fmt.Sprintf(`{"webhook_endpoint_id":%q}`, endpointID), "Idempotency-Key", key())
		if status != http.StatusNotFound || apiError(t, body).Code != "resource_missing" {
			t.Fatalf("another partner's redeliver: %d %s", status, body)
		}
		status, _, body = e.do(http.MethodGet, "/v1/events?starting_after=evt_nope", e.token, "")
		if status != http.StatusNotFound || apiError(t, body).Code != "resource_missing" {
			t.Fatalf("unknown starting_after: %d %s", status, body)
		}

		// Kept 30 days: a purge after that removes the events and their attempts.
		if _, err := db.PurgeFinished(context.Background(), time.Now().Add(29*24*time.Hour), store.Retention{Events: store.EventRetention}); err != nil {
			t.Fatal(err)
		}
		if status, _, _ = e.do(http.MethodGet, "/v1/events/"+secondID, e.token, ""); status != http.StatusOK {
			t.Fatalf("after 29 days the event answers %d", status)
		}
		if _, err := db.PurgeFinished(context.Background(), time.Now().Add(31*24*time.Hour), store.Retention{Events: store.EventRetention}); err != nil {
			t.Fatal(err)
		}
		if status, _, _ = e.do(http.MethodGet, "/v1/events/"+secondID, e.token, ""); status != http.StatusNotFound {
			t.Fatalf("after 31 days the event answers %d", status)
		}
		if n := e.count(t, "SELECT count(*) FROM webhook_attempts"); n != 0 {
			t.Fatalf("%d attempts left after 31 days", n)
		}
	})
}
