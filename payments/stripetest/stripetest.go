// Package stripetest is a scripted, in-memory stand-in for the part of Stripe's API that
// payments.Stripe uses, for tests that need Stripe to move, fail or hang on cue, which
// stripe-mock (stateless, canned answers) cannot do.
//
// A Server keeps PaymentIntents, their latest charge and refunds in memory and answers
// like Stripe (API version 2024-06-20): the same JSON shapes, errors, status rules and
// idempotency. The test plays the payer's side (Authorize, Decline, RequireAction, as
// Stripe.js would after the partner's client confirms) and scripts faults per endpoint
// (FailNext, ErrorNext, HangNext).
//
// Typical use:
//
//	srv := stripetest.New(t)
//	gw := srv.Gateway()                 // a *payments.Stripe pointed at srv
//	in, _ := gw.Create(ctx, payments.CreateIntent{Amount: 5000, Currency: "usd"})
//	srv.Authorize(in.ID)                // the card is authorised: requires_capture
//	srv.FailNext(stripetest.CaptureIntent, 1)
//	_, err := gw.Capture(ctx, in.ID, "k") // errors.Is(err, payments.ErrProvider)
//
// Behaviours of Stripe worth knowing, reproduced here:
//   - An idempotency key replays the first answer to a POST, errors included (a capture
//     refused for the intent's state stays refused under that key), and a key reused
//     with other parameters or on another endpoint is a 400 idempotency_error.
//     Scripted faults are not recorded, so a retry after FailNext can succeed.
//   - Cancelling an intent in requires_capture releases the authorisation: its charge
//     shows amount_refunded equal to its amount while captured is false.
//   - Capturing or cancelling an intent in the wrong status is a 400 with code
//     payment_intent_unexpected_state.
package stripetest

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v79"
	"github.com/stripe/stripe-go/v79/webhook"

	"github.com/prima-dining/partner-api/payments"
)

// SecretKey is the API key that Config uses. The server accepts any key that starts
// with sk_ or rk_.
const SecretKey = "sk_test_stripetest" //nolint:gosec // a fake test-mode key, valid only at this stand-in

// DefaultTimeout is the per-request timeout of the gateway that Config and Gateway make:
// long enough for a loaded CI machine, short enough that a test of HangNext is quick.
const DefaultTimeout = time.Second

// Endpoint names one of the routes the server answers; its value is the route pattern.
type Endpoint string

// The endpoints the server answers.
const (
	CreateIntent  Endpoint = "POST /v1/payment_intents"
	GetIntent     Endpoint = "GET /v1/payment_intents/{id}"
	CaptureIntent Endpoint = "POST /v1/payment_intents/{id}/capture"
	CancelIntent  Endpoint = "POST /v1/payment_intents/{id}/cancel"
	// ConfirmIntent is server-side confirmation with a payment_method parameter,
	// understood like Confirm; PRIMA itself never confirms.
	ConfirmIntent Endpoint = "POST /v1/payment_intents/{id}/confirm"
	CreateRefund  Endpoint = "POST /v1/refunds"
	// CreateCustomer, CreateSetup and GetSetup save cards for off-session charges; an
	// off-session charge is CreateIntent with confirm=true and off_session=true.
	CreateCustomer Endpoint = "POST /v1/customers"
	CreateSetup    Endpoint = "POST /v1/setup_intents"
	GetSetup       Endpoint = "GET /v1/setup_intents/{id}"
	// CancelSetup cancels a SetupIntent that has not succeeded.
	CancelSetup Endpoint = "POST /v1/setup_intents/{id}/cancel"
)

var endpoints = []Endpoint{CreateIntent, GetIntent, CaptureIntent, CancelIntent, ConfirmIntent, CreateRefund,
	CreateCustomer, CreateSetup, GetSetup, CancelSetup}

// Error is a Stripe API error for ErrorNext to answer with.
type Error struct {
	Status      int    // HTTP status: 500, 502, 429, 402, 400, …
	Type        string // api_error, card_error, invalid_request_error, idempotency_error
	Code        string // e.g. rate_limit, lock_timeout, card_declined
	DeclineCode string
	Message     string
	// Retryable answers Stripe-Should-Retry: true, so stripe-go retries the request
	// (after a back-off of half a second and more); otherwise the header says false
	// and each scripted error is exactly one failed gateway call.
	Retryable bool
	// Stored records the error under the request's idempotency key, as Stripe does for
	// a request that began executing: a retry with the same key gets the same error
	// back (Idempotent-Replayed), and only a new key reaches the intent again.
	Stored bool
}

// Request is a request the server received, as the test can inspect it.
type Request struct {
	Endpoint       Endpoint
	Method, Path   string
	IntentID       string // from the path, or the payment_intent parameter of a refund
	IdempotencyKey string
	StripeVersion  string
	// Params are the form parameters: the body of a POST, the query of a GET
	// (stripe-go sends arrays indexed: expand[0]=latest_charge).
	Params url.Values
}

