package webhooks_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prima-dining/partner-api/internal/ids"
	"github.com/prima-dining/partner-api/internal/webhooks"
	"github.com/prima-dining/partner-api/store"
	"github.com/prima-dining/partner-api/store/storetest"
)

// fastRetries is a worker config that retries within milliseconds, on the wall clock.
func fastRetries(t testing.TB) webhooks.WorkerConfig {
	return webhooks.WorkerConfig{
		AllowPrivate: true, BaseBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond,
		Timeout: 5 * time.Second, Logger: quietLogger(t),
	}
}

// A receiver that verifies every signature with the Standard Webhooks library and fails
// the first two attempts sees three deliveries per message, all with the message's id
// and the same body, and accepts exactly one.
func TestPartnerDeliveriesRetryWithTheSameIDAndBody(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db, webhooks.KindLog, "", "")
		secret := newSecret(t)
		rc := newReceiver(t, secret, func(_ delivery, nth int) (int, string) {
			if nth < 2 {
				return http.StatusInternalServerError, `{"error":"try later"}`
			}
			return http.StatusNoContent, ""
		})
		e := w.endpoint(t, rc.URL+"/hooks", "*", secret)
		r, _ := w.confirmed(t)
		msgs := w.partnerMessages(t, e, r.ID, 3)

		var mu sync.Mutex
		renders := map[string]int{}
		cfg := fastRetries(t)
		cfg.Render = func(_ context.Context, m store.OutboxMessage) ([]byte, error) {
			mu.Lock()
			defer mu.Unlock()
			renders[m.ID]++
			// A fresh nonce per call: a retry that rendered again would send other bytes.
			return json.Marshal(map[string]any{"id": m.ID, "type": m.Type, "nonce": ids.New("n")})
		}
		worker := webhooks.NewWorker(db, cfg)
		runUntil(t, func() bool { _, acc := rc.snapshot(); return len(acc) == len(msgs) }, worker)

		for _, m := range msgs {
			got := rc.deliveries(m.ID)
			if len(got) != 3 {
				t.Fatalf("%s: %d deliveries, want 3", m.ID, len(got))
			}
			for i, d := range got {
				if !d.Verified || d.ID != m.ID || !bytes.Equal(d.Body, got[0].Body) ||
					d.ContentType != "application/json" || d.UserAgent != "PRIMA-Webhooks/1" || !strings.HasPrefix(d.Signature, "v1,") {
					t.Fatalf("%s attempt %d = %+v", m.ID, i+1, d)
				}
			}
			if got[0].Status != 500 || got[1].Status != 500 || got[2].Status != 204 {
				t.Fatalf("%s statuses = %d %d %d", m.ID, got[0].Status, got[1].Status, got[2].Status)
			}
			row := w.message(t, m.ID)
			if row.Status != store.OutboxDelivered || row.Attempts != 3 || row.LastError != "" || !bytes.Equal(row.Payload, got[0].Body) {
				t.Fatalf("%s row = %+v", m.ID, row)
			}
			if renders[m.ID] != 1 {
				t.Fatalf("%s rendered %d times, want once", m.ID, renders[m.ID])
			}
		}
		// Nothing is left to deliver, and nothing is delivered twice.
		for range 3 {
			if n, err := worker.RunOnce(ctxT(t)); n != 0 || err != nil {
				t.Fatalf("idle run = %d, %v", n, err)
			}
		}
		all, accepted := rc.snapshot()
		if len(all) != 9 {
			t.Fatalf("%d requests in all, want 9", len(all))
		}
		for id, n := range accepted {
			if n != 1 {
				t.Fatalf("%s accepted %d times", id, n)
			}
		}
		// The venue's own message went to the log connector meanwhile.
		if got := w.reservation(t, r.ID); got.VenueSyncStatus != store.VenueSyncSynced {
			t.Fatalf("venue sync = %q", got.VenueSyncStatus)
		}
	})
}

