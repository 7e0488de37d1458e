package server_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/prima-dining/partner-api/payments"
	client "github.com/prima-dining/partner-api/sdk/go"
	"github.com/prima-dining/partner-api/store"
	"github.com/prima-dining/partner-api/store/storetest"
)

// A card-guarantee venue (USD 30.00 per guest on a no-show or late cancellation): the
// hold charges nothing and returns the SetupIntent's client_secret; finalize books only
// once the card is saved; the operator's no_show, retried five times (two at once),
// charges the fee exactly once off-session with the saved card. A card that needs
// authentication leaves the no-show recorded, the fee unpaid, and sends the partner
// reservation.fee_failed. A cancellation inside the fee window charges the fee too.
func TestCardGuaranteeNoShowChargesTheFeeOnceAndAFailureIsReported(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		clock := &fakeClock{t: time.Now()}
		e, srv := stripeEnv(t, db, withClock(clock.now))
		ctx := context.Background()
		v, slots := e.addVenue(slotSpec{tables: 3, in: 3 * time.Hour}, slotSpec{tables: 1, in: 3 * time.Hour})
		op := e.newOperatorToken("lupa-group", []string{v.ID})
		if s, _, b := e.do("PATCH", "/v1/operator/venues/"+v.ID, op, `{"payment_policy":{"type":"card_guarantee","amount":3000,"per":"cover"}}`, "Idempotency-Key", key()); s != http.StatusOK {
			t.Fatalf("set the card guarantee: %d %s", s, b)
		}
		if s, _, b := e.do("POST", "/v1/webhook_endpoints", e.token, `{"url":"https://partner-a.example/hooks","events":["reservation.fee_failed","reservation.no_show"]}`, "Idempotency-Key", key()); s != http.StatusCreated {
			t.Fatalf("webhook endpoint: %d %s", s, b)
		}

		book := func(slotID, card string) client.Reservation {
			h := e.hold(slotID, 2)
			if h.Payment != nil || h.CardGuarantee == nil || h.CardGuarantee.ClientSecret == "" || h.PaymentPolicy.Type != client.PaymentPolicyTypeCardGuarantee ||
				deref(h.PaymentPolicy.Amount) != 3000 {
				t.Fatalf("hold: %+v", h)
			}
			if md := srv.SetupMetadata(h.CardGuarantee.SetupIntentId); md["reservation_id"] != h.Id {
				t.Fatalf("setup intent metadata: %v", md)
			}
			// Not before the card is saved.
			if fin := e.finalize(h.Id); fin.StatusCode() != http.StatusPaymentRequired && fin.StatusCode() != http.StatusConflict {
				t.Fatalf("finalize before the card was saved: %d %s", fin.StatusCode(), fin.Body)
			}
			srv.ConfirmSetup(h.CardGuarantee.SetupIntentId, card)
			fin := e.finalize(h.Id)
			if fin.JSON200 == nil || fin.JSON200.Status != client.ReservationStatusConfirmed || fin.JSON200.CardGuarantee.Status != payments.SetupSucceeded {
				t.Fatalf("finalize: %d %s", fin.StatusCode(), fin.Body)
			}
			return *fin.JSON200
		}
		good := book(slots[0].ID, payments.TestCardVisa)
		needsAuth := book(slots[0].ID, payments.TestCardAuthenticationRequired)
		late := book(slots[1].ID, payments.TestCardVisa)
		if n := len(srv.Intents()); n != 0 {
			t.Fatalf("%d payment intents before any fee", n)
		}

		// Cancelled inside the fee window (free until 24 hours before): the fee is charged.
		c, _ := e.client.CancelReservationWithResponse(ctx, late.Id, &client.CancelReservationParams{}, client.CancelReservationRequest{})
		if c.JSON200 == nil || c.JSON200.Status != client.ReservationStatusCancelled || deref(c.JSON200.CardGuarantee.FeeStatus) != "paid" ||
			deref(c.JSON200.CardGuarantee.FeeReason) != "late_cancel" || deref(c.JSON200.CardGuarantee.FeeAmount) != 6000 {
			t.Fatalf("late cancel: %s", c.Body)
		}
		row, err := e.db.GetReservation(ctx, "", late.Id)
		if err != nil || row.FeeStatus != "paid" || row.FeeIntentID == nil || row.CardPaymentMethod != payments.TestCardVisa {
			t.Fatalf("row: %v %+v", err, row)
		}

		clock.advance(4 * time.Hour) // the bookings have started
		outcome := func(id string) int {
			s, _, _ := e.do("POST", "/v1/operator/reservations/"+id+"/outcome", op, `{"status":"no_show"}`, "Idempotency-Key", key())
			return s
		}
		var wg sync.WaitGroup
		codes := make([]int, 2)
		for i := range 2 {
			wg.Go(func() { codes[i] = outcome(good.Id) })
		}
		wg.Wait()
		for range 3 {
			codes = append(codes, outcome(good.Id))
		}
		for _, c := range codes {
			if c != http.StatusOK {
				t.Fatalf("no_show answers %v", codes)
			}
		}
		got := e.get(good.Id)
		g := got.CardGuarantee
		if got.Status != client.ReservationStatusNoShow || g == nil || deref(g.FeeStatus) != "paid" || deref(g.FeeAmount) != 6000 || deref(g.FeeReason) != "no_show" {
			t.Fatalf("after no_show: %+v %+v", got, g)
		}
		var fees []payments.Intent
		for _, in := range srv.Intents() {
			if srv.Metadata(in.ID)["reservation_id"] == good.Id {
				fees = append(fees, in)
			}
		}
		if len(fees) != 1 || fees[0].AmountCaptured != 6000 || fees[0].ID != deref(g.FeePaymentIntentId) {
			t.Fatalf("Stripe fees of the no-show: %+v", fees)
		}
		if md := srv.Metadata(deref(g.FeePaymentIntentId)); md["reservation_id"] != good.Id || md["reason"] != "no_show" {
			t.Fatalf("fee metadata: %v", md)
		}

		if c := outcome(needsAuth.Id); c != http.StatusOK {
			t.Fatalf("no_show of the card needing authentication: %d", c)
		}
		got = e.get(needsAuth.Id)
		if g := got.CardGuarantee; got.Status != client.ReservationStatusNoShow || deref(g.FeeStatus) != "unpaid" || deref(g.FeeDeclineCode) != payments.DeclineAuthenticationRequired {
			t.Fatalf("authentication required: %+v %+v", got, got.CardGuarantee)
		}
		if n := e.count(t, "SELECT count(*) FROM outbox WHERE kind = 'partner' AND type = 'reservation.fee_failed' AND reservation_id = ?", needsAuth.Id); n != 1 {
			t.Fatalf("reservation.fee_failed messages: %d, want 1", n)
		}
		if c := outcome(needsAuth.Id); c != http.StatusOK {
			t.Fatalf("no_show again: %d", c)
		}
		if n := e.count(t, "SELECT count(*) FROM outbox WHERE kind = 'partner' AND type = 'reservation.fee_failed'"); n != 1 {
			t.Fatalf("reservation.fee_failed messages after a retry: %d, want 1", n)
		}

	})
}