// Server is a running stand-in for Stripe. Its methods are safe for concurrent use;
// the scripting methods call t.Fatal on misuse, so call them from the test's goroutine.
type Server struct {
	// URL is the base URL to use as payments.StripeConfig.APIBase.
	URL string

	t      testing.TB
	hs     *httptest.Server
	closed chan struct{}
	once   sync.Once

	mu       sync.Mutex
	intents  map[string]*intent
	setups   map[string]*setup
	order    []string
	idem     map[string]*idemRecord
	faults   map[Endpoint][]fault
	calls    map[Endpoint]int
	requests []Request
}

type fault struct {
	err  *Error
	hang time.Duration
}

type idemRecord struct {
	endpoint Endpoint
	path     string
	params   string
	status   int
	body     []byte
}

type intent struct {
	id, clientSecret string
	amount           int64
	currency         string
	captureMethod    string
	description      string
	metadata         map[string]string
	automaticMethods bool
	status           payments.IntentStatus
	amountReceived   int64
	created          int64
	canceledAt       int64
	cancelReason     string
	paymentMethod    string
	lastError        *apiError
	nextAction       bool
	charge           *charge
	refunds          []refund
}

type charge struct {
	id             string
	amount         int64
	amountCaptured int64
	amountRefunded int64
	captured       bool
	failed         bool
	failureCode    string
	created        int64
}

type refund struct {
	id     string
	amount int64
	reason string
}

// apiError is Stripe's error object.
type apiError struct {
	Type          string         `json:"type"`
	Code          string         `json:"code,omitempty"`
	DeclineCode   string         `json:"decline_code,omitempty"`
	Message       string         `json:"message,omitempty"`
	Param         string         `json:"param,omitempty"`
	Charge        string         `json:"charge,omitempty"`
	DocURL        string         `json:"doc_url,omitempty"`
	PaymentIntent map[string]any `json:"payment_intent,omitempty"`
}

// New starts a server and stops it when the test ends.
func New(t testing.TB) *Server {
	t.Helper()
	s := &Server{
		t:       t,
		closed:  make(chan struct{}),
		intents: map[string]*intent{},
		setups:  map[string]*setup{},
		idem:    map[string]*idemRecord{},
		faults:  map[Endpoint][]fault{},
		calls:   map[Endpoint]int{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc(string(CreateIntent), s.route(CreateIntent, s.create))
	mux.HandleFunc(string(GetIntent), s.route(GetIntent, s.get))
	mux.HandleFunc(string(CaptureIntent), s.route(CaptureIntent, s.capture))
	mux.HandleFunc(string(CancelIntent), s.route(CancelIntent, s.cancel))
	mux.HandleFunc(string(ConfirmIntent), s.route(ConfirmIntent, s.confirm))
	mux.HandleFunc(string(CreateRefund), s.route(CreateRefund, s.refund))
	mux.HandleFunc(string(CreateCustomer), s.route(CreateCustomer, s.createCustomer))
	mux.HandleFunc(string(CreateSetup), s.route(CreateSetup, s.createSetup))
	mux.HandleFunc(string(GetSetup), s.route(GetSetup, s.getSetup))
	mux.HandleFunc(string(CancelSetup), s.route(CancelSetup, s.cancelSetup))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, map[string]any{"error": apiError{
			Type:    "invalid_request_error",
			Message: fmt.Sprintf("Unrecognized request URL (%s: %s). stripetest serves only payment intents, refunds, customers and setup intents.", r.Method, r.URL.Path),
		}})
	})
	s.hs = httptest.NewServer(mux)
	s.URL = s.hs.URL
	t.Cleanup(s.Close)
	return s
}

// Close stops the server; requests held by HangNext are let go first. New arranges for
// it to run when the test ends.
func (s *Server) Close() {
	s.once.Do(func() {
		close(s.closed)
		s.hs.Close()
	})
}

// Config returns a gateway configuration pointed at the server: SecretKey, the
// server's URL and HTTP client, and DefaultTimeout. Adjust it (Timeout,
// MaxNetworkRetries) before payments.NewStripe.
func (s *Server) Config() payments.StripeConfig {
	return payments.StripeConfig{
		SecretKey:  SecretKey,
		APIBase:    s.URL,
		Timeout:    DefaultTimeout,
		HTTPClient: s.hs.Client(),
	}
}

// Gateway returns a payments.Stripe made from Config.
func (s *Server) Gateway() *payments.Stripe {
	s.t.Helper()
	gw, err := payments.NewStripe(s.Config())
	if err != nil {
		s.t.Fatalf("stripetest: %v", err)
	}
	return gw
}

// FailNext makes the next n requests to ep answer 500 api_error with
// Stripe-Should-Retry: false, so that each is one failed gateway call (ErrProvider).
// Nothing changes at the server, and nothing is recorded under the idempotency key.
func (s *Server) FailNext(ep Endpoint, n int) {
	s.ErrorNext(ep, n, Error{Status: http.StatusInternalServerError, Type: "api_error",
		Message: "stripetest: scripted failure"})
}

// ErrorNext makes the next n requests to ep answer e, changing nothing at the server.
func (s *Server) ErrorNext(ep Endpoint, n int, e Error) {
	s.t.Helper()
	s.checkEndpoint(ep)
	if e.Status < 400 || e.Type == "" {
		s.t.Fatalf("stripetest: ErrorNext needs a 4xx or 5xx status and a type, got %+v", e)
	}
	s.addFaults(ep, n, fault{err: &e})
}

