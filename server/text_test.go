package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/prima-dining/partner-api/server"
	"github.com/prima-dining/partner-api/store"
	"github.com/prima-dining/partner-api/store/storetest"
)

// invalidText are strings no field accepts, as they appear inside a JSON string:
// raw bytes that are not UTF-8 and surrogate escapes that are not a valid pair.
var invalidText = []string{
	"a\xffb",           // a byte that starts nothing
	"\xc3\x28",         // a lead byte without its continuation
	"\xc0\xaf",         // an overlong "/"
	"\xed\xa0\x80",     // a surrogate encoded in UTF-8
	`\ud800`,           // a high half alone
	`\udc00`,           // a low half alone
	`\ud800x`,          // a high half followed by a letter
	`\ud800\ud800`,     // two high halves
	`ok \udfff\ud83d.`, // low then high
}

// stringFields lists the dotted names (as the validator names params) of every string
// field of s, arrays by their first element.
func stringFields(s *openapi3.Schema, prefix string, depth int, out map[string]bool) {
	if s == nil || depth > 8 {
		return
	}
	for _, sub := range append(append(append(openapi3.SchemaRefs{}, s.AllOf...), s.OneOf...), s.AnyOf...) {
		stringFields(sub.Value, prefix, depth+1, out)
	}
	join := func(name string) string {
		if prefix == "" {
			return name
		}
		return prefix + "." + name
	}
	switch {
	case s.Type.Is("object") || len(s.Properties) > 0:
		for name, p := range s.Properties {
			stringFields(p.Value, join(name), depth+1, out)
		}
		if ap := s.AdditionalProperties.Schema; ap != nil {
			stringFields(ap.Value, join("k"), depth+1, out)
		}
	case s.Type.Is("array") && s.Items != nil:
		stringFields(s.Items.Value, join("0"), depth+1, out)
	case s.Type.Is("string"):
		out[prefix] = true
	}
}

// bodyWith is a JSON body holding text (already JSON-escaped) at the dotted field.
func bodyWith(field, text string) string {
	parts := strings.Split(field, ".")
	var v any = "@TEXT@"
	for i := len(parts) - 1; i >= 0; i-- {
		if parts[i] == "0" {
			v = []any{v}
		} else {
			v = map[string]any{parts[i]: v}
		}
	}
	b, _ := json.Marshal(v)
	return string(bytes.Replace(b, []byte(`"@TEXT@"`), []byte(`"`+text+`"`), 1))
}

// rowCounts counts the rows of every table but the audit log (which records the 400s).
func rowCounts(t *testing.T, db *store.DB) map[string]int {
	t.Helper()
	q := "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
	if db.Dialect() == store.DialectPostgres {
		q = "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
	}
	rows, err := db.SQL().Query(q)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		if name != "audit_events" {
			tables = append(tables, name)
		}
	}
	rows.Close()
	out := map[string]int{}
	for _, name := range tables {
		var n int
		if err := db.SQL().QueryRow(`SELECT count(*) FROM "` + name + `"`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		out[name] = n
	}
	return out
}

