package storetest

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/prima-dining/partner-api/store"
)

// PostgresURL prepares a fresh migrated PostgreSQL schema and returns a URL that reaches
// it, for tests that open it several times (several server processes on one database).
// The schema is dropped when t ends; close every DB opened on it before then.
func PostgresURL(t testing.TB) string {
	t.Helper()
	u := EmptyPostgresURL(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db, err := store.Open(ctx, store.Config{URL: u, MaxOpenConns: 2})
	if err != nil {
		t.Fatalf("storetest: open postgres: %v", err)
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		t.Fatalf("storetest: migrate postgres: %v", err)
	}
	return u
}

// EmptyPostgresURL is PostgresURL without the migrations: an empty schema, for tests of
// migrating itself.
func EmptyPostgresURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvDatabaseURL)
	if base == "" {
		if os.Getenv(EnvRequireIntegration) == "1" {
			t.Fatalf("storetest: %s=1 but %s is not set: PostgreSQL tests cannot run", EnvRequireIntegration, EnvDatabaseURL)
		}
		t.Skipf("storetest: PostgreSQL test skipped: set %s to run it", EnvDatabaseURL)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	admin, err := store.Open(ctx, store.Config{URL: base, MaxOpenConns: 2})
	if err != nil {
		t.Fatalf("storetest: open postgres: %v", err)
	}
	schema := "prima_t_" + randomHex(t, 8)
	if _, err := admin.SQL().ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		_ = admin.Close()
		t.Fatalf("storetest: create schema: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := admin.SQL().ExecContext(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("storetest: drop schema %s: %v", schema, err)
		}
		_ = admin.Close()
	})
	u, err := withSearchPath(base, schema)
	if err != nil {
		t.Fatalf("storetest: %v", err)
	}
	return u
}
