package server_test

// Adversarial tests after the OWASP API Security Top 10 (2023), for what the server has:
// broken object level authorization (API1) and mass assignment (API3). Rate limits
// (API4) are in limits_test.go; authentication (API2) in guard_test.go.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prima-dining/partner-api/internal/access"
	"github.com/prima-dining/partner-api/store"
	"github.com/prima-dining/partner-api/store/storetest"
)

// victim is what partner A owns, for partner B to attack.
type victim struct {
	venueID, reservationID, paymentIntentID, webhookEndpointID, watchID, eventID, tokenID string
	setupIntentID                                                                         string
}

// bolaCalls is every operation whose path names an object, called with A's ids. The
// test fails when the spec has such an operation that is missing here.
var bolaCalls = map[string]func(v victim) (method, path, body string){
	"getVenue": func(v victim) (string, string, string) { return "GET", "/v1/venues/" + v.venueID, "" },
	"getReservation": func(v victim) (string, string, string) {
		return "GET", "/v1/reservations/" + v.reservationID, ""
	},
	"updateReservation": func(v victim) (string, string, string) {
		return "PATCH", "/v1/reservations/" + v.reservationID, `{"notes":"mine now"}`
	},
	"listReservationEvents": func(v victim) (string, string, string) {
		return "GET", "/v1/reservations/" + v.reservationID + "/events", ""
	},
	"extendReservation": func(v victim) (string, string, string) {
		return "POST", "/v1/reservations/" + v.reservationID + "/extend", ""
	},
	"finalizeReservation": func(v victim) (string, string, string) {
		return "POST", "/v1/reservations/" + v.reservationID + "/finalize", ""
	},
	"cancelReservation": func(v victim) (string, string, string) {
		return "POST", "/v1/reservations/" + v.reservationID + "/cancel", `{}`
	},
	"getCancellationQuote": func(v victim) (string, string, string) {
		return "GET", "/v1/reservations/" + v.reservationID + "/cancellation_quote", ""
	},
	"deleteWebhookEndpoint": func(v victim) (string, string, string) {
		return "DELETE", "/v1/webhook_endpoints/" + v.webhookEndpointID, ""
	},
	"getWatch": func(v victim) (string, string, string) { return "GET", "/v1/watches/" + v.watchID, "" },
	"cancelWatch": func(v victim) (string, string, string) {
		return "POST", "/v1/watches/" + v.watchID + "/cancel", ""
	},
	"getWebhookEndpoint": func(v victim) (string, string, string) {
		return "GET", "/v1/webhook_endpoints/" + v.webhookEndpointID, ""
	},
	"updateWebhookEndpoint": func(v victim) (string, string, string) {
		return "PATCH", "/v1/webhook_endpoints/" + v.webhookEndpointID, `{"url":"https://attacker.example/hooks"}`
	},
	"pingWebhookEndpoint": func(v victim) (string, string, string) {
		return "POST", "/v1/webhook_endpoints/" + v.webhookEndpointID + "/ping", ""
	},
	"rotateWebhookEndpointSecret": func(v victim) (string, string, string) {
		return "POST", "/v1/webhook_endpoints/" + v.webhookEndpointID + "/rotate_secret", `{"overlap_seconds":0}`
	},
	"getEvent": func(v victim) (string, string, string) { return "GET", "/v1/events/" + v.eventID, "" },
	"listEventAttempts": func(v victim) (string, string, string) {
		return "GET", "/v1/events/" + v.eventID + "/attempts", ""
	},
	"redeliverEvent": func(v victim) (string, string, string) {
		return "POST", "/v1/events/" + v.eventID + "/redeliver", fmt.Sprintf(`{"webhook_endpoint_id":%q}`, v.webhookEndpointID)
	},
	"syncReservation": func(v victim) (string, string, string) {
		return "POST", "/v1/reservations/" + v.reservationID + "/sync", ""
	},
	"revokeToken": func(v victim) (string, string, string) { return "DELETE", "/v1/tokens/" + v.tokenID, "" },
	"rotateToken": func(v victim) (string, string, string) {
		return "POST", "/v1/tokens/" + v.tokenID + "/rotate", `{"overlap_seconds":0}`
	},
	"confirmSandboxSetupIntent": func(v victim) (string, string, string) {
		return "POST", "/v1/sandbox/setup_intents/" + v.setupIntentID + "/confirm", `{"outcome":"succeeded"}`
	},
	"confirmSandboxPaymentIntent": func(v victim) (string, string, string) {
		return "POST", "/v1/sandbox/payment_intents/" + v.paymentIntentID + "/confirm", `{"outcome":"succeeded"}`
	},
	"advanceSandboxReservation": func(v victim) (string, string, string) {
		return "POST", "/v1/sandbox/reservations/" + v.reservationID + "/advance", `{"to":"hold_expiry"}`
	},
}

