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
