package server_test

import (
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
