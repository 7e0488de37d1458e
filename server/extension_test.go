package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/getkin/kin-openapi/openapi3filter"

	"github.com/prima-dining/partner-api/store/storetest"
)

// TestAnswersStayValidWhenV1AddsAField takes a real reservation answer and adds a field
// that a later v1 might send, to the reservation and to its guest: the spec still
// accepts the answer, so a client that validates answers strictly keeps working. The
// same field in a request is still refused (400 parameter_unknown).
func TestAnswersStayValidWhenV1AddsAField(t *testing.T) {
	e := newEnv(t, storetest.OpenSQLite(t))
	_, slots := e.addVenue(slotSpec{tables: 2})
	held := e.hold(slots[0].ID, 2)
	status, _, body := e.do("GET", "/v1/reservations/"+held.Id, e.token, "")
	if status != http.StatusOK {
		t.Fatalf("get: %d %s", status, body)
	}
	var answer map[string]any
	if err := json.Unmarshal(body, &answer); err != nil {
		t.Fatal(err)
	}
	answer["loyalty_tier"] = "gold"
	answer["guest"].(map[string]any)["locale"] = "fr-FR"
	extended, _ := json.Marshal(answer)

	req := httptest.NewRequest(http.MethodGet, "/v1/reservations/"+held.Id, nil)
	route, params, err := specRouter(t).FindRoute(req)
	if err != nil {
		t.Fatal(err)
	}
	err = openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 http.StatusOK,
		Header:                 http.Header{"Content-Type": {"application/json"}},
		Body:                   io.NopCloser(bytes.NewReader(extended)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true},
	})
	if err != nil {
		t.Fatalf("an answer with a field added in a later v1 no longer matches the spec: %v", err)
	}

	status, _, body = e.do("POST", "/v1/reservations", e.token,
		`{"slot_id":"`+slots[0].ID+`","party_size":2,"guest":{"first_name":"Ada","last_name":"Lovelace","email":"ada@example.com","phone":"+12125550143","locale":"fr-FR"}}`,
		"Idempotency-Key", key())
	if status != http.StatusBadRequest || apiError(t, body).Code != "parameter_unknown" {
		t.Fatalf("a request with an unknown guest field: %d %s", status, body)
	}
}