// A venue platform that is down: the reservation shows pending with its attempts and
// last error; synced with the platform's reference once it answers 2xx; and for another
// reservation, failed after the maximum age, with a partner event.
func TestVenuePlatformDownThenSyncedOrFailedAfterMaxAge(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := ctxT(t)
		var down atomic.Bool
		down.Store(true)
		venueSecret := newSecret(t)
		platform := newReceiver(t, venueSecret, func(delivery, int) (int, string) {
			if down.Load() {
				return http.StatusServiceUnavailable, `{"error":"maintenance at 10.0.3.7"}`
			}
			return http.StatusCreated, `{"reference":"TBL-42","status":"booked"}`
		})
		w := newWorld(t, db, webhooks.KindWebhook, platform.URL+"/reservations", venueSecret)
		clk := newClock()
		worker := webhooks.NewWorker(db, webhooks.WorkerConfig{
			AllowPrivate: true, Now: clk.Now, BaseBackoff: time.Second, MaxBackoff: 10 * time.Second,
			MaxAge: 24 * time.Hour, Logger: quietLogger(t),
		})
		r, m := w.confirmed(t)

		if n, err := worker.RunOnce(ctx); n != 0 || err != nil {
			t.Fatalf("run while down = %d, %v", n, err)
		}
		got := w.reservation(t, r.ID)
		if got.VenueSyncStatus != store.VenueSyncPending || got.VenueSyncAttempts != 1 ||
			got.VenueSyncError != "The venue's platform answered HTTP 503." || got.VenueSyncReference != "" {
			t.Fatalf("after one failure: %q attempts %d error %q", got.VenueSyncStatus, got.VenueSyncAttempts, got.VenueSyncError)
		}
		row := w.message(t, m.ID)
		if row.Status != store.OutboxPending || row.Attempts != 1 || !strings.Contains(row.LastError, "503") ||
			!row.NextAttemptAt.After(t0) || row.NextAttemptAt.After(t0.Add(2*time.Second)) || row.ClaimedBy != "" {
			t.Fatalf("message after one failure = %+v", row)
		}
		// Not due yet: nothing is sent.
		if _, err := worker.RunOnce(ctx); err != nil || len(platform.deliveries(m.ID)) != 1 {
			t.Fatalf("run before the next attempt is due: %v, %d deliveries", err, len(platform.deliveries(m.ID)))
		}
		clk.Advance(11 * time.Second)
		if _, err := worker.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
		if got = w.reservation(t, r.ID); got.VenueSyncStatus != store.VenueSyncPending || got.VenueSyncAttempts != 2 {
			t.Fatalf("after two failures: %q attempts %d", got.VenueSyncStatus, got.VenueSyncAttempts)
		}

		down.Store(false)
		clk.Advance(11 * time.Second)
		if n, err := worker.RunOnce(ctx); n != 1 || err != nil {
			t.Fatalf("run once the platform is back = %d, %v", n, err)
		}
		got = w.reservation(t, r.ID)
		if got.VenueSyncStatus != store.VenueSyncSynced || got.VenueSyncReference != "TBL-42" || got.VenueSyncAttempts != 3 ||
			got.VenueSyncError != "" || got.VenueSyncedAt == nil || !got.VenueSyncedAt.Equal(clk.Now()) || got.Status != "confirmed" {
			t.Fatalf("after the platform came back: %+v", got)
		}
		if row = w.message(t, m.ID); row.Status != store.OutboxDelivered || row.PlatformReference != "TBL-42" || row.Attempts != 3 {
			t.Fatalf("delivered message = %+v", row)
		}
		if ds := platform.deliveries(m.ID); len(ds) != 3 || !bytes.Equal(ds[0].Body, ds[2].Body) {
			t.Fatalf("platform saw %d deliveries", len(ds))
		}

		// Down for longer than the maximum age: failed, and the partner hears of it on
		// the endpoints subscribed to reservation.venue_sync_failed.
		partnerSecret := newSecret(t)
		partnerRC := newReceiver(t, partnerSecret, func(delivery, int) (int, string) { return http.StatusOK, "" })
		subscribed := w.endpoint(t, partnerRC.URL, "reservation.venue_sync_failed", partnerSecret)
		w.endpoint(t, partnerRC.URL, "reservation.confirmed", partnerSecret)
		disabled := w.endpoint(t, partnerRC.URL, "*", partnerSecret)
		if err := db.Transact(ctx, func(tx *store.Tx) error {
			_, err := tx.DisableWebhookEndpoint(disabled.ID, "test")
			return err
		}); err != nil {
			t.Fatal(err)
		}
		down.Store(true)
		r2, m2 := w.confirmed(t)
		if _, err := worker.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
		if got = w.reservation(t, r2.ID); got.VenueSyncStatus != store.VenueSyncPending || got.VenueSyncAttempts != 1 {
			t.Fatalf("second reservation after one failure: %q %d", got.VenueSyncStatus, got.VenueSyncAttempts)
		}
		clk.Advance(25 * time.Hour)
		if _, err := worker.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
		got = w.reservation(t, r2.ID)
		if got.VenueSyncStatus != store.VenueSyncFailed || got.VenueSyncAttempts != 2 || got.VenueSyncError == "" || got.VenueSyncReference != "" {
			t.Fatalf("after the maximum age: %q attempts %d error %q", got.VenueSyncStatus, got.VenueSyncAttempts, got.VenueSyncError)
		}
		if strings.Contains(got.VenueSyncError, "10.0.3.7") || strings.Contains(got.VenueSyncError, "127.0.0.1") {
			t.Fatalf("the reservation's error leaks the platform's details: %q", got.VenueSyncError)
		}
		if row = w.message(t, m2.ID); row.Status != store.OutboxFailed || row.Attempts != 2 {
			t.Fatalf("message after the maximum age = %+v", row)
		}
		all, err := db.ListOutboxForReservation(ctx, r2.ID)
		if err != nil {
			t.Fatal(err)
		}
		var events []store.OutboxMessage
		for _, o := range all {
			if o.Kind == store.OutboxPartner {
				events = append(events, o)
			}
		}
		if len(events) != 1 || events[0].Type != "reservation.venue_sync_failed" || events[0].EndpointID != subscribed.ID ||
			events[0].PartnerID != w.partner || events[0].Status != store.OutboxPending {
			t.Fatalf("partner messages = %+v", events)
		}
		// The worker delivers the partner event next, signed with the endpoint's secret.
		if n, err := worker.RunOnce(ctx); n != 1 || err != nil {
			t.Fatalf("partner event run = %d, %v", n, err)
		}
		if ds := partnerRC.deliveries(events[0].EventID); len(ds) != 1 || !ds[0].Verified {
			t.Fatalf("partner receiver saw %+v", ds)
		}
	})
}