func TestBOLATableCoversEveryOperationWithAnID(t *testing.T) {
	doc := loadSpec(t)
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if !strings.Contains(path, "{") || op.Security != nil && len(*op.Security) == 0 {
				continue
			}
			if strings.HasPrefix(path, "/v1/operator/") {
				continue // partner tokens cannot call them at all: operator_guard_test.go
			}
			if _, ok := bolaCalls[op.OperationID]; !ok {
				t.Errorf("%s %s (%s) takes an id but is not in bolaCalls", method, path, op.OperationID)
			}
		}
	}
}

// partnerOf is the partner of a reservation.
func partnerOf(t *testing.T, db *store.DB, reservationID string) string {
	t.Helper()
	r, err := db.GetReservation(context.Background(), "", reservationID)
	if err != nil {
		t.Fatal(err)
	}
	return r.PartnerID
}

// snapshot is the database's state that an attack must not change.
func snapshot(t *testing.T, db *store.DB) string {
	t.Helper()
	var out []string
	for _, q := range []string{
		"SELECT id, status, payment_status, COALESCE(payment_intent_id, ''), updated_at FROM reservations",
		"SELECT id, status, url, secret, events FROM webhook_endpoints",
		"SELECT id, revoked_at IS NULL FROM tokens",
		"SELECT id, tables_taken, updated_at FROM slots",
		"SELECT id, type, status FROM outbox",
		"SELECT id, type FROM reservation_events",
		"SELECT id, status, change_status FROM reservation_payments",
		"SELECT id, status, COALESCE(reservation_id, '') FROM watches",
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

func TestBOLAAnotherPartnersObjectsAre404AndUnchanged(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		v, slots := e.addVenue(slotSpec{tables: 2, prime: true}, slotSpec{tables: 1})
		// The standard slot asks a card guarantee of its own: its hold has a SetupIntent.
		if _, err := db.SQL().Exec("UPDATE slots SET payment_policy = 'card_guarantee', payment_policy_amount = 3000, payment_policy_per = 'cover' WHERE id = '" + slots[1].ID + "'"); err != nil {
			t.Fatal(err)
		}
		status, _, body := e.do("POST", "/v1/reservations", e.token, holdJSON(slots[1].ID), "Idempotency-Key", key())
		setupIntent := regexp.MustCompile(`"setup_intent_id":"(seti_[^"]+)"`).FindSubmatch(body)
		if status != http.StatusCreated || setupIntent == nil {
			t.Fatalf("card-guarantee hold: %d %s", status, body)
		}
		status, _, body = e.do("POST", "/v1/reservations", e.token,
			fmt.Sprintf(`{"slot_id":%q,"party_size":2,"guest":{"first_name":"Ada","last_name":"Lovelace","email":"ada@example.com","phone":"+12125550143"}}`, slots[0].ID),
			"Idempotency-Key", key())
		if status != http.StatusCreated {
			t.Fatalf("hold: %d %s", status, body)
		}
		var res struct {
			ID      string `json:"id"`
			Payment struct {
				PaymentIntentID string `json:"payment_intent_id"`
			} `json:"payment"`
		}
		_ = json.Unmarshal(body, &res)
		status, _, body = e.do("POST", "/v1/webhook_endpoints", e.token, `{"url":"https://partner-a.example/hooks","events":["*"]}`, "Idempotency-Key", key())
		if status != http.StatusCreated {
			t.Fatalf("webhook endpoint: %d %s", status, body)
		}
		we := string(regexp.MustCompile(`"id":"(we_[^"]+)"`).FindSubmatch(body)[1])
		wat := e.createWatch(t, e.token, watchBody(slots[0], false, 1))
		var events []store.PartnerEvent
		owner := partnerOf(t, db, res.ID)
		err := db.Transact(context.Background(), func(tx *store.Tx) (err error) {
			events, err = tx.EmitPartnerEvents(owner, res.ID, v.ID, []string{"reservation.updated"}, time.Now())
			return err
		})
		if err != nil || len(events) != 1 {
			t.Fatalf("event: %v", err)
		}
		vic := victim{venueID: v.ID, reservationID: res.ID, paymentIntentID: res.Payment.PaymentIntentID, webhookEndpointID: we, watchID: wat.Id, eventID: events[0].ID,
			tokenID: tokenID(t, e, e.token), setupIntentID: string(setupIntent[1])}

		// B has every scope; venues are shared, so B's venue check uses a partner that
		// may sell none.
		attacker := e.newToken("partner-b", access.AllScopes...)
		restricted := e.newToken("partner-restricted")
		if _, err := db.SQL().Exec("UPDATE partners SET all_venues = false WHERE name = 'partner-restricted'"); err != nil {
			t.Fatal(err)
		}

		before := snapshot(t, db)
		for op, call := range bolaCalls {
			method, path, body := call(vic)
			token := attacker
			if op == "getVenue" {
				token = restricted
			}
			status, _, resp := e.do(method, path, token, body, "Idempotency-Key", key())
			if status != http.StatusNotFound || apiError(t, resp).Code != "resource_missing" {
				t.Errorf("%s by another partner: %d %s, want 404 resource_missing", op, status, resp)
			}
		}
		if after := snapshot(t, db); after != before {
			t.Errorf("another partner's calls changed the database:\nbefore:\n%s\nafter:\n%s", before, after)
		}
		// The owner still sees its objects (the 404s above were not about the ids).
		if status, _, body := e.do("GET", "/v1/reservations/"+res.ID, e.token, ""); status != http.StatusOK {
			t.Fatalf("owner: %d %s", status, body)
		}
	})
}

