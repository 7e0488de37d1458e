package server_test

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/prima-dining/partner-api/docs/portal"
	"github.com/prima-dining/partner-api/openapi"
	"github.com/prima-dining/partner-api/server"
	"github.com/prima-dining/partner-api/store/storetest"
)

func loadSpec(t testing.TB) *openapi3.T {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(openapi.YAML)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		t.Fatal(err)
	}
	return doc
}

// echoPath turns /v1/reservations/{reservation_id} into Echo's /v1/reservations/:reservation_id.
var pathParam = regexp.MustCompile(`\{([^}]+)\}`)

func TestSpecAndRoutesAgree(t *testing.T) {
	doc := loadSpec(t)
	e := newEnv(t, storetest.OpenSQLite(t))
	h, err := server.New(e.withServices(server.Deps{Tokens: e.tokens, Idempotency: nil, Database: e.db}))
	if err == nil || h != nil {
		t.Fatal("New without Idempotency should fail")
	}

	spec := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if op.OperationID == "" || len(op.Tags) == 0 || op.Summary == "" || op.Description == "" {
				t.Errorf("%s %s lacks an operationId, tag, summary or description", method, path)
			}
			if op.Security == nil || len(*op.Security) > 0 {
				scope, _ := op.Extensions["x-required-scope"].(string)
				if scope == "" {
					t.Errorf("%s %s needs a token but names no x-required-scope", method, path)
				}
				if op.Responses.Status(401) == nil || op.Responses.Status(403) == nil && scope != "any" {
					t.Errorf("%s %s needs a token but does not document 401 and 403", method, path)
				}
				// Every authenticated call spends its token's bucket, and a failing
				// address is refused: 429 is always possible.
				if op.Responses.Status(429) == nil {
					t.Errorf("%s %s needs a token but does not document 429", method, path)
				}
			}
			spec[method+" "+pathParam.ReplaceAllString(path, ":$1")] = true
		}
	}
	served := map[string]bool{}
	handler, err := server.New(e.withServices(server.Deps{Tokens: e.tokens, Idempotency: idempotencyFor(e), Database: e.db, Logger: quietLogger()}))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range handler.Routes() {
		if r.Path == "/" || r.Path == "/docs" || strings.HasPrefix(r.Path, "/docs/") || r.Method == "echo_route_any" {
			continue // the human docs are not API operations
		}
		served[r.Method+" "+r.Path] = true
	}
	for op := range spec {
		if !served[op] {
			t.Errorf("the spec describes %s but no route serves it", op)
		}
	}
	for op := range served {
		if !spec[op] {
			t.Errorf("route %s is not in the spec", op)
		}
	}
}

func TestErrorCatalogueMatchesTheSpec(t *testing.T) {
	table, ok := portal.Markdown("error-codes") // the meanings /docs/errors shows
	if !ok {
		t.Fatal("docs/portal/pages/error-codes.md is not embedded")
	}
	seen := map[string]bool{}
	for _, d := range documentedCodes(t) {
		seen[d.Code] = true
		e, ok := server.Catalogue[server.Code(d.Code)]
		if !ok {
			t.Errorf("the spec documents %s, which the server never answers", d.Code)
			continue
		}
		if e.Status != d.Status || string(e.Type) != d.Type {
			t.Errorf("%s: spec says %d %s, server answers %d %s", d.Code, d.Status, d.Type, e.Status, e.Type)
		}
		row := fmt.Sprintf("| `%s` | %s | %d |", d.Code, d.Type, d.Status)
		if !strings.Contains(table, row) {
			t.Errorf("docs/portal/pages/error-codes.md lacks the row %q", row)
		}
		if http.StatusText(d.Status) == "" {
			t.Errorf("%s: %d is not an HTTP status", d.Code, d.Status)
		}
	}
	for code := range server.Catalogue {
		if !seen[string(code)] {
			t.Errorf("the server can answer %s but the spec does not document it", code)
		}
	}
}

// TestEveryEmittedCodeIsInTheCatalogue reads the server's source: every Code constant
// (the only way handlers name a code; newProblem refuses others) must be in the
// catalogue, so a new code cannot ship undocumented.
func TestEveryEmittedCodeIsInTheCatalogue(t *testing.T) {
	files, _ := filepath.Glob("*.go")
	fset := token.NewFileSet()
	constants := map[string]string{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			vs, ok := n.(*ast.ValueSpec)
			if !ok || vs.Type == nil || fmt.Sprint(vs.Type) != "Code" {
				return true
			}
			for i, name := range vs.Names {
				if lit, ok := vs.Values[i].(*ast.BasicLit); ok {
					constants[name.Name] = strings.Trim(lit.Value, `"`)
				}
			}
			return true
		})
	}
	if len(constants) < 20 {
		t.Fatalf("found only %d Code constants; is the scan broken?", len(constants))
	}
	for name, value := range constants {
		if _, ok := server.Catalogue[server.Code(value)]; !ok {
			t.Errorf("%s (%q) has no catalogue entry", name, value)
		}
	}
	if len(constants) != len(server.Catalogue) {
		t.Errorf("%d Code constants but %d catalogue entries", len(constants), len(server.Catalogue))
	}
}

// TestSharedErrorResponsesNameTheirCodes holds the third place a code is written in the
// spec to the catalogue: each shared error response (components.responses, "Codes: …")
// names every code of the statuses operations declare it for.
func TestSharedErrorResponsesNameTheirCodes(t *testing.T) {
	doc := loadSpec(t)
	statuses := map[string]map[int]bool{} // response name → statuses it answers
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			for status, ref := range op.Responses.Map() {
				name, ok := strings.CutPrefix(ref.Ref, "#/components/responses/")
				code, err := strconv.Atoi(status)
				if !ok || err != nil || code < 400 {
					continue
				}
				if statuses[name] == nil {
					statuses[name] = map[int]bool{}
				}
				statuses[name][code] = true
			}
		}
	}
	if len(statuses) < 8 {
		t.Fatalf("found only %d shared error responses; is the scan broken?", len(statuses))
	}
	for name, codes := range statuses {
		description := *doc.Components.Responses[name].Value.Description
		for code, e := range server.Catalogue {
			if codes[e.Status] && !strings.Contains(description, "`"+string(code)+"`") {
				t.Errorf("components.responses.%s answers %d but its description does not name `%s`", name, e.Status, code)
			}
		}
	}
}
