package openapi_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/prima-dining/partner-api/openapi"
)

// closedOnPurpose are the enums answers may carry that v1 will never extend.
var closedOnPurpose = []string{
	"#/components/schemas/Weekday", // seven days
}

// TestAnswersHaveNoClosedEnum walks everything an answer (or a webhook payload) of the
// published documents can reach and fails on a closed enum of more than one value: a
// strict generated client (ogen) would refuse the value a later v1 adds. Single values
// (object: "reservation") are names, not enums that grow.
func TestAnswersHaveNoClosedEnum(t *testing.T) {
	full := fullJSON(t)
	partner, operator, err := openapi.Documents(full)
	if err != nil {
		t.Fatal(err)
	}
	for name, raw := range map[string][]byte{"partner": partner, "operator": operator} {
		var doc map[string]any
		if err := json.Unmarshal(raw, &doc); err != nil {
			t.Fatal(err)
		}
		components, _ := doc["components"].(map[string]any)
		seen := map[string]bool{}
		opened := 0
		var walk func(v any, at string)
		walk = func(v any, at string) {
			switch n := v.(type) {
			case map[string]any:
				if ref, ok := n["$ref"].(string); ok {
					if seen[ref] || slices.Contains(closedOnPurpose, ref) {
						return
					}
					seen[ref] = true
					kind, name, _ := strings.Cut(strings.TrimPrefix(ref, "#/components/"), "/")
					byName, _ := components[kind].(map[string]any)
					walk(byName[name], ref)
					return
				}
				if values, ok := n["enum"].([]any); ok && len(values) > 1 {
					t.Errorf("%s: %s is a closed enum %v in an answer; mark it %s in prima.yaml", name, at, values, openapi.OpenEnumKey)
				}
				if _, ok := n[openapi.ExtensibleEnumKey]; ok {
					opened++
					if _, closed := n["enum"]; closed || n["type"] != "string" {
						t.Errorf("%s: %s lists %s but is not an open string", name, at, openapi.ExtensibleEnumKey)
					}
				}
				if _, ok := n[openapi.OpenEnumKey]; ok {
					t.Errorf("%s: %s still carries %s", name, at, openapi.OpenEnumKey)
				}
				for k, e := range n {
					walk(e, at+"/"+k)
				}
			case []any:
				for _, e := range n {
					walk(e, at)
				}
			}
		}
		for path, item := range doc["paths"].(map[string]any) {
			for method, op := range item.(map[string]any) {
				if op, ok := op.(map[string]any); ok {
					walk(op["responses"], path+" "+method)
				}
			}
		}
		walk(doc["x-webhooks"], "x-webhooks")
		if opened == 0 {
			t.Errorf("%s: no open enum reached from the answers; the walk is broken", name)
		}
	}
}

// TestRequestsKeepClosedEnums: a parameter that filters by an answer's open enum (the
// search's type, the reservations' status) still lists its values, since the server
// refuses others there.
func TestRequestsKeepClosedEnums(t *testing.T) {
	partner, _, err := openapi.Documents(fullJSON(t))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]struct {
			Parameters []struct {
				Name   string         `json:"name"`
				Schema map[string]any `json:"schema"`
			} `json:"parameters"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(partner, &doc); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ path, method, param string }{
		{"/v1/availability", "get", "type"},
		{"/v1/reservations", "get", "status"},
	} {
		found := false
		for _, p := range doc.Paths[c.path][c.method].Parameters {
			if p.Name == c.param {
				found = true
				if values, _ := p.Schema["enum"].([]any); len(values) < 2 || p.Schema["$ref"] != nil {
					t.Errorf("%s %s ?%s: schema %v, want a closed enum of its own", c.method, c.path, c.param, p.Schema)
				}
			}
		}
		if !found {
			t.Errorf("%s %s has no parameter %s", c.method, c.path, c.param)
		}
	}
}

// fullJSON is the hand-kept document as JSON, as the server and ./split read it.
func fullJSON(t *testing.T) []byte {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(openapi.YAML)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
