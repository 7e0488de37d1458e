package server

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
)

// deprecation is what a deprecated operation answers with: Deprecation (RFC 9745: the
// date it was deprecated, or "true" in the older draft form when the spec gives none)
// and Sunset (RFC 8594: the HTTP date after which it may stop working).
type deprecation struct {
	deprecated string
	sunset     string
}

func (d deprecation) setHeaders(h http.Header) {
	h.Set("Deprecation", d.deprecated)
	if d.sunset != "" {
		h.Set("Sunset", d.sunset)
	}
}

// deprecations reads every operation marked deprecated: its x-sunset (required, a date
// or RFC 3339 time) and optional x-deprecated-at. A deprecated operation without a
// sunset date is a mistake in the spec, refused at start-up.
func deprecations(doc *openapi3.T) (map[*openapi3.Operation]deprecation, error) {
	out := map[*openapi3.Operation]deprecation{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if !op.Deprecated {
				continue
			}
			sunset, err := specDate(op.Extensions["x-sunset"])
			if err != nil {
				return nil, fmt.Errorf("server: %s %s is deprecated: x-sunset: %w", method, path, err)
			}
			d := deprecation{deprecated: "true", sunset: sunset.Format(http.TimeFormat)}
			if raw, ok := op.Extensions["x-deprecated-at"]; ok {
				at, err := specDate(raw)
				if err != nil {
					return nil, fmt.Errorf("server: %s %s: x-deprecated-at: %w", method, path, err)
				}
				d.deprecated = "@" + strconv.FormatInt(at.Unix(), 10)
			}
			out[op] = d
		}
	}
	return out, nil
}

// specDate reads a date (2027-06-30) or an RFC 3339 time from a spec extension.
func specDate(v any) (time.Time, error) {
	s, ok := v.(string)
	if !ok {
		return time.Time{}, fmt.Errorf("want a date such as 2027-06-30, got %v", v)
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t.UTC(), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("want a date such as 2027-06-30, got %q", s)
	}
	return t.UTC(), nil
}
