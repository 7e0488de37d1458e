package payments_test

import (
	"context"
	"errors"
	"testing"

	"github.com/prima-dining/partner-api/payments"
	"github.com/prima-dining/partner-api/store"
	"github.com/prima-dining/partner-api/store/storetest"
)

func TestSandboxIntentsMoveLikeStripes(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		gw := payments.NewSandbox(db)
		create := payments.CreateIntent{Amount: 15000, Currency: "USD", IdempotencyKey: "hold-1"}
		in, err := gw.Create(ctx, create)
		if err != nil || in.Status != payments.StatusRequiresPaymentMethod || in.Currency != "usd" || in.ClientSecret == "" {
			t.Fatalf("create: %+v %v", in, err)
		}
		again, err := gw.Create(ctx, create)
		if err != nil || again.ID != in.ID {
			t.Fatalf("a retried create made a second intent: %s vs %s (%v)", again.ID, in.ID, err)
		}
		if _, err := gw.Capture(ctx, in.ID, "c"); !errors.Is(err, payments.ErrInvalidState) {
			t.Fatalf("capture before confirmation: %v", err)
		}
		if got, err := gw.Confirm(ctx, in.ID, payments.TestCardChargeDeclined); !errors.Is(err, payments.ErrDeclined) || got.Status != payments.StatusRequiresPaymentMethod {
			t.Fatalf("declined: %+v %v", got, err)
		}
		if got, err := gw.Confirm(ctx, in.ID, payments.TestCardVisa); err != nil || got.Status != payments.StatusRequiresCapture {
			t.Fatalf("confirm: %+v %v", got, err)
		}
		captured, err := gw.Capture(ctx, in.ID, "c")
		if err != nil || captured.Status != payments.StatusSucceeded || captured.AmountCaptured != 15000 {
			t.Fatalf("capture: %+v %v", captured, err)
		}
		if twice, err := gw.Capture(ctx, in.ID, "c"); err != nil || twice.AmountCaptured != 15000 {
			t.Fatalf("second capture: %+v %v", twice, err)
		}
		if _, err := gw.Cancel(ctx, in.ID, "x"); !errors.Is(err, payments.ErrInvalidState) {
			t.Fatalf("cancel after capture: %v", err)
		}
		refunded, err := gw.Refund(ctx, in.ID, 5000, "r1")
		if err != nil || refunded.AmountRefunded != 5000 {
			t.Fatalf("refund: %+v %v", refunded, err)
		}
		if again, err := gw.Refund(ctx, in.ID, 5000, "r1"); err != nil || again.AmountRefunded != 5000 {
			t.Fatalf("a retried refund paid twice: %+v %v", again, err)
		}
		if _, err := gw.Refund(ctx, in.ID, 20000, "r2"); !errors.Is(err, payments.ErrInvalidState) {
			t.Fatalf("refund above the captured amount: %v", err)
		}
		if _, err := gw.Get(ctx, "pi_sbx_nope"); !errors.Is(err, payments.ErrNotFound) {
			t.Fatalf("unknown intent: %v", err)
		}
	})
}
