package server_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/prima-dining/partner-api/server"
	"github.com/prima-dining/partner-api/store"
	"github.com/prima-dining/partner-api/store/storetest"
)

// TestSpecDrivenFuzzingNeverAnswers5xx sends, for every operation of the spec, requests
// generated from its own parameter and body schemas, valid and mutated: no answer may
// be a 5xx, and validatingHandler checks every answer against the spec.
func TestSpecDrivenFuzzingNeverAnswers5xx(t *testing.T) {
	// make test runs it under the race detector with PRIMA_FUZZ_REQUESTS=200; make fuzz
	// runs the full 1,000 per operation without it.
	perOp := 1000
	if n, err := strconv.Atoi(os.Getenv("PRIMA_FUZZ_REQUESTS")); err == nil && n > 0 {
		perOp = n
	}
	if testing.Short() {
		perOp = 100
	}
	doc := loadSpec(t)
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		if db.Dialect() == store.DialectPostgres {
			perOp /= 10 // the same generator; PostgreSQL checks the queries' portability
		}
		e := newEnv(t, db, withRateLimit(server.RateLimit{PerSecond: 1e6, Burst: 1e6}), withMaxActiveHolds(-1))
		_, slots := e.addVenue(slotSpec{tables: 1000}, slotSpec{tables: 5, prime: true})
		rng := rand.New(rand.NewPCG(1, 2))
		g := &gen{rng: rng, known: []string{slots[0].ID, slots[1].ID, slots[0].VenueID, slots[0].LocalDate}}
		// Operator operations are fuzzed with an operator token managing the venue (a
		// partner token is refused before anything else).
		opToken := e.newOperatorToken("fuzz-operator", []string{slots[0].VenueID})

		var ops []string
		byKey := map[string]*openapi3.Operation{}
		for path, item := range doc.Paths.Map() {
			for method, op := range item.Operations() {
				if strings.HasPrefix(path, "/v1/webhooks/") || op.OperationID == "getOpenAPIYAML" {
					// The Stripe webhook is refused on its signature before any schema;
					// kin-openapi cannot validate a YAML body against a string schema.
					continue
				}
				k := method + " " + path
				ops = append(ops, k)
				byKey[k] = op
			}
		}
		sort.Strings(ops)
		for _, k := range ops {
			method, path, _ := strings.Cut(k, " ")
			op := byKey[k]
			statuses := map[int]int{}
			for i := range perOp {
				mutate := i%2 == 1
				p, q, body := g.request(path, op, mutate)
				target := p
				if len(q) > 0 {
					target += "?" + q.Encode()
				}
				token := e.token
				if strings.HasPrefix(path, "/v1/operator/") {
					token = opToken
				}
				status, _, resp := e.do(method, target, token, body, "Idempotency-Key", key())
				statuses[status]++
				if status >= 500 {
					t.Errorf("%s %s answered %d: %s\nbody: %s", method, target, status, resp, body)
					if statuses[status] > 3 {
						t.FailNow()
					}
				}
			}
			t.Logf("%s: %v", k, statuses)
		}
	})
}

type gen struct {
	rng   *rand.Rand
	known []string // real ids and dates, so some requests reach the database's rows
}

var pathParamName = regexp.MustCompile(`\{([^}]+)\}`)

func (g *gen) request(path string, op *openapi3.Operation, mutate bool) (string, url.Values, string) {
	p := pathParamName.ReplaceAllStringFunc(path, func(string) string { return url.PathEscape(g.str(mutate)) })
	q := url.Values{}
	for _, ref := range op.Parameters {
		par := ref.Value
		if par.In != "query" {
			continue
		}
		if !par.Required && g.rng.IntN(2) == 0 {
			continue
		}
		if mutate && g.rng.IntN(3) == 0 {
			q.Set(par.Name, g.str(true))
			continue
		}
		v := g.value(par.Schema.Value, 0, mutate)
		switch v := v.(type) {
		case string:
			q.Set(par.Name, v)
		default:
			b, _ := json.Marshal(v)
			q.Set(par.Name, strings.Trim(string(b), `"`))
		}
	}
	body := ""
	if op.RequestBody != nil {
		if mt := op.RequestBody.Value.Content.Get("application/json"); mt != nil && mt.Schema != nil {
			v := g.value(mt.Schema.Value, 0, mutate)
			b, _ := json.Marshal(v)
			body = string(b)
			if mutate && g.rng.IntN(10) == 0 {
				body = body[:g.rng.IntN(len(body)+1)] // truncated JSON
			}
		}
	}
	return p, q, body
}

