package server_test

import (
	"encoding/json"
	"net/http"
	"reflect"
	"testing"

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
			// Apart from servers, the served document is the file.
			var got, orig map[string]any
			raw, _ := json.Marshal(file)
			if err := json.Unmarshal(raw, &orig); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatal(err)
			}
			delete(got, "servers")
			delete(orig, "servers")
			if !reflect.DeepEqual(got, orig) {
				t.Fatal("the served document differs from openapi/prima.yaml beyond its servers")
			}
		})
	}
}
