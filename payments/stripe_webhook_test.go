package payments_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v79/webhook"

	"github.com/prima-dining/partner-api/payments"
	"github.com/prima-dining/partner-api/payments/stripetest"
)

const whsec = "whsec_test_prima"

// A fixed clock: the verifier takes now from its caller.
var webhookNow = time.Date(2026, 3, 14, 19, 30, 0, 0, time.UTC)

func sign(payload []byte, secret string, at time.Time) string {
	return webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: secret, Timestamp: at}).Header
}

// Payloads as Stripe sends them with API version 2024-06-20, trimmed to what matters.
const (
	eventCapturable = `{
  "id": "evt_3Pcapturable", "object": "event", "api_version": "2024-06-20", "created": 1773516600,
  "livemode": false, "pending_webhooks": 1, "request": {"id": null, "idempotency_key": null},
  "type": "payment_intent.amount_capturable_updated",
  "data": {"object": {
    "id": "pi_3Pabc", "object": "payment_intent", "amount": 15000, "amount_capturable": 15000,
    "amount_received": 0, "capture_method": "manual", "client_secret": "pi_3Pabc_secret_xyz",
    "currency": "usd", "last_payment_error": null, "latest_charge": "ch_3Pabc",
    "metadata": {"reservation_id": "res_1"}, "status": "requires_capture"}}
}`
	eventFailed = `{
  "id": "evt_3Pfailed", "object": "event", "api_version": "2025-03-31.basil", "created": 1773516600,
  "type": "payment_intent.payment_failed",
  "data": {"object": {
    "id": "pi_3Pdef", "object": "payment_intent", "amount": 15000, "amount_received": 0,
    "currency": "usd", "status": "requires_payment_method", "latest_charge": "ch_3Pdef",
    "last_payment_error": {"type": "card_error", "code": "card_declined", "decline_code": "insufficient_funds",
      "message": "Your card has insufficient funds.", "charge": "ch_3Pdef"}}}
}`
	eventSucceeded = `{
  "id": "evt_3Psucceeded", "object": "event", "api_version": "2024-06-20", "created": 1773516600,
  "type": "payment_intent.succeeded",
  "data": {"object": {
    "id": "pi_3Pabc", "object": "payment_intent", "amount": 15000, "amount_received": 15000,
    "currency": "usd", "status": "succeeded", "latest_charge": "ch_3Pabc", "last_payment_error": null}}
}`
	eventRefunded = `{
  "id": "evt_3Prefunded", "object": "event", "api_version": "2024-06-20", "created": 1773516600,
  "type": "charge.refunded",
  "data": {"object": {
    "id": "ch_3Pabc", "object": "charge", "amount": 15000, "amount_captured": 15000,
    "amount_refunded": 5000, "captured": true, "refunded": false, "currency": "usd",
    "payment_intent": "pi_3Pabc", "status": "succeeded"}}
}`
	eventReleased = `{
  "id": "evt_3Preleased", "object": "event", "api_version": "2024-06-20", "created": 1773516600,
  "type": "charge.refunded",
  "data": {"object": {
    "id": "ch_3Pghi", "object": "charge", "amount": 15000, "amount_captured": 0,
    "amount_refunded": 15000, "captured": false, "refunded": true, "currency": "usd",
    "payment_intent": "pi_3Pghi", "status": "succeeded"}}
}`
	eventRefundUpdated = `{
  "id": "evt_3Prefundupd", "object": "event", "api_version": "2024-06-20", "created": 1773516600,
  "type": "charge.refund.updated",
  "data": {"object": {
    "id": "re_3Pabc", "object": "refund", "amount": 5000, "charge": "ch_3Pabc",
    "payment_intent": "pi_3Pabc", "status": "succeeded"}}
}`
	eventCustomer = `{
  "id": "evt_1Pcustomer", "object": "event", "api_version": "2024-06-20", "created": 1773516600,
  "type": "customer.created",
  "data": {"object": {"id": "cus_1", "object": "customer"}}
}`
)

