package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/prima-dining/partner-api/gen"
	"github.com/prima-dining/partner-api/internal/access"
	"github.com/prima-dining/partner-api/internal/booking"
	"github.com/prima-dining/partner-api/internal/idempotency"
	"github.com/prima-dining/partner-api/internal/inventory"
	"github.com/prima-dining/partner-api/payments"
	"github.com/prima-dining/partner-api/store"
)

// errorCase is an error a handler (or the middleware) returns and the answer it must get.
type errorCase struct {
	name    string
	err     error
	status  int
	code    Code
	param   string
	headers map[string]string // extra response headers
	check   func(t *testing.T, d map[string]any)
}

func altSlot() booking.Slot {
	return booking.Slot{
		ID: "slot_alt", StartsAt: time.Date(2031, 5, 1, 18, 0, 0, 0, time.UTC), LocalDate: "2031-05-01", LocalTime: "20:00",
		Venue:           booking.VenueSummary{ID: "ven_1", Name: "Chez Test", City: "Paris", Cuisine: "French", TimeZone: "Europe/Paris", Currency: "EUR"},
		DurationMinutes: 90, PartySizeMin: 1, PartySizeMax: 4, SeatingArea: "main", Type: booking.SlotType("standard"), Tables: 2,
	}
}

// errorCases is one error of every kind problemFor and handleError know.
func errorCases() []errorCase {
	auth := map[string]string{"WWW-Authenticate": `Bearer realm="prima"`}
	has := func(field, want string) func(*testing.T, map[string]any) {
		return func(t *testing.T, d map[string]any) {
			t.Helper()
			if got := fmt.Sprint(d[field]); got != want {
				t.Errorf("%s = %q, want %q", field, got, want)
			}
		}
	}
	return []errorCase{
		{name: "not found", err: fmt.Errorf("get: %w", &booking.NotFoundError{Kind: "reservation", ID: "res_x", Param: "reservation_id"}),
			status: 404, code: CodeResourceMissing, param: "reservation_id", check: has("message", "No such reservation: res_x.")},
		{name: "param", err: &booking.ParamError{Param: "starting_after", Message: "No object x in this list."}, status: 400, code: CodeParameterInvalid, param: "starting_after"},
		{name: "party size", err: &booking.PartySizeError{PartySize: 9, Min: 1, Max: 4}, status: 400, code: CodePartySizeOutOfRange, param: "party_size"},
		{name: "slot unavailable", err: &booking.SlotUnavailableError{SlotID: "slot_1", PartySize: 4, Alternatives: []booking.Slot{altSlot()}},
			status: 409, code: CodeSlotUnavailable, param: "slot_id", check: func(t *testing.T, d map[string]any) {
				alts, _ := d["alternatives"].([]any)
				if len(alts) != 1 || alts[0].(map[string]any)["id"] != "slot_alt" {
					t.Errorf("alternatives = %v", d["alternatives"])
				}
			}},
		{name: "slot unavailable, none near", err: &booking.SlotUnavailableError{SlotID: "slot_1", PartySize: 4},
			status: 409, code: CodeSlotUnavailable, param: "slot_id", check: func(t *testing.T, d map[string]any) {
				if alts, ok := d["alternatives"].([]any); !ok || len(alts) != 0 {
					t.Errorf("alternatives = %#v, want []", d["alternatives"])
				}
			}},
		{name: "slot not bookable", err: booking.ErrSlotNotBookable, status: 409, code: CodeSlotNotBookable, param: "slot_id"},
		{name: "hold expired", err: fmt.Errorf("finalize: %w", booking.ErrHoldExpired), status: 409, code: CodeHoldExpired},
		{name: "extension limit", err: booking.ErrExtensionLimit, status: 409, code: CodeHoldExtensionLimit},
		{name: "modify cutoff", err: booking.ErrModifyCutoff, status: 409, code: CodeModificationCutoff},
		{name: "change expired", err: booking.ErrChangeExpired, status: 409, code: CodeChangeExpired},
		{name: "hold limit", err: &booking.HoldLimitError{Limit: 50}, status: 409, code: CodeHoldLimitReached},
		{name: "state", err: &booking.StateError{Status: "cancelled", Action: "finalize"}, status: 409, code: CodeReservationStateInvalid,
			check: has("message", "You cannot finalize a reservation that is cancelled.")},
		{name: "tables below taken", err: &inventory.TablesBelowTakenError{SlotID: "slot_1", Requested: 1, Taken: 2}, status: 409, code: CodeTablesBelowTaken, param: "tables"},
		{name: "watch state", err: fmt.Errorf("%w: it is held", booking.ErrWatchState), status: 409, code: CodeWatchStateInvalid},
		{name: "allocation exists", err: &inventory.AllocationUnavailableError{Exists: true, Requested: 1}, status: 409, code: CodeAllocationUnavailable, param: "partner_id"},
		{name: "allocation pool", err: &inventory.AllocationUnavailableError{Requested: 3, Free: 1}, status: 409, code: CodeAllocationUnavailable, param: "tables"},
		{name: "refund too large", err: &booking.RefundTooLargeError{Refundable: 1250, Currency: "usd"}, status: 400, code: CodeRefundAmountTooLarge, param: "amount",
			check: func(t *testing.T, d map[string]any) {
				if m, _ := d["message"].(string); !strings.Contains(m, "1250") {
					t.Errorf("message %q does not say what is left", m)
				}
			}},
		{name: "card declined", err: &booking.PaymentError{Declined: true, Status: payments.StatusRequiresPaymentMethod, DeclineCode: "insufficient_funds"},
			status: 402, code: CodeCardDeclined, check: func(t *testing.T, d map[string]any) {
				has("decline_code", "insufficient_funds")(t, d)
				has("payment_intent_status", "requires_payment_method")(t, d)
				has("next_step", "retry_with_new_payment_method")(t, d)
			}},
		{name: "payment required", err: &booking.PaymentError{Status: payments.StatusRequiresAction},
			status: 402, code: CodePaymentRequired, check: func(t *testing.T, d map[string]any) {
				has("payment_intent_status", "requires_action")(t, d)
				has("next_step", "handle_next_action")(t, d)
				if _, ok := d["decline_code"]; ok {
					t.Errorf("decline_code without a decline: %v", d)
				}
			}},
		{name: "payment provider", err: fmt.Errorf("%w: capture: %w", booking.ErrPaymentProvider, errors.New("stripe: timeout")), status: 502, code: CodePaymentProvider},
		{name: "webhook signature", err: booking.ErrWebhookSignature, status: 400, code: CodeWebhookSignatureInvalid, param: "Stripe-Signature"},
		{name: "webhooks disabled", err: booking.ErrWebhooksDisabled, status: 404, code: CodeRouteNotFound},
		{name: "sandbox off", err: booking.ErrSandboxNotEnabled, status: 404, code: CodeRouteNotFound},
		{name: "inventory off", err: errInventoryOff, status: 404, code: CodeRouteNotFound},
		{name: "key in use", err: idempotency.ErrInUse, status: 409, code: CodeIdempotencyKeyInUse, param: "Idempotency-Key"},
		{name: "key reused", err: idempotency.ErrReused, status: 422, code: CodeIdempotencyKeyReused, param: "Idempotency-Key"},
		{name: "no token", err: access.ErrMissing, status: 401, code: CodeAuthenticationRequired, headers: auth},
		{name: "bad token", err: access.ErrInvalid, status: 401, code: CodeTokenInvalid, headers: auth},
		{name: "expired token", err: access.ErrExpired, status: 401, code: CodeTokenExpired, headers: auth},
		{name: "revoked token", err: access.ErrRevoked, status: 401, code: CodeTokenRevoked, headers: auth},
		{name: "rate limited", err: rateLimited(limitState{limit: RateLimit{PerSecond: 0.5, Burst: 10}, policy: "default", remaining: 0}, ""),
			status: 429, code: CodeRateLimited, headers: map[string]string{"Retry-After": "2"}},
		{name: "scope", err: newProblem(CodeInsufficientScope, "This call needs the reservations:write scope; the token has venues:read.", ""), status: 403, code: CodeInsufficientScope},
		{name: "unknown error", err: errors.New("pq: relation \"secret_table\" does not exist"), status: 500, code: CodeInternal,
			check: func(t *testing.T, d map[string]any) {
				if strings.Contains(fmt.Sprint(d["message"]), "secret_table") {
					t.Errorf("the message leaks the cause: %v", d["message"])
				}
			}},
		{name: "database unavailable", err: fmt.Errorf("booking: hold: %w", fmt.Errorf("%w: %w", store.ErrUnavailable, errors.New("dial tcp 10.0.0.5:5432: connect: connection refused"))),
			status: 503, code: CodeServiceUnavailable, headers: map[string]string{"Retry-After": "1"},
			check: func(t *testing.T, d map[string]any) {
				if strings.Contains(fmt.Sprint(d["message"]), "10.0.0.5") {
					t.Errorf("the message leaks the cause: %v", d["message"])
				}
			}},
		{name: "database unavailable behind a not-found", err: fmt.Errorf("%w: %w", booking.ErrNotFound, store.ErrUnavailable),
			status: 503, code: CodeServiceUnavailable, headers: map[string]string{"Retry-After": "1"}},
		{name: "echo 404", err: echo.ErrNotFound, status: 404, code: CodeRouteNotFound},
		{name: "echo 405", err: echo.ErrMethodNotAllowed, status: 405, code: CodeMethodNotAllowed},
		{name: "echo 413", err: echo.ErrStatusRequestEntityTooLarge, status: 413, code: CodeBodyTooLarge},
		{name: "echo 415", err: echo.ErrUnsupportedMediaType, status: 415, code: CodeUnsupportedMediaType},
	}
}

