package server_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prima-dining/partner-api/payments"
	"github.com/prima-dining/partner-api/payments/stripetest"
	client "github.com/prima-dining/partner-api/sdk/go"
	"github.com/prima-dining/partner-api/store"
	"github.com/prima-dining/partner-api/store/storetest"
)

// fakeClock is a clock a test advances; nothing in these tests sleeps.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *fakeClock) advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// keysSent lists the idempotency keys of the requests ep received, oldest first.
func keysSent(srv *stripetest.Server, ep stripetest.Endpoint) []string {
	var out []string
	for _, r := range srv.Requests() {
		if r.Endpoint == ep {
			out = append(out, r.IdempotencyKey)
		}
	}
	return out
}

// A cancel that Stripe answered with an error it stores under the key (and would replay
// for 24 h) is retried by the sweeper with a new key, after a backoff that doubles, and
// succeeds; within the backoff the sweeper sends nothing.
func TestSweeperRetriesAStoredCancelFailureWithANewKeyAfterABackoff(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		clock := &fakeClock{t: time.Now()}
		e, srv := stripeEnv(t, db, withClock(clock.now))
		_, slots := e.addVenue(slotSpec{tables: 1, prime: true})
		ctx := context.Background()
		h := e.hold(slots[0].ID, 2)
		pi := h.Payment.PaymentIntentId
		srv.Authorize(pi)
		stored := stripetest.Error{Status: http.StatusInternalServerError, Type: "api_error", Message: "stripetest: stored failure", Stored: true}
		srv.ErrorNext(stripetest.CancelIntent, 1, stored)

		sweep := func() {
			t.Helper()
			if _, err := e.booking.Payments.Sweep(ctx); err != nil {
				t.Fatal(err)
			}
		}
		clock.advance(11 * time.Minute) // past the 10-minute hold
		sweep()
		if got := keysSent(srv, stripetest.CancelIntent); len(got) != 1 || got[0] != "prima-cancel-"+h.Id+"-0" {
			t.Fatalf("first cancel keys %v", got)
		}
		// The first key is spent: Stripe answers it with the stored failure forever.
		if _, err := srv.Gateway().Cancel(ctx, pi, "prima-cancel-"+h.Id+"-0"); err == nil {
			t.Fatal("the spent key was not replayed as a failure")
		}
		before := srv.Calls(stripetest.CancelIntent)
		srv.ErrorNext(stripetest.CancelIntent, 1, stored) // the second attempt fails too

		// Within the 2 s backoff the sweeper, however often it runs, sends nothing.
		for range 5 {
			sweep()
		}
		clock.advance(1900 * time.Millisecond)
		sweep()
		if n := srv.Calls(stripetest.CancelIntent); n != before {
			t.Fatalf("%d cancels within the backoff", n-before)
		}
		clock.advance(200 * time.Millisecond)
		sweep() // second try, new key; fails again (stored): now 4 s
		clock.advance(3900 * time.Millisecond)
		sweep()
		clock.advance(200 * time.Millisecond)
		sweep() // third try, new key: succeeds

		// The sweeper's requests: the first, then those after the test's own replays.
		all := keysSent(srv, stripetest.CancelIntent)
		keys := append(all[:1:1], all[before:]...)
		want := []string{"prima-cancel-" + h.Id + "-0", "prima-cancel-" + h.Id + "-1", "prima-cancel-" + h.Id + "-2"}
		if len(keys) != len(want) {
			t.Fatalf("cancel keys %v, want %v", keys, want)
		}
		for i := range want {
			if keys[i] != want[i] {
				t.Fatalf("cancel keys %v, want %v", keys, want)
			}
		}
		if in := srv.Intent(pi); in.Status != payments.StatusCanceled {
			t.Fatalf("Stripe intent %s, want canceled", in.Status)
		}
		got := e.get(h.Id)
		if got.Status != client.ReservationStatusExpired || got.Payment.Status != client.PaymentIntentStatusCanceled {
			t.Fatalf("reservation %s, payment %s", got.Status, got.Payment.Status)
		}
		row, err := db.GetReservation(ctx, "", h.Id)
		if err != nil || row.PaymentAttempt != 2 || row.PaymentFailures != 0 || row.PaymentRetryAt != nil {
			t.Fatalf("attempt %d, failures %d, retry at %v (%v); want 2, 0, none", row.PaymentAttempt, row.PaymentFailures, row.PaymentRetryAt, err)
		}
		// Done: later sweeps send nothing.
		clock.advance(time.Hour)
		sweep()
		if n := len(keysSent(srv, stripetest.CancelIntent)); n != len(all) {
			t.Fatalf("%d cancels after success", n-len(all))
		}
	})
}

