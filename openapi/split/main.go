// Command split writes the two published documents that openapi.Documents makes of
// prima.yaml, as JSON, for the SDK generators (go generate in openapi/): partner.json
// (the partner API: the Go client in sdk/go and the TypeScript SDK) and operator.json
// (the operator API: the Go client in sdk/go/operator). The server makes the same two
// from the embedded prima.yaml when it starts; check-generate keeps these in step.
//
// It also writes each Go client's enums.gen.go: the known values of the documents' open
// enums (x-extensible-enum) as constants, which oapi-codegen makes only of closed ones.
//
// Usage (from openapi/): go run ./split
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/prima-dining/partner-api/openapi"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "split:", err)
		os.Exit(1)
	}
}

func run() error {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(openapi.YAML)
	if err != nil {
		return err
	}
	if err := doc.Validate(context.Background()); err != nil {
		return err
	}
	full, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	partner, operator, err := openapi.Documents(full)
	if err != nil {
		return err
	}
	for file, c := range map[string]struct {
		doc []byte
		pkg string
	}{
		"../sdk/go/enums.gen.go":          {partner, "client"},
		"../sdk/go/operator/enums.gen.go": {operator, "operator"},
	} {
		src, err := enumConstants(c.doc, c.pkg)
		if err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
		if err := os.WriteFile(file, src, 0o644); err != nil { //nolint:gosec // G306: a generated source file, world-readable like the rest
			return err
		}
	}
	for name, b := range map[string][]byte{"partner.json": partner, "operator.json": operator} {
		var out bytes.Buffer
		if err := json.Indent(&out, b, "", "  "); err != nil {
			return err
		}
		out.WriteByte('\n')
		if err := os.WriteFile(name, out.Bytes(), 0o644); err != nil { //nolint:gosec // G306: a generated source file, world-readable like the rest
			return err
		}
	}
	return nil
}
