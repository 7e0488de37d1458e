package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/prima-dining/partner-api/internal/webhooks"
	client "github.com/prima-dining/partner-api/sdk/go"
	"github.com/prima-dining/partner-api/store"
	"github.com/prima-dining/partner-api/store/storetest"
)

// receiver is a webhook receiver that verifies every delivery with the Standard
// Webhooks library, fails the first `failFirst` attempts, and then answers 2xx with body.
type receiver struct {
	t         *testing.T
	srv       *httptest.Server
	secret    string
	failFirst int
	reply     string

	mu       sync.Mutex
	attempts map[string]int // by webhook-id
	accepted map[string]int
	bodies   map[string][]string
	badSig   int
}

func newReceiver(t *testing.T, failFirst int, reply string) *receiver {
	r := &receiver{t: t, failFirst: failFirst, reply: reply, attempts: map[string]int{}, accepted: map[string]int{}, bodies: map[string][]string{}}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	wh, err := standardwebhooks.NewWebhook(r.secret)
	if err != nil || wh.Verify(body, req.Header) != nil {
		r.badSig++
		http.Error(w, "bad signature", http.StatusBadRequest)
		return
	}
	id := req.Header.Get("webhook-id")
	r.attempts[id]++
	r.bodies[id] = append(r.bodies[id], string(body))
	if r.attempts[id] <= r.failFirst {
		http.Error(w, "not now", http.StatusServiceUnavailable)
		return
	}
	r.accepted[id]++
	_, _ = io.WriteString(w, r.reply)
}

func (r *receiver) setHealthy() { r.mu.Lock(); r.failFirst = 0; r.mu.Unlock() }

// usePlatform points the venue's connector at url, signed with a fresh secret.
func (e *env) usePlatform(venueID, url string) string {
	e.t.Helper()
	secret, err := webhooks.NewSecret()
	if err != nil {
		e.t.Fatal(err)
	}
	q := "UPDATE venues SET platform_kind = 'webhook', platform_url = ?, platform_secret = ? WHERE id = ?"
	if e.db.Dialect() == store.DialectPostgres {
		q = "UPDATE venues SET platform_kind = 'webhook', platform_url = $1, platform_secret = $2 WHERE id = $3"
	}
	if _, err := e.db.SQL().Exec(q, url, secret, venueID); err != nil {
		e.t.Fatal(err)
	}
	return secret
}

// drain runs the outbox worker until nothing is due, a bounded number of times.
func (e *env) drain() {
	e.t.Helper()
	for i := 0; i < 20; i++ {
		time.Sleep(5 * time.Millisecond) // past the (millisecond) backoff
		n, err := e.outbox.RunOnce(context.Background())
		if err != nil {
			e.t.Fatal(err)
		}
		if n == 0 && i > 3 {
			return
		}
	}
}

func TestFinalizeAgainstAHealthyPlatformAnswersSynced(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		v, slots := e.addVenue(slotSpec{tables: 1})
		platform := newReceiver(t, 0, `{"reference":"SR-88213"}`)
		platform.secret = e.usePlatform(v.ID, platform.srv.URL)

		h := e.hold(slots[0].ID, 2)
		if h.VenueSync.Status != client.VenueSyncStatusNotApplicable {
			t.Fatalf("a hold's venue sync is %s", h.VenueSync.Status)
		}
		fin := e.finalize(h.Id)
		if fin.JSON200 == nil {
			t.Fatalf("finalize: %s", fin.Body)
		}
		vs := fin.JSON200.VenueSync
		if vs.Status != client.VenueSyncStatusSynced || vs.PlatformReference == nil || *vs.PlatformReference != "SR-88213" || vs.SyncedAt == nil {
			t.Fatalf("finalize answered venue_sync %+v", vs)
		}
		platform.mu.Lock()
		defer platform.mu.Unlock()
		if len(platform.accepted) != 1 || platform.badSig != 0 {
			t.Fatalf("platform saw %v accepted, %d bad signatures", platform.accepted, platform.badSig)
		}
		for _, bodies := range platform.bodies {
			var ev client.Event
			if err := json.Unmarshal([]byte(bodies[0]), &ev); err != nil || ev.Type != client.EventTypeReservationConfirmed ||
				ev.Data.Object.Id != h.Id || ev.Data.Object.Guest.Email != "ada@example.com" {
				t.Fatalf("platform got %s", bodies[0])
			}
		}
	})
}

func TestVenuePlatformDownThenBack(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		v, slots := e.addVenue(slotSpec{tables: 1})
		platform := newReceiver(t, 1000, `{"reference":"SR-1"}`)
		platform.secret = e.usePlatform(v.ID, platform.srv.URL)

		h := e.hold(slots[0].ID, 2)
		fin := e.finalize(h.Id)
		if fin.JSON200 == nil || fin.JSON200.Status != client.ReservationStatusConfirmed {
			t.Fatalf("finalize while the platform is down: %s", fin.Body)
		}
		if vs := fin.JSON200.VenueSync; vs.Status != client.VenueSyncStatusPending || vs.Attempts < 1 || vs.LastError == nil {
			t.Fatalf("venue_sync while down: %+v", vs)
		}
		platform.setHealthy()
		e.drain()
		got := e.get(h.Id)
		if got.VenueSync.Status != client.VenueSyncStatusSynced || got.VenueSync.PlatformReference == nil || *got.VenueSync.PlatformReference != "SR-1" {
			t.Fatalf("venue_sync after recovery: %+v", got.VenueSync)
		}
	})
}