// HangNext makes the next n requests to ep wait d before being handled, or until the
// client gives up or the server closes; then the request takes effect all the same, as
// at Stripe, whose work does not stop when a client times out. So a timed-out create
// leaves an intent behind, and a timed-out capture captures.
func (s *Server) HangNext(ep Endpoint, n int, d time.Duration) {
	s.t.Helper()
	s.checkEndpoint(ep)
	s.addFaults(ep, n, fault{hang: d})
}

func (s *Server) addFaults(ep Endpoint, n int, f fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.faults[ep] = append(s.faults[ep], f)
	}
}

func (s *Server) checkEndpoint(ep Endpoint) {
	s.t.Helper()
	if !slices.Contains(endpoints, ep) {
		s.t.Fatalf("stripetest: unknown endpoint %q", ep)
	}
}

// Calls returns how many requests reached ep, scripted failures and retries included.
func (s *Server) Calls(ep Endpoint) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[ep]
}

// Requests returns the requests received so far, oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.requests))
	for i, r := range s.requests {
		r.Params = maps.Clone(r.Params)
		out[i] = r
	}
	return out
}

// Intent returns the intent's current state as the gateway would map it.
func (s *Server) Intent(id string) payments.Intent {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mustIntent(id).view()
}

// Intents returns every intent created, oldest first.
func (s *Server) Intents() []payments.Intent {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]payments.Intent, 0, len(s.order))
	for _, id := range s.order {
		out = append(out, s.intents[id].view())
	}
	return out
}

// Metadata returns the metadata the intent was created with.
func (s *Server) Metadata(id string) map[string]string {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.mustIntent(id).metadata)
}

// Authorize plays a successful confirmation with a card (Stripe.js on the partner's
// client): the intent moves to requires_capture with an authorised, uncaptured charge
// (or to succeeded when it was created with automatic capture).
func (s *Server) Authorize(id string) payments.Intent {
	return s.Confirm(id, payments.TestCardVisa)
}

// Decline plays a confirmation that the issuer declines: the intent stays at
// requires_payment_method with last_payment_error {type card_error, code card_declined,
// decline_code} and a failed charge. An empty declineCode means generic_decline.
func (s *Server) Decline(id, declineCode string) payments.Intent {
	s.t.Helper()
	if declineCode == "" {
		declineCode = "generic_decline"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.mustIntent(id)
	s.mustConfirmable(in)
	in.decline("card_declined", declineCode, "Your card was declined.")
	return in.view()
}

// RequireAction plays a confirmation that needs 3-D Secure: the intent moves to
// requires_action. A later Authorize or Decline completes it.
func (s *Server) RequireAction(id string) payments.Intent {
	return s.Confirm(id, payments.TestCardAuthenticationRequired)
}

// Confirm plays a confirmation with one of Stripe's test payment methods, as the
// sandbox gateway does: pm_card_visa authorises, pm_card_authenticationRequired needs
// action, pm_card_chargeDeclined is declined (generic_decline),
// pm_card_visa_chargeDeclinedInsufficientFunds is declined (insufficient_funds) and
// pm_card_chargeDeclinedExpiredCard fails with code expired_card and no decline code.
func (s *Server) Confirm(id, paymentMethod string) payments.Intent {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.mustIntent(id)
	s.mustConfirmable(in)
	if _, err := in.confirm(paymentMethod); err != nil && err.Type != "card_error" {
		s.t.Fatalf("stripetest: confirm %s: %s", id, err.Message)
	}
	return in.view()
}

// SetStatus forces the intent into status, keeping its amounts coherent: succeeded
// captures in full, requires_capture authorises, canceled releases.
func (s *Server) SetStatus(id string, status payments.IntentStatus) payments.Intent {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.mustIntent(id)
	switch status {
	case payments.StatusRequiresCapture:
		in.authorize()
	case payments.StatusSucceeded:
		if in.status == payments.StatusSucceeded {
			break
		}
		if in.status != payments.StatusRequiresCapture {
			in.authorize()
		}
		in.captureAmount(in.amount)
	case payments.StatusCanceled:
		in.cancelNow("")
	case payments.StatusRequiresAction:
		in.nextAction = true
	case payments.StatusRequiresPaymentMethod, payments.StatusRequiresConfirmation, payments.StatusProcessing:
	default:
		s.t.Fatalf("stripetest: unknown status %q", status)
	}
	in.status = status
	if status != payments.StatusRequiresAction {
		in.nextAction = false
	}
	return in.view()
}

func (s *Server) mustIntent(id string) *intent {
	s.t.Helper()
	in, ok := s.intents[id]
	if !ok {
		s.t.Fatalf("stripetest: no intent %q", id)
	}
	return in
}

func (s *Server) mustConfirmable(in *intent) {
	s.t.Helper()
	if !in.confirmable() {
		s.t.Fatalf("stripetest: intent %s cannot be confirmed in status %s", in.id, in.status)
	}
}

// Event returns the payload of a webhook event of type eventType (payment_intent.*,
// charge.*, charge.refund.updated) about the intent as it is now, shaped as Stripe
// sends it (API version 2024-06-20, latest_charge not expanded). Sign it with
// SignWebhook.
func (s *Server) Event(eventType, intentID string) []byte {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.mustIntent(intentID)
	var object map[string]any
	switch {
	case strings.HasPrefix(eventType, "payment_intent."):
		object = in.json(false)
	case eventType == "charge.refund.updated":
		if len(in.refunds) == 0 {
			s.t.Fatalf("stripetest: %s has no refund for %s", intentID, eventType)
		}
		object = in.refundJSON(in.refunds[len(in.refunds)-1])
	case strings.HasPrefix(eventType, "charge."):
		if in.charge == nil {
			s.t.Fatalf("stripetest: %s has no charge for %s", intentID, eventType)
		}
		object = in.chargeJSON()
	default:
		s.t.Fatalf("stripetest: no event payload for type %q", eventType)
	}
	payload, err := json.Marshal(map[string]any{
		"id":               newID("evt_"),
		"object":           "event",
		"api_version":      stripe.APIVersion,
		"created":          time.Now().Unix(),
		"livemode":         false,
		"pending_webhooks": 1,
		"request":          map[string]any{"id": nil, "idempotency_key": nil},
		"type":             eventType,
		"data":             map[string]any{"object": object},
	})
	if err != nil {
		s.t.Fatalf("stripetest: %v", err)
	}
	return payload
}

// SignWebhook returns the Stripe-Signature header for payload signed with secret at
// the given time (the zero time means now).
func SignWebhook(payload []byte, secret string, at time.Time) string {
	return webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{
		Payload: payload, Secret: secret, Timestamp: at,
	}).Header
}

