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
	used := map[string]bool{} // "#/components/<kind>/<name>"
	var queue []string
	var walk func(v any)
	walk = func(v any) {
		switch t := v.(type) {
		case map[string]any:
			if ref, ok := t["$ref"].(string); ok && strings.HasPrefix(ref, "#/components/") && !used[ref] {
				used[ref] = true
				queue = append(queue, ref)
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
	for key, v := range doc {
		if key != "components" {
			walk(v)
		}
	}
	for len(queue) > 0 {
		ref := queue[0]
		queue = queue[1:]
		kind, name, _ := strings.Cut(strings.TrimPrefix(ref, "#/components/"), "/")
		if byName, ok := components[kind].(map[string]any); ok {
			walk(byName[name])
		}
	}
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
