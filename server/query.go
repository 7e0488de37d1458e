package server

import (
	"fmt"
	"maps"
	"net/url"
	"slices"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers"
)

// unknownQuery refuses a query parameter the operation does not declare, as an unknown
// body field is refused: a misspelt filter (`?stauts=held`) would otherwise be ignored,
// and the answer would hold more than the partner asked for. The first unknown name, in
// sorted order, is the `param` of the answer.
func unknownQuery(route *routers.Route, query url.Values) *Problem {
	if len(query) == 0 {
		return nil
	}
	declared := map[string]bool{}
	for _, params := range []openapi3.Parameters{route.PathItem.Parameters, route.Operation.Parameters} {
		for _, p := range params {
			if p.Value != nil && p.Value.In == openapi3.ParameterInQuery {
				declared[p.Value.Name] = true
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(query)) {
		if !declared[name] {
			return newProblem(CodeParameterUnknown, fmt.Sprintf("%s is not a query parameter of this operation.", name), name)
		}
	}
	return nil
}
