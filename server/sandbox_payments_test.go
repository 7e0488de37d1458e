package server_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	client "github.com/prima-dining/partner-api/sdk/go"
	"github.com/prima-dining/partner-api/store"
	"github.com/prima-dining/partner-api/store/storetest"
)

// sandboxConfirm confirms a sandbox intent with outcome through the public API.
func (e *env) sandboxConfirm(intentID string, outcome client.ConfirmPaymentIntentRequestOutcome) *client.ConfirmSandboxPaymentIntentResponse {
	e.t.Helper()
	r, err := e.client.ConfirmSandboxPaymentIntentWithResponse(context.Background(), intentID,
		&client.ConfirmSandboxPaymentIntentParams{}, client.ConfirmPaymentIntentRequest{Outcome: &outcome})
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

// The dearer change of a confirmed booking completes in the sandbox: the pending
// change's intent is confirmed through the sandbox call (it used to answer 404
// resource_missing, looking the intent up only among reservations' first payments),
// finalize applies the change and captures the difference.
func TestSandboxDearerChangeFlowCompletes(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		_, slots := e.addVenue(slotSpec{tables: 1, prime: true, in: 72 * time.Hour})
		h := e.hold(slots[0].ID, 2)
		if r := e.sandboxConfirm(h.Payment.PaymentIntentId, client.ConfirmPaymentIntentRequestOutcomeSucceeded); r.JSON200 == nil {
			t.Fatalf("confirm the hold's intent: %d %s", r.StatusCode(), r.Body)
		}
		if fin := e.finalize(h.Id); fin.JSON200 == nil {
			t.Fatalf("finalize: %d %s", fin.StatusCode(), fin.Body)
		}
		r := e.patch(h.Id, client.UpdateReservationJSONRequestBody{PartySize: ptr(3)})
		if r.JSON200 == nil || r.JSON200.PendingChange == nil {
			t.Fatalf("dearer change: %d %s", r.StatusCode(), r.Body)
		}
		pc := r.JSON200.PendingChange.Payment

		// A declined card on the change's intent is the documented 402, and the change waits.
		if dec := e.sandboxConfirm(pc.PaymentIntentId, client.ConfirmPaymentIntentRequestOutcomeDeclined); dec.StatusCode() != http.StatusPaymentRequired || dec.JSON402.Error.Code != "card_declined" {
			t.Fatalf("declined confirm of the change's intent: %d %s", dec.StatusCode(), dec.Body)
		}
		if got := e.get(h.Id); got.PendingChange == nil || got.PendingChange.Payment.DeclineCode == nil || *got.PendingChange.Payment.DeclineCode != "generic_decline" {
			t.Fatalf("pending change after a decline: %+v", got.PendingChange)
		}
		conf := e.sandboxConfirm(pc.PaymentIntentId, client.ConfirmPaymentIntentRequestOutcomeSucceeded)
		if conf.JSON200 == nil || conf.JSON200.Status != client.PaymentIntentStatusRequiresCapture || conf.JSON200.Amount != 7500 {
			t.Fatalf("confirm the change's intent: %d %s", conf.StatusCode(), conf.Body)
		}
		fin := e.finalize(h.Id)
		if fin.JSON200 == nil || fin.JSON200.PartySize != 3 || fin.JSON200.PendingChange != nil || len(fin.JSON200.Payments) != 2 {
			t.Fatalf("finalize the change: %d %s", fin.StatusCode(), fin.Body)
		}
		if p := fin.JSON200.Payments[1]; p.AmountCaptured != 7500 || p.Status != client.PaymentIntentStatusSucceeded {
			t.Fatalf("change payment: %+v", p)
		}
		// Another partner's token cannot confirm it: 404, as for any intent not its own.
		other := e.clientFor(e.newToken("other-partner"))
		ok := client.ConfirmPaymentIntentRequestOutcomeSucceeded
		if r, _ := other.ConfirmSandboxPaymentIntentWithResponse(context.Background(), pc.PaymentIntentId,
			&client.ConfirmSandboxPaymentIntentParams{}, client.ConfirmPaymentIntentRequest{Outcome: &ok}); r.StatusCode() != http.StatusNotFound {
			t.Fatalf("another partner's confirm: %d %s", r.StatusCode(), r.Body)
		}
	})
}

