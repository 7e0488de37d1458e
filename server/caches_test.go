package server_test

import (
	"bytes"
	"context"
	"net/http"
	"testing"
	"time"

	client "github.com/prima-dining/partner-api/sdk/go"
	"github.com/prima-dining/partner-api/store"
	"github.com/prima-dining/partner-api/store/storetest"
)

// With the process's caches on (its invalidation listener running), what partners read
// of tokens and venues follows every change at once: the next request sees it.

// cacheHits is how many lookups the booking services' cache named name answered.
func (e *env) cacheHits(name string) uint64 {
	for _, st := range e.booking.Reservations.CacheStats() {
		if st.Name == name {
			return st.Hits
		}
	}
	return 0
}

func (e *env) venueHits() uint64 { return e.cacheHits("venues") }

func TestCachedReadsFollowRevocationsVenueEditsAndGrants(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		storetest.Listen(t, db)
		ctx := context.Background()
		op := e.newOperatorToken("cache-group", nil)
		v := e.createVenue(t, op)
		getVenue := func(token string) (int, client.Venue) {
			t.Helper()
			var out client.Venue
			status, _, body := e.do("GET", "/v1/venues/"+v.Id, token, "")
			if status == http.StatusOK {
				decode(t, status, http.StatusOK, body, &out)
			}
			return status, out
		}

		t.Run("venue edit", func(t *testing.T) {
			// The database's notices of the changes above (the venue's creation, the
			// tokens') may still be on their way on a busy machine, and one evicts what a
			// read cached when it lands: read twice until the second read of a pair is
			// served from the caches, within a deadline.
			for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(100 * time.Millisecond) {
				getVenue(e.token)
				hits, tokenHits := e.venueHits(), e.tokens.CacheStats().Hits
				if status, got := getVenue(e.token); status != http.StatusOK || got.Name != "Trattoria Nuova" {
					t.Fatalf("venue: %d %q", status, got.Name)
				}
				if e.venueHits() == hits+1 && e.tokens.CacheStats().Hits == tokenHits+1 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("no second read in a row came from the caches")
				}
			}
			status, _, body := e.do("PATCH", "/v1/operator/venues/"+v.Id, op, `{"name":"Trattoria Rinnovata"}`)
			decode(t, status, http.StatusOK, body, nil)
			if status, got := getVenue(e.token); status != http.StatusOK || got.Name != "Trattoria Rinnovata" {
				t.Fatalf("the read after the edit: %d %q, want the new name", status, got.Name)
			}
		})

		t.Run("grant", func(t *testing.T) {
			restricted := e.newToken("restricted-partner")
			p, err := db.GetPartnerByName(ctx, "restricted-partner")
			if err != nil {
				t.Fatal(err)
			}
			// Before the partner's first request, so nothing of it is cached yet.
			if _, err := db.SQL().ExecContext(ctx, `UPDATE partners SET all_venues = `+falseLiteral(db)+` WHERE id = '`+p.ID+`'`); err != nil {
				t.Fatal(err)
			}
			for range 2 {
				if status, _ := getVenue(restricted); status != http.StatusNotFound {
					t.Fatalf("a venue not granted: %d, want 404", status)
				}
			}
			if err := db.GrantVenues(ctx, p.ID, []string{v.Id}); err != nil {
				t.Fatal(err)
			}
			if status, got := getVenue(restricted); status != http.StatusOK || got.Id != v.Id {
				t.Fatalf("the read after the grant: %d, want 200", status)
			}
		})

		t.Run("revocation", func(t *testing.T) {
			secret := e.newToken("revoked-partner")
			for range 2 {
				if status, _ := getVenue(secret); status != http.StatusOK {
					t.Fatalf("before the revocation: %d", status)
				}
			}
			tok, err := e.tokens.Authenticate(ctx, secret)
			if err != nil {
				t.Fatal(err)
			}
			if err := e.tokens.Revoke(ctx, tok.TokenID); err != nil {
				t.Fatal(err)
			}
			status, _, body := e.do("GET", "/v1/venues/"+v.Id, secret, "")
			if status != http.StatusUnauthorized || apiError(t, body).Code != "token_revoked" {
				t.Fatalf("the request after the revocation: %d %s, want 401 token_revoked", status, body)
			}
		})
	})
}

