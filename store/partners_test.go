package store_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/prima-dining/partner-api/store"
	"github.com/prima-dining/partner-api/store/storetest"
)

func TestPartnersAndTokens(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := ctxT(t)
		p := mustPartner(t, db, "ptn_a", true)
		dup := store.Partner{ID: "ptn_a2", Name: p.Name, CreatedAt: t0}
		if err := db.CreatePartner(ctx, &dup); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("duplicate name: %v, want ErrConflict", err)
		}
		got, err := db.GetPartnerByName(ctx, p.Name)
		if err != nil || got.ID != "ptn_a" || !got.AllVenues || !got.CreatedAt.Equal(t0) {
			t.Fatalf("by name: %+v %v", got, err)
		}
		if _, err := db.GetPartnerByName(ctx, "nobody"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unknown name: %v", err)
		}
		mustPartner(t, db, "ptn_b", false)

		exp := t0.Add(90 * 24 * time.Hour)
		for i, tk := range []store.Token{
			{ID: "tok_1", PartnerID: "ptn_a", Name: "first", Hash: "h1", Prefix: "prima_pat_ab", Scopes: "reservations:write", CreatedAt: t0},
			{ID: "tok_2", PartnerID: "ptn_a", Name: "second", Hash: "h2", Prefix: "prima_pat_cd", ExpiresAt: &exp, CreatedAt: t0.Add(time.Minute)},
			{ID: "tok_3", PartnerID: "ptn_b", Name: "theirs", Hash: "h3", CreatedAt: t0.Add(2 * time.Minute)},
		} {
			if err := db.CreateToken(ctx, &tk); err != nil {
				t.Fatalf("token %d: %v", i, err)
			}
		}
		if err := db.CreateToken(ctx, &store.Token{ID: "tok_4", PartnerID: "ptn_a", Hash: "h1", CreatedAt: t0}); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("duplicate hash: %v, want ErrConflict", err)
		}
		if n := countRows(t, db, "partners", ""); n != 2 {
			t.Fatalf("CreateToken wrote partners: %d rows", n)
		}

		tk, err := db.GetTokenByHash(ctx, "h2")
		if err != nil || tk.ID != "tok_2" || tk.Partner.Name != p.Name || tk.ExpiresAt == nil || !tk.ExpiresAt.Equal(exp) {
			t.Fatalf("by hash: %+v %v", tk, err)
		}
		if _, err := db.GetTokenByHash(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unknown hash: %v", err)
		}

		list, err := db.ListTokens(ctx, "ptn_a")
		if err != nil || !sameIDs(ids(list, tokenID), []string{"tok_2", "tok_1"}) || list[0].Partner.ID != "ptn_a" {
			t.Fatalf("list ptn_a: %v %v", ids(list, tokenID), err)
		}
		if list, _ = db.ListTokens(ctx, ""); !sameIDs(ids(list, tokenID), []string{"tok_3", "tok_2", "tok_1"}) {
			t.Fatalf("list all: %v", ids(list, tokenID))
		}

		// Revocation keeps the first time.
		if err := db.RevokeToken(ctx, "tok_1", t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := db.RevokeToken(ctx, "tok_1", t0.Add(2*time.Hour)); err != nil {
			t.Fatal(err)
		}
		if tk, _ = db.GetTokenByHash(ctx, "h1"); tk.RevokedAt == nil || !tk.RevokedAt.Equal(t0.Add(time.Hour)) {
			t.Fatalf("revoked_at = %v, want %v", tk.RevokedAt, t0.Add(time.Hour))
		}
		if err := db.RevokeToken(ctx, "tok_nope", t0); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("revoke unknown: %v", err)
		}

		if err := db.TouchToken(ctx, "tok_2", t0.Add(3*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if tk, _ = db.GetTokenByHash(ctx, "h2"); tk.LastUsedAt == nil || !tk.LastUsedAt.Equal(t0.Add(3*time.Minute)) {
			t.Fatalf("last_used_at = %v", tk.LastUsedAt)
		}
		if err := db.TouchToken(ctx, "tok_nope", t0); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("touch unknown: %v", err)
		}
	})
}

func TestSandboxIntents(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := ctxT(t)
		if prior, err := db.InsertSandboxIntent(ctx, "pi_1", "idem-1", []byte(`{"v":1}`)); err != nil || prior != nil {
			t.Fatalf("insert: %s %v", prior, err)
		}
		// Same idempotency key: nothing inserted, the first intent returned.
		prior, err := db.InsertSandboxIntent(ctx, "pi_2", "idem-1", []byte(`{"v":2}`))
		if err != nil || string(prior) != `{"v":1}` {
			t.Fatalf("replay: %s %v", prior, err)
		}
		if data, _, _ := db.GetSandboxIntent(ctx, "pi_2"); data != nil {
			t.Fatalf("replay inserted pi_2")
		}
		// No key: never deduplicated; a taken id is a conflict.
		for _, id := range []string{"pi_3", "pi_4"} {
			if _, err := db.InsertSandboxIntent(ctx, id, "", []byte(`{}`)); err != nil {
				t.Fatalf("insert %s: %v", id, err)
			}
		}
		if _, err := db.InsertSandboxIntent(ctx, "pi_3", "", []byte(`{}`)); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("duplicate id: %v", err)
		}

		data, version, err := db.GetSandboxIntent(ctx, "pi_1")
		if err != nil || string(data) != `{"v":1}` || version != 1 {
			t.Fatalf("get: %s %d %v", data, version, err)
		}
		if data, version, err := db.GetSandboxIntent(ctx, "pi_nope"); data != nil || version != 0 || err != nil {
			t.Fatalf("get unknown: %s %d %v", data, version, err)
		}
		if ok, err := db.UpdateSandboxIntent(ctx, "pi_1", 1, []byte(`{"v":"b"}`)); err != nil || !ok {
			t.Fatalf("cas: %v %v", ok, err)
		}
		if ok, err := db.UpdateSandboxIntent(ctx, "pi_1", 1, []byte(`{"v":"stale"}`)); err != nil || ok {
			t.Fatalf("stale cas: %v %v", ok, err)
		}
		if data, version, _ = db.GetSandboxIntent(ctx, "pi_1"); string(data) != `{"v":"b"}` || version != 2 {
			t.Fatalf("after cas: %s %d", data, version)
		}
	})
}

func TestSandboxIntentConcurrentInsertsWithOneKeyCreateOne(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := ctxT(t)
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			created int
			errs    []error
		)
		for i := range 10 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				prior, err := db.InsertSandboxIntent(ctx, fmt.Sprintf("pi_%d", i), "same-key", []byte(`{}`))
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					errs = append(errs, err)
				} else if prior == nil {
					created++
				}
			}()
		}
		wg.Wait()
		if len(errs) > 0 || created != 1 {
			t.Fatalf("created %d (errors %v), want 1", created, errs)
		}
		if n := countRows(t, db, "sandbox_payment_intents", ""); n != 1 {
			t.Fatalf("%d rows, want 1", n)
		}
	})
}