// holdWithReference holds slotID for party with partner_reference ref.
func (e *env) holdWithReference(slotID string, party int, ref string) *client.CreateReservationResponse {
	e.t.Helper()
	body := holdBody(slotID, party)
	body.PartnerReference = &ref
	r, err := e.client.CreateReservationWithResponse(context.Background(), &client.CreateReservationParams{IdempotencyKey: key()}, body)
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

// The sandbox's documented magic values, walked through the public API: a slot taken
// between search and hold (409 slot_unavailable, nothing held), a Stripe outage when
// the hold's payment is created (502 payment_provider_error, the table given back) and
// when it is captured (502, the hold kept; the retried finalize captures once). With a
// real gateway the same references are ordinary references.
func TestSandboxMagicValuesPlayTheirFailures(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		_, slots := e.addVenue(slotSpec{tables: 1, prime: true}, slotSpec{tables: 1})

		for _, slot := range slots {
			r := e.holdWithReference(slot.ID, 2, "sandbox_slot_taken")
			if r.JSON409 == nil || r.JSON409.Error.Code != "slot_unavailable" {
				t.Fatalf("slot taken: %d %s", r.StatusCode(), r.Body)
			}
			if taken, active, total := e.counts(slot.ID); taken != 0 || active != 0 || total != 0 {
				t.Fatalf("slot taken left tables_taken=%d active=%d rows=%d", taken, active, total)
			}
		}

		r := e.holdWithReference(slots[0].ID, 2, "sandbox_outage_on_create")
		if r.StatusCode() != http.StatusBadGateway || r.JSON502.Error.Code != "payment_provider_error" {
			t.Fatalf("outage on create: %d %s", r.StatusCode(), r.Body)
		}
		if taken, active, _ := e.counts(slots[0].ID); taken != 0 || active != 0 {
			t.Fatalf("outage on create kept a table: tables_taken=%d active=%d", taken, active)
		}

		r = e.holdWithReference(slots[0].ID, 2, "sandbox_outage_on_capture")
		if r.JSON201 == nil {
			t.Fatalf("hold: %d %s", r.StatusCode(), r.Body)
		}
		h := r.JSON201
		if c := e.sandboxConfirm(h.Payment.PaymentIntentId, client.ConfirmPaymentIntentRequestOutcomeSucceeded); c.JSON200 == nil {
			t.Fatalf("confirm: %d %s", c.StatusCode(), c.Body)
		}
		fin := e.finalize(h.Id)
		if fin.StatusCode() != http.StatusBadGateway || fin.JSON502.Error.Code != "payment_provider_error" {
			t.Fatalf("finalize during the capture outage: %d %s", fin.StatusCode(), fin.Body)
		}
		if got := e.get(h.Id); got.Status != client.ReservationStatusHeld || got.Payment.AmountCaptured != 0 {
			t.Fatalf("after the failed capture: %s %+v", got.Status, got.Payment)
		}
		fin = e.finalize(h.Id)
		if fin.JSON200 == nil || fin.JSON200.Status != client.ReservationStatusConfirmed || fin.JSON200.Payment.AmountCaptured != 15000 {
			t.Fatalf("finalize after the outage: %d %s", fin.StatusCode(), fin.Body)
		}
	})
}

// With Stripe, a sandbox magic value is an ordinary partner reference.
func TestSandboxMagicValuesAreInertWithStripe(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		e, _ := stripeEnv(t, db)
		_, slots := e.addVenue(slotSpec{tables: 1})
		if r := e.holdWithReference(slots[0].ID, 2, "sandbox_slot_taken"); r.JSON201 == nil {
			t.Fatalf("hold with Stripe: %d %s", r.StatusCode(), r.Body)
		}
	})
}

// advance moves a sandbox reservation past a deadline through the public API.
func (e *env) advance(token, id, to string) (int, []byte) {
	e.t.Helper()
	s, _, b := e.do("POST", "/v1/sandbox/reservations/"+id+"/advance", token, `{"to":"`+to+`"}`, "Idempotency-Key", key())
	return s, b
}

