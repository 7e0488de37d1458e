package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	client "github.com/prima-dining/partner-api/sdk/go"
	"github.com/prima-dining/partner-api/store"
	"github.com/prima-dining/partner-api/store/storetest"
)

func createTokenBody(name string, scopes ...string) string {
	return fmt.Sprintf(`{"name":%q,"scopes":["%s"],"expires_in_seconds":3600}`, name, strings.Join(scopes, `","`))
}

// Tokens through the API, on two server processes sharing one database, each caching
// tokens while its invalidation listener runs: a tokens:write token creates, lists,
// rotates and revokes its partner's tokens, never with a scope it lacks (403) and never
// another partner's (404); the secret is shown once (a replay answers null, and no
// stored answer holds it); every call is audit-logged; a revocation through one process
// is refused by the other at its next request.
func TestTokensThroughTheAPI(t *testing.T) {
	storetest.ForEachPair(t, func(t *testing.T, a, b *store.DB) {
		ea, eb := newEnv(t, a), newEnv(t, b)
		storetest.Listen(t, a)
		storetest.Listen(t, b)
		admin := ea.newToken("acme-rewards", "tokens:write", "venues:read", "reservations:read", "audit:read")
		count := func() int { return ea.count(t, "SELECT count(*) FROM tokens") }

		// Without tokens:write (tokens issued without scopes lack it): 403.
		if status, _, body := ea.do(http.MethodGet, "/v1/tokens", ea.newToken("acme-rewards"), ""); status != http.StatusForbidden || apiError(t, body).Code != "insufficient_scope" {
			t.Fatalf("list without tokens:write: %d %s", status, body)
		}

		// A scope the caller lacks: 403, nothing created.
		before := count()
		status, _, body := ea.do(http.MethodPost, "/v1/tokens", admin, createTokenBody("too wide", "venues:read", "reservations:write"), "Idempotency-Key", key())
		if status != http.StatusForbidden {
			t.Fatalf("create with a scope the caller lacks: %d %s", status, body)
		}
		if d := apiError(t, body); d.Code != "insufficient_scope" || d.Param == nil || *d.Param != "scopes" {
			t.Fatalf("create with a scope the caller lacks: %s", body)
		}
		if status, _, body = ea.do(http.MethodPost, "/v1/tokens", admin, createTokenBody("unknown", "venues:write"), "Idempotency-Key", key()); status != http.StatusBadRequest {
			t.Fatalf("create with an unknown scope: %d %s", status, body)
		}
		if count() != before {
			t.Fatal("refused creations made tokens")
		}

		// Created: the secret once, and it works on the other process.
		k := key()
		status, _, body = ea.do(http.MethodPost, "/v1/tokens", admin, createTokenBody("checkout", "venues:read"), "Idempotency-Key", k)
		var created client.TokenWithSecret
		if err := json.Unmarshal(body, &created); status != http.StatusCreated || err != nil || created.Secret == nil ||
			!strings.HasPrefix(*created.Secret, "prima_pat_") || created.ExpiresAt == nil || strings.Join(created.Scopes, " ") != "venues:read" {
			t.Fatalf("create: %d %s", status, body)
		}
		secret := *created.Secret
		status, hdr, replay := ea.do(http.MethodPost, "/v1/tokens", admin, createTokenBody("checkout", "venues:read"), "Idempotency-Key", k)
		var replayed client.TokenWithSecret
		if err := json.Unmarshal(replay, &replayed); status != http.StatusCreated || err != nil || hdr.Get("Idempotent-Replayed") != "true" ||
			replayed.Id != created.Id || replayed.Secret != nil {
			t.Fatalf("replayed create: %d %s", status, replay)
		}
		if count() != before+1 {
			t.Fatalf("%d tokens after a create and its replay, want %d", count(), before+1)
		}
		if n := ea.count(t, "SELECT count(*) FROM idempotency_keys WHERE response_body LIKE '%"+secret[len(secret)-20:]+"%'"); n != 0 {
			t.Fatalf("a stored answer holds the secret (%d)", n)
		}
		var current client.Token
		status, _, body = eb.do(http.MethodGet, "/v1/tokens/current", secret, "")
		if err := json.Unmarshal(body, &current); status != http.StatusOK || err != nil || current.Id != created.Id {
			t.Fatalf("the new token on the other process: %d %s", status, body)
		}

		// Listed, without secrets.
		status, _, body = ea.do(http.MethodGet, "/v1/tokens", admin, "")
		if status != http.StatusOK || strings.Contains(string(body), `"secret"`) || !strings.Contains(string(body), created.Id) {
			t.Fatalf("list: %d %s", status, body)
		}

		// Rotated with an hour of overlap: both secrets work meanwhile.
		status, _, body = ea.do(http.MethodPost, "/v1/tokens/"+created.Id+"/rotate", admin, `{"overlap_seconds":3600}`, "Idempotency-Key", key())
		var successor client.TokenWithSecret
		if err := json.Unmarshal(body, &successor); status != http.StatusCreated || err != nil || successor.Secret == nil || successor.Id == created.Id ||
			strings.Join(successor.Scopes, " ") != "venues:read" {
			t.Fatalf("rotate: %d %s", status, body)
		}
		for _, s := range []string{secret, *successor.Secret} {
			if status, _, body = eb.do(http.MethodGet, "/v1/venues", s, ""); status != http.StatusOK {
				t.Fatalf("in the overlap: %d %s", status, body)
			}
		}
		// A narrower tokens:write token cannot rotate the wider admin token.
		status, _, body = ea.do(http.MethodPost, "/v1/tokens", admin, createTokenBody("narrow admin", "tokens:write"), "Idempotency-Key", key())
		var narrow client.TokenWithSecret
		if err := json.Unmarshal(body, &narrow); status != http.StatusCreated || err != nil {
			t.Fatalf("create narrow: %d %s", status, body)
		}
		adminID := tokenID(t, ea, admin)
		if status, _, body = ea.do(http.MethodPost, "/v1/tokens/"+adminID+"/rotate", *narrow.Secret, `{}`, "Idempotency-Key", key()); status != http.StatusForbidden || apiError(t, body).Code != "insufficient_scope" {
			t.Fatalf("a narrower token rotating a wider one: %d %s", status, body)
		}

		// Revoked through A, refused by B at once although B had it cached.
		s := *successor.Secret
		for range 2 {
			if status, _, _ = eb.do(http.MethodGet, "/v1/venues", s, ""); status != http.StatusOK {
				t.Fatalf("before the revocation: %d", status)
			}
		}
		// Wait until B serves the token from its cache. On SQLite another connection's
		// commit (an audit batch, a last_used_at) makes B drop its copies, so a hit may
		// take a few requests.
		for deadline := time.Now().Add(10 * time.Second); ; {
			hits := eb.tokens.CacheStats().Hits
			if eb.do(http.MethodGet, "/v1/venues", s, ""); eb.tokens.CacheStats().Hits > hits {
				break
			}
			if time.Now().After(deadline) {
				if b.Dialect() == store.DialectPostgres {
					t.Fatal("process B does not serve the token from its cache")
				}
				t.Log("SQLite: no cache hit within 10 s; the revocation is checked without one")
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if status, _, body = ea.do(http.MethodDelete, "/v1/tokens/"+successor.Id, admin, ""); status != http.StatusOK {
			t.Fatalf("revoke: %d %s", status, body)
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			status, _, body = eb.do(http.MethodGet, "/v1/venues", s, "")
			if status == http.StatusUnauthorized && apiError(t, body).Code == "token_revoked" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("process B after the revocation through A: %d %s", status, body)
			}
			time.Sleep(10 * time.Millisecond)
		}

		// Another partner's token is not found, and stays as it was.
		other := ea.newToken("other-partner", "tokens:write", "venues:read")
		otherID := tokenID(t, ea, other)
		for _, c := range []struct{ method, path, body string }{
			{http.MethodDelete, "/v1/tokens/" + otherID, ""},
			{http.MethodPost, "/v1/tokens/" + otherID + "/rotate", `{}`},
		} {
			if status, _, body = ea.do(c.method, c.path, admin, c.body, "Idempotency-Key", key()); status != http.StatusNotFound || apiError(t, body).Code != "resource_missing" {
				t.Fatalf("%s %s of another partner's token: %d %s", c.method, c.path, status, body)
			}
		}
		if status, _, _ = ea.do(http.MethodGet, "/v1/tokens/current", other, ""); status != http.StatusOK {
			t.Fatalf("the other partner's token after the attempts: %d", status)
		}
		if status, _, body = ea.do(http.MethodGet, "/v1/tokens", other, ""); status != http.StatusOK || strings.Contains(string(body), created.Id) {
			t.Fatalf("another partner lists: %d %s", status, body)
		}

		// Audit-logged: every token call above, with its status.
		want := map[string]int{"GET /v1/tokens": 0, "POST /v1/tokens": 0, "POST /v1/tokens/:token_id/rotate": 0, "DELETE /v1/tokens/:token_id": 0}
		deadline = time.Now().Add(10 * time.Second)
		for {
			rows, err := a.SQL().Query("SELECT method, route FROM audit_events WHERE route LIKE '/v1/tokens%'")
			if err != nil {
				t.Fatal(err)
			}
			for k := range want {
				want[k] = 0
			}
			for rows.Next() {
				var m, r string
				if err := rows.Scan(&m, &r); err != nil {
					t.Fatal(err)
				}
				want[m+" "+r]++
			}
			_ = rows.Close()
			if want["GET /v1/tokens"] >= 3 && want["POST /v1/tokens"] >= 5 && want["POST /v1/tokens/:token_id/rotate"] >= 3 && want["DELETE /v1/tokens/:token_id"] >= 2 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("audit log of the token calls: %v", want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}

// tokenID is the id of the token secret, read through the API.
func tokenID(t *testing.T, e *env, secret string) string {
	t.Helper()
	status, _, body := e.do(http.MethodGet, "/v1/tokens/current", secret, "")
	var tok client.Token
	if err := json.Unmarshal(body, &tok); status != http.StatusOK || err != nil {
		t.Fatalf("current token: %d %s", status, body)
	}
	return tok.Id
}
