package webhooks_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/prima-dining/partner-api/internal/ids"
	"github.com/prima-dining/partner-api/internal/webhooks"
	"github.com/prima-dining/partner-api/store"
)

// t0 is when fixtures are created, and the start of the tests' settable clocks: a minute
// ago, so messages created then are due for workers on the wall clock too.
var t0 = time.Now().UTC().Add(-time.Minute).Truncate(time.Millisecond)

func ctxT(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// clock is a settable scheduling clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: t0} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// world is a partner, a venue with a slot, and what the tests add to them.
type world struct {
	db      *store.DB
	partner string
	venue   store.Venue
	slot    store.Slot
}

// newWorld seeds a partner and a venue of the given platform kind and URL.
func newWorld(t testing.TB, db *store.DB, kind, url, secret string) *world {
	t.Helper()
	ctx := ctxT(t)
	p := store.Partner{ID: ids.New("ptn"), Name: "Partner " + ids.New("n"), AllVenues: true, CreatedAt: t0}
	if err := db.CreatePartner(ctx, &p); err != nil {
		t.Fatalf("create partner: %v", err)
	}
	v := store.Venue{
		ID: ids.New("ven"), Name: "Chez Test", NameKey: "chez test", City: "New York", CityKey: "new york",
		Country: "US", TimeZone: "America/New_York", Currency: "USD", PolicyFeeType: "none",
		PlatformKind: kind, PlatformURL: url, PlatformSecret: secret, CreatedAt: t0,
	}
	if err := db.InsertVenues(ctx, []store.Venue{v}); err != nil {
		t.Fatalf("insert venue: %v", err)
	}
	s := store.Slot{
		ID: ids.New("slot"), VenueID: v.ID, StartsAt: t0.Add(48 * time.Hour), LocalDate: "2030-05-03",
		LocalTime: "08:00", DurationMinutes: 90, PartySizeMin: 1, PartySizeMax: 6, SeatingArea: "indoor",
		Type: "standard", Tables: 1000, Status: "open", CreatedAt: t0, UpdatedAt: t0,
	}
	if err := db.InsertSlots(ctx, []store.Slot{s}); err != nil {
		t.Fatalf("insert slot: %v", err)
	}
	return &world{db: db, partner: p.ID, venue: v, slot: s}
}

// confirmed inserts a confirmed reservation whose venue sync is pending, and the venue
// message finalize would write with it, as booking does: in one transaction.
func (w *world) confirmed(t testing.TB) (store.Reservation, store.OutboxMessage) {
	t.Helper()
	r := store.Reservation{
		ID: ids.New("res"), PartnerID: w.partner, TokenID: "tok_test", SlotID: w.slot.ID, VenueID: w.venue.ID,
		Status: "confirmed", PartySize: 2, GuestFirstName: "Ada", GuestLastName: "Lovelace",
		StartsAt: w.slot.StartsAt, LocalDate: w.slot.LocalDate, DurationMinutes: 90, SeatingArea: "indoor",
		SlotType: "standard", VenueSyncStatus: store.VenueSyncPending, CreatedAt: t0, UpdatedAt: t0,
	}
	m := store.OutboxMessage{
		ID: ids.New("msg"), Kind: store.OutboxVenue, Type: "reservation.confirmed", ReservationID: r.ID,
		PartnerID: w.partner, VenueID: w.venue.ID, CreatedAt: t0,
	}
	err := w.db.Transact(ctxT(t), func(tx *store.Tx) error {
		if ok, err := tx.TakeTable(r.SlotID, t0); err != nil || !ok {
			return fmt.Errorf("take table: %v, %w", ok, err)
		}
		if err := tx.InsertReservation(&r); err != nil {
			return err
		}
		return tx.InsertOutbox([]store.OutboxMessage{m})
	})
	if err != nil {
		t.Fatalf("confirmed reservation: %v", err)
	}
	return r, m
}

// newSecret is webhooks.NewSecret for tests.
func newSecret(t testing.TB) string {
	t.Helper()
	secret, err := webhooks.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	return secret
}

// endpoint registers a partner webhook endpoint.
func (w *world) endpoint(t testing.TB, url, events, secret string) store.WebhookEndpoint {
	t.Helper()
	e := store.WebhookEndpoint{PartnerID: w.partner, URL: url, Events: events, Secret: secret, CreatedAt: t0}
	if err := w.db.CreateWebhookEndpoint(ctxT(t), &e); err != nil {
		t.Fatalf("create endpoint: %v", err)
	}
	return e
}

// partnerMessages inserts n partner messages of a reservation for an endpoint.
func (w *world) partnerMessages(t testing.TB, e store.WebhookEndpoint, reservationID string, n int) []store.OutboxMessage {
	t.Helper()
	msgs := make([]store.OutboxMessage, n)
	for i := range msgs {
		msgs[i] = store.OutboxMessage{
			ID: ids.New("msg"), Kind: store.OutboxPartner, Type: "reservation.confirmed", ReservationID: reservationID,
			PartnerID: w.partner, VenueID: w.venue.ID, EndpointID: e.ID, CreatedAt: t0,
		}
	}
	if err := w.db.Transact(ctxT(t), func(tx *store.Tx) error { return tx.InsertOutbox(msgs) }); err != nil {
		t.Fatalf("insert partner messages: %v", err)
	}
	return msgs
}

func (w *world) reservation(t testing.TB, id string) store.Reservation {
	t.Helper()
	r, err := w.db.GetReservation(ctxT(t), "", id)
	if err != nil {
		t.Fatalf("get reservation: %v", err)
	}
	return r
}

func (w *world) message(t testing.TB, id string) store.OutboxMessage {
	t.Helper()
	m, err := w.db.GetOutboxMessage(ctxT(t), id)
	if err != nil {
		t.Fatalf("get message: %v", err)
	}
	return m
}

// delivery is one request a receiver saw.
type delivery struct {
	ID, Timestamp, Signature, ContentType, UserAgent string
	Body                                             []byte
	Verified                                         bool
	Status                                           int
}

// receiver is a webhook receiver on loopback that verifies every delivery with the
// Standard Webhooks library and answers what respond says.
type receiver struct {
	*httptest.Server
	mu       sync.Mutex
	secret   string
	all      []delivery
	accepted map[string]int // webhook-id → accepted deliveries
	respond  func(d delivery, nth int) (int, string)
}

func newReceiver(t testing.TB, secret string, respond func(d delivery, nth int) (int, string)) *receiver {
	t.Helper()
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatalf("standard webhooks: %v", err)
	}
	rc := &receiver{secret: secret, accepted: map[string]int{}, respond: respond}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		d := delivery{
			ID: r.Header.Get("webhook-id"), Timestamp: r.Header.Get("webhook-timestamp"),
			Signature: r.Header.Get("webhook-signature"), ContentType: r.Header.Get("Content-Type"),
			UserAgent: r.Header.Get("User-Agent"), Body: body,
			Verified: r.Method == http.MethodPost && wh.Verify(body, r.Header) == nil,
		}
		rc.mu.Lock()
		nth := 0
		for _, prev := range rc.all {
			if prev.ID == d.ID {
				nth++
			}
		}
		status, reply := http.StatusUnauthorized, `{"error":"bad signature"}`
		if d.Verified {
			status, reply = respond(d, nth)
		}
		d.Status = status
		rc.all = append(rc.all, d)
		if d.Verified && status >= 200 && status < 300 {
			rc.accepted[d.ID]++
		}
		rc.mu.Unlock()
		rw.Header().Set("Content-Type", "application/json")
		rw.WriteHeader(status)
		_, _ = io.WriteString(rw, reply)
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) deliveries(id string) []delivery {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []delivery
	for _, d := range rc.all {
		if d.ID == id {
			out = append(out, d)
		}
	}
	return out
}

func (rc *receiver) snapshot() (all []delivery, accepted map[string]int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	accepted = make(map[string]int, len(rc.accepted))
	for k, v := range rc.accepted {
		accepted[k] = v
	}
	return append([]delivery(nil), rc.all...), accepted
}

// quietLogger keeps expected delivery failures out of the test output.
func quietLogger(t testing.TB) *slog.Logger {
	t.Helper()
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// runUntil runs the workers' RunOnce until done reports true or the time runs out.
func runUntil(t testing.TB, done func() bool, workers ...*webhooks.Worker) {
	t.Helper()
	ctx := ctxT(t)
	deadline := time.Now().Add(60 * time.Second)
	for !done() {
		if time.Now().After(deadline) {
			t.Fatal("deliveries did not finish in time")
		}
		for _, w := range workers {
			if _, err := w.RunOnce(ctx); err != nil {
				t.Fatalf("run once: %v", err)
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
}
