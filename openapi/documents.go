package openapi

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// OperatorPrefix starts every path of the operator API.
const OperatorPrefix = "/v1/operator/"

// Documents splits the document (as JSON) into the two that are published: the partner
// API (every path but OperatorPrefix's, and the partner webhooks) and the operator API
// (OperatorPrefix's paths alone, under an introduction of its own). Each keeps only the
// components its operations use, so neither document, nor an SDK generated from it,
// carries the other's operations or types. Every operation gets code samples in curl,
// TypeScript and Go (x-codeSamples). The server still serves both from the one
// hand-kept source.
//
// In both, the answers' enums that v1 may extend (marked OpenEnumKey in the source) are
// open: see openEnums.
func Documents(doc []byte) (partner, operator []byte, err error) {
	var p, o map[string]any
	if err := json.Unmarshal(doc, &p); err != nil {
		return nil, nil, fmt.Errorf("openapi: split: %w", err)
	}
	if err := json.Unmarshal(doc, &o); err != nil {
		return nil, nil, fmt.Errorf("openapi: split: %w", err)
	}
	keepPaths(p, func(path string) bool { return !strings.HasPrefix(path, OperatorPrefix) })
	keepTags(p, func(name string) bool { return name != "Operator" })

	keepPaths(o, func(path string) bool { return strings.HasPrefix(path, OperatorPrefix) })
	var intro string
	for _, t := range anySlice(o["tags"]) {
		if tag, _ := t.(map[string]any); tag["name"] == "Operator" {
			intro, _ = tag["description"].(string)
		}
	}
	keepTags(o, func(name string) bool { return name == "Operator" })
	delete(o, "x-webhooks") // events go to partners
	if info, ok := o["info"].(map[string]any); ok {
		info["title"] = "PRIMA Operator API"
		info["description"] = intro + "\n\nErrors, idempotency and versioning work as in the partner API " +
			"(`/v1/openapi.json`); every error code is explained at `/docs/errors`."
	}
	for _, d := range []map[string]any{p, o} {
		prune(d)
		openEnums(d)
	}
	addCodeSamples(p, partnerAPI)
	addCodeSamples(o, operatorAPI)
	if partner, err = json.Marshal(p); err != nil {
		return nil, nil, err
	}
	if operator, err = json.Marshal(o); err != nil {
		return nil, nil, err
	}
	return partner, operator, nil
}

func anySlice(v any) []any { s, _ := v.([]any); return s }

func keepPaths(doc map[string]any, keep func(string) bool) {
	paths, _ := doc["paths"].(map[string]any)
	maps.DeleteFunc(paths, func(path string, _ any) bool { return !keep(path) })
}

func keepTags(doc map[string]any, keep func(string) bool) {
	doc["tags"] = slices.DeleteFunc(anySlice(doc["tags"]), func(t any) bool {
		tag, _ := t.(map[string]any)
		name, _ := tag["name"].(string)
		return !keep(name)
	})
}

// prune drops the components (schemas, parameters, responses, headers, examples) that
// nothing left in doc refers to, directly or through other components. Security schemes
// are named, not referred to, and stay.
func prune(doc map[string]any) {
	components, _ := doc["components"].(map[string]any)
	var roots []any
	for key, v := range doc {
		if key != "components" {
			roots = append(roots, v)
		}
	}
	used := reachable(components, roots)
	for kind, v := range components {
		if kind == "securitySchemes" {
			continue
		}
		byName, _ := v.(map[string]any)
		maps.DeleteFunc(byName, func(name string, _ any) bool { return !used["#/components/"+kind+"/"+name] })
		if len(byName) == 0 {
			delete(components, kind)
		}
	}
}

// reachable names the components ("#/components/<kind>/<name>") that roots refer to,
// directly or through other components.
func reachable(components map[string]any, roots []any) map[string]bool {
	seen := map[string]bool{}
	var walk func(v any)
	walk = func(v any) {
		switch t := v.(type) {
		case map[string]any:
			if ref, ok := t["$ref"].(string); ok && strings.HasPrefix(ref, "#/components/") && !seen[ref] {
				seen[ref] = true
				kind, name, _ := strings.Cut(strings.TrimPrefix(ref, "#/components/"), "/")
				if byName, ok := components[kind].(map[string]any); ok {
					walk(byName[name])
				}
			}
			for _, e := range t {
				walk(e)
			}
		case []any:
			for _, e := range t {
				walk(e)
			}
		}
	}
	for _, r := range roots {
		walk(r)
	}
	return seen
}

