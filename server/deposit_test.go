package server_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	openapi_types "github.com/oapi-codegen/runtime/types"

	client "github.com/prima-dining/partner-api/sdk/go"
	"github.com/prima-dining/partner-api/store"
	"github.com/prima-dining/partner-api/store/storetest"
)

// A venue's operator asks a deposit of USD 25.00 per guest on its standard slots. Search,
// the hold and the quote say so; the hold's payment intent is the deposit, captured at
// finalize; cancelling outside the free window refunds it all, inside it refunds what
// the cancellation policy says (here 50 % is kept within 24 hours), exactly as the quote
// agreed beforehand. Bad input is refused and changes nothing; a prime slot stays prepaid.
func TestDepositBookingCancelledInsideAndOutsideTheWindowRefundsWhatThePolicySays(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		e, srv := stripeEnv(t, db)
		ctx := context.Background()
		v, slots := e.addVenue(slotSpec{tables: 1, in: 72 * time.Hour}, slotSpec{tables: 1, in: 3 * time.Hour}, slotSpec{tables: 1, prime: true, in: 72 * time.Hour})
		op := e.newOperatorToken("lupa-group", []string{v.ID})

		for _, bad := range []struct{ body, param string }{
			{`{"payment_policy":{"type":"deposit","per":"cover"}}`, "payment_policy.amount"},
			{`{"payment_policy":{"type":"deposit","amount":2500}}`, "payment_policy.per"},
			{`{"payment_policy":{"type":"deposit","amount":0,"per":"cover"}}`, "payment_policy.amount"},
		} {
			s, _, b := e.do("PATCH", "/v1/operator/venues/"+v.ID, op, bad.body, "Idempotency-Key", key())
			if s != http.StatusBadRequest || apiError(t, b).Param == nil || *apiError(t, b).Param != bad.param {
				t.Fatalf("%s: %d %s", bad.body, s, b)
			}
		}
		if h := e.hold(slots[0].ID, 2); h.Payment != nil || h.PaymentPolicy == nil || h.PaymentPolicy.Type != client.PaymentPolicyTypeNone {
			t.Fatalf("refused policies changed the venue: %+v", h)
		} else if c, _ := e.client.CancelReservationWithResponse(ctx, h.Id, &client.CancelReservationParams{}, client.CancelReservationRequest{}); c.JSON200 == nil {
			t.Fatalf("release: %s", c.Body)
		}

		s, _, b := e.do("PATCH", "/v1/operator/venues/"+v.ID, op, `{"payment_policy":{"type":"deposit","amount":2500,"per":"cover"}}`, "Idempotency-Key", key())
		if s != http.StatusOK {
			t.Fatalf("set the deposit: %d %s", s, b)
		}

		day, _ := time.Parse(time.DateOnly, slots[0].LocalDate)
		date := openapi_types.Date{Time: day}
		search, err := e.client.SearchAvailabilityWithResponse(ctx, &client.SearchAvailabilityParams{Date: date, PartySize: 2, VenueId: &v.ID})
		if err != nil || search.JSON200 == nil {
			t.Fatalf("search: %v %s", err, search.Body)
		}
		seen := map[string]string{}
		for _, sl := range search.JSON200.Data {
			if sl.PaymentPolicy == nil || sl.PaymentPolicy.Summary == "" {
				t.Fatalf("slot %s without a payment policy", sl.Id)
			}
			seen[sl.Id] = sl.PaymentPolicy.Type
			if sl.Id == slots[0].ID && (deref(sl.PaymentPolicy.Amount) != 2500 || sl.PaymentPolicy.Per == nil || *sl.PaymentPolicy.Per != client.PaymentPolicyPerCover) {
				t.Fatalf("deposit slot in search: %+v", sl.PaymentPolicy)
			}
		}
		if seen[slots[0].ID] != client.PaymentPolicyTypeDeposit || seen[slots[2].ID] != client.PaymentPolicyTypePrepay {
			t.Fatalf("search's policies: %v", seen)
		}

		for i, want := range []int64{5000, 2500} { // outside the window, then inside it
			h := e.hold(slots[i].ID, 2)
			if h.Payment == nil || h.Payment.Amount != 5000 || h.PaymentPolicy.Type != client.PaymentPolicyTypeDeposit {
				t.Fatalf("hold: %+v", h)
			}
			lines, sum := lineAmounts(t, h.PriceBreakdown)
			if lines["deposit"] != 5000 || sum != 5000 || h.PriceBreakdown.PrepayAmount != 5000 || len(h.PriceBreakdown.Lines) != 1 {
				t.Fatalf("hold's breakdown: %+v", h.PriceBreakdown)
			}
			if in := srv.Intent(h.Payment.PaymentIntentId); in.Amount != 5000 {
				t.Fatalf("Stripe intent for %d", in.Amount)
			}
			srv.Authorize(h.Payment.PaymentIntentId)
			fin := e.finalize(h.Id)
			if fin.JSON200 == nil || fin.JSON200.Payment.AmountCaptured != 5000 {
				t.Fatalf("finalize: %d %s", fin.StatusCode(), fin.Body)
			}
			q, _ := e.client.GetCancellationQuoteWithResponse(ctx, h.Id)
			if q.JSON200 == nil || q.JSON200.RefundAmount != want || q.JSON200.FeeAmount != 5000-want ||
				q.JSON200.PaymentPolicy == nil || q.JSON200.PaymentPolicy.Type != client.PaymentPolicyTypeDeposit {
				t.Fatalf("quote: %s", q.Body)
			}
			c, _ := e.client.CancelReservationWithResponse(ctx, h.Id, &client.CancelReservationParams{}, client.CancelReservationRequest{})
			if c.JSON200 == nil || c.JSON200.Status != client.ReservationStatusCancelled || c.JSON200.Payment.AmountRefunded != q.JSON200.RefundAmount {
				t.Fatalf("cancel: %s", c.Body)
			}
			if got := srv.Intent(h.Payment.PaymentIntentId).AmountRefunded; got != want {
				t.Fatalf("Stripe refunded %d, want %d", got, want)
			}
			row, err := e.db.GetReservation(ctx, "", h.Id)
			if err != nil || row.PaymentAmountCaptured != 5000 || row.PaymentAmountRefunded != want || row.DepositAmount != 2500 || row.DepositPer != "cover" {
				t.Fatalf("row: %v %+v", err, row)
			}
		}
		// A prime slot stays prepaid in full; no deposit on top.
		h := e.hold(slots[2].ID, 2)
		if h.Payment == nil || h.Payment.Amount != 15000 || h.PaymentPolicy.Type != client.PaymentPolicyTypePrepay {
			t.Fatalf("prime hold at a deposit venue: %+v", h)
		}
	})
}