// The sandbox's clock call moves a reservation past each deadline in seconds: an expired
// hold frees its table, cancels its intent and refuses finalize; past the cancellation
// cutoff the quote and the cancel keep the fee; past the modification cutoff a change is
// refused. Bad calls change nothing, and without the sandbox the call is not served.
func TestSandboxClockAdvancesPastEachDeadline(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		gw := e.booking.Payments.Gateway()
		_, slots := e.addVenue(slotSpec{tables: 1, prime: true, in: 72 * time.Hour}, slotSpec{tables: 1, prime: true, in: 72 * time.Hour}, slotSpec{tables: 2, in: 72 * time.Hour})

		h := e.hold(slots[0].ID, 2)
		if s, b := e.advance(e.token, h.Id, "next_week"); s != http.StatusBadRequest {
			t.Fatalf("unknown deadline: %d %s", s, b)
		}
		if s, b := e.advance(e.newToken("other-partner"), h.Id, "hold_expiry"); s != http.StatusNotFound {
			t.Fatalf("another partner's reservation: %d %s", s, b)
		}
		if got := e.get(h.Id); got.Status != client.ReservationStatusHeld {
			t.Fatalf("a refused call changed the hold: %s", got.Status)
		}
		var r client.Reservation
		s, b := e.advance(e.token, h.Id, "hold_expiry")
		decode(t, s, http.StatusOK, b, &r)
		if r.Status != client.ReservationStatusExpired {
			t.Fatalf("after hold_expiry: %s", b)
		}
		if taken, active, _ := e.counts(slots[0].ID); taken != 0 || active != 0 {
			t.Fatalf("the expired hold kept its table: tables_taken=%d active=%d", taken, active)
		}
		if in, err := gw.Get(context.Background(), h.Payment.PaymentIntentId); err != nil || in.Status != "canceled" {
			t.Fatalf("the expired hold's intent: %v %s", err, in.Status)
		}
		if fin := e.finalize(h.Id); fin.JSON409 == nil || fin.JSON409.Error.Code != "hold_expired" {
			t.Fatalf("finalize an expired hold: %d %s", fin.StatusCode(), fin.Body)
		}
		if s, b := e.advance(e.token, h.Id, "hold_expiry"); s != http.StatusOK {
			t.Fatalf("hold_expiry again: %d %s", s, b)
		}
		if s, b := e.advance(e.token, h.Id, "cancellation_cutoff"); s != http.StatusConflict || apiError(t, b).Code != "hold_expired" {
			t.Fatalf("cutoff of an expired hold: %d %s", s, b)
		}
		if s, b := e.advance(e.token, e.book(slots[2].ID, 1).Id, "hold_expiry"); s != http.StatusConflict || apiError(t, b).Code != "reservation_state_invalid" {
			t.Fatalf("hold_expiry of a confirmed booking: %d %s", s, b)
		}

		// A confirmed booking 72 h ahead: free to cancel, until the clock passes the cutoff.
		c := e.hold(slots[1].ID, 2)
		e.sandboxConfirm(c.Payment.PaymentIntentId, client.ConfirmPaymentIntentRequestOutcomeSucceeded)
		if fin := e.finalize(c.Id); fin.JSON200 == nil {
			t.Fatalf("finalize: %s", fin.Body)
		}
		s, b = e.advance(e.token, c.Id, "cancellation_cutoff")
		decode(t, s, http.StatusOK, b, &r)
		if r.Status != client.ReservationStatusConfirmed || r.CancellationPolicy.FreeUntilHoursBefore < 72 {
			t.Fatalf("after cancellation_cutoff: %s", b)
		}
		q, _ := e.client.GetCancellationQuoteWithResponse(context.Background(), c.Id)
		if q.JSON200 == nil || q.JSON200.RefundAmount != 7500 || q.JSON200.FeeAmount != 7500 {
			t.Fatalf("quote past the cutoff: %s", q.Body)
		}
		cancelled, _ := e.client.CancelReservationWithResponse(context.Background(), c.Id, &client.CancelReservationParams{}, client.CancelReservationRequest{})
		if cancelled.JSON200 == nil || cancelled.JSON200.Payment.AmountRefunded != 7500 {
			t.Fatalf("cancel past the cutoff: %s", cancelled.Body)
		}
		if in, _ := gw.Get(context.Background(), c.Payment.PaymentIntentId); in.AmountRefunded != 7500 {
			t.Fatalf("the sandbox refunded %d, want 7500", in.AmountRefunded)
		}

		m := e.book(slots[2].ID, 2)
		if s, b := e.advance(e.token, m.Id, "modification_cutoff"); s != http.StatusOK {
			t.Fatalf("modification_cutoff: %d %s", s, b)
		}
		if p := e.patch(m.Id, client.UpdateReservationJSONRequestBody{PartySize: ptr(3)}); p.JSON409 == nil || p.JSON409.Error.Code != "modification_cutoff_passed" {
			t.Fatalf("change past the cutoff: %d %s", p.StatusCode(), p.Body)
		}
	})
}

func TestSandboxClockIsNotServedWithStripe(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		e, _ := stripeEnv(t, db)
		_, slots := e.addVenue(slotSpec{tables: 1})
		h := e.hold(slots[0].ID, 2)
		if s, b := e.advance(e.token, h.Id, "hold_expiry"); s != http.StatusNotFound || apiError(t, b).Code != "route_not_found" {
			t.Fatalf("the sandbox clock with Stripe: %d %s", s, b)
		}
		if got := e.get(h.Id); got.Status != client.ReservationStatusHeld {
			t.Fatalf("the hold is %s", got.Status)
		}
	})
}

// The sandbox's venue platform is down when the booking is finalized: finalize confirms
// it with venue_sync pending and the platform's error, and the outbox's retry delivers
// it once (synced).
func TestSandboxVenuePlatformDownAtFinalizeIsRetried(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		v, slots := e.addVenue(slotSpec{tables: 1})
		r := e.holdWithReference(slots[0].ID, 2, "sandbox_venue_platform_down")
		if r.JSON201 == nil {
			t.Fatalf("hold: %d %s", r.StatusCode(), r.Body)
		}
		fin := e.finalize(r.JSON201.Id)
		if fin.JSON200 == nil || fin.JSON200.Status != client.ReservationStatusConfirmed || fin.JSON200.VenueSync.Status != client.VenueSyncStatusPending ||
			fin.JSON200.VenueSync.LastError == nil {
			t.Fatalf("finalize while the platform is down: %d %s", fin.StatusCode(), fin.Body)
		}
		if n := e.venueUpdates(v.ID); n["reservation.confirmed"] != 0 {
			t.Fatalf("the down platform received %v", n)
		}
		e.drain()
		if got := e.get(r.JSON201.Id); got.VenueSync.Status != client.VenueSyncStatusSynced {
			t.Fatalf("after the retry: %+v", got.VenueSync)
		}
		if n := e.venueUpdates(v.ID); n["reservation.confirmed"] != 1 {
			t.Fatalf("venue notifications after the retry: %v", n)
		}
	})
}