// errorTestServer is an Echo with the server's error handler and request-id and
// access-log middleware, and one route whose handler returns the error it is told.
func errorTestServer(t *testing.T) (*echo.Echo, *error) {
	t.Helper()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	s := &Server{deps: Deps{PublicURL: "https://prima.example", Logger: quiet}, log: quiet, apiVersion: "test"}
	e := echo.New()
	e.HTTPErrorHandler = s.handleError
	e.Use(s.requestID, s.recoverPanics, s.accessLog)
	var next error
	e.GET("/v1/fail", func(echo.Context) error { return next })
	return e, &next
}

// A handler that panics after writing part of a cacheable answer (held by conditional
// for its ETag) gets the 500 in the error format, not the empty 200 it got when the held
// writer stayed in place.
func TestPanicInACacheableAnswerIsA500(t *testing.T) {
	e, _ := errorTestServer(t)
	s := &Server{}
	e.GET("/v1/held", func(c echo.Context) error {
		return s.conditional(c, "private, max-age=0", func(c echo.Context) error {
			c.Response().WriteHeader(http.StatusOK)
			_, _ = c.Response().Write([]byte(`{"object":"partial"`))
			panic("the handler fails half way")
		})
	})
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v1/held", nil))
	if rec.Code != http.StatusInternalServerError || !strings.Contains(rec.Body.String(), `"internal_error"`) {
		t.Fatalf("status %d, body %q; want 500 internal_error", rec.Code, rec.Body)
	}
	if strings.Contains(rec.Body.String(), "partial") || rec.Header().Get("ETag") != "" {
		t.Fatalf("the held part of the answer was sent: %q, ETag %q", rec.Body, rec.Header().Get("ETag"))
	}
}

