package server_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/prima-dining/partner-api/store/storetest"
)

// TestUnknownQueryParametersAreRefusedOnEveryOperation sends every operation of the spec
// a query parameter it does not declare, with a token that may call it: each answers 400
// parameter_unknown naming the parameter (before anything else about the request is
// looked at), and a second unknown parameter does not change which one is named.
func TestUnknownQueryParametersAreRefusedOnEveryOperation(t *testing.T) {
	db := storetest.OpenSQLite(t)
	e := newEnv(t, db, withWebhookSecret(webhookSecret))
	operator := e.newOperatorToken("lupa-group", nil)
	doc := loadSpec(t)
	n := 0
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			token := e.token
			if strings.HasPrefix(path, "/v1/operator/") {
				token = operator
			}
			url := pathParam.ReplaceAllString(path, "x_1") + "?zz_unknown=1&zzz_also_unknown=2"
			status, _, body := e.do(method, url, token, "", "Idempotency-Key", key())
			if status != http.StatusBadRequest {
				t.Errorf("%s %s: %d %s, want 400 parameter_unknown", method, url, status, body)
				continue
			}
			if got := apiError(t, body); got.Code != "parameter_unknown" || got.Param == nil || *got.Param != "zz_unknown" {
				t.Errorf("%s %s: %+v, want parameter_unknown naming zz_unknown", method, url, got)
			}
			n++
		}
	}
	if n < 39 { // the 39 operations of 1.5.0; more may come, none may go unchecked
		t.Fatalf("only %d operations checked", n)
	}
	// A declared parameter still passes.
	if status, _, body := e.do("GET", "/v1/venues?limit=1", e.token, ""); status != http.StatusOK {
		t.Fatalf("a declared parameter: %d %s", status, body)
	}
}
