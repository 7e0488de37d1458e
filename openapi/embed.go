// Package openapi holds the hand-written OpenAPI document, the source of truth of the
// PRIMA Partner API, and the generator configuration that turns it into gen/.
package openapi

import _ "embed"

//go:generate go tool -modfile=../tools/go.mod oapi-codegen -config server.cfg.yaml prima.yaml
//go:generate go run ./split
//go:generate go tool -modfile=../tools/go.mod oapi-codegen -config client.cfg.yaml partner.json
//go:generate go tool -modfile=../tools/go.mod oapi-codegen -config operator-client.cfg.yaml operator.json

// YAML is the OpenAPI document exactly as written.
//
//go:embed prima.yaml
var YAML []byte
