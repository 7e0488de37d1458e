package server

import (
	"net/http"
	"strings"
	"testing"
)

func TestDeprecatedOperationsAnswerWithDeprecationAndSunset(t *testing.T) {
	doc, err := loadSpec()
	if err != nil {
		t.Fatal(err)
	}
	if d, err := deprecations(doc); err != nil || len(d) != 0 {
		t.Fatalf("the spec has no deprecated operation yet: %v %v", d, err)
	}
	op := doc.Paths.Find("/v1/venues").Get
	op.Deprecated = true
	if _, err := deprecations(doc); err == nil || !strings.Contains(err.Error(), "x-sunset") {
		t.Fatalf("a deprecated operation without x-sunset was accepted: %v", err)
	}
	op.Extensions["x-sunset"] = "2027-06-30"
	d, err := deprecations(doc)
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	d[op].setHeaders(h)
	if h.Get("Deprecation") != "true" || h.Get("Sunset") != "Wed, 30 Jun 2027 00:00:00 GMT" {
		t.Fatalf("headers %v", h)
	}
	op.Extensions["x-deprecated-at"] = "2026-12-01"
	if d, err = deprecations(doc); err != nil {
		t.Fatal(err)
	}
	d[op].setHeaders(h)
	if h.Get("Deprecation") != "@1796083200" {
		t.Fatalf("Deprecation %q, want @1796083200 (2026-12-01)", h.Get("Deprecation"))
	}
	op.Extensions["x-sunset"] = "soon"
	if _, err := deprecations(doc); err == nil {
		t.Fatal("a malformed x-sunset was accepted")
	}
}