// handler handles one request to an endpoint, with the server locked. It returns the
// HTTP status and the JSON body.
type handler func(r *http.Request, params url.Values) (int, any)

func (s *Server) route(ep Endpoint, h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Request-Id", newID("req_"))
		if err := r.ParseForm(); err != nil {
			writeJSON(w, http.StatusBadRequest, errorBody(apiError{Type: "invalid_request_error", Message: "Invalid request body."}))
			return
		}
		auth := r.Header.Get("Authorization")
		if !strings.HasPrefix(auth, "Bearer sk_") && !strings.HasPrefix(auth, "Bearer rk_") {
			writeJSON(w, http.StatusUnauthorized, errorBody(apiError{Type: "invalid_request_error",
				Message: "You did not provide a valid API key."}))
			return
		}
		params := r.Form
		req := Request{
			Endpoint:       ep,
			Method:         r.Method,
			Path:           r.URL.Path,
			IntentID:       r.PathValue("id"),
			IdempotencyKey: r.Header.Get("Idempotency-Key"),
			StripeVersion:  r.Header.Get("Stripe-Version"),
			Params:         maps.Clone(params),
		}
		if req.IntentID == "" {
			req.IntentID = params.Get("payment_intent")
		}

		s.mu.Lock()
		s.calls[ep]++
		s.requests = append(s.requests, req)
		var f fault
		if q := s.faults[ep]; len(q) > 0 {
			f, s.faults[ep] = q[0], q[1:]
		}
		s.mu.Unlock()

		if f.err != nil {
			retry := "false"
			if f.err.Retryable {
				retry = "true"
			}
			w.Header().Set("Stripe-Should-Retry", retry)
			body := errorBody(apiError{Type: f.err.Type, Code: f.err.Code,
				DeclineCode: f.err.DeclineCode, Message: f.err.Message})
			if f.err.Stored && r.Method == http.MethodPost && req.IdempotencyKey != "" {
				s.mu.Lock()
				s.idem[req.IdempotencyKey] = &idemRecord{endpoint: ep, path: r.URL.Path,
					params: comparedParams(params).Encode(), status: f.err.Status, body: mustJSON(body)}
				s.mu.Unlock()
			}
			writeJSON(w, f.err.Status, body)
			return
		}
		if f.hang > 0 {
			timer := time.NewTimer(f.hang)
			select {
			case <-timer.C:
			case <-r.Context().Done():
			case <-s.closed:
			}
			timer.Stop()
		}

		s.mu.Lock()
		status, body, replayed := s.handle(ep, r, params, req.IdempotencyKey, h)
		s.mu.Unlock()
		if replayed {
			w.Header().Set("Idempotent-Replayed", "true")
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write(body) //nolint:gosec // JSON this server encoded, served as application/json
	}
}

// handle runs h under Stripe's idempotency rules; the caller holds s.mu.
func (s *Server) handle(ep Endpoint, r *http.Request, params url.Values, key string, h handler) (int, []byte, bool) {
	if r.Method != http.MethodPost || key == "" {
		status, v := h(r, params)
		return status, mustJSON(v), false
	}
	// Stripe compares the parameters of a retried request with the first's; expansion
	// does not change what the request does.
	compared := comparedParams(params)
	if rec, ok := s.idem[key]; ok {
		if rec.endpoint != ep || rec.path != r.URL.Path || rec.params != compared.Encode() {
			return http.StatusBadRequest, mustJSON(errorBody(apiError{Type: "idempotency_error",
				Message: fmt.Sprintf("Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '%s' if you meant to execute a different request.", key)})), false
		}
		return rec.status, rec.body, true
	}
	status, v := h(r, params)
	body := mustJSON(v)
	s.idem[key] = &idemRecord{endpoint: ep, path: r.URL.Path, params: compared.Encode(), status: status, body: body}
	return status, body, false
}

