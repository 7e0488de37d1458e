package server_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/prima-dining/partner-api/payments"
	"github.com/prima-dining/partner-api/payments/stripetest"
	client "github.com/prima-dining/partner-api/sdk/go"
	"github.com/prima-dining/partner-api/store"
	"github.com/prima-dining/partner-api/store/storetest"
)

// A no-show fee whose off-session charge meets a Stripe outage (a 500, not a decline)
// stays pending and is retried by the sweeper once its backoff has passed, under the
// same idempotency key, and charged exactly once when Stripe is back. A fee Stripe keeps
// failing is tried a bounded number of times, backing off, and then left unpaid with
// payment_provider_error and one reservation.fee_failed; the sweeper then leaves it be.
func TestFeeLeftPendingByAStripeOutageIsRetriedBySweeperThenUnpaid(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		clock := &fakeClock{t: time.Now()}
		e, srv := stripeEnv(t, db, withClock(clock.now))
		ctx := context.Background()
		v, slots := e.addVenue(slotSpec{tables: 2, in: 3 * time.Hour})
		op := e.newOperatorToken("lupa-group", []string{v.ID})
		if s, _, b := e.do("PATCH", "/v1/operator/venues/"+v.ID, op, `{"payment_policy":{"type":"card_guarantee","amount":3000,"per":"cover"}}`, "Idempotency-Key", key()); s != http.StatusOK {
			t.Fatalf("card guarantee: %d %s", s, b)
		}
		if s, _, b := e.do("POST", "/v1/webhook_endpoints", e.token, `{"url":"https://partner-a.example/hooks","events":["reservation.fee_failed"]}`, "Idempotency-Key", key()); s != http.StatusCreated {
			t.Fatalf("webhook endpoint: %d %s", s, b)
		}
		book := func() string {
			h := e.hold(slots[0].ID, 2)
			srv.ConfirmSetup(h.CardGuarantee.SetupIntentId, payments.TestCardVisa)
			if fin := e.finalize(h.Id); fin.JSON200 == nil {
				t.Fatalf("finalize: %d %s", fin.StatusCode(), fin.Body)
			}
			return h.Id
		}
		recovers, keepsFailing := book(), book()
		// feeKeys lists the idempotency keys of the off-session charges of reservation id.
		feeKeys := func(id string) []string {
			var keys []string
			for _, r := range srv.Requests() {
				if r.Endpoint == stripetest.CreateIntent && r.Params.Get("metadata[reservation_id]") == id {
					keys = append(keys, r.IdempotencyKey)
				}
			}
			return keys
		}
		sameKey := func(keys []string) bool {
			for _, k := range keys {
				if k == "" || k != keys[0] {
					return false
				}
			}
			return true
		}
		row := func(id string) store.Reservation {
			r, err := e.db.GetReservation(ctx, "", id)
			if err != nil {
				t.Fatal(err)
			}
			return r
		}
		sweep := func() {
			if _, err := e.booking.Payments.Sweep(ctx); err != nil {
				t.Fatal(err)
			}
		}
		noShow := func(id string) {
			if s, _, b := e.do("POST", "/v1/operator/reservations/"+id+"/outcome", op, `{"status":"no_show"}`, "Idempotency-Key", key()); s != http.StatusOK {
				t.Fatalf("no_show: %d %s", s, b)
			}
		}
		clock.advance(4 * time.Hour) // the bookings have started

		// One outage: pending, retried after its backoff, paid once.
		srv.FailNext(stripetest.CreateIntent, 1)
		noShow(recovers)
		if r := row(recovers); r.Status != "no_show" || r.FeeStatus != "pending" || r.FeeFailures != 1 || r.FeeRetryAt == nil || !r.FeeRetryAt.After(clock.now()) {
			t.Fatalf("after the outage: %s %s failures=%d retry_at=%v", r.Status, r.FeeStatus, r.FeeFailures, r.FeeRetryAt)
		}
		if g := e.get(recovers).CardGuarantee; deref(g.FeeStatus) != "pending" {
			t.Fatalf("partner sees the fee %s", deref(g.FeeStatus))
		}
		sweep() // before the backoff has passed: not tried
		if n := len(feeKeys(recovers)); n != 1 {
			t.Fatalf("%d charges before the backoff passed", n)
		}
		clock.advance(31 * time.Second)
		sweep()
		sweep()
		r := row(recovers)
		if r.FeeStatus != "paid" || r.FeeIntentID == nil || r.FeeRetryAt != nil {
			t.Fatalf("after the retry: %s %v", r.FeeStatus, r.FeeRetryAt)
		}
		if keys := feeKeys(recovers); len(keys) != 2 || !sameKey(keys) {
			t.Fatalf("charges of the recovered fee: %v", keys)
		}
		var fees []payments.Intent
		for _, in := range srv.Intents() {
			if srv.Metadata(in.ID)["reservation_id"] == recovers {
				fees = append(fees, in)
			}
		}
		if len(fees) != 1 || fees[0].AmountCaptured != 6000 || fees[0].ID != *r.FeeIntentID {
			t.Fatalf("Stripe fees: %+v", fees)
		}

		// Stripe keeps failing: bounded tries with a growing backoff, then unpaid.
		srv.FailNext(stripetest.CreateIntent, 1000)
		noShow(keepsFailing)
		var waits []time.Duration
		for range 30 {
			r := row(keepsFailing)
			if r.FeeStatus != "pending" {
				break
			}
			waits = append(waits, r.FeeRetryAt.Sub(clock.now()).Round(time.Second))
			clock.advance(r.FeeRetryAt.Sub(clock.now()) + time.Second)
			sweep()
		}
		r = row(keepsFailing)
		keys := feeKeys(keepsFailing)
		if r.FeeStatus != "unpaid" || r.FeeDeclineCode != "payment_provider_error" || r.FeeFailures != 8 || len(keys) != 8 || !sameKey(keys) {
			t.Fatalf("after Stripe kept failing: %s %q failures=%d, %d charges %v", r.FeeStatus, r.FeeDeclineCode, r.FeeFailures, len(keys), keys)
		}
		for i := 1; i < len(waits); i++ {
			if waits[i] < waits[i-1] {
				t.Fatalf("backoff shrank: %v", waits)
			}
		}
		if waits[0] != 30*time.Second || waits[len(waits)-1] != 15*time.Minute {
			t.Fatalf("backoff: %v", waits)
		}
		if g := e.get(keepsFailing).CardGuarantee; deref(g.FeeStatus) != "unpaid" || deref(g.FeeDeclineCode) != "payment_provider_error" || e.get(keepsFailing).Status != client.ReservationStatusNoShow {
			t.Fatalf("partner sees %+v", g)
		}
		if n := e.count(t, "SELECT count(*) FROM outbox WHERE kind = 'partner' AND type = 'reservation.fee_failed' AND reservation_id = ?", keepsFailing); n != 1 {
			t.Fatalf("reservation.fee_failed messages: %d, want 1", n)
		}
		clock.advance(time.Hour)
		sweep()
		if n := len(feeKeys(keepsFailing)); n != 8 {
			t.Fatalf("an unpaid fee was tried again: %d charges", n)
		}
		if n := e.count(t, "SELECT count(*) FROM outbox WHERE kind = 'partner' AND type = 'reservation.fee_failed' AND reservation_id = ?", recovers); n != 0 {
			t.Fatalf("reservation.fee_failed for the recovered fee: %d", n)
		}
	})
}