// A cancel that timed out has no answer (it may have been done): the retry is the same
// attempt and sends the same key, and Stripe answers the first request's result.
func TestCancelRetriedAfterATimeoutReusesItsKey(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		clock := &fakeClock{t: time.Now()}
		e, srv := stripeEnv(t, db, withClock(clock.now))
		_, slots := e.addVenue(slotSpec{tables: 1, prime: true})
		ctx := context.Background()
		h := e.hold(slots[0].ID, 2)
		pi := h.Payment.PaymentIntentId
		srv.Authorize(pi)
		// Longer than the gateway's timeout: the gateway gives up, Stripe cancels anyway.
		srv.HangNext(stripetest.CancelIntent, 1, 3*stripetest.DefaultTimeout)
		c, err := e.client.CancelReservationWithResponse(ctx, h.Id, &client.CancelReservationParams{}, client.CancelReservationRequest{})
		if err != nil || c.JSON200 == nil || c.JSON200.Status != client.ReservationStatusReleased {
			t.Fatalf("release: %v %s", err, c.Body)
		}
		if c.JSON200.Payment.Status == client.PaymentIntentStatusCanceled {
			t.Fatal("the timed-out cancel was recorded as done")
		}
		row, err := db.GetReservation(ctx, "", h.Id)
		if err != nil || row.PaymentAttempt != 0 || row.PaymentFailures != 1 {
			t.Fatalf("after the timeout: attempt %d failures %d (%v); want 0, 1", row.PaymentAttempt, row.PaymentFailures, err)
		}
		clock.advance(paymentBackoffFirst)
		if _, err := e.booking.Payments.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		keys := keysSent(srv, stripetest.CancelIntent)
		if len(keys) < 2 {
			t.Fatalf("cancel keys %v: the sweeper did not retry", keys)
		}
		for _, k := range keys {
			if k != "prima-cancel-"+h.Id+"-0" {
				t.Fatalf("cancel keys %v: a retry of one attempt changed its key", keys)
			}
		}
		if got := e.get(h.Id); got.Payment.Status != client.PaymentIntentStatusCanceled {
			t.Fatalf("payment %s after the retry", got.Payment.Status)
		}
		if in := srv.Intent(pi); in.Status != payments.StatusCanceled {
			t.Fatalf("Stripe intent %s", in.Status)
		}
	})
}

// paymentBackoffFirst is the sweeper's first wait after a failed provider call.
const paymentBackoffFirst = 2 * time.Second

// A change whose payment intent Stripe made but whose answer timed out is retried by the
// partner with the same Idempotency-Key: the retry sends Stripe the same key and gets the
// same intent back, so no second intent is made; with another key it is a new attempt.
// Both for a held prime booking (a new intent for the new total) and for a confirmed one
// (an intent for the difference).
func TestChangeRetriedAfterAStripeTimeoutMakesOneIntent(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		e, srv := stripeEnv(t, db)
		_, slots := e.addVenue(slotSpec{tables: 2, prime: true, in: 72 * time.Hour})
		intents := func() int { return len(srv.Intents()) }
		patch := func(id, k string, party int) (int, []byte) {
			s, _, b := e.do("PATCH", "/v1/reservations/"+id, e.token, fmt.Sprintf(`{"party_size":%d}`, party), "Idempotency-Key", k)
			return s, b
		}
		held := e.hold(slots[0].ID, 2)
		confirmed := e.hold(slots[0].ID, 2)
		srv.Authorize(confirmed.Payment.PaymentIntentId)
		if fin := e.finalize(confirmed.Id); fin.JSON200 == nil {
			t.Fatalf("finalize: %d %s", fin.StatusCode(), fin.Body)
		}
		for _, r := range []*client.Reservation{held, confirmed} {
			before := intents()
			k := key()
			// Longer than the gateway's timeout: PRIMA gives up, Stripe made the intent.
			srv.HangNext(stripetest.CreateIntent, 1, 3*stripetest.DefaultTimeout)
			if s, b := patch(r.Id, k, 3); s < 500 {
				t.Fatalf("%s: the change whose intent timed out answered %d %s", r.Status, s, b)
			}
			// Stripe finishes the request after PRIMA gave up on it.
			for deadline := time.Now().Add(30 * time.Second); intents() == before; time.Sleep(10 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("%s: the timed-out create made no intent", r.Status)
				}
			}
			if got := intents(); got != before+1 {
				t.Fatalf("%s: %d intents made by the timed-out change, want 1", r.Status, got-before)
			}
			s, b := patch(r.Id, k, 3)
			if s != http.StatusOK {
				t.Fatalf("%s: the retry answered %d %s", r.Status, s, b)
			}
			if got := intents(); got != before+1 {
				t.Fatalf("%s: %d intents after the retry with the same key, want 1", r.Status, got-before)
			}
			keys := keysSent(srv, stripetest.CreateIntent)
			if last := keys[len(keys)-1]; last != keys[len(keys)-2] || !strings.HasPrefix(last, "prima-") {
				t.Fatalf("%s: keys of the two tries %v", r.Status, keys[len(keys)-2:])
			}
			// Another request is another attempt: a key of its own.
			if s, b := patch(r.Id, key(), 4); s != http.StatusOK {
				t.Fatalf("%s: another change: %d %s", r.Status, s, b)
			}
			if keys := keysSent(srv, stripetest.CreateIntent); keys[len(keys)-1] == keys[len(keys)-2] {
				t.Fatalf("%s: another request reused the key %s", r.Status, keys[len(keys)-1])
			}
		}
	})
}