// comparedParams are the parameters Stripe compares when a key is sent again: all but
// expansion, which does not change what the request does.
func comparedParams(params url.Values) url.Values {
	compared := url.Values{}
	for k, v := range params {
		if !strings.HasPrefix(k, "expand[") {
			compared[k] = v
		}
	}
	return compared
}

func (s *Server) create(_ *http.Request, p url.Values) (int, any) {
	amount, err := strconv.ParseInt(p.Get("amount"), 10, 64)
	switch {
	case p.Get("amount") == "":
		return paramMissing("amount")
	case err != nil || amount <= 0:
		return http.StatusBadRequest, errorBody(apiError{Type: "invalid_request_error", Code: "parameter_invalid_integer",
			Param: "amount", Message: "This value must be greater than or equal to 1."})
	case p.Get("currency") == "":
		return paramMissing("currency")
	}
	captureMethod := p.Get("capture_method")
	if captureMethod == "" {
		captureMethod = "automatic_async"
	}
	in := &intent{
		id:               newID("pi_"),
		amount:           amount,
		currency:         strings.ToLower(p.Get("currency")),
		captureMethod:    captureMethod,
		description:      p.Get("description"),
		metadata:         map[string]string{},
		automaticMethods: p.Get("automatic_payment_methods[enabled]") == "true",
		status:           payments.StatusRequiresPaymentMethod,
		created:          time.Now().Unix(),
	}
	in.clientSecret = in.id + "_secret_" + newID("")
	for k, v := range p {
		if name, ok := strings.CutPrefix(k, "metadata["); ok && strings.HasSuffix(name, "]") && len(v) > 0 {
			in.metadata[strings.TrimSuffix(name, "]")] = v[0]
		}
	}
	s.intents[in.id] = in
	s.order = append(s.order, in.id)
	if p.Get("confirm") == "true" {
		return s.confirmAtCreate(in, p)
	}
	return http.StatusOK, in.json(expandsCharge(p))
}

// confirmAtCreate confirms an intent created with confirm=true. Off-session, a card that
// needs authentication fails with authentication_required, as Stripe answers when the
// cardholder is not there to authenticate.
func (s *Server) confirmAtCreate(in *intent, p url.Values) (int, any) {
	pm := p.Get("payment_method")
	if pm == "" {
		return paramMissing("payment_method")
	}
	if p.Get("off_session") == "true" && (pm == payments.TestCardAuthenticationRequired || pm == "pm_card_threeDSecure2Required") {
		e := in.decline("authentication_required", "authentication_required", "Your card was declined. This transaction requires authentication.")
		e.PaymentIntent = in.json(false)
		return http.StatusPaymentRequired, errorBody(*e)
	}
	status, e := in.confirm(pm)
	if e != nil {
		e.PaymentIntent = in.json(false)
		return status, errorBody(*e)
	}
	return http.StatusOK, in.json(expandsCharge(p))
}

// setup is a SetupIntent of the stand-in.
type setup struct {
	id, clientSecret, customer, status, paymentMethod, usage string
	cancellationReason                                       string
	metadata                                                 map[string]string
}

func (st *setup) json() map[string]any {
	out := map[string]any{
		"id": st.id, "object": "setup_intent", "client_secret": st.clientSecret, "status": st.status,
		"usage": st.usage, "metadata": st.metadata, "livemode": false,
	}
	if st.customer != "" {
		out["customer"] = st.customer
	}
	if st.paymentMethod != "" {
		out["payment_method"] = st.paymentMethod
	}
	if st.cancellationReason != "" {
		out["cancellation_reason"] = st.cancellationReason
	}
	return out
}

func (s *Server) createCustomer(_ *http.Request, _ url.Values) (int, any) {
	return http.StatusOK, map[string]any{"id": newID("cus_"), "object": "customer", "livemode": false}
}

func (s *Server) createSetup(_ *http.Request, p url.Values) (int, any) {
	st := &setup{id: newID("seti_"), customer: p.Get("customer"), status: "requires_payment_method",
		usage: p.Get("usage"), metadata: map[string]string{}}
	if st.usage == "" {
		st.usage = "off_session"
	}
	st.clientSecret = st.id + "_secret_" + newID("")
	for k, v := range p {
		if name, ok := strings.CutPrefix(k, "metadata["); ok && strings.HasSuffix(name, "]") && len(v) > 0 {
			st.metadata[strings.TrimSuffix(name, "]")] = v[0]
		}
	}
	s.setups[st.id] = st
	return http.StatusOK, st.json()
}

func (s *Server) getSetup(r *http.Request, _ url.Values) (int, any) {
	st, ok := s.setups[r.PathValue("id")]
	if !ok {
		return http.StatusNotFound, errorBody(apiError{Type: "invalid_request_error", Code: "resource_missing",
			Param: "intent", Message: fmt.Sprintf("No such setupintent: '%s'", r.PathValue("id"))})
	}
	return http.StatusOK, st.json()
}

