package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"go.yaml.in/yaml/v3"

	"github.com/prima-dining/partner-api/openapi"
	"github.com/prima-dining/partner-api/store/storetest"
)

// TestServedDocumentListsThisServerFirst downloads /v1/openapi.json as a partner's tool
// would: its servers start with the server it came from (the request's own address, or
// PRIMA_PUBLIC_URL when set), followed by the document's production, sandbox and local
// servers, all absolute; everything else is the document as written.
func TestServedDocumentListsThisServerFirst(t *testing.T) {
	file := loadSpec(t)
	type server struct {
		URL         string `json:"url"`
		Description string `json:"description"`
	}
	var written []server
	for _, s := range file.Servers {
		written = append(written, server{URL: s.URL, Description: s.Description})
	}
	if len(written) < 3 {
		t.Fatalf("the document lists %d servers, want production, sandbox and local", len(written))
	}
	for _, s := range written {
		if s.URL == "" || s.URL[0] == '/' {
			t.Errorf("server %q is not an absolute URL", s.URL)
		}
	}
	for _, tc := range []struct {
		name   string
		opts   []envOption
		wantAt func(e *env) string
	}{
		{"request address", nil, func(e *env) string { return e.srv.URL }},
		{"PRIMA_PUBLIC_URL", []envOption{withPublicURL("https://partners.example.com")}, func(*env) string { return "https://partners.example.com" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, storetest.OpenSQLite(t), tc.opts...)
			status, _, body := e.do("GET", "/v1/openapi.json", "", "")
			if status != http.StatusOK {
				t.Fatalf("GET /v1/openapi.json: %d %s", status, body)
			}
			var served struct {
				Servers []server `json:"servers"`
			}
			if err := json.Unmarshal(body, &served); err != nil {
				t.Fatal(err)
			}
			want := append([]server{{URL: tc.wantAt(e), Description: "This server"}}, written...)
			if !reflect.DeepEqual(served.Servers, want) {
				t.Fatalf("served servers %+v, want %+v", served.Servers, want)
			}
			// Apart from servers, the served document is the file's partner document.
			var got, orig map[string]any
			raw, _ := json.Marshal(file)
			partner, _, err := openapi.Documents(raw)
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(partner, &orig); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatal(err)
			}
			delete(got, "servers")
			delete(orig, "servers")
			if !reflect.DeepEqual(got, orig) {
				t.Fatal("the served document differs from openapi/prima.yaml's partner document beyond its servers")
			}
		})
	}
}

// TestPartnersAndOperatorsHaveDocumentsOfTheirOwn: the partner document (JSON and YAML)
// lists no /v1/operator/ path and no operator type; the operator document lists nothing
// else; both are valid OpenAPI 3.0 documents; and each has its reference page.
func TestPartnersAndOperatorsHaveDocumentsOfTheirOwn(t *testing.T) {
	e := newEnv(t, storetest.OpenSQLite(t))
	load := func(what string, body []byte) *openapi3.T {
		t.Helper()
		loader := openapi3.NewLoader()
		doc, err := loader.LoadFromData(body)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if err := doc.Validate(context.Background()); err != nil {
			t.Fatalf("%s is not a valid OpenAPI document: %v", what, err)
		}
		return doc
	}
	get := func(path string) []byte {
		t.Helper()
		status, _, body := e.do("GET", path, "", "")
		if status != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, status, body)
		}
		return body
	}
	yamlBody := get("/v1/openapi.yaml")
	var asYAML map[string]any
	if err := yaml.Unmarshal(yamlBody, &asYAML); err != nil {
		t.Fatalf("/v1/openapi.yaml: %v", err)
	}
	for what, body := range map[string][]byte{"/v1/openapi.json": get("/v1/openapi.json"), "/v1/openapi.yaml": yamlBody} {
		doc := load(what, body)
		if n := len(doc.Paths.Map()); n < 20 {
			t.Errorf("%s lists %d paths", what, n)
		}
		for path := range doc.Paths.Map() {
			if strings.HasPrefix(path, "/v1/operator/") {
				t.Errorf("%s lists the operator path %s", what, path)
			}
		}
		for name := range doc.Components.Schemas {
			if strings.HasPrefix(name, "Operator") {
				t.Errorf("%s carries the operator schema %s", what, name)
			}
		}
	}
	op := load("/v1/operator/openapi.json", get("/v1/operator/openapi.json"))
	if n := len(op.Paths.Map()); n < 10 {
		t.Errorf("the operator document lists %d paths", n)
	}
	for path := range op.Paths.Map() {
		if !strings.HasPrefix(path, "/v1/operator/") {
			t.Errorf("the operator document lists the partner path %s", path)
		}
	}
	if op.Info.Title != "PRIMA Operator API" || len(op.Servers) == 0 || op.Servers[0].URL != e.srv.URL {
		t.Errorf("operator document: title %q, servers %+v", op.Info.Title, op.Servers)
	}
	for page, spec := range map[string]string{"/docs/reference/": "/v1/openapi.json", "/docs/operator/": "/v1/operator/openapi.json"} {
		if body := string(get(page)); !strings.Contains(body, `href="`+spec+`"`) {
			t.Errorf("%s does not load %s", page, spec)
		}
	}
}