func TestPartnerWebhookEndpointsReceiveSignedEventsOnceAfterRetries(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		ctx := context.Background()
		_, slots := e.addVenue(slotSpec{tables: 1})
		partner := newReceiver(t, 2, "ok")

		created, err := e.client.CreateWebhookEndpointWithResponse(ctx, &client.CreateWebhookEndpointParams{}, client.CreateWebhookEndpointRequest{
			Url:    partner.srv.URL + "/hooks",
			Events: []client.CreateWebhookEndpointRequestEvents{client.CreateWebhookEndpointRequestEventsReservationConfirmed, client.CreateWebhookEndpointRequestEventsReservationCancelled},
		})
		if err != nil || created.JSON201 == nil || created.JSON201.Secret == nil || !strings.HasPrefix(*created.JSON201.Secret, "whsec_") {
			t.Fatalf("create endpoint: %v %s", err, created.Body)
		}
		partner.secret = *created.JSON201.Secret
		list, _ := e.client.ListWebhookEndpointsWithResponse(ctx)
		if list.JSON200 == nil || len(list.JSON200.Data) != 1 || list.JSON200.Data[0].Secret != nil {
			t.Fatalf("list shows %s", list.Body)
		}

		h := e.hold(slots[0].ID, 2)
		if fin := e.finalize(h.Id); fin.JSON200 == nil {
			t.Fatalf("finalize: %s", fin.Body)
		}
		e.drain()
		c, _ := e.client.CancelReservationWithResponse(ctx, h.Id, &client.CancelReservationParams{}, client.CancelReservationRequest{})
		if c.JSON200 == nil {
			t.Fatalf("cancel: %s", c.Body)
		}
		e.drain()

		partner.mu.Lock()
		defer partner.mu.Unlock()
		if partner.badSig != 0 || len(partner.accepted) != 2 {
			t.Fatalf("accepted %v, bad signatures %d; want the two events once each", partner.accepted, partner.badSig)
		}
		var types []string
		for id, n := range partner.accepted {
			if n != 1 || partner.attempts[id] != 3 {
				t.Fatalf("%s: accepted %d times after %d attempts; want once, on the third", id, n, partner.attempts[id])
			}
			bodies := partner.bodies[id]
			if bodies[0] != bodies[2] {
				t.Fatalf("%s: the retry sent another body", id)
			}
			var ev client.Event
			if err := json.Unmarshal([]byte(bodies[0]), &ev); err != nil {
				t.Fatalf("%s: %v: %s", id, err, bodies[0])
			}
			if ev.Id != id {
				t.Fatalf("event id %s differs from webhook-id %s", ev.Id, id)
			}
			types = append(types, string(ev.Type))
		}
		slices.Sort(types)
		if strings.Join(types, " ") != "reservation.cancelled reservation.confirmed" {
			t.Fatalf("event types %v", types)
		}
	})
}

func TestWebhookEndpointURLsAreChecked(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, withPublicWebhooksOnly())
		ctx := context.Background()
		for _, url := range []string{"ftp://partner.example/hook", "http://127.0.0.1:9/hook", "http://10.1.2.3/hook", "http://[::1]/hook", "http://169.254.169.254/latest"} {
			r, _ := e.client.CreateWebhookEndpointWithResponse(ctx, &client.CreateWebhookEndpointParams{}, client.CreateWebhookEndpointRequest{
				Url: url, Events: []client.CreateWebhookEndpointRequestEvents{client.CreateWebhookEndpointRequestEventsAsterisk},
			})
			if r.JSON400 == nil || r.JSON400.Error.Code != "parameter_invalid" || *r.JSON400.Error.Param != "url" {
				t.Errorf("%s: %d %s", url, r.StatusCode(), r.Body)
			}
		}
		list, _ := e.client.ListWebhookEndpointsWithResponse(ctx)
		if list.JSON200 == nil || len(list.JSON200.Data) != 0 {
			t.Fatalf("a refused endpoint was stored: %s", list.Body)
		}
		readOnly := e.newToken("acme-rewards", "reservations:read")
		if status, _, body := e.do("GET", "/v1/webhook_endpoints", readOnly, ""); status != http.StatusForbidden {
			t.Fatalf("without webhooks:write: %d %s", status, body)
		}
		if del, _ := e.client.DeleteWebhookEndpointWithResponse(ctx, "we_nope"); del.JSON404 == nil {
			t.Fatalf("delete unknown: %s", del.Body)
		}
	})
}
