package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	client "github.com/prima-dining/partner-api/sdk/go"
	"github.com/prima-dining/partner-api/store"
	"github.com/prima-dining/partner-api/store/storetest"
)

func listAudit(t *testing.T, e *env, token, query string) (int, client.AuditEventList, []byte) {
	t.Helper()
	status, _, body := e.do("GET", "/v1/audit_events"+query, token, "")
	var out client.AuditEventList
	if status == http.StatusOK {
		if err := json.Unmarshal(body, &out); err != nil {
			t.Fatal(err)
		}
	}
	return status, out, body
}

func TestAuditLogRecordsEveryAuthenticatedRequest(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		_, slots := e.addVenue(slotSpec{tables: 2})
		_, venuesHeaders, _ := e.do("GET", "/v1/venues", e.token, "")
		k := key()
		status, holdHeaders, body := e.do("POST", "/v1/reservations", e.token,
			fmt.Sprintf(`{"slot_id":%q,"party_size":2,"guest":{"first_name":"Ada","last_name":"Lovelace","email":"ada@example.com","phone":"+12125550143"}}`, slots[0].ID),
			"Idempotency-Key", k)
		if status != http.StatusCreated {
			t.Fatalf("hold: %d %s", status, body)
		}
		e.do("GET", "/v1/reservations/res_unknown", e.token, "")
		e.do("GET", "/v1/venues", "", "")                  // no token: nothing to attribute
		e.do("GET", "/v1/venues", e.newToken("other"), "") // another partner's
		e.audit.Flush()

		status, list, body := listAudit(t, e, e.token, "")
		if status != http.StatusOK || len(list.Data) != 3 {
			t.Fatalf("%d %s", status, body)
		}
		notFound, hold, venues := list.Data[0], list.Data[1], list.Data[2] // newest first
		if hold.Method != "POST" || hold.Route != "/v1/reservations" || hold.Status != 201 || hold.IdempotencyKey != k ||
			hold.RequestId != holdHeaders.Get("Request-Id") || hold.ClientAddr != "127.0.0.1" || hold.TokenId == "" {
			t.Errorf("hold event %+v", hold)
		}
		if notFound.Route != "/v1/reservations/:reservation_id" || notFound.Status != 404 {
			t.Errorf("404 event %+v", notFound)
		}
		if venues.RequestId != venuesHeaders.Get("Request-Id") || venues.IdempotencyKey != "" {
			t.Errorf("venues event %+v", venues)
		}

		// Filters and paging.
		if _, l, _ := listAudit(t, e, e.token, "?status=201"); len(l.Data) != 1 || l.Data[0].Id != hold.Id {
			t.Errorf("status=201: %+v", l.Data)
		}
		// (The list calls above are audited too, as the writer flushes them.)
		_, p1, _ := listAudit(t, e, e.token, "?limit=2")
		_, p2, _ := listAudit(t, e, e.token, "?limit=2&starting_after="+p1.Data[1].Id)
		if !p1.HasMore || len(p2.Data) == 0 || p2.Data[0].Id >= p1.Data[1].Id {
			t.Errorf("paging: %+v then %+v", p1, p2)
		}
		if status, _, body := listAudit(t, e, e.token, "?starting_after=aud_nope"); status != http.StatusBadRequest || apiError(t, body).Param == nil {
			t.Errorf("unknown cursor: %d %s", status, body)
		}
		// The audit:read scope is required.
		if status, _, body := listAudit(t, e, e.newToken("acme-rewards", "venues:read"), ""); status != http.StatusForbidden {
			t.Errorf("without audit:read: %d %s", status, body)
		}
	})
}
