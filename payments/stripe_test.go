package payments_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prima-dining/partner-api/payments"
	"github.com/prima-dining/partner-api/payments/stripetest"
)

// stripeMockURL returns the base URL of a running stripe-mock, or skips the test when
// there is none, unless PRIMA_REQUIRE_INTEGRATION=1 (CI), where that is a failure.
func stripeMockURL(t *testing.T) string {
	t.Helper()
	u := os.Getenv("PRIMA_TEST_STRIPE_MOCK_URL")
	if u == "" {
		if os.Getenv("PRIMA_REQUIRE_INTEGRATION") == "1" {
			t.Fatal("PRIMA_REQUIRE_INTEGRATION=1 but PRIMA_TEST_STRIPE_MOCK_URL is not set: start stripe-mock with scripts/ci/stripe-mock.sh")
		}
		t.Skip("PRIMA_TEST_STRIPE_MOCK_URL is not set: skipping the stripe-mock tests (scripts/ci/stripe-mock.sh starts one)")
	}
	return u
}

// TestStripeRequestsAcceptedByStripeMock checks that every request the gateway makes
// has a shape Stripe's OpenAPI spec accepts. stripe-mock validates requests against
// the spec but answers canned objects (always requires_payment_method), so only
// shapes are asserted, not state changes.
func TestStripeRequestsAcceptedByStripeMock(t *testing.T) {
	base := stripeMockURL(t)
	gw, err := payments.NewStripe(payments.StripeConfig{SecretKey: "sk_test_123", APIBase: base, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	in, err := gw.Create(ctx, payments.CreateIntent{
		Amount: 15000, Currency: "USD", Description: "Prime table at Le Bernardin",
		Metadata:       map[string]string{"reservation_id": "res_123", "partner_id": "prt_1"},
		IdempotencyKey: "hold-res_123",
	})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if !strings.HasPrefix(in.ID, "pi_") || in.ClientSecret == "" || in.Amount != 15000 || in.Currency != "usd" || in.Status == "" {
		t.Fatalf("create: implausible intent %+v", in)
	}
	got, err := gw.Get(ctx, in.ID)
	if err != nil || got.ID != in.ID || got.Status == "" {
		t.Fatalf("get: %+v %v", got, err)
	}
	if _, err := gw.Capture(ctx, in.ID, "finalize-res_123"); err != nil {
		t.Fatalf("capture: %v", err)
	}
	if _, err := gw.Cancel(ctx, in.ID, "release-res_123"); err != nil {
		t.Fatalf("cancel: %v", err)
	}
	refunded, err := gw.Refund(ctx, in.ID, 5000, "refund-res_123")
	if err != nil || refunded.ID != in.ID {
		t.Fatalf("refund: %+v %v", refunded, err)
	}
	// stripe-mock quotes a rejected Authorization header in its error message; the
	// gateway's error must not.
	const badKey = "live_key_not_for_tests"
	bad := newStripe(t, payments.StripeConfig{SecretKey: badKey, APIBase: base, Timeout: 5 * time.Second})
	if _, err := bad.Get(ctx, in.ID); !errors.Is(err, payments.ErrProvider) || strings.Contains(err.Error(), badKey) {
		t.Fatalf("a rejected key: %v", err)
	}
}

func newStripe(t *testing.T, cfg payments.StripeConfig) *payments.Stripe {
	t.Helper()
	gw, err := payments.NewStripe(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return gw
}

func TestNewStripeChecksItsConfig(t *testing.T) {
	for name, cfg := range map[string]payments.StripeConfig{
		"no key":           {},
		"key with a space": {SecretKey: "sk_test_1 2"},
		"bad base":         {SecretKey: "sk_test_1", APIBase: "127.0.0.1:12111"},
		"ftp base":         {SecretKey: "sk_test_1", APIBase: "ftp://example.test"},
		"negative timeout": {SecretKey: "sk_test_1", Timeout: -time.Second},
	} {
		if _, err := payments.NewStripe(cfg); err == nil {
			t.Errorf("%s: no error", name)
		} else if strings.Contains(err.Error(), "sk_test_1") {
			t.Errorf("%s: the error shows the key: %v", name, err)
		}
	}
	gw := newStripe(t, payments.StripeConfig{SecretKey: "sk_test_1"})
	if gw.Name() != "stripe" {
		t.Fatalf("name %q", gw.Name())
	}
}

func TestStripeAuthoriseCaptureRefund(t *testing.T) {
	srv := stripetest.New(t)
	gw := srv.Gateway()
	ctx := context.Background()

	in, err := gw.Create(ctx, payments.CreateIntent{
		Amount: 15000, Currency: "USD", Description: "Prime table",
		Metadata: map[string]string{"reservation_id": "res_1"}, IdempotencyKey: "hold-res_1",
	})
	if err != nil {
		t.Fatal(err)
	}
	if in.Status != payments.StatusRequiresPaymentMethod || in.Amount != 15000 || in.Currency != "usd" ||
		!strings.HasPrefix(in.ClientSecret, in.ID+"_secret_") {
		t.Fatalf("create: %+v", in)
	}
	reqs := srv.Requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	create := reqs[0]
	for param, want := range map[string]string{
		"amount": "15000", "currency": "usd", "capture_method": "manual",
		"automatic_payment_methods[enabled]": "true", "description": "Prime table",
		"metadata[reservation_id]": "res_1",
	} {
		if got := create.Params.Get(param); got != want {
			t.Errorf("create sent %s=%q, want %q", param, got, want)
		}
	}
	if create.IdempotencyKey != "hold-res_1" || create.StripeVersion != "2024-06-20" {
		t.Errorf("create headers: key %q, version %q", create.IdempotencyKey, create.StripeVersion)
	}

	if _, err := gw.Capture(ctx, in.ID, "capture-too-early"); !errors.Is(err, payments.ErrInvalidState) {
		t.Fatalf("capture before authorisation: %v", err)
	}
	srv.Authorize(in.ID)
	got, err := gw.Get(ctx, in.ID)
	if err != nil || got.Status != payments.StatusRequiresCapture || got.AmountCaptured != 0 || got.DeclineCode != "" {
		t.Fatalf("authorised: %+v %v", got, err)
	}
	captured, err := gw.Capture(ctx, in.ID, "finalize-res_1")
	if err != nil || captured.Status != payments.StatusSucceeded || captured.AmountCaptured != 15000 {
		t.Fatalf("capture: %+v %v", captured, err)
	}
	if _, err := gw.Cancel(ctx, in.ID, "release-res_1"); !errors.Is(err, payments.ErrInvalidState) {
		t.Fatalf("cancel after capture: %v", err)
	}

	refunded, err := gw.Refund(ctx, in.ID, 5000, "refund-1")
	if err != nil || refunded.AmountRefunded != 5000 || refunded.AmountCaptured != 15000 {
		t.Fatalf("refund: %+v %v", refunded, err)
	}
	if again, err := gw.Refund(ctx, in.ID, 5000, "refund-1"); err != nil || again.AmountRefunded != 5000 {
		t.Fatalf("a retried refund refunded twice: %+v %v", again, err)
	}
	if _, err := gw.Refund(ctx, in.ID, 20000, "refund-2"); !errors.Is(err, payments.ErrInvalidState) {
		t.Fatalf("refund above what is left: %v", err)
	}
	if _, err := gw.Refund(ctx, in.ID, 0, "refund-3"); !errors.Is(err, payments.ErrInvalidState) {
		t.Fatalf("refund of nothing: %v", err)
	}
	if all, err := gw.Refund(ctx, in.ID, 10000, "refund-4"); err != nil || all.AmountRefunded != 15000 {
		t.Fatalf("refund of the rest: %+v %v", all, err)
	}
	if n := srv.Calls(stripetest.CreateRefund); n != 4 {
		t.Fatalf("%d refund requests, want 4 (one replayed, two refused)", n)
	}
	if n := srv.Calls(stripetest.CaptureIntent); n != 2 {
		t.Fatalf("%d capture requests, want 2", n)
	}
}

func TestStripeCreateIsIdempotent(t *testing.T) {
	srv := stripetest.New(t)
	gw := srv.Gateway()
	ctx := context.Background()
	p := payments.CreateIntent{Amount: 5000, Currency: "eur", IdempotencyKey: "hold-res_2"}
	first, err := gw.Create(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	again, err := gw.Create(ctx, p)
	if err != nil || again.ID != first.ID || again.ClientSecret != first.ClientSecret {
		t.Fatalf("a retried create gave %+v (%v), want %s", again, err, first.ID)
	}
	if n := len(srv.Intents()); n != 1 {
		t.Fatalf("%d intents, want 1", n)
	}
	// The same key with other parameters is a caller bug that Stripe refuses.
	p.Amount = 6000
	if _, err := gw.Create(ctx, p); !errors.Is(err, payments.ErrInvalidState) {
		t.Fatalf("same key, other amount: %v", err)
	}
	p.IdempotencyKey = "hold-res_3"
	if other, err := gw.Create(ctx, p); err != nil || other.ID == first.ID {
		t.Fatalf("another key: %+v %v", other, err)
	}
}

func TestStripeDeclinesAndActions(t *testing.T) {
	srv := stripetest.New(t)
	gw := srv.Gateway()
	ctx := context.Background()
	in, err := gw.Create(ctx, payments.CreateIntent{Amount: 5000, Currency: "usd", IdempotencyKey: "hold"})
	if err != nil {
		t.Fatal(err)
	}

	srv.Decline(in.ID, "insufficient_funds")
	got, err := gw.Get(ctx, in.ID)
	if err != nil || got.Status != payments.StatusRequiresPaymentMethod || got.DeclineCode != "insufficient_funds" {
		t.Fatalf("declined: %+v %v", got, err)
	}
	// A failure with no issuer decline code reports Stripe's error code.
	srv.Confirm(in.ID, "pm_card_chargeDeclinedExpiredCard")
	if got, err := gw.Get(ctx, in.ID); err != nil || got.DeclineCode != "expired_card" {
		t.Fatalf("expired card: %+v %v", got, err)
	}
	srv.RequireAction(in.ID)
	if got, err := gw.Get(ctx, in.ID); err != nil || got.Status != payments.StatusRequiresAction || got.DeclineCode != "" {
		t.Fatalf("3-D Secure: %+v %v", got, err)
	}
	if _, err := gw.Capture(ctx, in.ID, "early"); !errors.Is(err, payments.ErrInvalidState) {
		t.Fatalf("capture while requires_action: %v", err)
	}
	srv.Authorize(in.ID)
	if got, err := gw.Capture(ctx, in.ID, "finalize"); err != nil || got.Status != payments.StatusSucceeded {
		t.Fatalf("capture after 3-D Secure: %+v %v", got, err)
	}

	// A card error answered to a call is ErrDeclined, with the decline code.
	other, err := gw.Create(ctx, payments.CreateIntent{Amount: 5000, Currency: "usd", IdempotencyKey: "hold-2"})
	if err != nil {
		t.Fatal(err)
	}
	srv.Authorize(other.ID)
	srv.ErrorNext(stripetest.CaptureIntent, 1, stripetest.Error{Status: http.StatusPaymentRequired, Type: "card_error",
		Code: "card_declined", DeclineCode: "do_not_honor", Message: "Your card was declined."})
	declined, err := gw.Capture(ctx, other.ID, "finalize-2")
	if !errors.Is(err, payments.ErrDeclined) || declined.DeclineCode != "do_not_honor" || !strings.Contains(err.Error(), "do_not_honor") {
		t.Fatalf("card error: %+v %v", declined, err)
	}
}

func TestStripeCaptureAndCancelRepeat(t *testing.T) {
	srv := stripetest.New(t)
	gw := srv.Gateway()
	ctx := context.Background()
	in, err := gw.Create(ctx, payments.CreateIntent{Amount: 8000, Currency: "usd", IdempotencyKey: "hold"})
	if err != nil {
		t.Fatal(err)
	}
	srv.Authorize(in.ID)
	if _, err := gw.Capture(ctx, in.ID, "finalize-1"); err != nil {
		t.Fatal(err)
	}
	// A second capture under another key meets payment_intent_unexpected_state at
	// Stripe, and reads back a succeeded intent: a no-op.
	twice, err := gw.Capture(ctx, in.ID, "finalize-2")
	if err != nil || twice.Status != payments.StatusSucceeded || twice.AmountCaptured != 8000 {
		t.Fatalf("second capture: %+v %v", twice, err)
	}
	// Under the same key Stripe replays the first answer.
	if replay, err := gw.Capture(ctx, in.ID, "finalize-1"); err != nil || replay.Status != payments.StatusSucceeded {
		t.Fatalf("replayed capture: %+v %v", replay, err)
	}
	if refused, err := gw.Cancel(ctx, in.ID, "release"); !errors.Is(err, payments.ErrInvalidState) || refused.Status != payments.StatusSucceeded {
		t.Fatalf("cancel of a captured intent: %+v %v", refused, err)
	}

	held, err := gw.Create(ctx, payments.CreateIntent{Amount: 8000, Currency: "usd", IdempotencyKey: "hold-2"})
	if err != nil {
		t.Fatal(err)
	}
	srv.Authorize(held.ID)
	cancelled, err := gw.Cancel(ctx, held.ID, "release-1")
	// Releasing the authorisation shows at Stripe as a refund of the uncaptured charge,
	// which is not money refunded.
	if err != nil || cancelled.Status != payments.StatusCanceled || cancelled.AmountRefunded != 0 || cancelled.AmountCaptured != 0 {
		t.Fatalf("cancel: %+v %v", cancelled, err)
	}
	if again, err := gw.Cancel(ctx, held.ID, "release-2"); err != nil || again.Status != payments.StatusCanceled {
		t.Fatalf("second cancel: %+v %v", again, err)
	}
	if _, err := gw.Capture(ctx, held.ID, "finalize-3"); !errors.Is(err, payments.ErrInvalidState) {
		t.Fatalf("capture of a cancelled intent: %v", err)
	}
	if n := srv.Calls(stripetest.CancelIntent); n != 3 {
		t.Fatalf("%d cancel requests, want 3", n)
	}
}

func TestStripeUnknownIntent(t *testing.T) {
	srv := stripetest.New(t)
	gw := srv.Gateway()
	ctx := context.Background()
	if _, err := gw.Get(ctx, "pi_nope"); !errors.Is(err, payments.ErrNotFound) {
		t.Fatalf("get: %v", err)
	}
	if _, err := gw.Capture(ctx, "pi_nope", "k1"); !errors.Is(err, payments.ErrNotFound) {
		t.Fatalf("capture: %v", err)
	}
	if _, err := gw.Cancel(ctx, "pi_nope", "k2"); !errors.Is(err, payments.ErrNotFound) {
		t.Fatalf("cancel: %v", err)
	}
	if _, err := gw.Refund(ctx, "pi_nope", 100, "k3"); !errors.Is(err, payments.ErrNotFound) {
		t.Fatalf("refund: %v", err)
	}
	if _, err := gw.Get(ctx, ""); !errors.Is(err, payments.ErrNotFound) {
		t.Fatalf("empty id: %v", err)
	}
}

func TestStripeProviderFailures(t *testing.T) {
	srv := stripetest.New(t)
	gw := srv.Gateway()
	ctx := context.Background()
	p := payments.CreateIntent{Amount: 5000, Currency: "usd", IdempotencyKey: "hold"}

	srv.FailNext(stripetest.CreateIntent, 1)
	if _, err := gw.Create(ctx, p); !errors.Is(err, payments.ErrProvider) {
		t.Fatalf("500: %v", err)
	}
	if n := len(srv.Intents()); n != 0 {
		t.Fatalf("a failed create left %d intents", n)
	}
	in, err := gw.Create(ctx, p)
	if err != nil {
		t.Fatalf("create after a 500: %v", err)
	}

	srv.ErrorNext(stripetest.GetIntent, 1, stripetest.Error{Status: http.StatusTooManyRequests, Type: "invalid_request_error",
		Code: "rate_limit", Message: "Too many requests"})
	if _, err := gw.Get(ctx, in.ID); !errors.Is(err, payments.ErrProvider) {
		t.Fatalf("429: %v", err)
	}

	// A 500 that Stripe marks retryable is retried by stripe-go under the same
	// idempotency key, and the call succeeds.
	srv.Authorize(in.ID)
	srv.ErrorNext(stripetest.CaptureIntent, 1, stripetest.Error{Status: http.StatusInternalServerError, Type: "api_error",
		Message: "try again", Retryable: true})
	if got, err := gw.Capture(ctx, in.ID, "finalize"); err != nil || got.Status != payments.StatusSucceeded {
		t.Fatalf("capture after a retried 500: %+v %v", got, err)
	}
	if n := srv.Calls(stripetest.CaptureIntent); n != 2 {
		t.Fatalf("%d capture requests, want 2", n)
	}

	noRetries := srv.Config()
	noRetries.MaxNetworkRetries = -1
	gw = newStripe(t, noRetries)
	srv.ErrorNext(stripetest.CreateRefund, 1, stripetest.Error{Status: http.StatusServiceUnavailable, Type: "api_error", Retryable: true})
	if _, err := gw.Refund(ctx, in.ID, 100, "refund"); !errors.Is(err, payments.ErrProvider) {
		t.Fatalf("503 without retries: %v", err)
	}

	// Nothing listening.
	srv.Close()
	if _, err := gw.Get(ctx, in.ID); !errors.Is(err, payments.ErrProvider) {
		t.Fatalf("connection refused: %v", err)
	}
}

func TestStripeTimeouts(t *testing.T) {
	srv := stripetest.New(t)
	cfg := srv.Config()
	cfg.Timeout = 300 * time.Millisecond
	gw := newStripe(t, cfg)
	ctx := context.Background()
	p := payments.CreateIntent{Amount: 5000, Currency: "usd", IdempotencyKey: "hold"}

	srv.HangNext(stripetest.CreateIntent, 1, 10*time.Second)
	start := time.Now()
	_, err := gw.Create(ctx, p)
	elapsed := time.Since(start)
	if !errors.Is(err, payments.ErrProvider) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("hung create: %v", err)
	}
	if elapsed < cfg.Timeout || elapsed > cfg.Timeout+time.Second {
		t.Fatalf("hung create returned after %s, timeout %s", elapsed, cfg.Timeout)
	}
	// Stripe went on and made the intent; a retry under the same key finds it.
	waitFor(t, func() bool { return len(srv.Intents()) == 1 })
	in, err := gw.Create(ctx, p)
	if err != nil || in.ID != srv.Intents()[0].ID {
		t.Fatalf("retried create: %+v %v", in, err)
	}

	srv.Authorize(in.ID)
	srv.HangNext(stripetest.CaptureIntent, 1, 10*time.Second)
	if _, err := gw.Capture(ctx, in.ID, "finalize"); !errors.Is(err, payments.ErrProvider) {
		t.Fatalf("hung capture: %v", err)
	}
	waitFor(t, func() bool { return srv.Intent(in.ID).Status == payments.StatusSucceeded })
	if got, err := gw.Capture(ctx, in.ID, "finalize"); err != nil || got.Status != payments.StatusSucceeded {
		t.Fatalf("retried capture: %+v %v", got, err)
	}

	// The caller's own cancellation is ErrProvider too, and says so.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := gw.Get(cctx, in.ID); !errors.Is(err, payments.ErrProvider) || !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled context: %v", err)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal("condition not met within 5s")
}

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a logger.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestStripeKeepsSecretsOutOfErrorsAndLogs(t *testing.T) {
	srv := stripetest.New(t)
	var logs syncBuffer
	cfg := srv.Config()
	cfg.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	gw := newStripe(t, cfg)
	ctx := context.Background()
	in, err := gw.Create(ctx, payments.CreateIntent{Amount: 5000, Currency: "usd", IdempotencyKey: "hold"})
	if err != nil {
		t.Fatal(err)
	}
	var errs []error
	// Stripe's unexpected-state error carries the intent, client secret included.
	_, err = gw.Capture(ctx, in.ID, "early")
	errs = append(errs, err)
	srv.ErrorNext(stripetest.GetIntent, 1, stripetest.Error{Status: http.StatusUnauthorized, Type: "invalid_request_error",
		Message: "Invalid API Key provided: " + stripetest.SecretKey})
	_, err = gw.Get(ctx, in.ID)
	errs = append(errs, err)
	srv.ErrorNext(stripetest.GetIntent, 1, stripetest.Error{Status: http.StatusInternalServerError, Type: "api_error",
		Message: "oops " + in.ClientSecret})
	_, err = gw.Get(ctx, in.ID)
	errs = append(errs, err)
	for _, err := range errs {
		if err == nil {
			t.Fatal("no error")
		}
		if msg := err.Error(); strings.Contains(msg, stripetest.SecretKey) || strings.Contains(msg, in.ClientSecret) || strings.Contains(msg, "_secret_") {
			t.Errorf("error shows a secret: %s", msg)
		}
	}
	if !errors.Is(errs[1], payments.ErrProvider) {
		t.Errorf("401: %v", errs[1])
	}
	out := logs.String()
	if !strings.Contains(out, "/v1/payment_intents") {
		t.Errorf("the logger got nothing useful: %q", out)
	}
	if strings.Contains(out, stripetest.SecretKey) || strings.Contains(out, in.ClientSecret) {
		t.Errorf("the log shows a secret:\n%s", out)
	}
}

// Two gateways with different bases work side by side: none uses stripe-go's
// package-level backend.
func TestStripeGatewaysAreIndependent(t *testing.T) {
	a, b := stripetest.New(t), stripetest.New(t)
	ga, gb := a.Gateway(), b.Gateway()
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			gw := ga
			if i%2 == 1 {
				gw = gb
			}
			if _, err := gw.Create(ctx, payments.CreateIntent{Amount: 1000, Currency: "usd"}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if na, nb := len(a.Intents()), len(b.Intents()); na != 2 || nb != 2 {
		t.Fatalf("intents: %d at a, %d at b; want 2 and 2", na, nb)
	}
}