// A card-guarantee hold that lapses cancels its Stripe SetupIntent (reason abandoned,
// with a key of its own), through the sweeper, which retries a cancel Stripe failed
// after its backoff; a released hold cancels it at once. A hold whose card was saved
// before it lapsed is left as it is (nothing to cancel) and not tried again.
func TestLapsedOrReleasedCardGuaranteeHoldCancelsItsSetupIntent(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		clock := &fakeClock{t: time.Now()}
		e, srv := stripeEnv(t, db, withClock(clock.now))
		ctx := context.Background()
		v, slots := e.addVenue(slotSpec{tables: 3, in: 48 * time.Hour})
		op := e.newOperatorToken("lupa-group", []string{v.ID})
		if s, _, b := e.do("PATCH", "/v1/operator/venues/"+v.ID, op, `{"payment_policy":{"type":"card_guarantee","amount":3000,"per":"cover"}}`, "Idempotency-Key", key()); s != http.StatusOK {
			t.Fatalf("card guarantee: %d %s", s, b)
		}
		lapses, saved, released := e.hold(slots[0].ID, 2), e.hold(slots[0].ID, 2), e.hold(slots[0].ID, 2)
		srv.ConfirmSetup(saved.CardGuarantee.SetupIntentId, payments.TestCardVisa)
		setup := func(h *client.Reservation) (payments.SetupIntent, string) {
			return srv.Setup(h.CardGuarantee.SetupIntentId)
		}

		c, _ := e.client.CancelReservationWithResponse(ctx, released.Id, &client.CancelReservationParams{}, client.CancelReservationRequest{})
		if c.JSON200 == nil || c.JSON200.Status != client.ReservationStatusReleased || c.JSON200.CardGuarantee.Status != payments.SetupCanceled {
			t.Fatalf("release: %s", c.Body)
		}
		if si, reason := setup(released); si.Status != payments.SetupCanceled || reason != "abandoned" {
			t.Fatalf("released hold's SetupIntent: %s %q", si.Status, reason)
		}

		clock.advance(11 * time.Minute) // past PRIMA_HOLD_TTL
		srv.FailNext(stripetest.CancelSetup, 1)
		if _, err := e.booking.Payments.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		if si, _ := setup(lapses); si.Status == payments.SetupCanceled {
			t.Fatal("cancelled through the outage")
		}
		if got := e.get(lapses.Id); got.Status != client.ReservationStatusExpired {
			t.Fatalf("lapsed hold: %s", got.Status)
		}
		calls := srv.Calls(stripetest.CancelSetup)
		if _, err := e.booking.Payments.Sweep(ctx); err != nil { // inside the backoff: not tried
			t.Fatal(err)
		}
		if n := srv.Calls(stripetest.CancelSetup); n != calls {
			t.Fatalf("tried again inside the backoff: %d calls, was %d", n, calls)
		}
		clock.advance(time.Minute)
		for range 2 {
			if _, err := e.booking.Payments.Sweep(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if si, reason := setup(lapses); si.Status != payments.SetupCanceled || reason != "abandoned" {
			t.Fatalf("lapsed hold's SetupIntent: %s %q", si.Status, reason)
		}
		if si, _ := setup(saved); si.Status != payments.SetupSucceeded {
			t.Fatalf("saved card's SetupIntent: %s", si.Status)
		}
		for _, h := range []*client.Reservation{lapses, saved, released} {
			r, err := e.db.GetReservation(ctx, "", h.Id)
			want := payments.SetupCanceled
			if h == saved {
				want = payments.SetupSucceeded
			}
			if err != nil || r.SetupStatus != want {
				t.Fatalf("row of %s: %v %q, want %q", h.Id, err, r.SetupStatus, want)
			}
		}
		var keys []string
		for _, r := range srv.Requests() {
			if r.Endpoint == stripetest.CancelSetup {
				keys = append(keys, r.IdempotencyKey)
			}
		}
		// released, the failed and the successful try of lapses, the saved card's once.
		if len(keys) != 4 {
			t.Fatalf("cancels sent: %v", keys)
		}
		for _, k := range keys {
			if k == "" {
				t.Fatalf("a cancel without an idempotency key: %v", keys)
			}
		}
	})
}