func verify(t *testing.T, payload string) payments.Event {
	t.Helper()
	ev, err := payments.VerifyStripeWebhook([]byte(payload), sign([]byte(payload), whsec, webhookNow.Add(-time.Minute)), whsec, 5*time.Minute, webhookNow)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	return ev
}

func TestVerifyStripeWebhookMapsIntentEvents(t *testing.T) {
	ev := verify(t, eventCapturable)
	if ev.ID != "evt_3Pcapturable" || ev.Type != "payment_intent.amount_capturable_updated" ||
		!ev.Created.Equal(time.Unix(1773516600, 0)) || ev.IntentID != "pi_3Pabc" || ev.Intent == nil {
		t.Fatalf("event: %+v", ev)
	}
	if in := *ev.Intent; in.ID != "pi_3Pabc" || in.Status != payments.StatusRequiresCapture || in.Amount != 15000 ||
		in.Currency != "usd" || in.AmountCaptured != 0 || in.DeclineCode != "" {
		t.Fatalf("intent: %+v", in)
	}

	// Another API version is accepted: only stable fields are read.
	failed := verify(t, eventFailed)
	if failed.Intent == nil || failed.Intent.Status != payments.StatusRequiresPaymentMethod || failed.Intent.DeclineCode != "insufficient_funds" {
		t.Fatalf("payment_failed: %+v", failed.Intent)
	}
	succeeded := verify(t, eventSucceeded)
	if succeeded.Intent == nil || succeeded.Intent.Status != payments.StatusSucceeded || succeeded.Intent.AmountCaptured != 15000 {
		t.Fatalf("succeeded: %+v", succeeded.Intent)
	}
}

func TestVerifyStripeWebhookMapsChargeEvents(t *testing.T) {
	refunded := verify(t, eventRefunded)
	if refunded.IntentID != "pi_3Pabc" || refunded.AmountRefunded != 5000 || refunded.Intent != nil {
		t.Fatalf("charge.refunded: %+v", refunded)
	}
	// Cancelling an authorised intent sends charge.refunded for the released, never
	// captured charge: no money was refunded.
	released := verify(t, eventReleased)
	if released.IntentID != "pi_3Pghi" || released.AmountRefunded != 0 {
		t.Fatalf("charge.refunded of an uncaptured charge: %+v", released)
	}
	updated := verify(t, eventRefundUpdated)
	if updated.IntentID != "pi_3Pabc" || updated.AmountRefunded != 0 {
		t.Fatalf("charge.refund.updated: %+v", updated)
	}
}

func TestVerifyStripeWebhookPassesOtherEventsThrough(t *testing.T) {
	ev := verify(t, eventCustomer)
	if ev.ID != "evt_1Pcustomer" || ev.Type != "customer.created" || ev.Created.IsZero() ||
		ev.IntentID != "" || ev.Intent != nil || ev.AmountRefunded != 0 {
		t.Fatalf("other event: %+v", ev)
	}
}