// TestDomainErrorsFromHandlersRenderTheirCode returns each kind of error from a handler
// and checks the answer: status, code, type and param from the catalogue, the extra
// headers and fields, the request id and doc_url, and a body the spec's ErrorResponse schema
// accepts.
func TestDomainErrorsFromHandlersRenderTheirCode(t *testing.T) {
	doc, err := loadSpec()
	if err != nil {
		t.Fatal(err)
	}
	schema := doc.Components.Schemas["ErrorResponse"].Value
	e, next := errorTestServer(t)
	seen := map[Code]bool{}
	for _, tc := range errorCases() {
		t.Run(tc.name, func(t *testing.T) {
			*next = tc.err
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v1/fail?pretty", nil))
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			for k, v := range tc.headers {
				if got := rec.Header().Get(k); got != v {
					t.Errorf("%s: %q, want %q", k, got, v)
				}
			}
			if !bytes.HasSuffix(rec.Body.Bytes(), []byte("}\n")) || bytes.Contains(rec.Body.Bytes(), []byte("\n ")) {
				t.Errorf("the body is not one compact JSON document and a newline: %q", rec.Body)
			}
			var generic any
			if err := json.Unmarshal(rec.Body.Bytes(), &generic); err != nil {
				t.Fatal(err)
			}
			if err := schema.VisitJSON(generic); err != nil {
				t.Errorf("the body does not match the spec's Error: %v\n%s", err, rec.Body)
			}
			d := generic.(map[string]any)["error"].(map[string]any)
			entry := Catalogue[tc.code]
			if d["code"] != string(tc.code) || d["type"] != string(entry.Type) || entry.Status != tc.status {
				t.Errorf("code %v type %v, want %s %s (catalogue status %d)", d["code"], d["type"], tc.code, entry.Type, entry.Status)
			}
			if p, _ := d["param"].(string); p != tc.param {
				t.Errorf("param %q, want %q", p, tc.param)
			}
			if d["request_id"] != rec.Header().Get("Request-Id") || !strings.HasPrefix(rec.Header().Get("Request-Id"), "req_") {
				t.Errorf("request_id %v, Request-Id %q", d["request_id"], rec.Header().Get("Request-Id"))
			}
			if d["doc_url"] != "https://prima.example/docs/errors#"+string(tc.code) {
				t.Errorf("doc_url %v", d["doc_url"])
			}
			if m, _ := d["message"].(string); m == "" {
				t.Error("no message")
			}
			if tc.check != nil {
				tc.check(t, d)
			}
			seen[tc.code] = true
		})
	}
	// Every code but those only the validator and the idempotency middleware's own
	// checks answer (their tests go through the real router) has a case here.
	for code := range Catalogue {
		switch code {
		case CodeParameterMissing, CodeParameterUnknown, CodeBodyInvalid, CodeIdempotencyKeyMissing,
			CodeTokenKindInvalid:
			continue
		}
		if !seen[code] {
			t.Errorf("no case renders %s", code)
		}
	}
}