// TestInvalidTextIsRefusedInEveryStringField sends, for every string field of every
// JSON request body of the spec, each kind of invalid text: every answer is 400
// parameter_invalid naming the field, and no table gains a row.
func TestInvalidTextIsRefusedInEveryStringField(t *testing.T) {
	doc := loadSpec(t)
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, withRateLimit(server.RateLimit{PerSecond: 1e6, Burst: 1e6}))
		v, _ := e.addVenue(slotSpec{tables: 2})
		opToken := e.newOperatorToken("text-operator", []string{v.ID})
		before := rowCounts(t, db)
		var keys []string
		for path, item := range doc.Paths.Map() {
			for method := range item.Operations() {
				keys = append(keys, method+" "+path)
			}
		}
		sort.Strings(keys)
		fields, requests := 0, 0
		for _, k := range keys {
			method, path, _ := strings.Cut(k, " ")
			op := doc.Paths.Value(path).GetOperation(method)
			if strings.HasPrefix(path, "/v1/webhooks/") || op.RequestBody == nil {
				continue // the Stripe webhook is refused on its signature before anything
			}
			mt := op.RequestBody.Value.Content.Get("application/json")
			if mt == nil || mt.Schema == nil {
				continue
			}
			names := map[string]bool{}
			stringFields(mt.Schema.Value, "", 0, names)
			target := pathParamName.ReplaceAllString(path, "x")
			token := e.token
			if strings.HasPrefix(path, "/v1/operator/") {
				token = opToken
			}
			for field := range names {
				fields++
				for _, text := range invalidText {
					requests++
					status, _, body := e.do(method, target, token, bodyWith(field, text), "Idempotency-Key", key())
					if status != http.StatusBadRequest {
						t.Errorf("%s %s with %s=%q: %d %s", method, path, field, text, status, body)
						continue
					}
					if d := apiError(t, body); d.Code != "parameter_invalid" || d.Param == nil || *d.Param != field {
						t.Errorf("%s %s with %s=%q: %s, want parameter_invalid with param %s", method, path, field, text, body, field)
					}
				}
			}
		}
		if fields < 20 {
			t.Fatalf("only %d string fields found in the spec's request bodies", fields)
		}
		t.Logf("%d string fields, %d requests refused", fields, requests)
		after := rowCounts(t, db)
		for name, n := range after {
			if n != before[name] {
				t.Errorf("%s: %d rows before, %d after", name, before[name], n)
			}
		}
	})
}

func TestInvalidTextInPathAndQueryIsRefused(t *testing.T) {
	e := newEnv(t, storetest.OpenSQLite(t))
	for _, c := range []struct{ path, param string }{
		{"/v1/reservations/res_%ff", "reservation_id"},
		{"/v1/reservations/res_%c3%28", "reservation_id"},
		{"/v1/venues/ven_%ed%a0%80", "venue_id"}, // a surrogate encoded in UTF-8
		{"/v1/venues?city=%c0%af", "city"},
		{"/v1/venues?city=New%ed%b0%80York", "city"},
	} {
		status, _, body := e.do("GET", c.path, e.token, "")
		if status != http.StatusBadRequest {
			t.Errorf("%s: %d %s", c.path, status, body)
			continue
		}
		if d := apiError(t, body); d.Code != "parameter_invalid" || d.Param == nil || *d.Param != c.param {
			t.Errorf("%s: %s, want parameter_invalid with param %s", c.path, body, c.param)
		}
	}
}

// TestValidNonASCIITextIsKept: accents, CJK and an emoji, raw or as a surrogate pair
// escape, are stored as sent.
func TestValidNonASCIITextIsKept(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		_, slots := e.addVenue(slotSpec{tables: 2})
		body := fmt.Sprintf(`{"slot_id":%q,"party_size":2,"notes":"Zoé 日本 😀 \ud83d\ude00","guest":{"first_name":"Zoé","last_name":"日本","email":"zoe@example.com","phone":"+12125550143"}}`, slots[0].ID)
		status, _, resp := e.do("POST", "/v1/reservations", e.token, body, "Idempotency-Key", key())
		if status != http.StatusCreated {
			t.Fatalf("hold: %d %s", status, resp)
		}
		var r struct {
			ID    string `json:"id"`
			Notes string `json:"notes"`
			Guest struct {
				FirstName string `json:"first_name"`
				LastName  string `json:"last_name"`
			} `json:"guest"`
		}
		if err := json.Unmarshal(resp, &r); err != nil {
			t.Fatal(err)
		}
		_, _, got := e.do("GET", "/v1/reservations/"+r.ID, e.token, "")
		if err := json.Unmarshal(got, &r); err != nil {
			t.Fatal(err)
		}
		if r.Notes != "Zoé 日本 😀 😀" || r.Guest.FirstName != "Zoé" || r.Guest.LastName != "日本" {
			t.Errorf("stored %q %q %q", r.Notes, r.Guest.FirstName, r.Guest.LastName)
		}
	})
}
