package payments_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prima-dining/partner-api/payments"
	"github.com/prima-dining/partner-api/payments/stripetest"
)

// stripe-mock accepts the request shapes of a SetupIntent (its customer first) and of an
// off-session charge with a saved payment method.
func TestStripeSetupAndOffSessionRequestsAcceptedByStripeMock(t *testing.T) {
	base := stripeMockURL(t)
	gw := newStripe(t, payments.StripeConfig{SecretKey: "sk_test_123", APIBase: base, Timeout: 5 * time.Second})
	ctx := context.Background()
	si, err := gw.CreateSetup(ctx, payments.CreateSetup{
		Description: "Card guarantee of res_123", Metadata: map[string]string{"reservation_id": "res_123"},
		IdempotencyKey: "setup-res_123",
	})
	if err != nil || !strings.HasPrefix(si.ID, "seti_") || si.ClientSecret == "" {
		t.Fatalf("create setup: %+v %v", si, err)
	}
	if got, err := gw.GetSetup(ctx, si.ID); err != nil || got.ID == "" {
		t.Fatalf("get setup: %+v %v", got, err)
	}
	if got, err := gw.CancelSetup(ctx, si.ID, "prima-cancel-setup-res_123-0"); err != nil || got.ID == "" {
		t.Fatalf("cancel setup: %+v %v", got, err)
	}
	in, err := gw.ChargeOffSession(ctx, payments.OffSessionCharge{
		Amount: 5000, Currency: "usd", Customer: "cus_123", PaymentMethod: "pm_card_visa",
		Description: "No-show fee of res_123", Metadata: map[string]string{"reservation_id": "res_123", "reason": "no_show"},
		IdempotencyKey: "fee-no_show-res_123",
	})
	if err != nil || !strings.HasPrefix(in.ID, "pi_") {
		t.Fatalf("off-session charge: %+v %v", in, err)
	}
}

// Against the scripted stand-in: a saved card is charged off-session exactly once per
// idempotency key, with the reservation id in the metadata of the SetupIntent and the
// charge; a card needing authentication and a declined card fail with ErrDeclined and
// the decline code, the failed intent's id kept.
func TestStripeSetupIntentAndOffSessionCharges(t *testing.T) {
	srv := stripetest.New(t)
	gw := srv.Gateway()
	ctx := context.Background()
	si, err := gw.CreateSetup(ctx, payments.CreateSetup{Metadata: map[string]string{"reservation_id": "res_1"}, IdempotencyKey: "setup-res_1"})
	if err != nil || si.ClientSecret == "" || si.Customer == "" || si.Status != "requires_payment_method" {
		t.Fatalf("create setup: %+v %v", si, err)
	}
	again, err := gw.CreateSetup(ctx, payments.CreateSetup{Metadata: map[string]string{"reservation_id": "res_1"}, IdempotencyKey: "setup-res_1"})
	if err != nil || again.ID != si.ID || srv.Calls(stripetest.CreateSetup) != 2 {
		t.Fatalf("retried create setup: %+v %v", again, err)
	}
	if md := srv.SetupMetadata(si.ID); md["reservation_id"] != "res_1" {
		t.Fatalf("setup metadata: %v", md)
	}
	srv.ConfirmSetup(si.ID, payments.TestCardVisa)
	saved, err := gw.GetSetup(ctx, si.ID)
	if err != nil || saved.Status != payments.SetupSucceeded || saved.PaymentMethod != payments.TestCardVisa || saved.Customer != si.Customer {
		t.Fatalf("saved card: %+v %v", saved, err)
	}

	charge := func(pm, key string) (payments.Intent, error) {
		return gw.ChargeOffSession(ctx, payments.OffSessionCharge{
			Amount: 5000, Currency: "USD", Customer: saved.Customer, PaymentMethod: pm,
			Metadata: map[string]string{"reservation_id": "res_1", "reason": "no_show"}, IdempotencyKey: key,
		})
	}
	first, err := charge(saved.PaymentMethod, "fee-no_show-res_1")
	if err != nil || first.Status != payments.StatusSucceeded || first.AmountCaptured != 5000 {
		t.Fatalf("fee: %+v %v", first, err)
	}
	for range 3 {
		if again, err := charge(saved.PaymentMethod, "fee-no_show-res_1"); err != nil || again.ID != first.ID {
			t.Fatalf("retried fee: %+v %v", again, err)
		}
	}
	if n := len(srv.Intents()); n != 1 {
		t.Fatalf("%d intents for one fee", n)
	}
	if md := srv.Metadata(first.ID); md["reservation_id"] != "res_1" || md["reason"] != "no_show" {
		t.Fatalf("fee metadata: %v", md)
	}
	for _, c := range []struct{ pm, code string }{
		{payments.TestCardAuthenticationRequired, payments.DeclineAuthenticationRequired},
		{payments.TestCardChargeDeclined, "generic_decline"},
	} {
		in, err := charge(c.pm, "fee-"+c.pm)
		if !errors.Is(err, payments.ErrDeclined) || in.DeclineCode != c.code || in.ID == "" || in.Status == payments.StatusSucceeded {
			t.Fatalf("%s: %+v %v", c.pm, in, err)
		}
	}
	if _, err := charge("", "fee-none"); !errors.Is(err, payments.ErrInvalidState) {
		t.Fatalf("no payment method: %v", err)
	}
}

// Against the scripted stand-in: the SetupIntent of a hold that ended is cancelled with
// the reason abandoned and the caller's idempotency key; a retry after the answer was
// lost (already canceled) succeeds; one whose card was saved answers ErrInvalidState
// with the SetupIntent; an outage is ErrProvider.
func TestStripeCancelSetup(t *testing.T) {
	srv := stripetest.New(t)
	gw := srv.Gateway()
	ctx := context.Background()
	si, err := gw.CreateSetup(ctx, payments.CreateSetup{Metadata: map[string]string{"reservation_id": "res_9"}, IdempotencyKey: "setup-res_9"})
	if err != nil {
		t.Fatal(err)
	}
	srv.FailNext(stripetest.CancelSetup, 1)
	if _, err := gw.CancelSetup(ctx, si.ID, "prima-cancel-setup-res_9-0"); !errors.Is(err, payments.ErrProvider) {
		t.Fatalf("cancel during an outage: %v", err)
	}
	for range 2 {
		got, err := gw.CancelSetup(ctx, si.ID, "prima-cancel-setup-res_9-1")
		if err != nil || got.Status != payments.SetupCanceled {
			t.Fatalf("cancel setup: %+v %v", got, err)
		}
	}
	if seen, reason := srv.Setup(si.ID); seen.Status != payments.SetupCanceled || reason != "abandoned" {
		t.Fatalf("stand-in: %+v %q", seen, reason)
	}
	var keys []string
	for _, r := range srv.Requests() {
		if r.Endpoint == stripetest.CancelSetup {
			keys = append(keys, r.IdempotencyKey)
		}
	}
	if len(keys) < 2 || keys[len(keys)-1] != "prima-cancel-setup-res_9-1" {
		t.Fatalf("idempotency keys of the cancels: %v", keys)
	}
	saved, err := gw.CreateSetup(ctx, payments.CreateSetup{IdempotencyKey: "setup-res_10"})
	if err != nil {
		t.Fatal(err)
	}
	srv.ConfirmSetup(saved.ID, payments.TestCardVisa)
	if got, err := gw.CancelSetup(ctx, saved.ID, "k"); !errors.Is(err, payments.ErrInvalidState) || got.Status != payments.SetupSucceeded {
		t.Fatalf("cancel a saved card's setup: %+v %v", got, err)
	}
}