// cancelSetup answers as Stripe does: a SetupIntent that succeeded or was canceled
// already cannot be cancelled (setup_intent_unexpected_state).
func (s *Server) cancelSetup(r *http.Request, p url.Values) (int, any) {
	st, ok := s.setups[r.PathValue("id")]
	if !ok {
		return http.StatusNotFound, errorBody(apiError{Type: "invalid_request_error", Code: "resource_missing",
			Param: "intent", Message: fmt.Sprintf("No such setupintent: '%s'", r.PathValue("id"))})
	}
	if st.status == payments.SetupSucceeded || st.status == payments.SetupCanceled {
		return http.StatusBadRequest, errorBody(apiError{Type: "invalid_request_error", Code: "setup_intent_unexpected_state",
			Message: fmt.Sprintf("You cannot cancel this SetupIntent because it has a status of %s.", st.status)})
	}
	st.status, st.cancellationReason = payments.SetupCanceled, p.Get("cancellation_reason")
	return http.StatusOK, st.json()
}

// Setup returns the SetupIntent id as the stand-in holds it, with its cancellation
// reason ("" unless cancelled).
func (s *Server) Setup(id string) (payments.SetupIntent, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.setups[id]
	if !ok {
		return payments.SetupIntent{}, ""
	}
	return payments.SetupIntent{ID: st.id, ClientSecret: st.clientSecret, Status: st.status, Customer: st.customer, PaymentMethod: st.paymentMethod}, st.cancellationReason
}

// ConfirmSetup plays the guest confirming the SetupIntent id on the partner's client with
// paymentMethod (Stripe.js confirmSetup): the card is saved.
func (s *Server) ConfirmSetup(id, paymentMethod string) payments.SetupIntent {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.setups[id]
	if !ok {
		s.t.Fatalf("stripetest: no setup intent %s", id)
	}
	st.status, st.paymentMethod = payments.SetupSucceeded, paymentMethod
	return payments.SetupIntent{ID: st.id, ClientSecret: st.clientSecret, Status: st.status, Customer: st.customer, PaymentMethod: st.paymentMethod}
}

// SetupMetadata returns the metadata of the SetupIntent id.
func (s *Server) SetupMetadata(id string) map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st, ok := s.setups[id]; ok {
		return maps.Clone(st.metadata)
	}
	return nil
}

func (s *Server) get(r *http.Request, p url.Values) (int, any) {
	in, ok := s.intents[r.PathValue("id")]
	if !ok {
		return noSuchIntent(r.PathValue("id"), "intent")
	}
	return http.StatusOK, in.json(expandsCharge(p))
}

func (s *Server) capture(r *http.Request, p url.Values) (int, any) {
	in, ok := s.intents[r.PathValue("id")]
	if !ok {
		return noSuchIntent(r.PathValue("id"), "intent")
	}
	if in.status != payments.StatusRequiresCapture {
		return unexpectedState(in, fmt.Sprintf("This PaymentIntent could not be captured because it has a status of %s. Only a PaymentIntent with one of the following statuses may be captured: requires_capture.", in.status))
	}
	amount := in.amount
	if v := p.Get("amount_to_capture"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 || n > in.amount {
			return http.StatusBadRequest, errorBody(apiError{Type: "invalid_request_error", Code: "amount_too_large",
				Param: "amount_to_capture", Message: "The amount to capture must be between 1 and the amount capturable."})
		}
		amount = n
	}
	in.captureAmount(amount)
	return http.StatusOK, in.json(expandsCharge(p))
}

func (s *Server) cancel(r *http.Request, p url.Values) (int, any) {
	in, ok := s.intents[r.PathValue("id")]
	if !ok {
		return noSuchIntent(r.PathValue("id"), "intent")
	}
	if in.status == payments.StatusSucceeded || in.status == payments.StatusCanceled {
		return unexpectedState(in, fmt.Sprintf("You cannot cancel this PaymentIntent because it has a status of %s. Only a PaymentIntent with one of the following statuses may be canceled: requires_payment_method, requires_capture, requires_confirmation, requires_action, processing.", in.status))
	}
	in.cancelNow(p.Get("cancellation_reason"))
	return http.StatusOK, in.json(expandsCharge(p))
}

func (s *Server) confirm(r *http.Request, p url.Values) (int, any) {
	in, ok := s.intents[r.PathValue("id")]
	if !ok {
		return noSuchIntent(r.PathValue("id"), "intent")
	}
	if !in.confirmable() {
		return unexpectedState(in, fmt.Sprintf("This PaymentIntent's payment_method could not be updated because it has a status of %s.", in.status))
	}
	if p.Get("payment_method") == "" {
		return paramMissing("payment_method")
	}
	status, err := in.confirm(p.Get("payment_method"))
	if err != nil {
		err.PaymentIntent = in.json(false)
		return status, errorBody(*err)
	}
	return http.StatusOK, in.json(expandsCharge(p))
}