func TestVerifyStripeWebhookRefuses(t *testing.T) {
	payload := []byte(eventCapturable)
	good := sign(payload, whsec, webhookNow)
	tolerance := 300 * time.Second
	badIntent := []byte(`{"id":"evt_1","type":"payment_intent.succeeded","created":1,"data":{"object":{"id":5}}}`)
	cases := map[string]struct {
		payload []byte
		header  string
		secret  string
	}{
		"tampered body":          {[]byte(strings.Replace(eventCapturable, "15000", "1", 1)), good, whsec},
		"wrong secret":           {payload, sign(payload, "whsec_other", webhookNow), whsec},
		"too old":                {payload, sign(payload, whsec, webhookNow.Add(-301*time.Second)), whsec},
		"too new":                {payload, sign(payload, whsec, webhookNow.Add(301*time.Second)), whsec},
		"missing header":         {payload, "", whsec},
		"no signature":           {payload, "t=" + good[2:strings.Index(good, ",")], whsec},
		"no timestamp":           {payload, good[strings.Index(good, ",")+1:], whsec},
		"bad timestamp":          {payload, "t=soon," + good[strings.Index(good, ",")+1:], whsec},
		"garbage header":         {payload, "garbage", whsec},
		"no secret configured":   {payload, good, ""},
		"signed, but not JSON":   {[]byte("not json"), sign([]byte("not json"), whsec, webhookNow), whsec},
		"signed, but no event":   {[]byte(`{}`), sign([]byte(`{}`), whsec, webhookNow), whsec},
		"signed, bad intent obj": {badIntent, sign(badIntent, whsec, webhookNow), whsec},
	}
	for name, c := range cases {
		ev, err := payments.VerifyStripeWebhook(c.payload, c.header, c.secret, tolerance, webhookNow)
		t.Logf("%s: %v", name, err)
		if !errors.Is(err, payments.ErrSignature) {
			t.Errorf("%s: %+v, %v; want ErrSignature", name, ev, err)
			continue
		}
		if strings.Contains(err.Error(), whsec) {
			t.Errorf("%s: the error shows the secret: %v", name, err)
		}
	}
	// Just inside the window, either side.
	for _, skew := range []time.Duration{-299 * time.Second, 299 * time.Second} {
		if _, err := payments.VerifyStripeWebhook(payload, sign(payload, whsec, webhookNow.Add(skew)), whsec, tolerance, webhookNow); err != nil {
			t.Errorf("signed %s from now: %v", skew, err)
		}
	}
	// A zero tolerance means Stripe's default of five minutes.
	if _, err := payments.VerifyStripeWebhook(payload, sign(payload, whsec, webhookNow.Add(-4*time.Minute)), whsec, 0, webhookNow); err != nil {
		t.Errorf("default tolerance: %v", err)
	}
	if _, err := payments.VerifyStripeWebhook(payload, sign(payload, whsec, webhookNow.Add(-6*time.Minute)), whsec, 0, webhookNow); !errors.Is(err, payments.ErrSignature) {
		t.Errorf("default tolerance, too old: %v", err)
	}
}

// The events stripetest makes verify and map like Stripe's, so booking and server tests
// can drive webhooks from it.
func TestVerifyStripeWebhookOnStripetestEvents(t *testing.T) {
	srv := stripetest.New(t)
	gw := srv.Gateway()
	ctx := context.Background()
	in, err := gw.Create(ctx, payments.CreateIntent{Amount: 9000, Currency: "usd", IdempotencyKey: "hold"})
	if err != nil {
		t.Fatal(err)
	}
	srv.Authorize(in.ID)
	now := time.Now()
	payload := srv.Event("payment_intent.amount_capturable_updated", in.ID)
	ev, err := payments.VerifyStripeWebhook(payload, stripetest.SignWebhook(payload, whsec, now), whsec, 5*time.Minute, now)
	if err != nil || ev.IntentID != in.ID || ev.Intent == nil || ev.Intent.Status != payments.StatusRequiresCapture || ev.Intent.Amount != 9000 {
		t.Fatalf("amount_capturable_updated: %+v %v", ev, err)
	}
	if _, err := gw.Capture(ctx, in.ID, "finalize"); err != nil {
		t.Fatal(err)
	}
	if _, err := gw.Refund(ctx, in.ID, 4000, "refund"); err != nil {
		t.Fatal(err)
	}
	payload = srv.Event("charge.refunded", in.ID)
	ev, err = payments.VerifyStripeWebhook(payload, stripetest.SignWebhook(payload, whsec, time.Time{}), whsec, 5*time.Minute, now)
	if err != nil || ev.IntentID != in.ID || ev.AmountRefunded != 4000 {
		t.Fatalf("charge.refunded: %+v %v", ev, err)
	}
	payload = srv.Event("charge.refund.updated", in.ID)
	if ev, err := payments.VerifyStripeWebhook(payload, stripetest.SignWebhook(payload, whsec, now), whsec, 5*time.Minute, now); err != nil || ev.IntentID != in.ID {
		t.Fatalf("charge.refund.updated: %+v %v", ev, err)
	}
}