// OpenEnumKey marks, in the source, an enum whose answers may gain values within v1
// (a reservation status, a slot type, an error type). The server is held to the values
// listed; the published documents list them without closing the type (openEnums).
const OpenEnumKey = "x-prima-open-enum"

// ExtensibleEnumKey lists an open enum's known values in the published documents, the
// x-extensible-enum convention of Zalando's API guidelines: generators that do not know
// it see a string, so a client generated today decodes a value added tomorrow.
const ExtensibleEnumKey = "x-extensible-enum"

// openEnums rewrites each enum marked OpenEnumKey into a string whose known values are
// listed under ExtensibleEnumKey and in its description, so that strict generated clients
// (ogen validates every enum it decodes) survive a new value. Requests keep the closed
// enum: a parameter or request body, or a schema only requests use, that refers to an
// open named enum gets its own closed copy, since the server refuses other values there.
func openEnums(doc map[string]any) {
	components, _ := doc["components"].(map[string]any)
	schemas, _ := components["schemas"].(map[string]any)
	openNamed := map[string]map[string]any{} // "#/components/schemas/X" -> X, still closed
	for name, v := range schemas {
		if s, _ := v.(map[string]any); s[OpenEnumKey] == true {
			openNamed["#/components/schemas/"+name] = s
		}
	}

	// closeRefs replaces, under v, each reference to an open named enum by a closed copy.
	var closeRefs func(v any)
	closeRefs = func(v any) {
		switch t := v.(type) {
		case map[string]any:
			if ref, _ := t["$ref"].(string); openNamed[ref] != nil {
				delete(t, "$ref")
				for k, e := range openNamed[ref] {
					if k != OpenEnumKey {
						t[k] = e
					}
				}
				return
			}
			for _, e := range t {
				closeRefs(e)
			}
		case []any:
			for _, e := range t {
				closeRefs(e)
			}
		}
	}
	requestOnly := requestOnlySchemas(doc)
	for name := range requestOnly {
		closeRefs(schemas[name])
	}
	closeRefs(components["parameters"])
	closeRefs(components["requestBodies"])
	for _, item := range doc["paths"].(map[string]any) {
		item, _ := item.(map[string]any)
		closeRefs(item["parameters"])
		for _, op := range item {
			if op, ok := op.(map[string]any); ok {
				closeRefs(op["parameters"])
				closeRefs(op["requestBody"])
			}
		}
	}

	var open func(v any)
	open = func(v any) {
		switch t := v.(type) {
		case map[string]any:
			if t[OpenEnumKey] == true {
				delete(t, OpenEnumKey)
				if values, ok := t["enum"].([]any); ok {
					delete(t, "enum")
					t[ExtensibleEnumKey] = values
					t["description"] = describeOpen(t["description"], values)
				}
			}
			for _, e := range t {
				open(e)
			}
		case []any:
			for _, e := range t {
				open(e)
			}
		}
	}
	open(doc)
}

// describeOpen adds the known values of an open enum to its description, for readers
// and tools that do not show ExtensibleEnumKey.
func describeOpen(description any, values []any) string {
	d, _ := description.(string)
	var known strings.Builder
	for i, v := range values {
		if i > 0 {
			known.WriteString(", ")
		}
		fmt.Fprintf(&known, "`%v`", v)
	}
	if d != "" {
		d = strings.TrimRight(d, "\n") + "\n\n"
	}
	return d + "Known values: " + known.String() + ". Within v1 more may be added: decode this as a " +
		"string and do not act on a value you do not know (see /docs/guides/versioning)."
}

// requestOnlySchemas names the component schemas that only requests (parameters and
// request bodies) reach, directly or through other components; answers, webhook
// payloads and callbacks reach the others.
func requestOnlySchemas(doc map[string]any) map[string]bool {
	components, _ := doc["components"].(map[string]any)
	var requests, answers []any
	for _, item := range doc["paths"].(map[string]any) {
		item, _ := item.(map[string]any)
		requests = append(requests, item["parameters"])
		for _, op := range item {
			if op, ok := op.(map[string]any); ok {
				requests = append(requests, op["parameters"], op["requestBody"])
				answers = append(answers, op["responses"], op["callbacks"])
			}
		}
	}
	answers = append(answers, doc["x-webhooks"])
	fromAnswers := reachable(components, answers)
	only := map[string]bool{}
	for ref := range reachable(components, requests) {
		if name, ok := strings.CutPrefix(ref, "#/components/schemas/"); ok && !fromAnswers[ref] {
			only[name] = true
		}
	}
	return only
}
