package stripetest_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/prima-dining/partner-api/payments"
	"github.com/prima-dining/partner-api/payments/stripetest"
)

// call makes a raw request, as stripe-go would, and decodes the JSON answer.
func call(t *testing.T, srv *stripetest.Server, method, path, key string, form url.Values, idempotencyKey string) (int, map[string]any) {
	t.Helper()
	var body io.Reader
	target := srv.URL + path
	if method == http.MethodGet {
		if len(form) > 0 {
			target += "?" + form.Encode()
		}
	} else {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if idempotencyKey != "" {
		req.Header.Set("Idempotency-Key", idempotencyKey)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return res.StatusCode, out
}

func errorCode(body map[string]any) string {
	e, _ := body["error"].(map[string]any)
	code, _ := e["code"].(string)
	typ, _ := e["type"].(string)
	return typ + "/" + code
}

func TestServerSpeaksStripe(t *testing.T) {
	srv := stripetest.New(t)
	create := url.Values{"amount": {"2500"}, "currency": {"USD"}, "capture_method": {"manual"}, "metadata[reservation_id]": {"res_9"}}

	if status, body := call(t, srv, http.MethodPost, "/v1/payment_intents", "", create, "k1"); status != http.StatusUnauthorized {
		t.Fatalf("no key: %d %v", status, body)
	}
	status, pi := call(t, srv, http.MethodPost, "/v1/payment_intents", stripetest.SecretKey, create, "k1")
	if status != http.StatusOK || pi["object"] != "payment_intent" || pi["currency"] != "usd" || pi["status"] != "requires_payment_method" {
		t.Fatalf("create: %d %v", status, pi)
	}
	id := pi["id"].(string)
	if md := srv.Metadata(id); md["reservation_id"] != "res_9" {
		t.Fatalf("metadata %v", md)
	}
	// The same key on another endpoint is an idempotency error.
	if status, body := call(t, srv, http.MethodPost, "/v1/payment_intents/"+id+"/cancel", stripetest.SecretKey, nil, "k1"); status != http.StatusBadRequest || errorCode(body) != "idempotency_error/" {
		t.Fatalf("reused key: %d %v", status, body)
	}
	// Both spellings of expand work; without it latest_charge is an id.
	srv.Authorize(id)
	for _, form := range []url.Values{{"expand[]": {"latest_charge"}}, {"expand[0]": {"latest_charge"}}} {
		_, got := call(t, srv, http.MethodGet, "/v1/payment_intents/"+id, stripetest.SecretKey, form, "")
		if ch, ok := got["latest_charge"].(map[string]any); !ok || ch["object"] != "charge" || ch["captured"] != false {
			t.Fatalf("expanded %v: %v", form, got["latest_charge"])
		}
	}
	if _, got := call(t, srv, http.MethodGet, "/v1/payment_intents/"+id, stripetest.SecretKey, nil, ""); !strings.HasPrefix(got["latest_charge"].(string), "ch_") {
		t.Fatalf("unexpanded: %v", got["latest_charge"])
	}
	// Server-side confirmation with a declining test card answers 402 with the intent.
	other := newIntent(t, srv, create)
	status, body := call(t, srv, http.MethodPost, "/v1/payment_intents/"+other+"/confirm", stripetest.SecretKey,
		url.Values{"payment_method": {payments.TestCardChargeDeclined}}, "k2")
	if e, _ := body["error"].(map[string]any); status != http.StatusPaymentRequired || e["decline_code"] != "generic_decline" || e["payment_intent"] == nil {
		t.Fatalf("declined confirm: %d %v", status, body)
	}
	if status, body := call(t, srv, http.MethodGet, "/v1/customers", stripetest.SecretKey, nil, ""); status != http.StatusNotFound {
		t.Fatalf("unknown route: %d %v", status, body)
	}
	reqs := srv.Requests()
	if len(reqs) == 0 || reqs[0].Endpoint != stripetest.CreateIntent || reqs[0].IdempotencyKey != "k1" || reqs[0].Params.Get("amount") != "2500" {
		t.Fatalf("requests: %+v", reqs)
	}
	if n := srv.Calls(stripetest.GetIntent); n != 3 {
		t.Fatalf("%d gets, want 3", n)
	}
}

// newIntent creates an intent with form and returns its id.
func newIntent(t *testing.T, srv *stripetest.Server, form url.Values) string {
	t.Helper()
	_, pi := call(t, srv, http.MethodPost, "/v1/payment_intents", stripetest.SecretKey, form, "")
	return pi["id"].(string)
}

func TestSetStatusKeepsAmountsCoherent(t *testing.T) {
	srv := stripetest.New(t)
	id := newIntent(t, srv, url.Values{"amount": {"4000"}, "currency": {"eur"}, "capture_method": {"manual"}})
	if in := srv.SetStatus(id, payments.StatusSucceeded); in.AmountCaptured != 4000 || in.Status != payments.StatusSucceeded {
		t.Fatalf("succeeded: %+v", in)
	}
	other := newIntent(t, srv, url.Values{"amount": {"4000"}, "currency": {"eur"}, "capture_method": {"manual"}})
	srv.SetStatus(other, payments.StatusRequiresCapture)
	if in := srv.SetStatus(other, payments.StatusCanceled); in.AmountCaptured != 0 || in.AmountRefunded != 0 {
		t.Fatalf("canceled: %+v", in)
	}
	if n := len(srv.Intents()); n != 2 {
		t.Fatalf("%d intents", n)
	}
}