func TestMassAssignmentIsRefused(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		_, slots := e.addVenue(slotSpec{tables: 2, prime: true})
		guest := `"guest":{"first_name":"Ada","last_name":"Lovelace","email":"ada@example.com","phone":"+12125550143"}`
		for name, extra := range map[string]string{
			"status":            `"status":"confirmed"`,
			"confirmation_code": `"confirmation_code":"FREE"`,
			"payment":           `"payment":{"status":"succeeded","amount":0}`,
			"amount":            `"amount":0`,
			"price":             `"price":{"amount":0,"currency":"usd"}`,
			"partner_id":        `"partner_id":"ptn_other"`,
			"expires_at":        `"expires_at":"2099-01-01T00:00:00Z"`,
			"id":                `"id":"res_chosen"`,
		} {
			body := fmt.Sprintf(`{"slot_id":%q,"party_size":2,%s,%s}`, slots[0].ID, guest, extra)
			status, _, resp := e.do("POST", "/v1/reservations", e.token, body, "Idempotency-Key", key())
			if status != http.StatusBadRequest || apiError(t, resp).Code != "parameter_unknown" {
				t.Errorf("hold with %s: %d %s, want 400 parameter_unknown", name, status, resp)
			}
		}
		// Nor can a guest smuggle fields in.
		body := fmt.Sprintf(`{"slot_id":%q,"party_size":2,"guest":{"first_name":"Ada","last_name":"Lovelace","email":"ada@example.com","phone":"+12125550143","vip":true}}`, slots[0].ID)
		if status, _, resp := e.do("POST", "/v1/reservations", e.token, body, "Idempotency-Key", key()); status != http.StatusBadRequest {
			t.Errorf("guest with an extra field: %d %s", status, resp)
		}
		if _, active, total := e.counts(slots[0].ID); active != 0 || total != 0 {
			t.Fatalf("refused holds left %d active, %d reservations", active, total)
		}
		// Cancel and finalize take no say over status or amounts either.
		status, _, resp := e.do("POST", "/v1/reservations", e.token, fmt.Sprintf(`{"slot_id":%q,"party_size":2,%s}`, slots[0].ID, guest), "Idempotency-Key", key())
		if status != http.StatusCreated {
			t.Fatalf("hold: %d %s", status, resp)
		}
		id := string(regexp.MustCompile(`"id":"(res_[^"]+)"`).FindSubmatch(resp)[1])
		if status, _, resp := e.do("POST", "/v1/reservations/"+id+"/cancel", e.token, `{"status":"confirmed","refund_amount":999999}`, "Idempotency-Key", key()); status != http.StatusBadRequest {
			t.Errorf("cancel with status and refund_amount: %d %s", status, resp)
		}
		if status, _, resp := e.do("POST", "/v1/sandbox/payment_intents/pi_x/confirm", e.token, `{"outcome":"succeeded","amount":1}`, "Idempotency-Key", key()); status != http.StatusBadRequest {
			t.Errorf("sandbox confirm with an amount: %d %s", status, resp)
		}
	})
}