func (s *Server) refund(_ *http.Request, p url.Values) (int, any) {
	id := p.Get("payment_intent")
	if id == "" {
		return paramMissing("payment_intent")
	}
	in, ok := s.intents[id]
	if !ok {
		return noSuchIntent(id, "payment_intent")
	}
	if in.status != payments.StatusSucceeded || in.charge == nil || !in.charge.captured {
		return http.StatusBadRequest, errorBody(apiError{Type: "invalid_request_error", Param: "payment_intent",
			Message: fmt.Sprintf("This PaymentIntent (%s) does not have a successful charge to refund.", in.id)})
	}
	ch := in.charge
	left := ch.amountCaptured - ch.amountRefunded
	if left <= 0 {
		return http.StatusBadRequest, errorBody(apiError{Type: "invalid_request_error", Code: "charge_already_refunded",
			Charge: ch.id, Message: fmt.Sprintf("Charge %s has already been refunded.", ch.id)})
	}
	amount := left
	if v := p.Get("amount"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return http.StatusBadRequest, errorBody(apiError{Type: "invalid_request_error", Code: "parameter_invalid_integer",
				Param: "amount", Message: "This value must be greater than or equal to 1."})
		}
		if n > left {
			return http.StatusBadRequest, errorBody(apiError{Type: "invalid_request_error", Code: "amount_too_large", Param: "amount",
				Message: fmt.Sprintf("Refund amount (%d) is greater than unrefunded amount on charge (%d)", n, left)})
		}
		amount = n
	}
	re := refund{id: newID("re_"), amount: amount, reason: p.Get("reason")}
	in.refunds = append(in.refunds, re)
	ch.amountRefunded += amount
	return http.StatusOK, in.refundJSON(re)
}

// Intent state changes; the caller holds s.mu.

func (in *intent) confirmable() bool {
	switch in.status {
	case payments.StatusRequiresPaymentMethod, payments.StatusRequiresConfirmation, payments.StatusRequiresAction:
		return true
	}
	return false
}

// confirm applies a test payment method, returning the error Stripe would answer the
// confirmation with, if any.
func (in *intent) confirm(paymentMethod string) (int, *apiError) {
	in.paymentMethod = paymentMethod
	switch paymentMethod {
	case payments.TestCardVisa, "pm_card_mastercard", "pm_card_amex":
		in.authorize()
		if in.captureMethod != "manual" {
			in.captureAmount(in.amount)
		}
		return http.StatusOK, nil
	case payments.TestCardAuthenticationRequired, "pm_card_threeDSecure2Required":
		in.status = payments.StatusRequiresAction
		in.nextAction = true
		in.lastError = nil
		return http.StatusOK, nil
	case payments.TestCardChargeDeclined:
		return http.StatusPaymentRequired, in.decline("card_declined", "generic_decline", "Your card was declined.")
	case "pm_card_visa_chargeDeclinedInsufficientFunds":
		return http.StatusPaymentRequired, in.decline("card_declined", "insufficient_funds", "Your card has insufficient funds.")
	case "pm_card_chargeDeclinedExpiredCard":
		return http.StatusPaymentRequired, in.decline("expired_card", "", "Your card has expired.")
	}
	in.paymentMethod = ""
	return http.StatusBadRequest, &apiError{Type: "invalid_request_error", Code: "resource_missing", Param: "payment_method",
		Message: fmt.Sprintf("No such PaymentMethod: '%s'", paymentMethod)}
}

func (in *intent) authorize() {
	in.status = payments.StatusRequiresCapture
	in.nextAction = false
	in.lastError = nil
	if in.paymentMethod == "" {
		in.paymentMethod = payments.TestCardVisa
	}
	in.charge = &charge{id: newID("ch_"), amount: in.amount, created: time.Now().Unix()}
}

func (in *intent) decline(code, declineCode, message string) *apiError {
	in.status = payments.StatusRequiresPaymentMethod
	in.nextAction = false
	in.charge = &charge{id: newID("ch_"), amount: in.amount, failed: true, failureCode: code, created: time.Now().Unix()}
	in.lastError = &apiError{Type: "card_error", Code: code, DeclineCode: declineCode, Message: message, Charge: in.charge.id,
		DocURL: "https://stripe.com/docs/error-codes/" + strings.ReplaceAll(code, "_", "-")}
	// Stripe detaches a declined payment method from the intent.
	in.paymentMethod = ""
	e := *in.lastError
	return &e
}

func (in *intent) captureAmount(amount int64) {
	in.status = payments.StatusSucceeded
	in.amountReceived = amount
	in.charge.captured = true
	in.charge.amountCaptured = amount
}

func (in *intent) cancelNow(reason string) {
	in.status = payments.StatusCanceled
	in.canceledAt = time.Now().Unix()
	in.cancelReason = reason
	in.nextAction = false
	if ch := in.charge; ch != nil && !ch.failed && !ch.captured {
		// Cancelling releases the authorisation, which Stripe shows as a refund of the
		// whole uncaptured charge.
		ch.amountRefunded = ch.amount
	}
}