// Two workers, each with its own connection pool (as two server processes), on one
// PostgreSQL: 500 messages, each delivered exactly once.
func TestTwoWorkersOnOnePostgresDeliverEachMessageOnce(t *testing.T) {
	u := storetest.PostgresURL(t)
	ctx := ctxT(t)
	open := func() *store.DB {
		db, err := store.Open(ctx, store.Config{URL: u, MaxOpenConns: 8})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = db.Close() })
		return db
	}
	db1, db2 := open(), open()
	w := newWorld(t, db1, webhooks.KindLog, "", "")
	secret := newSecret(t)
	rc := newReceiver(t, secret, func(delivery, int) (int, string) {
		time.Sleep(time.Millisecond) // a receiver takes a little time
		return http.StatusOK, ""
	})
	e := w.endpoint(t, rc.URL, "*", secret)
	r, _ := w.confirmed(t)
	const total = 500
	msgs := w.partnerMessages(t, e, r.ID, total)
	want := make(map[string]bool, total)
	for _, m := range msgs {
		want[m.ID] = true
	}

	workers := []*webhooks.Worker{
		webhooks.NewWorker(db1, webhooks.WorkerConfig{ID: "worker-1", AllowPrivate: true, Batch: 20, Concurrency: 4, Logger: quietLogger(t)}),
		webhooks.NewWorker(db2, webhooks.WorkerConfig{ID: "worker-2", AllowPrivate: true, Batch: 20, Concurrency: 4, Logger: quietLogger(t)}),
	}
	delivered := make([]int, len(workers))
	var wg sync.WaitGroup
	errs := make(chan error, len(workers))
	for i, wk := range workers {
		wg.Go(func() {
			deadline := time.Now().Add(90 * time.Second)
			idle := 0
			for idle < 3 && time.Now().Before(deadline) {
				n, err := wk.RunOnce(ctx)
				if err != nil {
					errs <- fmt.Errorf("%s: %w", wk.ID(), err)
					return
				}
				delivered[i] += n
				if n == 0 {
					idle++
					time.Sleep(10 * time.Millisecond)
				} else {
					idle = 0
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	all, accepted := rc.snapshot()
	partnerRequests := 0
	for _, d := range all {
		if want[d.ID] {
			partnerRequests++
		}
	}
	if partnerRequests != total {
		t.Fatalf("receiver saw %d deliveries of the %d messages, want exactly %d", partnerRequests, total, total)
	}
	for id := range want {
		if accepted[id] != 1 {
			t.Fatalf("%s accepted %d times, want 1", id, accepted[id])
		}
	}
	// Both workers took part; the venue's own message (log connector) is counted too.
	if delivered[0]+delivered[1] != total+1 || delivered[0] == 0 || delivered[1] == 0 {
		t.Fatalf("delivered by worker: %v, want %d in all from both", delivered, total+1)
	}
	t.Logf("worker-1 delivered %d, worker-2 %d", delivered[0], delivered[1])
	pending, err := db1.ListOutbox(ctx, store.OutboxPending, 0)
	if err != nil || len(pending) != 0 {
		t.Fatalf("pending after the run = %d, %v", len(pending), err)
	}
}

// A 410 disables the endpoint and ends the message as failed, without a retry; later
// messages for the endpoint fail without a request.
func TestGoneDisablesTheEndpoint(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := ctxT(t)
		w := newWorld(t, db, webhooks.KindLog, "", "")
		secret := newSecret(t)
		rc := newReceiver(t, secret, func(delivery, int) (int, string) { return http.StatusGone, "" })
		e := w.endpoint(t, rc.URL, "*", secret)
		r, venueMsg := w.confirmed(t)
		first := w.partnerMessages(t, e, r.ID, 1)[0]
		worker := webhooks.NewWorker(db, fastRetries(t))
		if n, err := worker.RunOnce(ctx); n != 1 || err != nil { // the venue's (log) message
			t.Fatalf("run = %d, %v", n, err)
		}
		if row := w.message(t, first.ID); row.Status != store.OutboxFailed || row.Attempts != 1 || !strings.Contains(row.LastError, "410") {
			t.Fatalf("message after 410 = %+v", row)
		}
		got, err := db.GetWebhookEndpoint(ctx, e.ID)
		if err != nil || got.Status != store.EndpointDisabled || !strings.Contains(got.DisabledReason, "410") {
			t.Fatalf("endpoint after 410 = %+v, %v", got, err)
		}
		second := w.partnerMessages(t, e, r.ID, 1)[0]
		if _, err := worker.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
		if row := w.message(t, second.ID); row.Status != store.OutboxFailed || !strings.Contains(row.LastError, "disabled") {
			t.Fatalf("message to a disabled endpoint = %+v", row)
		}
		if all, _ := rc.snapshot(); len(all) != 1 {
			t.Fatalf("receiver saw %d requests, want 1", len(all))
		}
		if row := w.message(t, venueMsg.ID); row.Status != store.OutboxDelivered {
			t.Fatalf("venue message = %+v", row)
		}
	})
}

// A redirect is a failed attempt: not followed, retried later.
func TestRedirectIsAFailedAttempt(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		var reached atomic.Int32
		target := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, _ *http.Request) {
			reached.Add(1)
			_, _ = rw.Write([]byte(`{"reference":"WRONG"}`))
		}))
		defer target.Close()
		platform := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			http.Redirect(rw, r, target.URL, http.StatusFound)
		}))
		defer platform.Close()
		w := newWorld(t, db, webhooks.KindWebhook, platform.URL, newSecret(t))
		r, m := w.confirmed(t)
		worker := webhooks.NewWorker(db, fastRetries(t))
		if n, err := worker.RunOnce(ctxT(t)); n != 0 || err != nil {
			t.Fatalf("run = %d, %v", n, err)
		}
		if reached.Load() != 0 {
			t.Fatal("the redirect was followed")
		}
		if row := w.message(t, m.ID); row.Status != store.OutboxPending || row.Attempts != 1 || !strings.Contains(row.LastError, "302") {
			t.Fatalf("message = %+v", row)
		}
		if got := w.reservation(t, r.ID); got.VenueSyncStatus != store.VenueSyncPending || !strings.Contains(got.VenueSyncError, "redirect") {
			t.Fatalf("reservation = %q %q", got.VenueSyncStatus, got.VenueSyncError)
		}
	})
}