func falseLiteral(db *store.DB) string {
	if db.Dialect() == store.DialectPostgres {
		return "FALSE"
	}
	return "0"
}

// While the catalogue keeps a venue, its answer is encoded once per language and sent
// from there: the same bytes and ETag as a process that keeps nothing sends, in each
// language, If-None-Match still answering 304, and an edit of the venue in the next
// answer in every language.
func TestVenueAnswersKeptPerLanguageAreThoseOfAProcessThatKeepsNone(t *testing.T) {
	storetest.ForEachPair(t, func(t *testing.T, a, b *store.DB) {
		e := newEnv(t, a)
		storetest.Listen(t, a)
		plain := newEnv(t, b) // no listener: its catalogue reads the database every time
		op := e.newOperatorToken("venue-memo", nil)
		v := e.createVenue(t, op)
		path := "/v1/venues/" + v.Id
		get := func(env *env, lang string, headers ...string) (int, http.Header, []byte) {
			t.Helper()
			return env.do("GET", path, env.token, "", append([]string{"Accept-Language", lang}, headers...)...)
		}
		same := func(step string) map[string][]byte {
			t.Helper()
			// The database's notice of the change may still be on its way and evict
			// what a read kept: read until two reads in a row come from the catalogue.
			for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
				get(e, "en")
				hits := e.venueHits()
				get(e, "en")
				if e.venueHits() == hits+1 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%s: no second read in a row came from the catalogue", step)
				}
			}
			bodies := map[string][]byte{}
			for _, lang := range []string{"en", "fr", "de", "en", "fr", "de"} {
				// An answer read from the catalogue. On SQLite the second process's own
				// writes (its audit events, its token's last use) move the file's
				// data_version, which drops everything this one keeps: read again then.
				var (
					status int
					h      http.Header
					body   []byte
				)
				for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
					hits := e.venueHits()
					if status, h, body = get(e, lang); e.venueHits() == hits+1 {
						break
					}
					if time.Now().After(deadline) {
						t.Fatalf("%s, %s: the venue was never read from the catalogue", step, lang)
					}
				}
				pStatus, ph, pBody := get(plain, lang)
				if status != http.StatusOK || pStatus != http.StatusOK {
					t.Fatalf("%s, %s: %d and %d %s", step, lang, status, pStatus, body)
				}
				if !bytes.Equal(body, pBody) || h.Get("ETag") != ph.Get("ETag") || h.Get("Content-Length") != ph.Get("Content-Length") {
					t.Fatalf("%s, %s: a kept answer differs from one never kept:\n%s ETag %s\n%s ETag %s", step, lang, body, h.Get("ETag"), pBody, ph.Get("ETag"))
				}
				if prev, ok := bodies[lang]; ok && !bytes.Equal(prev, body) {
					t.Fatalf("%s, %s: two answers differ:\n%s\n%s", step, lang, prev, body)
				}
				bodies[lang] = body
				if status, _, body := get(e, lang, "If-None-Match", h.Get("ETag")); status != http.StatusNotModified || len(body) != 0 {
					t.Fatalf("%s, %s: If-None-Match of its ETag: %d %q, want 304 without a body", step, lang, status, body)
				}
			}
			if bytes.Equal(bodies["en"], bodies["fr"]) || bytes.Equal(bodies["en"], bodies["de"]) {
				t.Fatalf("%s: the venue's answers are the same in English, French and German: the test cannot tell their encodings apart", step)
			}
			return bodies
		}
		before := same("created")
		status, _, body := e.do("PATCH", "/v1/operator/venues/"+v.Id, op, `{"name":"Trattoria Rinnovata"}`)
		decode(t, status, http.StatusOK, body, nil)
		after := same("edited")
		for lang, b := range after {
			if bytes.Equal(b, before[lang]) || !bytes.Contains(b, []byte("Trattoria Rinnovata")) {
				t.Fatalf("%s: the answer after the edit does not show it: %s", lang, b)
			}
		}
	})
}
