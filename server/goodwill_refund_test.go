package server_test

import (
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	client "github.com/prima-dining/partner-api/sdk/go"
	operatorapi "github.com/prima-dining/partner-api/sdk/go/operator"
	"github.com/prima-dining/partner-api/store"
	"github.com/prima-dining/partner-api/store/storetest"
)

// An operator refunds part of a prime booking as a goodwill gesture: never more than was
// captured and not yet refunded (also when two refunds race), the partner sees it on the
// payment, in one payment.refunded event and in the history with the reason, and Stripe
// refunds exactly what was accepted; refused refunds change nothing.
func TestGoodwillRefundsStayWithinWhatWasCaptured(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		e, srv := stripeEnv(t, db)
		_, slots := e.addVenue(slotSpec{tables: 2, prime: true, in: 72 * time.Hour}, slotSpec{tables: 2, in: 72 * time.Hour})
		op := e.newOperatorToken("lupa-group", []string{slots[0].VenueID})
		stranger := e.newOperatorToken("other-group", nil)
		if s, _, b := e.do("POST", "/v1/webhook_endpoints", e.token, `{"url":"https://partner-a.example/hooks","events":["payment.refunded"]}`, "Idempotency-Key", key()); s != http.StatusCreated {
			t.Fatalf("webhook endpoint: %d %s", s, b)
		}
		h := e.hold(slots[0].ID, 2) // 2 x 75.00
		srv.Authorize(h.Payment.PaymentIntentId)
		if fin := e.finalize(h.Id); fin.JSON200 == nil || fin.JSON200.Payment.AmountCaptured != 15000 {
			t.Fatalf("finalize: %s", fin.Body)
		}
		refund := func(token, id string, amount int64, reason, idemKey string) (int, []byte) {
			s, _, b := e.do("POST", "/v1/operator/reservations/"+id+"/refunds", token,
				fmt.Sprintf(`{"amount":%d,"reason":%q}`, amount, reason), "Idempotency-Key", idemKey)
			return s, b
		}
		refunded := func() int64 { return srv.Intent(h.Payment.PaymentIntentId).AmountRefunded }

		// Refused, changing nothing: more than was captured, a bad body, another operator.
		if s, b := refund(op, h.Id, 15001, "Late table.", key()); s != http.StatusBadRequest || apiError(t, b).Code != "refund_amount_too_large" || *apiError(t, b).Param != "amount" {
			t.Fatalf("refund above the capture: %d %s", s, b)
		}
		for _, body := range []string{`{"amount":0,"reason":"x"}`, `{"amount":100}`, `{"amount":100,"reason":""}`, `{"amount":100,"reason":"x","extra":1}`} {
			if s, _, b := e.do("POST", "/v1/operator/reservations/"+h.Id+"/refunds", op, body, "Idempotency-Key", key()); s != http.StatusBadRequest {
				t.Fatalf("bad body %s: %d %s", body, s, b)
			}
		}
		if s, b := refund(stranger, h.Id, 100, "Not my venue.", key()); s != http.StatusNotFound || apiError(t, b).Code != "resource_missing" {
			t.Fatalf("another operator's refund: %d %s", s, b)
		}
		if s, b := refund(e.token, h.Id, 100, "A partner token.", key()); s != http.StatusForbidden {
			t.Fatalf("a partner token's refund: %d %s", s, b)
		}
		if refunded() != 0 || e.get(h.Id).Payment.AmountRefunded != 0 {
			t.Fatal("a refused refund refunded something")
		}

		// 25.00 back, once, however often the call is retried with its key.
		k := key()
		var got operatorapi.OperatorReservation
		s, b := refund(op, h.Id, 2500, "The table was ready 40 minutes late.", k)
		decode(t, s, http.StatusOK, b, &got)
		if got.Payment == nil || got.Payment.AmountRefunded != 2500 {
			t.Fatalf("after the refund: %s", b)
		}
		s, b = refund(op, h.Id, 2500, "The table was ready 40 minutes late.", k)
		decode(t, s, http.StatusOK, b, nil)
		if refunded() != 2500 {
			t.Fatalf("Stripe refunded %d, want 2500", refunded())
		}
		if p := e.get(h.Id).Payment; p.AmountRefunded != 2500 || p.AmountRefundPending != 0 || p.AmountCaptured != 15000 {
			t.Fatalf("partner's payment: %+v", p)
		}
		if n := e.count(t, "SELECT count(*) FROM outbox WHERE kind = 'partner' AND type = 'payment.refunded' AND reservation_id = ?", h.Id); n != 1 {
			t.Fatalf("payment.refunded partner messages: %d, want 1", n)
		}
		var history client.ReservationEventList
		s, _, b = e.do("GET", "/v1/reservations/"+h.Id+"/events", e.token, "")
		decode(t, s, http.StatusOK, b, &history)
		last := history.Data[len(history.Data)-1]
		if last.Type != "payment.refunded" || last.TokenId == nil || last.Changes["payment.refund_amount"].To == nil ||
			*last.Changes["payment.refund_amount"].To != "2500" || *last.Changes["payment.refund_reason"].To != "The table was ready 40 minutes late." {
			t.Fatalf("history: %s", b)
		}

		// Two refunds of 70.00 race for the 125.00 left: one is paid, the other refused.
		var wg sync.WaitGroup
		codes := make([]int, 2)
		for i := range codes {
			wg.Add(1)
			go func() { defer wg.Done(); codes[i], _ = refund(op, h.Id, 7000, "Cold soup.", key()) }()
		}
		wg.Wait()
		if slices.Sort(codes); codes[0] != http.StatusOK || codes[1] != http.StatusBadRequest {
			t.Fatalf("racing refunds answered %v, want one 200 and one 400", codes)
		}
		if refunded() != 9500 {
			t.Fatalf("Stripe refunded %d after the race, want 9500", refunded())
		}
		// The rest, and then nothing more.
		if s, b := refund(op, h.Id, 5500, "Apologies.", key()); s != http.StatusOK {
			t.Fatalf("refund the rest: %d %s", s, b)
		}
		if s, b := refund(op, h.Id, 1, "One more.", key()); s != http.StatusBadRequest || apiError(t, b).Code != "refund_amount_too_large" {
			t.Fatalf("refund past the capture: %d %s", s, b)
		}
		if refunded() != 15000 || e.get(h.Id).Payment.AmountRefunded != 15000 {
			t.Fatalf("Stripe refunded %d, want 15000", refunded())
		}
		if n := e.count(t, "SELECT count(*) FROM reservation_events WHERE reservation_id = ? AND type = 'payment.refunded'", h.Id); n != 3 {
			t.Fatalf("goodwill history entries: %d, want 3", n)
		}

		// A free booking has nothing to refund.
		free := e.book(slots[1].ID, 2)
		if s, b := refund(op, free.Id, 100, "Nothing was paid.", key()); s != http.StatusBadRequest || apiError(t, b).Code != "refund_amount_too_large" {
			t.Fatalf("refund of a free booking: %d %s", s, b)
		}
	})
}