// The worker's own client refuses private addresses unless allowed, whatever the
// stored URL says.
func TestWorkerRefusesPrivateAddressesUnlessAllowed(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		secret := newSecret(t)
		platform := newReceiver(t, secret, func(delivery, int) (int, string) { return http.StatusOK, "" })
		w := newWorld(t, db, webhooks.KindWebhook, platform.URL, secret)
		r, m := w.confirmed(t)
		cfg := fastRetries(t)
		cfg.AllowPrivate = false
		if n, err := webhooks.NewWorker(db, cfg).RunOnce(ctxT(t)); n != 0 || err != nil {
			t.Fatalf("run = %d, %v", n, err)
		}
		if all, _ := platform.snapshot(); len(all) != 0 {
			t.Fatalf("a loopback platform was reached %d times", len(all))
		}
		if row := w.message(t, m.ID); row.Status != store.OutboxPending || !strings.Contains(row.LastError, "not allowed") {
			t.Fatalf("message = %+v", row)
		}
		if got := w.reservation(t, r.ID); got.VenueSyncError != "The venue's platform's address is not allowed." {
			t.Fatalf("reservation error = %q", got.VenueSyncError)
		}
	})
}

// DeliverNow, as finalize calls it: against a healthy platform the reservation is synced
// when it returns; against a down or slow one it returns within its deadline and leaves
// the message pending with its next attempt scheduled.
func TestDeliverNow(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := ctxT(t)
		var mode atomic.Value
		mode.Store("up")
		secret := newSecret(t)
		platform := newReceiver(t, secret, func(delivery, int) (int, string) {
			switch mode.Load() {
			case "down":
				return http.StatusBadGateway, ""
			default:
				return http.StatusOK, `{"platform_reference":"OT-7781"}`
			}
		})
		slowRelease := make(chan struct{})
		slow := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			select {
			case <-slowRelease:
			case <-r.Context().Done():
			}
			rw.WriteHeader(http.StatusOK)
		}))
		t.Cleanup(slow.Close)
		t.Cleanup(func() { close(slowRelease) })
		w := newWorld(t, db, webhooks.KindWebhook, platform.URL, secret)
		clk := newClock()
		cfg := fastRetries(t)
		cfg.Now = clk.Now
		worker := webhooks.NewWorker(db, cfg)

		r, m := w.confirmed(t)
		if err := worker.DeliverNow(ctx, m.ID, 2*time.Second); err != nil {
			t.Fatalf("DeliverNow against a healthy platform: %v", err)
		}
		got := w.reservation(t, r.ID)
		if got.VenueSyncStatus != store.VenueSyncSynced || got.VenueSyncReference != "OT-7781" || got.VenueSyncAttempts != 1 {
			t.Fatalf("after DeliverNow: %q %q %d", got.VenueSyncStatus, got.VenueSyncReference, got.VenueSyncAttempts)
		}
		if err := worker.DeliverNow(ctx, m.ID, 2*time.Second); !errors.Is(err, webhooks.ErrNotClaimable) {
			t.Fatalf("DeliverNow of a delivered message = %v, want ErrNotClaimable", err)
		}
		if ds := platform.deliveries(m.ID); len(ds) != 1 || !ds[0].Verified {
			t.Fatalf("platform saw %+v", ds)
		}

		mode.Store("down")
		r2, m2 := w.confirmed(t)
		var se *webhooks.StatusError
		if err := worker.DeliverNow(ctx, m2.ID, 2*time.Second); !errors.As(err, &se) || se.StatusCode != http.StatusBadGateway {
			t.Fatalf("DeliverNow against a down platform = %v", err)
		}
		row := w.message(t, m2.ID)
		if row.Status != store.OutboxPending || row.Attempts != 1 || !row.NextAttemptAt.After(clk.Now()) || row.ClaimedBy != "" {
			t.Fatalf("message left for the worker = %+v", row)
		}
		if got = w.reservation(t, r2.ID); got.VenueSyncStatus != store.VenueSyncPending || got.VenueSyncAttempts != 1 {
			t.Fatalf("reservation left pending: %q %d", got.VenueSyncStatus, got.VenueSyncAttempts)
		}

		// A platform that does not answer: DeliverNow gives up at its deadline.
		slowWorld := newWorld(t, db, webhooks.KindWebhook, slow.URL, secret)
		r3, m3 := slowWorld.confirmed(t)
		start := time.Now()
		err := worker.DeliverNow(ctx, m3.ID, 300*time.Millisecond)
		if took := time.Since(start); err == nil || took > 2*time.Second {
			t.Fatalf("DeliverNow against a silent platform = %v after %s", err, took)
		}
		if row = w.message(t, m3.ID); row.Status != store.OutboxPending || row.Attempts != 1 || row.ClaimedBy != "" {
			t.Fatalf("message after a timeout = %+v", row)
		}
		if got = w.reservation(t, r3.ID); got.VenueSyncError != "The venue's platform did not answer in time." {
			t.Fatalf("reservation error after a timeout = %q", got.VenueSyncError)
		}
	})
}

