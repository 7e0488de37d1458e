package payments_test

import (
	"context"
	"errors"
	"testing"

	"github.com/prima-dining/partner-api/payments"
)

// The sandbox saves a card with a SetupIntent and charges it off-session once per key;
// its magic values play an off-session fee declined and one needing authentication,
// whichever the saved card, and a retry answers the first outcome again.
func TestSandboxSetupIntentAndOffSessionFees(t *testing.T) {
	gw := payments.NewSandbox(newMemStore())
	ctx := context.Background()
	si, err := gw.CreateSetup(ctx, payments.CreateSetup{IdempotencyKey: "setup-res_1"})
	if err != nil || si.ClientSecret == "" || si.Customer == "" {
		t.Fatalf("create setup: %+v %v", si, err)
	}
	if again, err := gw.CreateSetup(ctx, payments.CreateSetup{IdempotencyKey: "setup-res_1"}); err != nil || again.ID != si.ID {
		t.Fatalf("retried create: %+v %v", again, err)
	}
	if _, err := gw.ConfirmSetup(ctx, si.ID, "pm_unknown"); !errors.Is(err, payments.ErrInvalidState) {
		t.Fatalf("unknown card: %v", err)
	}
	saved, err := gw.ConfirmSetup(ctx, si.ID, payments.TestCardVisa)
	if err != nil || saved.Status != payments.SetupSucceeded || saved.PaymentMethod != payments.TestCardVisa {
		t.Fatalf("confirm setup: %+v %v", saved, err)
	}
	if got, err := gw.GetSetup(ctx, si.ID); err != nil || got != saved {
		t.Fatalf("get setup: %+v %v", got, err)
	}
	charge := func(ref, key string) (payments.Intent, error) {
		return gw.ChargeOffSession(ctx, payments.OffSessionCharge{
			Amount: 5000, Currency: "usd", Customer: saved.Customer, PaymentMethod: saved.PaymentMethod,
			Metadata: map[string]string{"reservation_id": "res_1", "partner_reference": ref}, IdempotencyKey: key,
		})
	}
	fee, err := charge("", "fee-no_show-res_1")
	if err != nil || fee.Status != payments.StatusSucceeded || fee.AmountCaptured != 5000 {
		t.Fatalf("fee: %+v %v", fee, err)
	}
	if again, err := charge("", "fee-no_show-res_1"); err != nil || again.ID != fee.ID {
		t.Fatalf("retried fee: %+v %v", again, err)
	}
	for _, c := range []struct{ ref, code string }{
		{payments.ScenarioFeeDeclined, "generic_decline"},
		{payments.ScenarioFeeAuthenticationRequired, payments.DeclineAuthenticationRequired},
	} {
		for range 2 { // the retry answers the same failure
			in, err := charge(c.ref, "fee-"+c.ref)
			if !errors.Is(err, payments.ErrDeclined) || in.DeclineCode != c.code || in.AmountCaptured != 0 {
				t.Fatalf("%s: %+v %v", c.ref, in, err)
			}
		}
	}
}

// A sandbox SetupIntent of a hold that ended is cancelled once (again answers it as
// it is) and can no longer be confirmed; one whose card was saved is not cancelled.
func TestSandboxCancelSetup(t *testing.T) {
	gw := payments.NewSandbox(newMemStore())
	ctx := context.Background()
	open, err := gw.CreateSetup(ctx, payments.CreateSetup{IdempotencyKey: "setup-res_2"})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if got, err := gw.CancelSetup(ctx, open.ID, "cancel-setup-res_2"); err != nil || got.Status != payments.SetupCanceled {
			t.Fatalf("cancel setup: %+v %v", got, err)
		}
	}
	if _, err := gw.ConfirmSetup(ctx, open.ID, payments.TestCardVisa); !errors.Is(err, payments.ErrInvalidState) {
		t.Fatalf("confirm a cancelled setup: %v", err)
	}
	saved, err := gw.CreateSetup(ctx, payments.CreateSetup{IdempotencyKey: "setup-res_3"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gw.ConfirmSetup(ctx, saved.ID, payments.TestCardVisa); err != nil {
		t.Fatal(err)
	}
	if got, err := gw.CancelSetup(ctx, saved.ID, "cancel-setup-res_3"); !errors.Is(err, payments.ErrInvalidState) || got.Status != payments.SetupSucceeded {
		t.Fatalf("cancel a saved setup: %+v %v", got, err)
	}
	if _, err := gw.CancelSetup(ctx, "seti_sbx_unknown", ""); !errors.Is(err, payments.ErrNotFound) {
		t.Fatalf("cancel an unknown setup: %v", err)
	}
}
