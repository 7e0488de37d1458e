package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	client "github.com/prima-dining/partner-api/sdk/go"
	"github.com/prima-dining/partner-api/store"
	"github.com/prima-dining/partner-api/store/storetest"
)

// confirmSetup confirms the sandbox SetupIntent id with body through the public API.
func (e *env) confirmSetup(token, id, body string) (int, map[string]any, []byte) {
	e.t.Helper()
	s, _, b := e.do("POST", "/v1/sandbox/setup_intents/"+id+"/confirm", token, body, "Idempotency-Key", key())
	var out map[string]any
	if s == http.StatusOK {
		if err := json.Unmarshal(b, &out); err != nil {
			e.t.Fatal(err)
		}
	}
	return s, out, b
}

// The whole card-guarantee flow walks through the public API in the sandbox: hold →
// confirm the SetupIntent (a decline is 402 card_declined, requires_action waits, both
// leave finalize at 402 payment_required) → finalize → the operator records no_show →
// the fee is charged once. The documented off-session magic values play their failures
// through the same calls: a saved pm_card_chargeDeclined (generic_decline) and the
// hold's partner_reference sandbox_fee_authentication_required (authentication_required)
// on a no-show, sandbox_fee_declined on a late cancellation: each leaves the outcome
// recorded, the fee unpaid with its reason, and sends reservation.fee_failed once. The
// SetupIntent of a released or expired hold is cancelled: confirming it is 409. Another
// partner's SetupIntent is 404.
func TestSandboxCardGuaranteeFlowAndOffSessionMagicValuesThroughTheAPI(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		clock := &fakeClock{t: time.Now()}
		e := newEnv(t, db, withClock(clock.now))
		ctx := context.Background()
		v, slots := e.addVenue(slotSpec{tables: 8, in: 3 * time.Hour})
		op := e.newOperatorToken("lupa-group", []string{v.ID})
		if s, _, b := e.do("PATCH", "/v1/operator/venues/"+v.ID, op, `{"payment_policy":{"type":"card_guarantee","amount":3000,"per":"cover"}}`, "Idempotency-Key", key()); s != http.StatusOK {
			t.Fatalf("card guarantee: %d %s", s, b)
		}
		if s, _, b := e.do("POST", "/v1/webhook_endpoints", e.token, `{"url":"https://partner-a.example/hooks","events":["reservation.fee_failed"]}`, "Idempotency-Key", key()); s != http.StatusCreated {
			t.Fatalf("webhook endpoint: %d %s", s, b)
		}
		hold := func(ref string) *client.Reservation {
			t.Helper()
			r := e.holdWithReference(slots[0].ID, 2, ref)
			if r.JSON201 == nil || r.JSON201.CardGuarantee == nil || r.JSON201.CardGuarantee.SetupIntentId == "" {
				t.Fatalf("hold: %d %s", r.StatusCode(), r.Body)
			}
			return r.JSON201
		}
		finalizeStatus := func(id string) int { return e.finalize(id).StatusCode() }

		// The happy path, with the failures a guest can meet at confirmation first.
		h := hold("order-1")
		seti := h.CardGuarantee.SetupIntentId
		if s := finalizeStatus(h.Id); s != http.StatusPaymentRequired {
			t.Fatalf("finalize before the card is saved: %d", s)
		}
		s, _, b := e.confirmSetup(e.token, seti, `{"outcome":"declined"}`)
		if s != http.StatusPaymentRequired || apiError(t, b).Code != "card_declined" {
			t.Fatalf("declined confirmation: %d %s", s, b)
		}
		if s := finalizeStatus(h.Id); s != http.StatusPaymentRequired {
			t.Fatalf("finalize after a declined confirmation: %d", s)
		}
		if s, si, b := e.confirmSetup(e.token, seti, `{"outcome":"requires_action"}`); s != http.StatusOK || si["status"] != "requires_action" {
			t.Fatalf("requires_action: %d %s", s, b)
		}
		if got := e.get(h.Id); got.CardGuarantee.Status != "requires_action" {
			t.Fatalf("hold's setup status: %s", got.CardGuarantee.Status)
		}
		if s := finalizeStatus(h.Id); s != http.StatusPaymentRequired {
			t.Fatalf("finalize while 3-D Secure waits: %d", s)
		}
		other := e.newToken("other-partner")
		if s, _, b := e.confirmSetup(other, seti, `{}`); s != http.StatusNotFound || apiError(t, b).Code != "resource_missing" {
			t.Fatalf("another partner's confirm: %d %s", s, b)
		}
		if s, _, b := e.confirmSetup(e.token, "seti_sbx_unknown", `{}`); s != http.StatusNotFound {
			t.Fatalf("unknown setup intent: %d %s", s, b)
		}
		if s, _, b := e.confirmSetup(e.token, seti, `{"outcome":"succeeded","card":"4242"}`); s != http.StatusBadRequest {
			t.Fatalf("unknown field: %d %s", s, b)
		}
		if s, si, b := e.confirmSetup(e.token, seti, `{"outcome":"succeeded"}`); s != http.StatusOK || si["status"] != "succeeded" || si["payment_method"] != "pm_card_visa" {
			t.Fatalf("confirm: %d %s", s, b)
		}
		fin := e.finalize(h.Id)
		if fin.JSON200 == nil || fin.JSON200.Status != client.ReservationStatusConfirmed {
			t.Fatalf("finalize: %d %s", fin.StatusCode(), fin.Body)
		}

		// The magic values, each saved and finalized the same way.
		book := func(ref, body string) client.Reservation {
			t.Helper()
			h := hold(ref)
			if s, _, b := e.confirmSetup(e.token, h.CardGuarantee.SetupIntentId, body); s != http.StatusOK {
				t.Fatalf("confirm %s: %d %s", ref, s, b)
			}
			fin := e.finalize(h.Id)
			if fin.JSON200 == nil {
				t.Fatalf("finalize %s: %d %s", ref, fin.StatusCode(), fin.Body)
			}
			return *fin.JSON200
		}
		cardDeclined := book("order-2", `{"payment_method":"pm_card_chargeDeclined"}`)
		needsAuth := book("sandbox_fee_authentication_required", `{}`)
		lateDeclined := book("sandbox_fee_declined", `{}`)

		// Released and expired holds: their SetupIntents are cancelled.
		released := hold("order-3")
		if c, _ := e.client.CancelReservationWithResponse(ctx, released.Id, &client.CancelReservationParams{}, client.CancelReservationRequest{}); c.JSON200 == nil || c.JSON200.Status != client.ReservationStatusReleased {
			t.Fatalf("release: %s", c.Body)
		}
		if s, _, b := e.confirmSetup(e.token, released.CardGuarantee.SetupIntentId, `{}`); s != http.StatusConflict || apiError(t, b).Code != "reservation_state_invalid" {
			t.Fatalf("confirm the released hold's setup: %d %s", s, b)
		}
		lapsed := hold("order-4")
		if s, _, b := e.do("POST", "/v1/sandbox/reservations/"+lapsed.Id+"/advance", e.token, `{"to":"hold_expiry"}`, "Idempotency-Key", key()); s != http.StatusOK {
			t.Fatalf("advance: %d %s", s, b)
		}
		if s, _, b := e.confirmSetup(e.token, lapsed.CardGuarantee.SetupIntentId, `{}`); s != http.StatusConflict || apiError(t, b).Code != "hold_expired" {
			t.Fatalf("confirm the expired hold's setup: %d %s", s, b)
		}
		for _, id := range []string{released.Id, lapsed.Id} {
			if got := e.get(id); got.CardGuarantee.Status != "canceled" {
				t.Fatalf("setup intent of the ended hold %s: %s", id, got.CardGuarantee.Status)
			}
		}

		// Late cancellation inside the fee window, with sandbox_fee_declined.
		c, _ := e.client.CancelReservationWithResponse(ctx, lateDeclined.Id, &client.CancelReservationParams{}, client.CancelReservationRequest{})
		if c.JSON200 == nil || c.JSON200.Status != client.ReservationStatusCancelled || deref(c.JSON200.CardGuarantee.FeeStatus) != "unpaid" ||
			deref(c.JSON200.CardGuarantee.FeeReason) != "late_cancel" || deref(c.JSON200.CardGuarantee.FeeDeclineCode) != "generic_decline" {
			t.Fatalf("late cancel with sandbox_fee_declined: %s", c.Body)
		}

		clock.advance(4 * time.Hour) // the bookings have started
		noShow := func(id string) {
			t.Helper()
			for range 2 { // retried: the same outcome, the fee charged once
				if s, _, b := e.do("POST", "/v1/operator/reservations/"+id+"/outcome", op, `{"status":"no_show"}`, "Idempotency-Key", key()); s != http.StatusOK {
					t.Fatalf("no_show: %d %s", s, b)
				}
			}
		}
		for _, want := range []struct {
			id, status, code string
		}{
			{h.Id, "paid", ""},
			{cardDeclined.Id, "unpaid", "generic_decline"},
			{needsAuth.Id, "unpaid", "authentication_required"},
		} {
			noShow(want.id)
			got := e.get(want.id)
			g := got.CardGuarantee
			if got.Status != client.ReservationStatusNoShow || deref(g.FeeStatus) != want.status || deref(g.FeeDeclineCode) != want.code ||
				deref(g.FeeAmount) != 6000 || deref(g.FeeReason) != "no_show" || deref(g.FeePaymentIntentId) == "" {
				t.Fatalf("no-show of %s: %s %+v", want.id, got.Status, g)
			}
		}
		row, err := e.db.GetReservation(ctx, "", h.Id)
		if err != nil || row.FeeStatus != "paid" || row.FeeIntentID == nil || row.CardPaymentMethod != "pm_card_visa" {
			t.Fatalf("paid fee's row: %v %+v", err, row)
		}
		if n := e.count(t, "SELECT count(*) FROM sandbox_payment_intents WHERE id = ?", *row.FeeIntentID); n != 1 {
			t.Fatalf("%d sandbox intents for the paid fee", n)
		}
		for _, id := range []string{cardDeclined.Id, needsAuth.Id, lateDeclined.Id} {
			if n := e.count(t, "SELECT count(*) FROM outbox WHERE kind = 'partner' AND type = 'reservation.fee_failed' AND reservation_id = ?", id); n != 1 {
				t.Fatalf("reservation.fee_failed messages for %s: %d, want 1", id, n)
			}
		}
		if n := e.count(t, "SELECT count(*) FROM outbox WHERE kind = 'partner' AND type = 'reservation.fee_failed' AND reservation_id = ?", h.Id); n != 0 {
			t.Fatalf("reservation.fee_failed for the paid fee: %d", n)
		}
	})
}
