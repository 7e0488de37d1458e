package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/prima-dining/partner-api/store"
	"github.com/prima-dining/partner-api/store/storetest"
)

// Migration 00008 on a live database: partner tokens survive the upgrade (SQLite
// rebuilds the tokens table) and the rollback, which drops only operator tokens.
func TestMigration00008KeepsPartnerTokensUpAndDown(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if err := db.MigrateTo(ctx, 7); err != nil {
			t.Fatalf("down to 7: %v", err)
		}
		now := time.Now().UTC()
		if err := db.CreatePartner(ctx, &store.Partner{ID: "ptn_a", Name: "a", AllVenues: true, CreatedAt: now}); err != nil {
			t.Fatal(err)
		}
		if _, err := db.SQL().ExecContext(ctx, rebind(db, "INSERT INTO tokens (id, partner_id, name, hash, prefix, scopes, created_at) VALUES (?, ?, '', ?, '', 'venues:read', ?)"),
			"tok_p", "ptn_a", "hash_p", now); err != nil {
			t.Fatal(err)
		}
		if err := db.Migrate(ctx); err != nil {
			t.Fatalf("up: %v", err)
		}
		tok, err := db.GetTokenByHash(ctx, "hash_p")
		if err != nil || tok.PartnerID != "ptn_a" || tok.OperatorID != nil || tok.Partner.Name != "a" {
			t.Fatalf("partner token after the upgrade: %+v (%v)", tok, err)
		}
		op := store.Operator{ID: "opr_a", Name: "lupa", CreatedAt: now}
		if err := db.CreateOperator(ctx, &op); err != nil {
			t.Fatal(err)
		}
		if err := db.CreateToken(ctx, &store.Token{ID: "tok_o", OperatorID: &op.ID, Hash: "hash_o", CreatedAt: now}); err != nil {
			t.Fatal(err)
		}
		tok, err = db.GetTokenByHash(ctx, "hash_o")
		if err != nil || tok.PartnerID != "" || tok.OperatorID == nil || tok.Operator.Name != "lupa" {
			t.Fatalf("operator token: %+v (%v)", tok, err)
		}
		// A token with both owners, or none, is refused by the database.
		if err := db.CreateToken(ctx, &store.Token{ID: "tok_x", PartnerID: "ptn_a", OperatorID: &op.ID, Hash: "hash_x", CreatedAt: now}); err == nil {
			t.Fatal("a token of a partner and an operator was stored")
		}
		if err := db.CreateToken(ctx, &store.Token{ID: "tok_y", Hash: "hash_y", CreatedAt: now}); err == nil {
			t.Fatal("a token of nobody was stored")
		}
		if err := db.MigrateTo(ctx, 7); err != nil {
			t.Fatalf("down to 7 again: %v", err)
		}
		var n int
		if err := db.SQL().QueryRowContext(ctx, "SELECT count(*) FROM tokens").Scan(&n); err != nil || n != 1 {
			t.Fatalf("tokens after the rollback: %d (%v)", n, err)
		}
		if err := db.Migrate(ctx); err != nil {
			t.Fatalf("up again: %v", err)
		}
		if _, err := db.GetTokenByHash(ctx, "hash_p"); err != nil {
			t.Fatalf("partner token after up, down and up: %v", err)
		}
	})
}
