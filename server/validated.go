package server

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers"
	lru "github.com/hashicorp/golang-lru/v2"
)

// validatedRequests remembers the bodiless requests (the reads: searches, gets, lists)
// that passed the contract's checks of their path and query and the document's
// validation, by everything those read: the method, the path and query as sent, and the
// values of the operation's header parameters. Such a request passes again whoever sends
// it, as the document does not change while the process runs, so a partner's repeated
// search or read skips openapi3filter's decoding and schema checks (about a fifth of the
// server's CPU for a search answered from the cache). What validation changed in the
// request is kept with it and done again: the defaults it writes into the query
// (limit=20). A request that failed is not remembered, and neither is one with a body.
type validatedRequests struct {
	// queries is the query each remembered request had after validation, by its key.
	queries *lru.Cache[string, string]
}

// maxValidatedRequests bounds the requests remembered, and maxValidatedKey the length of
// a request's key (longer ones are validated every time): at most about 4 MB.
const (
	maxValidatedRequests = 4096
	maxValidatedKey      = 1024
)

func newValidatedRequests() *validatedRequests {
	queries, err := lru.New[string, string](maxValidatedRequests)
	if err != nil {
		panic(err) // only for a size that is not positive
	}
	return &validatedRequests{queries: queries}
}

// key is the request's key, and false when it must be validated whatever came before:
// it has a body, or its operation has parameters whose validation is not replayed (a
// cookie, or a header with a default that validation would add).
func (v *validatedRequests) key(req *http.Request, route *routers.Route, body []byte) (string, bool) {
	if len(body) > 0 || route.Operation.RequestBody != nil {
		return "", false
	}
	// Each part that comes from the request is written after its length, so no two
	// requests share a key whatever their bytes.
	var b strings.Builder
	b.WriteString(req.Method)
	var digits [20]byte
	length := func(n int) { b.Write(strconv.AppendInt(digits[:0], int64(n), 10)) }
	part := func(v string) {
		b.WriteByte(' ')
		length(len(v))
		b.WriteByte(':')
		b.WriteString(v)
	}
	part(req.URL.EscapedPath())
	part(req.URL.RawQuery)
	for _, params := range []openapi3.Parameters{route.PathItem.Parameters, route.Operation.Parameters} {
		for _, ref := range params {
			p := ref.Value
			if p == nil {
				continue
			}
			switch p.In {
			case openapi3.ParameterInCookie:
				return "", false
			case openapi3.ParameterInHeader:
				if p.Schema != nil && p.Schema.Value != nil && p.Schema.Value.Default != nil {
					return "", false
				}
				values := req.Header.Values(p.Name)
				part(p.Name)
				length(len(values))
				for _, value := range values {
					part(value)
				}
			}
		}
	}
	if b.Len() > maxValidatedKey {
		return "", false
	}
	return b.String(), true
}

// passed reports whether the request of key passed before, and if so gives it the query
// validation left it with.
func (v *validatedRequests) passed(key string, req *http.Request) bool {
	query, ok := v.queries.Get(key)
	if ok && query != req.URL.RawQuery {
		req.URL.RawQuery = query
	}
	return ok
}

// remember records that the request of key passed, with the query it has now.
func (v *validatedRequests) remember(key string, req *http.Request) {
	v.queries.Add(key, req.URL.RawQuery)
}
