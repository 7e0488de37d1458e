package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/prima-dining/partner-api/openapi"
)

// specRouter routes requests to the spec's operations, for response validation. It is
// built once for the whole test binary (parsing and checking the spec takes a second
// under the race detector) and only read.
func specRouter(t testing.TB) routers.Router {
	t.Helper()
	r, err := sharedRouter()
	if err != nil {
		t.Fatal(err)
	}
	return r
}

var sharedRouter = sync.OnceValues(func() (routers.Router, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(openapi.YAML)
	if err != nil {
		return nil, err
	}
	if err := doc.Validate(loader.Context); err != nil {
		return nil, err
	}
	doc.Servers = nil
	return gorillamux.NewRouter(doc)
})

// validatingHandler checks every response of an operation the spec describes against
// the spec (status documented for the operation, headers and body matching their
// schemas), and every error answer of any path against the error catalogue, failing the
// test on the first drift, so the contract cannot change silently. Every server the
// tests start (newEnv) sits behind it, so the error answers handleError renders for the
// handlers are held to each operation's declared statuses like the typed ones.
func validatingHandler(t testing.TB, next http.Handler) http.Handler {
	router := specRouter(t)
	codes := documentedCodes(t)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		defer func() {
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.WriteHeader(rec.Code)
			_, _ = w.Write(body)
		}()
		route, params, err := router.FindRoute(r)
		if rec.Code >= 400 && r.Method != http.MethodHead && (err != nil || answersError(route.Operation, rec.Code)) {
			checkErrorEnvelope(t, r, rec, codes)
		}
		if err != nil {
			return // not an operation (docs, unknown routes)
		}
		input := &openapi3filter.ResponseValidationInput{
			RequestValidationInput: &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route},
			Status:                 rec.Code,
			Header:                 rec.Header(),
			Body:                   io.NopCloser(bytes.NewReader(body)),
			Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
		}
		if err := openapi3filter.ValidateResponse(context.Background(), input); err != nil {
			t.Errorf("%s %s answered %d, which does not match the spec: %v\n%s", r.Method, r.URL.Path, rec.Code, err, body)
		}
		// Every operation has a default error response, which the validation above
		// accepts for any status: the status itself must still be one the operation lists.
		if route.Operation.Responses.Status(rec.Code) == nil {
			t.Errorf("%s %s answered %d, which the operation does not list (only its default covers it)\n%s", r.Method, r.URL.Path, rec.Code, body)
		}
	})
}

// answersError reports whether op declares status with the Error schema, or does not
// list it at all (which validatingHandler refuses anyway); /readyz's 503 is a
// Readiness document, not an error.
func answersError(op *openapi3.Operation, status int) bool {
	ref := op.Responses.Status(status)
	if ref == nil || ref.Value == nil {
		return true
	}
	mt := ref.Value.Content.Get("application/json")
	return mt == nil || mt.Schema == nil || mt.Schema.Ref == "#/components/schemas/ErrorResponse"
}

// documentedCode is an entry of ErrorDetail's x-error-codes.
type documentedCode struct {
	Code   string `json:"code"`
	Type   string `json:"type"`
	Status int    `json:"status"`
}

// documentedCodes reads ErrorDetail's x-error-codes, by code.
func documentedCodes(t testing.TB) map[string]documentedCode {
	t.Helper()
	codes, err := sharedCodes()
	if err != nil {
		t.Fatal(err)
	}
	return codes
}

// sharedCodes reads the catalogue once for the whole test binary; callers only read it.
var sharedCodes = sync.OnceValues(func() (map[string]documentedCode, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(openapi.YAML)
	if err != nil {
		return nil, err
	}
	raw, ok := doc.Components.Schemas["ErrorDetail"].Value.Extensions["x-error-codes"]
	if !ok {
		return nil, errors.New("ErrorDetail has no x-error-codes")
	}
	b, _ := json.Marshal(raw)
	var list []documentedCode
	if err := json.Unmarshal(b, &list); err != nil {
		return nil, err
	}
	out := make(map[string]documentedCode, len(list))
	for _, d := range list {
		out[d.Code] = d
	}
	return out, nil
})

// checkErrorEnvelope holds every error answer, an operation's or not (unknown routes,
// 405), to the one format: a code the spec documents with this status and type, the
// request's id and the code's doc_url.
func checkErrorEnvelope(t testing.TB, r *http.Request, rec *httptest.ResponseRecorder, codes map[string]documentedCode) {
	t.Helper()
	var e struct {
		Error struct {
			Type      string `json:"type"`
			Code      string `json:"code"`
			Message   string `json:"message"`
			DocURL    string `json:"doc_url"`
			RequestID string `json:"request_id"`
		} `json:"error"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || rec.Header().Get("Content-Type") != "application/json" {
		t.Errorf("%s %s answered %d without the error format (%s): %q", r.Method, r.URL.Path, rec.Code, rec.Header().Get("Content-Type"), rec.Body)
		return
	}
	d, ok := codes[e.Error.Code]
	switch {
	case !ok:
		t.Errorf("%s %s answered %d with code %q, which the spec does not document", r.Method, r.URL.Path, rec.Code, e.Error.Code)
	case d.Status != rec.Code || d.Type != e.Error.Type:
		t.Errorf("%s %s answered %d %s %s; the spec documents %s as %d %s", r.Method, r.URL.Path, rec.Code, e.Error.Type, e.Error.Code, d.Code, d.Status, d.Type)
	}
	// A replay is the first answer's bytes, with the first request's id in the body.
	replayed := rec.Header().Get("Idempotent-Replayed") == "true"
	if e.Error.Message == "" || e.Error.RequestID == "" || !replayed && e.Error.RequestID != rec.Header().Get("Request-Id") ||
		!strings.HasSuffix(e.Error.DocURL, "/docs/errors#"+e.Error.Code) {
		t.Errorf("%s %s: an incomplete error (message, request_id matching Request-Id, doc_url): %s", r.Method, r.URL.Path, rec.Body)
	}
}