// view maps the intent as payments.Stripe does (latest charge expanded).
func (in *intent) view() payments.Intent {
	v := payments.Intent{
		ID:             in.id,
		ClientSecret:   in.clientSecret,
		Amount:         in.amount,
		Currency:       in.currency,
		Status:         in.status,
		AmountCaptured: in.amountReceived,
	}
	if ch := in.charge; ch != nil && ch.captured {
		v.AmountCaptured = ch.amountCaptured
		v.AmountRefunded = ch.amountRefunded
	}
	if e := in.lastError; e != nil {
		v.DeclineCode = e.DeclineCode
		if v.DeclineCode == "" {
			v.DeclineCode = e.Code
		}
	}
	return v
}

// JSON shapes, as of API version 2024-06-20.

func (in *intent) json(expandCharge bool) map[string]any {
	m := map[string]any{
		"id":                        in.id,
		"object":                    "payment_intent",
		"amount":                    in.amount,
		"amount_capturable":         int64(0),
		"amount_received":           in.amountReceived,
		"automatic_payment_methods": nil,
		"canceled_at":               nil,
		"cancellation_reason":       nil,
		"capture_method":            in.captureMethod,
		"client_secret":             in.clientSecret,
		"confirmation_method":       "automatic",
		"created":                   in.created,
		"currency":                  in.currency,
		"description":               nil,
		"last_payment_error":        nil,
		"latest_charge":             nil,
		"livemode":                  false,
		"metadata":                  in.metadata,
		"next_action":               nil,
		"payment_method":            nil,
		"payment_method_types":      []string{"card"},
		"status":                    string(in.status),
	}
	if in.status == payments.StatusRequiresCapture {
		m["amount_capturable"] = in.amount
	}
	if in.automaticMethods {
		m["automatic_payment_methods"] = map[string]any{"enabled": true}
	}
	if in.status == payments.StatusCanceled {
		m["canceled_at"] = in.canceledAt
		if in.cancelReason != "" {
			m["cancellation_reason"] = in.cancelReason
		}
	}
	if in.description != "" {
		m["description"] = in.description
	}
	if in.lastError != nil {
		m["last_payment_error"] = in.lastError
	}
	if in.charge != nil {
		if expandCharge {
			m["latest_charge"] = in.chargeJSON()
		} else {
			m["latest_charge"] = in.charge.id
		}
	}
	if in.nextAction {
		m["next_action"] = map[string]any{"type": "use_stripe_sdk", "use_stripe_sdk": map[string]any{}}
	}
	if in.paymentMethod != "" {
		m["payment_method"] = in.paymentMethod
	}
	return m
}

func (in *intent) chargeJSON() map[string]any {
	ch := in.charge
	status := "succeeded"
	var failureCode any
	if ch.failed {
		status, failureCode = "failed", ch.failureCode
	}
	return map[string]any{
		"id":              ch.id,
		"object":          "charge",
		"amount":          ch.amount,
		"amount_captured": ch.amountCaptured,
		"amount_refunded": ch.amountRefunded,
		"captured":        ch.captured,
		"created":         ch.created,
		"currency":        in.currency,
		"failure_code":    failureCode,
		"livemode":        false,
		"metadata":        in.metadata,
		"paid":            !ch.failed,
		"payment_intent":  in.id,
		"refunded":        ch.amountRefunded > 0 && ch.amountRefunded == ch.amount,
		"status":          status,
	}
}

func (in *intent) refundJSON(re refund) map[string]any {
	var reason any
	if re.reason != "" {
		reason = re.reason
	}
	return map[string]any{
		"id":             re.id,
		"object":         "refund",
		"amount":         re.amount,
		"charge":         in.charge.id,
		"created":        time.Now().Unix(),
		"currency":       in.currency,
		"metadata":       map[string]string{},
		"payment_intent": in.id,
		"reason":         reason,
		"status":         "succeeded",
	}
}

func expandsCharge(p url.Values) bool {
	for k, v := range p {
		if (k == "expand[]" || strings.HasPrefix(k, "expand[")) && slices.Contains(v, "latest_charge") {
			return true
		}
	}
	return false
}

func errorBody(e apiError) map[string]any {
	return map[string]any{"error": e}
}

func paramMissing(param string) (int, any) {
	return http.StatusBadRequest, errorBody(apiError{Type: "invalid_request_error", Code: "parameter_missing",
		Param: param, Message: "Missing required param: " + param + "."})
}

func noSuchIntent(id, param string) (int, any) {
	return http.StatusNotFound, errorBody(apiError{Type: "invalid_request_error", Code: "resource_missing",
		Param: param, Message: fmt.Sprintf("No such payment_intent: '%s'", id),
		DocURL: "https://stripe.com/docs/error-codes/resource-missing"})
}

func unexpectedState(in *intent, message string) (int, any) {
	return http.StatusBadRequest, errorBody(apiError{Type: "invalid_request_error",
		Code: "payment_intent_unexpected_state", Message: message, PaymentIntent: in.json(false),
		DocURL: "https://stripe.com/docs/error-codes/payment-intent-unexpected-state"})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(mustJSON(v))
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		// Every value here is built from maps, strings and numbers.
		panic(fmt.Sprintf("stripetest: encoding a response: %v", err))
	}
	return b
}

// newID returns prefix and 24 random characters, like Stripe's ids.
func newID(prefix string) string {
	return prefix + rand.Text()[:24]
}