// TestCentralErrorAnswersAreTheTypedResponsesBytes holds the wire unchanged: for every
// error a handler used to answer with a typed response (400, 402, 404, 409, 502),
// handleError's answer has the same status, headers and body bytes that the generated
// typed response wrote for the same error.
func TestCentralErrorAnswersAreTheTypedResponsesBytes(t *testing.T) {
	e, next := errorTestServer(t)
	typed := func(status int, body gen.ErrorResponse) (func(http.ResponseWriter) error, bool) {
		switch status {
		case 400:
			return gen.CreateReservation400JSONResponse{BadRequestJSONResponse: gen.BadRequestJSONResponse{Body: body}}.VisitCreateReservationResponse, true
		case 402:
			return gen.FinalizeReservation402JSONResponse{PaymentRequiredJSONResponse: gen.PaymentRequiredJSONResponse{Body: body}}.VisitFinalizeReservationResponse, true
		case 404:
			return gen.CreateReservation404JSONResponse{NotFoundJSONResponse: gen.NotFoundJSONResponse{Body: body}}.VisitCreateReservationResponse, true
		case 409:
			return gen.CreateReservation409JSONResponse{ConflictJSONResponse: gen.ConflictJSONResponse{Body: body}}.VisitCreateReservationResponse, true
		case 502:
			return gen.CreateReservation502JSONResponse{BadGatewayJSONResponse: gen.BadGatewayJSONResponse{Body: body}}.VisitCreateReservationResponse, true
		}
		return nil, false
	}
	compared := 0
	for _, tc := range errorCases() {
		pr := problemFor(tc.err)
		if len(pr.Headers) > 0 {
			continue // middleware answers (401, 429), never typed responses
		}
		*next = tc.err
		central := httptest.NewRecorder()
		e.ServeHTTP(central, httptest.NewRequest(http.MethodGet, "/v1/fail", nil))
		// What a handler wrote before: problemFor, completed by the request's id and
		// the code's doc_url, in the operation's typed response.
		d := pr.Detail
		d.RequestId = central.Header().Get("Request-Id")
		d.DocUrl = "https://prima.example/docs/errors#" + string(pr.Code)
		visit, ok := typed(pr.Status, gen.ErrorResponse{Error: d})
		if !ok {
			continue
		}
		old := httptest.NewRecorder()
		old.Header().Set("Request-Id", d.RequestId) // set by the middleware on both paths
		old.Header().Set("API-Version", "test")
		if err := visit(old); err != nil {
			t.Fatal(err)
		}
		if central.Code != old.Code || !bytes.Equal(central.Body.Bytes(), old.Body.Bytes()) {
			t.Errorf("%s: central %d %q\ntyped %d %q", tc.name, central.Code, central.Body, old.Code, old.Body)
		}
		if fmt.Sprint(central.Header()) != fmt.Sprint(old.Header()) {
			t.Errorf("%s: central headers %v, typed %v", tc.name, central.Header(), old.Header())
		}
		compared++
	}
	if compared < 20 {
		t.Fatalf("compared only %d answers", compared)
	}
}
