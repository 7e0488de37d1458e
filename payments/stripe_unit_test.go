package payments

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/stripe/stripe-go/v79"
)

// Every error Stripe answers maps to one of the package's sentinels, so callers never
// see stripe-go's types.
func TestClassifyMapsStripeErrorsToSentinels(t *testing.T) {
	cases := []struct {
		name string
		err  stripe.Error
		want error
	}{
		{"card declined", stripe.Error{Type: stripe.ErrorTypeCard, HTTPStatusCode: http.StatusPaymentRequired, Code: stripe.ErrorCodeCardDeclined}, ErrDeclined},
		{"card error on a 400", stripe.Error{Type: stripe.ErrorTypeCard, HTTPStatusCode: http.StatusBadRequest}, ErrDeclined},
		{"404", stripe.Error{Type: stripe.ErrorTypeInvalidRequest, HTTPStatusCode: http.StatusNotFound}, ErrNotFound},
		{"resource_missing on a 400", stripe.Error{Type: stripe.ErrorTypeInvalidRequest, HTTPStatusCode: http.StatusBadRequest, Code: stripe.ErrorCodeResourceMissing}, ErrNotFound},
		{"500", stripe.Error{Type: stripe.ErrorTypeAPI, HTTPStatusCode: http.StatusInternalServerError}, ErrProvider},
		{"503 invalid request", stripe.Error{Type: stripe.ErrorTypeInvalidRequest, HTTPStatusCode: http.StatusServiceUnavailable}, ErrProvider},
		{"429", stripe.Error{Type: stripe.ErrorTypeInvalidRequest, HTTPStatusCode: http.StatusTooManyRequests, Code: stripe.ErrorCodeRateLimit}, ErrProvider},
		{"409 concurrent idempotent request", stripe.Error{Type: stripe.ErrorTypeIdempotency, HTTPStatusCode: http.StatusConflict}, ErrProvider},
		{"401 bad key", stripe.Error{Type: stripe.ErrorTypeInvalidRequest, HTTPStatusCode: http.StatusUnauthorized}, ErrProvider},
		{"403 restricted key", stripe.Error{Type: stripe.ErrorTypeInvalidRequest, HTTPStatusCode: http.StatusForbidden}, ErrProvider},
		{"api error without status", stripe.Error{Type: stripe.ErrorTypeAPI}, ErrProvider},
		{"unexpected state", stripe.Error{Type: stripe.ErrorTypeInvalidRequest, HTTPStatusCode: http.StatusBadRequest, Code: stripe.ErrorCodePaymentIntentUnexpectedState}, ErrInvalidState},
		{"invalid request", stripe.Error{Type: stripe.ErrorTypeInvalidRequest, HTTPStatusCode: http.StatusBadRequest, Code: stripe.ErrorCodeAmountTooLarge}, ErrInvalidState},
		{"idempotency key reused on a 400", stripe.Error{Type: stripe.ErrorTypeIdempotency, HTTPStatusCode: http.StatusBadRequest}, ErrInvalidState},
		{"402 without a card error", stripe.Error{HTTPStatusCode: http.StatusPaymentRequired}, ErrInvalidState},
		{"nothing known", stripe.Error{}, ErrProvider},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := classify(&tc.err); !errors.Is(got, tc.want) {
				t.Fatalf("classify = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestScrubSecretsRemovesKeysAndClientSecrets(t *testing.T) {
	const key = "sk_test_51Habc"
	cases := []struct {
		in   string
		key  string
		gone []string
		kept []string
	}{
		{"Invalid API Key provided: sk_test_51Habc", key, []string{key}, []string{"Invalid API Key provided: [REDACTED]"}},
		{"rk_live_abcDEF123 and sk_live_zzz", key, []string{"rk_live_abcDEF123", "sk_live_zzz"}, nil},
		{"secret whsec_abc123 leaked", key, []string{"whsec_abc123"}, []string{"secret [REDACTED] leaked"}},
		{`{"client_secret":"pi_3Pabc_secret_xyz789"}`, key, []string{"_secret_xyz789", "xyz789"}, []string{"pi_3Pabc"}},
		// The configured key is removed even when it looks like no Stripe key.
		{"a key with other text: custom-key-1234", "custom-key-1234", []string{"custom-key-1234"}, nil},
		{"HTTP 402 card_error card_declined [req_123]", key, nil, []string{"HTTP 402 card_error card_declined [req_123]"}},
	}
	for _, tc := range cases {
		got := scrubSecrets(tc.in, tc.key)
		for _, s := range tc.gone {
			if strings.Contains(got, s) {
				t.Errorf("scrub(%q) = %q still holds %q", tc.in, got, s)
			}
		}
		for _, s := range tc.kept {
			if !strings.Contains(got, s) {
				t.Errorf("scrub(%q) = %q lost %q", tc.in, got, s)
			}
		}
	}
}

func TestIntentFromStripeCountsOnlyCapturedCharges(t *testing.T) {
	base := stripe.PaymentIntent{ID: "pi_1", ClientSecret: "pi_1_secret_x", Amount: 15000, Currency: "usd", Status: stripe.PaymentIntentStatusSucceeded, AmountReceived: 15000}
	cases := []struct {
		name               string
		change             func(*stripe.PaymentIntent)
		captured, refunded int64
		declineCode        string
		status             IntentStatus
	}{
		{"unexpanded charge", func(pi *stripe.PaymentIntent) { pi.LatestCharge = &stripe.Charge{ID: "ch_1"} }, 15000, 0, "", StatusSucceeded},
		{"captured charge with refunds", func(pi *stripe.PaymentIntent) {
			pi.LatestCharge = &stripe.Charge{ID: "ch_1", Object: "charge", Captured: true, AmountCaptured: 15000, AmountRefunded: 5000}
		}, 15000, 5000, "", StatusSucceeded},
		{"released authorisation is not a refund", func(pi *stripe.PaymentIntent) {
			pi.Status, pi.AmountReceived = stripe.PaymentIntentStatusCanceled, 0
			pi.LatestCharge = &stripe.Charge{ID: "ch_1", Object: "charge", Captured: false, AmountRefunded: 15000}
		}, 0, 0, "", StatusCanceled},
		{"decline code", func(pi *stripe.PaymentIntent) {
			pi.Status, pi.AmountReceived = stripe.PaymentIntentStatusRequiresPaymentMethod, 0
			pi.LastPaymentError = &stripe.Error{Code: stripe.ErrorCodeCardDeclined, DeclineCode: stripe.DeclineCodeInsufficientFunds}
		}, 0, 0, "insufficient_funds", StatusRequiresPaymentMethod},
		{"code when no decline code", func(pi *stripe.PaymentIntent) {
			pi.Status, pi.AmountReceived = stripe.PaymentIntentStatusRequiresPaymentMethod, 0
			pi.LastPaymentError = &stripe.Error{Code: stripe.ErrorCodeExpiredCard}
		}, 0, 0, "expired_card", StatusRequiresPaymentMethod},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pi := base
			tc.change(&pi)
			in := intentFromStripe(&pi)
			if in.ID != "pi_1" || in.ClientSecret != "pi_1_secret_x" || in.Amount != 15000 || in.Currency != "usd" ||
				in.Status != tc.status || in.AmountCaptured != tc.captured || in.AmountRefunded != tc.refunded || in.DeclineCode != tc.declineCode {
				t.Fatalf("intent = %+v", in)
			}
		})
	}
}

func TestSignatureTimeReadsTheLastTimestamp(t *testing.T) {
	cases := []struct {
		header  string
		want    int64
		wantErr bool
	}{
		{"t=1492774577,v1=5257a869e7ec", 1492774577, false},
		{"v1=abc, t=1492774577 ,v0=def", 1492774577, false},
		{"t=1,t=2,v1=abc", 2, false},
		{"", 0, true},
		{"v1=abc", 0, true},
		{"t=,v1=abc", 0, true},
		{"t=soon,v1=abc", 0, true},
		{"t1492774577", 0, true},
	}
	for _, tc := range cases {
		got, err := signatureTime(tc.header)
		if tc.wantErr {
			if err == nil {
				t.Errorf("signatureTime(%q) = %s, want an error", tc.header, got)
			}
			continue
		}
		if err != nil || got.Unix() != tc.want {
			t.Errorf("signatureTime(%q) = %d, %v; want %d", tc.header, got.Unix(), err, tc.want)
		}
	}
}

// A failure Stripe answered and stores under the key is ErrKeySpent (a new attempt needs
// a new key); a 409 or 429, which Stripe does not store, and a failure without an answer
// are not (a retry must send the same key).
func TestFailMarksOnlyStoredAnswersAsKeySpent(t *testing.T) {
	s := &Stripe{}
	cases := []struct {
		name  string
		err   error
		spent bool
	}{
		{"500", &stripe.Error{Type: stripe.ErrorTypeAPI, HTTPStatusCode: http.StatusInternalServerError}, true},
		{"400 invalid request", &stripe.Error{Type: stripe.ErrorTypeInvalidRequest, HTTPStatusCode: http.StatusBadRequest}, true},
		{"402 declined", &stripe.Error{Type: stripe.ErrorTypeCard, HTTPStatusCode: http.StatusPaymentRequired}, true},
		{"409 concurrent request", &stripe.Error{Type: stripe.ErrorTypeIdempotency, HTTPStatusCode: http.StatusConflict}, false},
		{"429 rate limited", &stripe.Error{Type: stripe.ErrorTypeInvalidRequest, HTTPStatusCode: http.StatusTooManyRequests}, false},
		{"no status", &stripe.Error{Type: stripe.ErrorTypeAPI}, false},
		{"timeout", context.DeadlineExceeded, false},
		{"connection refused", errors.New("dial tcp: connection refused"), false},
	}
	for _, tc := range cases {
		_, err := s.fail("cancel", "pi_1", tc.err)
		if errors.Is(err, ErrKeySpent) != tc.spent {
			t.Errorf("%s: %v; ErrKeySpent = %v, want %v", tc.name, err, !tc.spent, tc.spent)
		}
		if err == nil || strings.Contains(err.Error(), "idempotency key spent") {
			t.Errorf("%s: the marker changed the text: %v", tc.name, err)
		}
	}
}
