package server_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	client "github.com/prima-dining/partner-api/sdk/go"
	"github.com/prima-dining/partner-api/store"
	"github.com/prima-dining/partner-api/store/storetest"
)

// recorder keeps every request it receives and answers 200.
type recorder struct {
	srv  *httptest.Server
	mu   sync.Mutex
	reqs []recorded
}

type recorded struct {
	header http.Header
	body   []byte
}

func newRecorder(t *testing.T) *recorder {
	r := &recorder{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.reqs = append(r.reqs, recorded{header: req.Header.Clone(), body: body})
		r.mu.Unlock()
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *recorder) received() []recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]recorded(nil), r.reqs...)
}

// verifies reports whether the official Standard Webhooks verifier, holding only
// secret, accepts the delivery.
func verifies(t *testing.T, secret string, d recorded) bool {
	t.Helper()
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	return wh.Verify(d.body, d.header) == nil
}

// Secret rotation with a one-hour overlap: during it, a verifier holding only the old
// secret and one holding only the new both accept every delivery (the test ping
// included); after it, only the new secret's.
func TestWebhookSecretRotationOverlapVerifiesUnderBothSecrets(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		clk := &fakeClock{t: time.Now().UTC()}
		e := newEnv(t, db, withClock(clk.now))
		_, slots := e.addVenue(slotSpec{tables: 10})
		rec := newRecorder(t)
		endpointID, oldSecret := e.createEndpoint(t, e.token, rec.srv.URL)
		deliverOne := func() recorded {
			t.Helper()
			before := len(rec.received())
			e.book(slots[0].ID, 2)
			clk.advance(time.Second)
			e.drain()
			got := rec.received()
			if len(got) != before+1 {
				t.Fatalf("%d deliveries, want %d", len(got), before+1)
			}
			return got[len(got)-1]
		}

		d := deliverOne()
		if !verifies(t, oldSecret, d) {
			t.Fatal("the delivery before the rotation does not verify under the secret")
		}

		k := key()
		status, _, body := e.do(http.MethodPost, "/v1/webhook_endpoints/"+endpointID+"/rotate_secret", e.token, `{"overlap_seconds":3600}`, "Idempotency-Key", k)
		var rotated client.WebhookEndpoint
		if err := json.Unmarshal(body, &rotated); status != http.StatusOK || err != nil || rotated.Secret == nil || *rotated.Secret == oldSecret ||
			rotated.PreviousSecretExpiresAt == nil || !rotated.PreviousSecretExpiresAt.Equal(clk.now().Add(time.Hour).Truncate(time.Microsecond)) {
			t.Fatalf("rotate: %d %s", status, body)
		}
		newSecret := *rotated.Secret
		// A retry with the same key answers the same secret, and rotates nothing again.
		status, _, again := e.do(http.MethodPost, "/v1/webhook_endpoints/"+endpointID+"/rotate_secret", e.token, `{"overlap_seconds":3600}`, "Idempotency-Key", k)
		if status != http.StatusOK || string(again) != string(body) {
			t.Fatalf("retried rotate: %d %s", status, again)
		}
		status, _, body = e.do(http.MethodGet, "/v1/webhook_endpoints/"+endpointID, e.token, "")
		var read client.WebhookEndpoint
		if err := json.Unmarshal(body, &read); status != http.StatusOK || err != nil || read.Secret != nil || read.PreviousSecretExpiresAt == nil {
			t.Fatalf("get endpoint: %d %s", status, body)
		}

		// In the overlap: two v1 signatures, each verifier accepts.
		clk.advance(59 * time.Minute)
		d = deliverOne()
		if sigs := strings.Fields(d.header.Get("webhook-signature")); len(sigs) != 2 {
			t.Fatalf("webhook-signature in the overlap: %q", d.header.Get("webhook-signature"))
		}
		if !verifies(t, oldSecret, d) || !verifies(t, newSecret, d) {
			t.Fatalf("in the overlap: old secret %v, new secret %v", verifies(t, oldSecret, d), verifies(t, newSecret, d))
		}
		status, _, body = e.do(http.MethodPost, "/v1/webhook_endpoints/"+endpointID+"/ping", e.token, "", "Idempotency-Key", key())
		var ping client.WebhookAttempt
		if err := json.Unmarshal(body, &ping); status != http.StatusOK || err != nil || ping.Outcome != client.WebhookAttemptOutcomeSucceeded || ping.StatusCode != 200 {
			t.Fatalf("ping: %d %s", status, body)
		}
		got := rec.received()
		p := got[len(got)-1]
		var pingEvent client.PingEvent
		if err := json.Unmarshal(p.body, &pingEvent); err != nil || pingEvent.Type != "ping" || pingEvent.Id != ping.EventId ||
			pingEvent.Data.WebhookEndpointId != endpointID || !verifies(t, oldSecret, p) || !verifies(t, newSecret, p) {
			t.Fatalf("ping delivery %s", p.body)
		}

		// After the overlap: only the new secret.
		clk.advance(2 * time.Minute)
		d = deliverOne()
		if verifies(t, oldSecret, d) || !verifies(t, newSecret, d) {
			t.Fatalf("after the overlap: old secret %v, new secret %v", verifies(t, oldSecret, d), verifies(t, newSecret, d))
		}
		status, _, body = e.do(http.MethodGet, "/v1/webhook_endpoints/"+endpointID, e.token, "")
		var after client.WebhookEndpoint
		if err := json.Unmarshal(body, &after); status != http.StatusOK || err != nil || after.PreviousSecretExpiresAt != nil {
			t.Fatalf("get endpoint after the overlap: %d %s", status, body)
		}
	})
}

