package store_test

import (
	"path/filepath"
	"testing"

	"github.com/prima-dining/partner-api/store"
	"github.com/prima-dining/partner-api/store/storetest"
)

func TestMigrateUpOnFreshDatabaseReachesLatest(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := ctxT(t)
		cur, latest, err := db.MigrationStatus(ctx)
		if err != nil {
			t.Fatalf("status: %v", err)
		}
		if latest < 1 || cur != latest {
			t.Fatalf("status after migrate = (%d, %d), want current == latest >= 1", cur, latest)
		}
		// Running it again is a no-op.
		if err := db.Migrate(ctx); err != nil {
			t.Fatalf("second migrate: %v", err)
		}
		if cur2, _, _ := db.MigrationStatus(ctx); cur2 != cur {
			t.Fatalf("version after second migrate = %d, want %d", cur2, cur)
		}
		// Every table of models.go exists and answers.
		for _, table := range []string{
			store.Partner{}.TableName(), store.PartnerVenue{}.TableName(), store.Token{}.TableName(),
			store.Venue{}.TableName(), store.Slot{}.TableName(), store.Reservation{}.TableName(),
			store.IdempotencyKey{}.TableName(), store.SandboxIntent{}.TableName(),
		} {
			if n := countRows(t, db, table, ""); n != 0 {
				t.Fatalf("%s has %d rows in a fresh database", table, n)
			}
		}
		if err := db.Ping(ctx); err != nil {
			t.Fatalf("ping: %v", err)
		}
	})
}

func TestMigrationStatusOfUnmigratedSQLiteIsZero(t *testing.T) {
	ctx := ctxT(t)
	db, err := store.Open(ctx, store.Config{URL: "sqlite:" + filepath.Join(t.TempDir(), "new.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	cur, latest, err := db.MigrationStatus(ctx)
	if err != nil {
		t.Fatalf("status: %v", err)
	}
	if cur != 0 || latest < 1 {
		t.Fatalf("status = (%d, %d), want (0, >=1)", cur, latest)
	}
	if err := db.Migrate(ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	if cur, latest, _ = db.MigrationStatus(ctx); cur != latest {
		t.Fatalf("status after migrate = (%d, %d)", cur, latest)
	}
}

func TestOpenSQLiteMemoryAndDefaultPath(t *testing.T) {
	ctx := ctxT(t)
	mem, err := store.Open(ctx, store.Config{URL: "sqlite::memory:"})
	if err != nil {
		t.Fatalf("open memory: %v", err)
	}
	defer mem.Close()
	if mem.Dialect() != store.DialectSQLite {
		t.Fatalf("dialect = %q", mem.Dialect())
	}
	if err := mem.Migrate(ctx); err != nil {
		t.Fatalf("migrate memory: %v", err)
	}
	mustVenues(t, mem, venue("ven_1", "Alpha", "NYC", "French"))
	if n, err := mem.CountVenues(ctx); err != nil || n != 1 {
		t.Fatalf("count venues in memory = %d, %v; want 1 (one connection keeps one database)", n, err)
	}

	t.Chdir(t.TempDir())
	def, err := store.Open(ctx, store.Config{})
	if err != nil {
		t.Fatalf("open default: %v", err)
	}
	defer def.Close()
	if err := def.Migrate(ctx); err != nil {
		t.Fatalf("migrate default: %v", err)
	}
	if matches, _ := filepath.Glob(store.DefaultSQLitePath); len(matches) != 1 {
		t.Fatalf("default database file not created under ./data")
	}
}
