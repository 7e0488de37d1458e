package server_test

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"

	client "github.com/prima-dining/partner-api/sdk/go"
	operatorapi "github.com/prima-dining/partner-api/sdk/go/operator"
	"github.com/prima-dining/partner-api/store"
	"github.com/prima-dining/partner-api/store/storetest"
)

// Guards of the venue side, generated from the spec: every /v1/operator/… operation
// refuses partner tokens (403 token_kind_invalid) and answers another operator's objects
// 404 resource_missing, exactly as if they did not exist; every other authenticated
// operation refuses operator tokens. None of it changes the database.

// opVictim is what operator A owns, for others to attack.
type opVictim struct {
	venueID, slotID, reservationID, partnerID string
}

// operatorCalls is every operator operation, called with A's ids. The test fails when
// the spec has an operator operation missing here.
var operatorCalls = map[string]func(v opVictim) (method, path, body string){
	"listOperatorVenues":  func(opVictim) (string, string, string) { return "GET", "/v1/operator/venues", "" },
	"createOperatorVenue": func(opVictim) (string, string, string) { return "POST", "/v1/operator/venues", venueBody },
	"getOperatorVenue": func(v opVictim) (string, string, string) {
		return "GET", "/v1/operator/venues/" + v.venueID, ""
	},
	"updateOperatorVenue": func(v opVictim) (string, string, string) {
		return "PATCH", "/v1/operator/venues/" + v.venueID, `{"name":"Taken over"}`
	},
	"listSchedules": func(v opVictim) (string, string, string) {
		return "GET", "/v1/operator/venues/" + v.venueID + "/schedules", ""
	},
	"createSchedule": func(v opVictim) (string, string, string) {
		return "POST", "/v1/operator/venues/" + v.venueID + "/schedules",
			`{"days":["mon"],"times":["18:00"],"duration_minutes":90,"party_size_min":1,"party_size_max":2,"seating_area":"bar","type":"standard","tables":1}`
	},
	"listOperatorSlots": func(v opVictim) (string, string, string) {
		return "GET", "/v1/operator/venues/" + v.venueID + "/slots", ""
	},
	"createOperatorSlot": func(v opVictim) (string, string, string) {
		return "POST", "/v1/operator/venues/" + v.venueID + "/slots",
			fmt.Sprintf(`{"local_date":%q,"local_time":"18:00","duration_minutes":90,"party_size_min":1,"party_size_max":2,"seating_area":"bar","type":"standard","tables":1}`, localDate(3))
	},
	"updateOperatorSlot": func(v opVictim) (string, string, string) {
		return "PATCH", "/v1/operator/slots/" + v.slotID, `{"tables":0,"status":"withdrawn"}`
	},
	"listAllocations": func(v opVictim) (string, string, string) {
		return "GET", "/v1/operator/slots/" + v.slotID + "/allocations", ""
	},
	"createAllocation": func(v opVictim) (string, string, string) {
		return "POST", "/v1/operator/slots/" + v.slotID + "/allocations", `{"partner_id":"` + v.partnerID + `","tables":1}`
	},
	"listClosures": func(v opVictim) (string, string, string) {
		return "GET", "/v1/operator/venues/" + v.venueID + "/closures", ""
	},
	"createClosure": func(v opVictim) (string, string, string) {
		return "POST", "/v1/operator/venues/" + v.venueID + "/closures", fmt.Sprintf(`{"date_from":%q,"date_to":%q}`, localDate(0), localDate(30))
	},
	"listOperatorReservations": func(opVictim) (string, string, string) { return "GET", "/v1/operator/reservations", "" },
	"getOperatorReservation": func(v opVictim) (string, string, string) {
		return "GET", "/v1/operator/reservations/" + v.reservationID, ""
	},
	"recordReservationOutcome": func(v opVictim) (string, string, string) {
		return "POST", "/v1/operator/reservations/" + v.reservationID + "/outcome", `{"status":"no_show"}`
	},
	"refundOperatorReservation": func(v opVictim) (string, string, string) {
		return "POST", "/v1/operator/reservations/" + v.reservationID + "/refunds", `{"amount":1,"reason":"goodwill"}`
	},
}

func TestOperatorCallsCoverEveryOperatorOperation(t *testing.T) {
	doc := loadSpec(t)
	seen := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			public := op.Security != nil && len(*op.Security) == 0 // the operator document, /v1/operator/openapi.json
			isOperator := strings.HasPrefix(path, "/v1/operator/") && !public
			_, listed := operatorCalls[op.OperationID]
			if isOperator != listed {
				t.Errorf("%s %s (%s): under /v1/operator/ %v, in operatorCalls %v", method, path, op.OperationID, isOperator, listed)
			}
			if strings.HasPrefix(path, "/v1/operator/") && op.Tags[0] != "Operator" {
				t.Errorf("%s %s is not tagged Operator", method, path)
			}
			seen[op.OperationID] = true
		}
	}
	for id := range operatorCalls {
		if !seen[id] {
			t.Errorf("operatorCalls has %s, which the spec does not", id)
		}
	}
}