// The log connector keeps the payload as a venue notification, once, and syncs with
// reference log_<message id>. A venue with no platform kind is treated the same.
func TestLogConnector(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := ctxT(t)
		for _, kind := range []string{webhooks.KindLog, ""} {
			w := newWorld(t, db, kind, "", "")
			r, m := w.confirmed(t)
			if n, err := webhooks.NewWorker(db, fastRetries(t)).RunOnce(ctx); n != 1 || err != nil {
				t.Fatalf("kind %q: run = %d, %v", kind, n, err)
			}
			got := w.reservation(t, r.ID)
			if got.VenueSyncStatus != store.VenueSyncSynced || got.VenueSyncReference != "log_"+m.ID {
				t.Fatalf("kind %q: reservation %q %q", kind, got.VenueSyncStatus, got.VenueSyncReference)
			}
			inbox, err := db.ListVenueNotifications(ctx, w.venue.ID, 10)
			if err != nil || len(inbox) != 1 || inbox[0].ID != m.ID || inbox[0].ReservationID != r.ID ||
				inbox[0].Type != "reservation.confirmed" || !bytes.Equal(inbox[0].Payload, w.message(t, m.ID).Payload) {
				t.Fatalf("kind %q: inbox = %+v, %v", kind, inbox, err)
			}
			var payload map[string]any
			if err := json.Unmarshal(inbox[0].Payload, &payload); err != nil || payload["id"] != m.ID || payload["type"] != "reservation.confirmed" {
				t.Fatalf("kind %q: default payload = %s", kind, inbox[0].Payload)
			}
		}
	})
}

