// Package ogenclient proves that a client ogen generates from the published partner
// document, in its strict mode, works: it runs the five calls against a real server and
// decodes answers to which a later v1 added fields and enum values. ogen is a Go
// generator the project does not use itself, and it validates every enum it decodes,
// so it fails where a document promises more than it keeps.
//
// The client (./api) is generated, not committed: scripts/ci/clients.sh runs
// `go generate` here, then `go test` against PRIMA_URL with PRIMA_TOKEN.
package ogenclient

//go:generate go tool ogen -strict -clean -target api -package api ../../../openapi/partner.json