var nasty = []string{"", " ", "0", "-1", "null", "true", "[]", "{}", "../../etc/passwd", "%00", "\u0000", "'; DROP TABLE slots;--",
	"res_", "slot_" + strings.Repeat("a", 300), "😀", "\u202e", "1e309", "NaN", "9999-99-99", "2026-02-30", "<script>"}

func (g *gen) str(mutate bool) string {
	if mutate || g.rng.IntN(3) == 0 {
		return nasty[g.rng.IntN(len(nasty))]
	}
	return g.known[g.rng.IntN(len(g.known))]
}

// value generates a value for s: valid when mutate is false (as far as the schema
// says), otherwise sometimes of the wrong type, out of range, or with unknown fields.
func (g *gen) value(s *openapi3.Schema, depth int, mutate bool) any {
	if s == nil || depth > 6 {
		return nil
	}
	if mutate && g.rng.IntN(8) == 0 {
		return []any{nil, "x", -1, 1e308, true, []any{1}, map[string]any{"x": 1}}[g.rng.IntN(7)]
	}
	if len(s.Enum) > 0 {
		return s.Enum[g.rng.IntN(len(s.Enum))]
	}
	switch {
	case s.Type.Is("object"):
		out := map[string]any{}
		for name, ref := range s.Properties {
			required := false
			for _, r := range s.Required {
				required = required || r == name
			}
			if !required && g.rng.IntN(2) == 0 {
				continue
			}
			if mutate && required && g.rng.IntN(6) == 0 {
				continue // a required field missing
			}
			out[name] = g.value(ref.Value, depth+1, mutate)
			if name == "url" && !mutate {
				out[name] = fmt.Sprintf("https://partner%d.example/hooks", g.rng.IntN(1000))
			}
		}
		if mutate && g.rng.IntN(6) == 0 {
			out["status"] = "confirmed" // a field nobody may set
		}
		return out
	case s.Type.Is("array"):
		n := g.rng.IntN(3)
		if mutate && g.rng.IntN(5) == 0 {
			n = 200
		}
		out := make([]any, n)
		for i := range out {
			out[i] = g.value(s.Items.Value, depth+1, mutate)
		}
		return out
	case s.Type.Is("integer"), s.Type.Is("number"):
		lo, hi := -5.0, 1000.0
		if s.Min != nil {
			lo = *s.Min
		}
		if s.Max != nil {
			hi = *s.Max
		}
		if mutate && g.rng.IntN(3) == 0 {
			return []float64{lo - 1, hi + 1, 1 << 53, -1 << 53}[g.rng.IntN(4)]
		}
		return float64(int(lo) + g.rng.IntN(int(hi-lo)+1))
	case s.Type.Is("boolean"):
		return g.rng.IntN(2) == 0
	default: // string
		switch s.Format {
		case "date":
			return []string{g.known[3], "2026-12-01", "2030-01-01"}[g.rng.IntN(3)]
		case "date-time":
			return "2026-12-01T19:30:00Z"
		case "email":
			return fmt.Sprintf("g%d@example.com", g.rng.IntN(1000))
		case "uri":
			return "https://partner.example/hooks"
		}
		if s.Pattern != "" && !mutate {
			if s.Example != nil {
				if ex, ok := s.Example.(string); ok {
					return ex
				}
			}
		}
		if !mutate && g.rng.IntN(2) == 0 {
			return g.known[g.rng.IntN(len(g.known))]
		}
		return g.str(mutate)
	}
}

// TestTextNoColumnCanHoldIsRefused: PostgreSQL refuses NUL and invalid UTF-8 in text,
// which once made these requests 500s (found by the fuzzing above).
func TestTextNoColumnCanHoldIsRefused(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		_, slots := e.addVenue(slotSpec{tables: 2})
		for _, c := range []struct{ method, path, body, code string }{
			{"POST", "/v1/reservations/%00/extend", "", "parameter_invalid"},
			{"GET", "/v1/reservations/res_%ff", "", "parameter_invalid"},
			{"GET", "/v1/venues?city=%00", "", "parameter_invalid"},
			{"POST", "/v1/reservations", fmt.Sprintf(`{"slot_id":%q,"party_size":2,"guest":{"first_name":"A\u0000","last_name":"L","email":"a@example.com","phone":"+12125550143"}}`, slots[0].ID), "body_invalid"},
		} {
			status, _, body := e.do(c.method, c.path, e.token, c.body, "Idempotency-Key", key())
			if status != 400 || apiError(t, body).Code != c.code {
				t.Errorf("%s %s: %d %s, want 400 %s", c.method, c.path, status, body, c.code)
			}
		}
	})
}