// An endpoint can be read, updated (URL, event types, status) and deleted; bad input is
// refused and changes nothing; another partner's endpoint is a 404 for every operation.
func TestWebhookEndpointReadUpdateDelete(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		clk := &fakeClock{t: time.Now().UTC()}
		e := newEnv(t, db, withClock(clk.now))
		_, slots := e.addVenue(slotSpec{tables: 10})
		first, second := newRecorder(t), newRecorder(t)
		id, _ := e.createEndpoint(t, e.token, first.srv.URL)
		path := "/v1/webhook_endpoints/" + id
		book := func() {
			e.book(slots[0].ID, 2)
			clk.advance(time.Second)
			e.drain()
		}

		// Disabled: no delivery.
		status, _, body := e.do(http.MethodPatch, path, e.token, `{"status":"disabled"}`)
		var ep client.WebhookEndpoint
		if err := json.Unmarshal(body, &ep); status != http.StatusOK || err != nil || ep.Status != client.WebhookEndpointStatusDisabled {
			t.Fatalf("disable: %d %s", status, body)
		}
		book()
		if n := len(first.received()); n != 0 {
			t.Fatalf("a disabled endpoint received %d deliveries", n)
		}

		// Refused input changes nothing.
		for _, bad := range []string{`{"url":"ftp://x.example/"}`, `{"events":["reservation.nope"]}`, `{}`, `{"status":"paused"}`, `{"secret":"whsec_x"}`} {
			status, _, body = e.do(http.MethodPatch, path, e.token, bad)
			if status != http.StatusBadRequest || !strings.HasPrefix(apiError(t, body).Code, "parameter_") {
				t.Fatalf("PATCH %s: %d %s", bad, status, body)
			}
		}
		status, _, body = e.do(http.MethodGet, path, e.token, "")
		if err := json.Unmarshal(body, &ep); status != http.StatusOK || err != nil || ep.Url != first.srv.URL || ep.Status != client.WebhookEndpointStatusDisabled || len(ep.Events) != 1 {
			t.Fatalf("after refused updates: %d %s", status, body)
		}

		// New URL, only cancellations, enabled again.
		status, _, body = e.do(http.MethodPatch, path, e.token,
			fmt.Sprintf(`{"url":%q,"events":["reservation.confirmed"],"status":"enabled"}`, second.srv.URL))
		if err := json.Unmarshal(body, &ep); status != http.StatusOK || err != nil || ep.Url != second.srv.URL || ep.Status != client.WebhookEndpointStatusEnabled ||
			strings.Join(ep.Events, ",") != "reservation.confirmed" {
			t.Fatalf("update: %d %s", status, body)
		}
		book()
		if len(first.received()) != 0 || len(second.received()) != 1 {
			t.Fatalf("after the update: old URL %d deliveries, new URL %d", len(first.received()), len(second.received()))
		}

		// Another partner's endpoint does not exist for it.
		other := e.newToken("other-partner")
		for _, c := range []struct{ method, path, body string }{
			{http.MethodGet, path, ""},
			{http.MethodPatch, path, `{"status":"disabled"}`},
			{http.MethodPost, path + "/ping", ""},
			{http.MethodPost, path + "/rotate_secret", `{}`},
			{http.MethodDelete, path, ""},
		} {
			status, _, body = e.do(c.method, c.path, other, c.body)
			if status != http.StatusNotFound || apiError(t, body).Code != "resource_missing" {
				t.Fatalf("another partner's %s %s: %d %s", c.method, c.path, status, body)
			}
		}
		if status, _, _ = e.do(http.MethodGet, path, e.token, ""); status != http.StatusOK {
			t.Fatalf("the endpoint after another partner's attempts: %d", status)
		}
		if status, _, body = e.do(http.MethodPost, path+"/rotate_secret", e.token, `{"overlap_seconds":604801}`); status != http.StatusBadRequest {
			t.Fatalf("overlap over 7 days: %d %s", status, body)
		}

		if status, _, _ = e.do(http.MethodDelete, path, e.token, ""); status != http.StatusOK {
			t.Fatalf("delete: %d", status)
		}
		if status, _, _ = e.do(http.MethodGet, path, e.token, ""); status != http.StatusNotFound {
			t.Fatalf("read after delete: %d", status)
		}
	})
}
