package payments

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v79"
	"github.com/stripe/stripe-go/v79/webhook"
)

// VerifyStripeWebhook checks a Stripe webhook delivery — its Stripe-Signature header
// against the endpoint's signing secret (whsec_…), and its signing time against now,
// tolerance either way (0 means Stripe's default, 5 minutes) — and maps the event.
//
// Every failure, a malformed payload included, wraps ErrSignature: none of them gets
// better on a redelivery, so the caller answers 400. Events of any API version are
// accepted; only the fields read here need to be stable.
//
// payment_intent.* events carry the intent as the event saw it (Stripe sends
// latest_charge unexpanded, so Intent.AmountRefunded is 0 there); charge.refunded
// carries the charge's total refunded in AmountRefunded (0 when the charge was never
// captured: cancelling an authorised intent sends it too); charge.refund.updated
// carries only IntentID. Other types come back with ID, Type and Created only.
func VerifyStripeWebhook(payload []byte, header, secret string, tolerance time.Duration, now time.Time) (Event, error) {
	if secret == "" {
		return Event{}, fmt.Errorf("stripe webhook: no signing secret configured: %w", ErrSignature)
	}
	if tolerance <= 0 {
		tolerance = webhook.DefaultTolerance
	}
	signedAt, err := signatureTime(header)
	if err != nil {
		return Event{}, fmt.Errorf("stripe webhook: %w: %w", ErrSignature, err)
	}
	// stripe-go checks only the past, and against the wall clock; checking both sides
	// against the caller's now also refuses a timestamp from the future, which a replay
	// with a forged clock would need.
	switch age := now.Sub(signedAt); {
	case age > tolerance:
		return Event{}, fmt.Errorf("stripe webhook: %w: signed %s ago, tolerance %s", ErrSignature, age.Round(time.Second), tolerance)
	case age < -tolerance:
		return Event{}, fmt.Errorf("stripe webhook: %w: signed %s in the future, tolerance %s", ErrSignature, (-age).Round(time.Second), tolerance)
	}
	se, err := webhook.ConstructEventWithOptions(payload, header, secret, webhook.ConstructEventOptions{
		// The window was checked above against now.
		IgnoreTolerance:          true,
		IgnoreAPIVersionMismatch: true,
	})
	if err != nil {
		return Event{}, fmt.Errorf("stripe webhook: %w: %w", ErrSignature, err)
	}
	ev := Event{ID: se.ID, Type: string(se.Type), Created: time.Unix(se.Created, 0).UTC()}
	if ev.ID == "" || ev.Type == "" || se.Data == nil {
		return Event{}, fmt.Errorf("stripe webhook: %w: not an event", ErrSignature)
	}
	if err := mapEventObject(&ev, se.Data.Raw); err != nil {
		return Event{}, fmt.Errorf("stripe webhook: event %s (%s): %w: %w", ev.ID, ev.Type, ErrSignature, err)
	}
	return ev, nil
}

// signatureTime reads the t= part of a Stripe-Signature header
// ("t=1492774577,v1=5257a8…,v0=…"), as stripe-go does: the last one wins.
func signatureTime(header string) (time.Time, error) {
	if header == "" {
		return time.Time{}, errors.New("no Stripe-Signature header")
	}
	var ts string
	for _, pair := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(pair), "=")
		if !ok {
			return time.Time{}, errors.New("malformed Stripe-Signature header")
		}
		if k == "t" {
			ts = v
		}
	}
	if ts == "" {
		return time.Time{}, errors.New("no timestamp in the Stripe-Signature header")
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return time.Time{}, errors.New("malformed timestamp in the Stripe-Signature header")
	}
	return time.Unix(sec, 0), nil
}

// mapEventObject fills in what PRIMA uses of the event's data.object.
func mapEventObject(ev *Event, raw json.RawMessage) error {
	switch {
	case strings.HasPrefix(ev.Type, "payment_intent."):
		var pi stripe.PaymentIntent
		if err := json.Unmarshal(raw, &pi); err != nil {
			return fmt.Errorf("decoding the payment intent: %w", err)
		}
		if pi.ID == "" {
			return errors.New("the payment intent has no id")
		}
		in := intentFromStripe(&pi)
		ev.IntentID = in.ID
		ev.Intent = &in
	case ev.Type == "charge.refunded":
		var ch stripe.Charge
		if err := json.Unmarshal(raw, &ch); err != nil {
			return fmt.Errorf("decoding the charge: %w", err)
		}
		if ch.PaymentIntent != nil {
			ev.IntentID = ch.PaymentIntent.ID
		}
		// Cancelling an authorised intent also sends charge.refunded, for the released
		// authorisation of an uncaptured charge: no money was refunded.
		if ch.Captured {
			ev.AmountRefunded = ch.AmountRefunded
		}
	case ev.Type == "charge.refund.updated":
		// The object is a refund: it names the intent but not the charge's total
		// refunded, which a Get of the intent gives.
		var re stripe.Refund
		if err := json.Unmarshal(raw, &re); err != nil {
			return fmt.Errorf("decoding the refund: %w", err)
		}
		if re.PaymentIntent != nil {
			ev.IntentID = re.PaymentIntent.ID
		}
	}
	return nil
}
