// Package later serves the answers of a running PRIMA server as a later v1 could send
// them, for the generated clients' tests in this module: every object gains a field no
// client knows yet, and chosen enum fields get values no client has seen. The v1
// promise (docs/versioning.md) is that a client generated today decodes both.
package later

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
)

// AddedField is the field added to every object.
const AddedField = "added_in_a_later_v1"

// Server returns PRIMA_URL (without a trailing slash) and PRIMA_TOKEN, or skips the
// test when they are not set; with PRIMA_REQUIRE_INTEGRATION=1 (CI) it fails instead.
func Server(t testing.TB) (baseURL, token string) {
	t.Helper()
	baseURL, token = os.Getenv("PRIMA_URL"), os.Getenv("PRIMA_TOKEN")
	if baseURL == "" || token == "" {
		if os.Getenv("PRIMA_REQUIRE_INTEGRATION") == "1" {
			t.Fatal("PRIMA_REQUIRE_INTEGRATION=1 but PRIMA_URL or PRIMA_TOKEN is not set")
		}
		t.Skip("set PRIMA_URL and PRIMA_TOKEN to a running server with the sandbox gateway")
	}
	return strings.TrimRight(baseURL, "/"), token
}

// Answer is one answer to serve: the real server's answer to Path (with its query),
// extended with Values, served at the path alone.
type Answer struct {
	Path   string
	Values map[string]string // dotted path (array indexes as numbers) → the new value
}

// Serve fetches each answer from baseURL with token, extends it, and serves the results
// from a test server it closes when t ends; it returns that server's URL.
func Serve(t testing.TB, baseURL, token string, answers ...Answer) string {
	t.Helper()
	bodies := map[string][]byte{}
	for _, a := range answers {
		path, _, _ := strings.Cut(a.Path, "?")
		bodies[path] = Extend(t, fetch(t, baseURL+a.Path, token), a.Values)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := bodies[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func fetch(t testing.TB, url, token string) []byte {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s %v", url, resp.StatusCode, body, err)
	}
	return body
}

// Extend adds AddedField to every object of body and sets each dotted path of values
// to its new value. A path that is not in body fails the test, so that the fields meant
// to be exercised really are.
func Extend(t testing.TB, body []byte, values map[string]string) []byte {
	t.Helper()
	var doc any
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	addField(doc)
	for path, value := range values {
		if err := set(doc, strings.Split(path, "."), value); err != nil {
			t.Fatalf("extend: %s: %v", path, err)
		}
	}
	out, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func addField(v any) {
	switch v := v.(type) {
	case map[string]any:
		for _, e := range v {
			addField(e)
		}
		v[AddedField] = map[string]any{"note": "a field this client does not know"}
	case []any:
		for _, e := range v {
			addField(e)
		}
	}
}

func set(node any, keys []string, value string) error {
	switch n := node.(type) {
	case map[string]any:
		next, ok := n[keys[0]]
		if !ok || (len(keys) > 1 && next == nil) {
			return fmt.Errorf("%q is not in the answer", keys[0])
		}
		if len(keys) == 1 {
			n[keys[0]] = value
			return nil
		}
		return set(next, keys[1:], value)
	case []any:
		i, err := strconv.Atoi(keys[0])
		if err != nil || i >= len(n) || len(keys) == 1 {
			return fmt.Errorf("no element %q", keys[0])
		}
		return set(n[i], keys[1:], value)
	}
	return fmt.Errorf("%q is not in the answer", keys[0])
}
