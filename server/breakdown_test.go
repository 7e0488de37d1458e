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

// lineAmounts is a breakdown's lines as type → amount, and the sum of those not included.
func lineAmounts(t *testing.T, b *client.PriceBreakdown) (map[string]int64, int64) {
	t.Helper()
	if b == nil {
		t.Fatal("no price breakdown")
	}
	out, sum := map[string]int64{}, int64(0)
	for _, l := range b.Lines {
		out[string(l.Type)] = l.Amount
		if !l.Included {
			sum += l.Amount
		}
	}
	return out, sum
}

// A venue's service charge and exclusive tax, set by its operator, price a prime hold:
// the payment intent is for the breakdown's total, and the reservation, the cancellation
// quote and the venue platform's copy show the same lines, which add up to it. A
// change of party size re-prices the lines; a standard booking has no breakdown.
func TestPriceBreakdownOnTheReservationTheQuoteAndTheVenuePlatform(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		e, srv := stripeEnv(t, db)
		v, slots := e.addVenue(slotSpec{tables: 2, prime: true, in: 72 * time.Hour}, slotSpec{tables: 2, in: 72 * time.Hour})
		op := e.newOperatorToken("lupa-group", []string{v.ID})

		// Refused, changing nothing: a rate above 100 %.
		if s, _, b := e.do("PATCH", "/v1/operator/venues/"+v.ID, op, `{"charges":{"service_charge_bps":10001,"tax_bps":0,"tax_inclusive":false}}`, "Idempotency-Key", key()); s != http.StatusBadRequest {
			t.Fatalf("service charge of 100.01%%: %d %s", s, b)
		}
		s, _, b := e.do("PATCH", "/v1/operator/venues/"+v.ID, op, `{"charges":{"service_charge_bps":1250,"tax_bps":888,"tax_inclusive":false}}`, "Idempotency-Key", key())
		if s != http.StatusOK {
			t.Fatalf("set the venue's charges: %d %s", s, b)
		}

		// 2 × 75.00 = 150.00; service 12.5 % = 18.75; tax 8.88 % of 168.75 = 14.985 → 14.99.
		const total = 15000 + 1875 + 1499
		h := e.hold(slots[0].ID, 2)
		lines, sum := lineAmounts(t, h.PriceBreakdown)
		if lines["subtotal"] != 15000 || lines["service_charge"] != 1875 || lines["tax"] != 1499 || sum != total ||
			h.PriceBreakdown.Total != total || h.PriceBreakdown.PrepayAmount != total || h.Payment.Amount != total {
			t.Fatalf("hold: breakdown %+v, payment %d", h.PriceBreakdown, h.Payment.Amount)
		}
		if got := srv.Intent(h.Payment.PaymentIntentId).Amount; got != total {
			t.Fatalf("Stripe intent for %d, want %d", got, total)
		}
		srv.Authorize(h.Payment.PaymentIntentId)
		fin := e.finalize(h.Id)
		if fin.JSON200 == nil || fin.JSON200.Payment.AmountCaptured != total {
			t.Fatalf("finalize: %d %s", fin.StatusCode(), fin.Body)
		}
		q, err := e.client.GetCancellationQuoteWithResponse(context.Background(), h.Id)
		if err != nil || q.JSON200 == nil {
			t.Fatalf("quote: %v", err)
		}
		if _, qsum := lineAmounts(t, q.JSON200.PriceBreakdown); qsum != total || q.JSON200.RefundAmount != total {
			t.Fatalf("quote: %s", q.Body)
		}
		// The venue's platform got the same lines with the confirmation.
		ns, err := e.db.ListVenueNotifications(context.Background(), v.ID, 10)
		if err != nil || len(ns) == 0 {
			t.Fatalf("venue notifications: %v %d", err, len(ns))
		}
		var ev client.Event
		if err := json.Unmarshal(ns[0].Payload, &ev); err != nil {
			t.Fatal(err)
		}
		if _, vsum := lineAmounts(t, ev.Data.Object.PriceBreakdown); vsum != total || len(ev.Data.Object.PriceBreakdown.Lines) != 3 {
			t.Fatalf("venue platform's copy: %s", ns[0].Payload)
		}
		// The operator's later change of rates leaves the booking's lines as booked.
		if s, _, b := e.do("PATCH", "/v1/operator/venues/"+v.ID, op, `{"charges":{"service_charge_bps":0,"tax_bps":2000,"tax_inclusive":true}}`, "Idempotency-Key", key()); s != http.StatusOK {
			t.Fatalf("change the venue's charges: %d %s", s, b)
		}
		if got := e.get(h.Id); got.PriceBreakdown.Total != total {
			t.Fatalf("booking re-priced by a later change of rates: %+v", got.PriceBreakdown)
		}
		// Nor does a change of the booking: it keeps its rates (nothing owed either way).
		if r := e.patch(h.Id, client.UpdateReservationJSONRequestBody{Notes: ptr("Window table, please.")}); r.JSON200 == nil ||
			r.JSON200.PendingChange != nil || r.JSON200.PriceBreakdown.Total != total || r.JSON200.Payment.AmountRefunded != 0 || len(r.JSON200.PriceBreakdown.Lines) != 3 {
			t.Fatalf("notes change after the rates changed: %d %s", r.StatusCode(), r.Body)
		}
		// A new hold uses the new rates: an inclusive tax is shown, not added.
		h3 := e.hold(slots[0].ID, 3)
		lines, sum = lineAmounts(t, h3.PriceBreakdown)
		if lines["subtotal"] != 22500 || lines["tax"] != 3750 || sum != 22500 || h3.Payment.Amount != 22500 {
			t.Fatalf("hold with an inclusive tax: %+v", h3.PriceBreakdown)
		}
		// Changing the party re-prices the hold's lines and its payment.
		r := e.patch(h3.Id, client.UpdateReservationJSONRequestBody{PartySize: ptr(4)})
		if r.JSON200 == nil || r.JSON200.PriceBreakdown.Total != 30000 || r.JSON200.Payment.Amount != 30000 {
			t.Fatalf("party of 4: %d %s", r.StatusCode(), r.Body)
		}
		if free := e.book(slots[1].ID, 2); free.PriceBreakdown != nil {
			t.Fatalf("a standard booking has a breakdown: %+v", free.PriceBreakdown)
		}
	})
}
