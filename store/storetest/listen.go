package storetest

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prima-dining/partner-api/store"
)

// Listen runs db's invalidation listener (store.DB.ListenInvalidations) until t ends,
// and waits until db's caches are trusted.
func Listen(t testing.TB, db *store.DB) {
	t.Helper()
	ListenWith(t, db, store.ListenConfig{})
}

// ListenWith is Listen with a configuration (a quiet logger unless cfg has one).
func ListenWith(t testing.TB, db *store.DB, cfg store.ListenConfig) {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- db.ListenInvalidations(ctx, cfg) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("storetest: invalidation listener: %v", err)
		}
	})
	WaitTrusted(t, db, 30*time.Second)
}

// WaitTrusted waits until db's caches are trusted, failing t after within.
func WaitTrusted(t testing.TB, db *store.DB, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		if _, trusted := db.Invalidations().Epoch(); trusted {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("storetest: the invalidation listener was not subscribed within %s", within)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// ForEachPair is ForEach with two handles on one fresh database, as two server
// processes have: a second PostgreSQL pool on the same schema, or a second connection
// to the same SQLite file.
func ForEachPair(t *testing.T, fn func(t *testing.T, a, b *store.DB)) {
	t.Helper()
	t.Run(store.DialectSQLite, func(t *testing.T) {
		image, err := migratedSQLite()
		if err != nil {
			t.Fatalf("storetest: %v", err)
		}
		path := filepath.Join(t.TempDir(), "prima.db")
		if err := os.WriteFile(path, image, 0o600); err != nil {
			t.Fatalf("storetest: write sqlite: %v", err)
		}
		fn(t, open(t, "sqlite:"+path), open(t, "sqlite:"+path))
	})
	t.Run(store.DialectPostgres, func(t *testing.T) {
		u := PostgresURL(t)
		fn(t, open(t, u), open(t, u))
	})
}

func open(t testing.TB, u string) *store.DB {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db, err := store.Open(ctx, store.Config{URL: u})
	if err != nil {
		t.Fatalf("storetest: open: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}