// A worker that died holding a message: once its lease runs out another worker delivers
// it, under the same webhook-id.
func TestExpiredLeaseIsTakenOver(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := ctxT(t)
		w := newWorld(t, db, webhooks.KindLog, "", "")
		secret := newSecret(t)
		rc := newReceiver(t, secret, func(delivery, int) (int, string) { return http.StatusOK, "" })
		e := w.endpoint(t, rc.URL, "*", secret)
		r, venueMsg := w.confirmed(t)
		m := w.partnerMessages(t, e, r.ID, 1)[0]
		clk := newClock()
		if got, err := db.ClaimOutbox(ctx, "dead-worker", clk.Now(), clk.Now().Add(time.Minute), 10); err != nil || len(got) != 2 {
			t.Fatalf("dead worker's claim = %d, %v", len(got), err)
		}
		cfg := fastRetries(t)
		cfg.Now = clk.Now
		worker := webhooks.NewWorker(db, cfg)
		if n, err := worker.RunOnce(ctx); n != 0 || err != nil {
			t.Fatalf("run during the lease = %d, %v", n, err)
		}
		clk.Advance(61 * time.Second)
		if n, err := worker.RunOnce(ctx); n != 2 || err != nil {
			t.Fatalf("run after the lease = %d, %v", n, err)
		}
		if ds := rc.deliveries(m.ID); len(ds) != 1 || !ds[0].Verified {
			t.Fatalf("deliveries = %+v", ds)
		}
		if row := w.message(t, venueMsg.ID); row.Status != store.OutboxDelivered {
			t.Fatalf("venue message = %+v", row)
		}
	})
}

