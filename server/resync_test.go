package server_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	client "github.com/prima-dining/partner-api/sdk/go"
	"github.com/prima-dining/partner-api/store"
	"github.com/prima-dining/partner-api/store/storetest"
)

// A partner retries a failed venue-platform sync: while the platform is still down the
// answer shows the sync pending again (the worker keeps trying); once it is back, the
// answer shows it synced, the platform has the booking once, and a second request is
// 409. Only a failed sync can be retried; another partner's reservation is a 404.
func TestPartnerRetriesAFailedVenueSync(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		clk := &fakeClock{t: time.Now().UTC()}
		e := newEnv(t, db, withClock(clk.now))
		v, slots := e.addVenue(slotSpec{tables: 2})
		platform := newReceiver(t, 1<<30, `{"reference":"SR-77"}`)
		platform.secret = e.usePlatform(v.ID, platform.srv.URL)
		sync := func(token, id string) (int, []byte) {
			t.Helper()
			status, _, body := e.do(http.MethodPost, "/v1/reservations/"+id+"/sync", token, "", "Idempotency-Key", key())
			return status, body
		}

		r := e.book(slots[0].ID, 2)
		if r.VenueSync.Status != client.VenueSyncStatusPending {
			t.Fatalf("with the platform down, finalize answered venue_sync %s", r.VenueSync.Status)
		}
		if status, body := sync(e.token, r.Id); status != http.StatusConflict || apiError(t, body).Code != "reservation_state_invalid" {
			t.Fatalf("re-sync of a pending sync: %d %s", status, body)
		}
		clk.advance(25 * time.Hour) // past the outbox's maximum age
		e.drain()
		if got := e.get(r.Id); got.VenueSync.Status != client.VenueSyncStatusFailed {
			t.Fatalf("after the maximum age: %s", got.VenueSync.Status)
		}

		// Still down: pending again, one more attempt.
		status, body := sync(e.token, r.Id)
		var got client.Reservation
		if err := json.Unmarshal(body, &got); status != http.StatusOK || err != nil || got.VenueSync.Status != client.VenueSyncStatusPending {
			t.Fatalf("re-sync with the platform down: %d %s", status, body)
		}
		clk.advance(25 * time.Hour)
		e.drain()
		if got := e.get(r.Id); got.VenueSync.Status != client.VenueSyncStatusFailed {
			t.Fatalf("after another maximum age: %s", got.VenueSync.Status)
		}

		// Another partner's reservation does not exist for it.
		other := e.newToken("other-partner")
		if status, body := sync(other, r.Id); status != http.StatusNotFound || apiError(t, body).Code != "resource_missing" {
			t.Fatalf("another partner's re-sync: %d %s", status, body)
		}
		if got := e.get(r.Id); got.VenueSync.Status != client.VenueSyncStatusFailed {
			t.Fatalf("after another partner's re-sync: %s", got.VenueSync.Status)
		}

		// Back: synced in the answer, the platform has it once.
		platform.setHealthy()
		status, body = sync(e.token, r.Id)
		if err := json.Unmarshal(body, &got); status != http.StatusOK || err != nil || got.VenueSync.Status != client.VenueSyncStatusSynced ||
			got.VenueSync.PlatformReference == nil || *got.VenueSync.PlatformReference != "SR-77" {
			t.Fatalf("re-sync with the platform back: %d %s", status, body)
		}
		if status, body := sync(e.token, r.Id); status != http.StatusConflict || apiError(t, body).Code != "reservation_state_invalid" {
			t.Fatalf("re-sync of a synced reservation: %d %s", status, body)
		}
		e.drain()
		platform.mu.Lock()
		defer platform.mu.Unlock()
		if len(platform.accepted) != 1 {
			t.Fatalf("the platform accepted %v", platform.accepted)
		}
		for id, n := range platform.accepted {
			if n != 1 {
				t.Fatalf("message %s accepted %d times", id, n)
			}
		}

	})
}