// operatorSnapshot is snapshot with the venue side's tables.
func operatorSnapshot(t *testing.T, db *store.DB) string {
	t.Helper()
	out := []string{snapshot(t, db)}
	for _, q := range []string{
		"SELECT id, name, city, cuisine, policy_free_hours, policy_modify_until_hours, platform_kind FROM venues",
		"SELECT id, tables, status FROM slots",
		"SELECT id, tables, generated_through FROM schedules",
		"SELECT id, date_from, date_to FROM closures",
		"SELECT operator_id, venue_id FROM operator_venues",
		"SELECT id, tables, tables_taken FROM slot_allocations",
		"SELECT id, tables_reserved FROM slots",
	} {
		rows, err := db.SQL().Query(q)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			out = append(out, fmt.Sprint(vals...))
		}
		_ = rows.Close()
	}
	sort.Strings(out)
	return strings.Join(out, "\n")
}

func TestOperatorOperationsRefusePartnerTokensAndOtherVenuesOperators(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		opA := e.newOperatorToken("lupa-group", nil)
		v := e.createVenue(t, opA)
		var sl operatorapi.OperatorSlot
		status, _, body := e.do("POST", "/v1/operator/venues/"+v.Id+"/slots", opA,
			fmt.Sprintf(`{"local_date":%q,"local_time":"19:00","duration_minutes":120,"party_size_min":1,"party_size_max":4,"seating_area":"bar","type":"standard","tables":2}`, localDate(2)),
			"Idempotency-Key", key())
		decode(t, status, http.StatusCreated, body, &sl)
		var res client.Reservation
		status, _, body = e.do("POST", "/v1/reservations", e.token, holdJSON(sl.Id), "Idempotency-Key", key())
		decode(t, status, http.StatusCreated, body, &res)
		victim := opVictim{venueID: v.Id, slotID: sl.Id, reservationID: res.Id, partnerID: partnerID(t, db, "acme-rewards")}

		// Operator B manages a venue of its own, and has every operator scope.
		_, own := e.addVenue(slotSpec{tables: 1})
		opB := e.newOperatorToken("rival-group", []string{own[0].VenueID})
		before := operatorSnapshot(t, db)

		ids := make([]string, 0, len(operatorCalls))
		for id := range operatorCalls {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		for _, id := range ids {
			method, path, reqBody := operatorCalls[id](victim)
			t.Run(id, func(t *testing.T) {
				status, _, body := e.do(method, path, e.token, reqBody, "Idempotency-Key", key())
				if status != http.StatusForbidden || apiError(t, body).Code != "token_kind_invalid" {
					t.Errorf("partner token: %d %s", status, body)
				}
				if strings.HasPrefix(id, "create") && !strings.Contains(path, "{") && !strings.Contains(path, v.Id) {
					return // B creating its own venue is allowed; checked below
				}
				status, _, body = e.do(method, path, opB, reqBody, "Idempotency-Key", key())
				if strings.HasPrefix(id, "list") && !strings.Contains(path, v.Id) && !strings.Contains(path, sl.Id) {
					if status != http.StatusOK || strings.Contains(string(body), v.Id) || strings.Contains(string(body), res.Id) {
						t.Errorf("another operator's list: %d %s", status, body)
					}
					return
				}
				if d := apiError(t, body); status != http.StatusNotFound || d.Code != "resource_missing" {
					t.Errorf("another operator: %d %s", status, body)
				}
			})
		}
		if after := operatorSnapshot(t, db); after != before {
			t.Fatalf("refused calls changed the database:\nbefore:\n%s\nafter:\n%s", before, after)
		}
		// A venue B creates is B's, not A's.
		var created operatorapi.OperatorVenue
		status, _, body = e.do("POST", "/v1/operator/venues", opB, venueBody, "Idempotency-Key", key())
		decode(t, status, http.StatusCreated, body, &created)
		if status, _, body := e.do("GET", "/v1/operator/venues/"+created.Id, opA, ""); status != http.StatusNotFound {
			t.Fatalf("A reads B's new venue: %d %s", status, body)
		}
	})
}

func TestOperatorTokensCannotCallPartnerOperations(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		_, slots := e.addVenue(slotSpec{tables: 2})
		op := e.newOperatorToken("lupa-group", []string{slots[0].VenueID})
		before := operatorSnapshot(t, db)
		doc := loadSpec(t)
		n := 0
		for path, item := range doc.Paths.Map() {
			for method, o := range item.Operations() {
				if strings.HasPrefix(path, "/v1/operator/") || o.Security != nil && len(*o.Security) == 0 {
					continue
				}
				target := path
				for _, p := range o.Parameters {
					if p.Value.In == "path" {
						target = strings.ReplaceAll(target, "{"+p.Value.Name+"}", "x_1")
					}
				}
				body := ""
				if o.RequestBody != nil {
					body = `{}`
				}
				status, _, resp := e.do(method, target, op, body, "Idempotency-Key", key())
				if status != http.StatusForbidden || apiError(t, resp).Code != "token_kind_invalid" {
					t.Errorf("%s %s with an operator token: %d %s", method, target, status, resp)
				}
				n++
			}
		}
		if n < 10 {
			t.Fatalf("only %d partner operations checked", n)
		}
		if after := operatorSnapshot(t, db); after != before {
			t.Fatalf("refused calls changed the database")
		}
	})
}

func partnerID(t *testing.T, db *store.DB, name string) string {
	t.Helper()
	p, err := db.GetPartnerByName(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return p.ID
}