// A venue's platform hears of a booking before its cancellation, even when the
// booking's delivery has to be retried.
func TestVenueMessagesOfAReservationAreDeliveredInOrder(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := ctxT(t)
		secret := newSecret(t)
		var order []string
		var mu sync.Mutex
		platform := newReceiver(t, secret, func(d delivery, nth int) (int, string) {
			var p struct{ Type string }
			_ = json.Unmarshal(d.Body, &p)
			if p.Type == "reservation.confirmed" && nth == 0 {
				return http.StatusServiceUnavailable, ""
			}
			mu.Lock()
			order = append(order, p.Type)
			mu.Unlock()
			return http.StatusOK, ""
		})
		w := newWorld(t, db, webhooks.KindWebhook, platform.URL, secret)
		r, confirmed := w.confirmed(t)
		cancelled := store.OutboxMessage{
			ID: ids.New("msg"), Kind: store.OutboxVenue, Type: "reservation.cancelled", ReservationID: r.ID,
			PartnerID: w.partner, VenueID: w.venue.ID, CreatedAt: t0.Add(time.Second),
		}
		if err := db.Transact(ctx, func(tx *store.Tx) error { return tx.InsertOutbox([]store.OutboxMessage{cancelled}) }); err != nil {
			t.Fatal(err)
		}
		worker := webhooks.NewWorker(db, fastRetries(t))
		runUntil(t, func() bool { return w.message(t, cancelled.ID).Status == store.OutboxDelivered }, worker)
		mu.Lock()
		defer mu.Unlock()
		if len(order) != 2 || order[0] != "reservation.confirmed" || order[1] != "reservation.cancelled" {
			t.Fatalf("platform accepted %v", order)
		}
		if row := w.message(t, confirmed.ID); row.Attempts != 2 {
			t.Fatalf("confirmation attempts = %d", row.Attempts)
		}
	})
}

// Run delivers in the background until its context ends, and then returns.
func TestRunDeliversUntilCancelled(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db, webhooks.KindLog, "", "")
		_, m := w.confirmed(t)
		ctx, cancel := context.WithCancel(ctxT(t))
		done := make(chan struct{})
		go func() {
			defer close(done)
			webhooks.NewWorker(db, fastRetries(t)).Run(ctx, 10*time.Millisecond)
		}()
		deadline := time.Now().Add(10 * time.Second)
		for w.message(t, m.ID).Status != store.OutboxDelivered {
			if time.Now().After(deadline) {
				t.Fatal("Run did not deliver the message")
			}
			time.Sleep(10 * time.Millisecond)
		}
		cancel()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("Run did not return after its context ended")
		}
	})
}
