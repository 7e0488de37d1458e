// Package storetest opens fresh, migrated databases for tests, on every backend the store
// supports, so one test suite runs against SQLite and PostgreSQL alike.
//
// SQLite always runs: a new file in t.TempDir(). PostgreSQL runs when
// PRIMA_TEST_DATABASE_URL names a database (e.g.
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable): each test gets a schema of its
// own, dropped when it ends. Without that variable the PostgreSQL variant is skipped, or
// fails when PRIMA_REQUIRE_INTEGRATION=1 (CI sets it so a missing database cannot pass
// unnoticed).
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/prima-dining/partner-api/store"
)

// Environment variables read by this package.
const (
	EnvDatabaseURL        = "PRIMA_TEST_DATABASE_URL"
	EnvRequireIntegration = "PRIMA_REQUIRE_INTEGRATION"
)

// Backend is one database the store runs on.
type Backend struct {
	Name string // "sqlite" or "postgres"
	// Open returns a fresh, migrated database, closed (and dropped) when t ends. It skips
	// t when the backend is unavailable and integration tests are not required.
	Open func(t testing.TB) *store.DB
}

// Backends lists every backend, SQLite first. t is unused today; it is there so a backend
// list can depend on the test (and callers need not change if it does).
func Backends(t testing.TB) []Backend {
	t.Helper()
	return []Backend{
		{Name: store.DialectSQLite, Open: OpenSQLite},
		{Name: store.DialectPostgres, Open: OpenPostgres},
	}
}

// ForEach runs fn as a subtest per backend ("sqlite", "postgres"), each with a fresh
// migrated database.
func ForEach(t *testing.T, fn func(t *testing.T, db *store.DB)) {
	t.Helper()
	for _, b := range Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			fn(t, b.Open(t))
		})
	}
}

// OpenSQLite returns a fresh migrated SQLite database in a file under t.TempDir(). The
// file is a copy of one migrated once per test binary (migrating takes most of a second
// under the race detector, copying a millisecond).
func OpenSQLite(t testing.TB) *store.DB {
	t.Helper()
	image, err := migratedSQLite()
	if err != nil {
		t.Fatalf("storetest: %v", err)
	}
	path := filepath.Join(t.TempDir(), "prima.db")
	if err := os.WriteFile(path, image, 0o600); err != nil {
		t.Fatalf("storetest: write sqlite: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db, err := store.Open(ctx, store.Config{URL: "sqlite:" + path})
	if err != nil {
		t.Fatalf("storetest: open sqlite: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// migratedSQLite is the bytes of a freshly migrated SQLite database file, made once.
var migratedSQLite = sync.OnceValues(func() ([]byte, error) {
	dir, err := os.MkdirTemp("", "prima-storetest-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	path := filepath.Join(dir, "prima.db")
	db, err := store.Open(ctx, store.Config{URL: "sqlite:" + path})
	if err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	if err := db.Migrate(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("migrate sqlite: %w", err)
	}
	if err := db.Close(); err != nil { // checkpoints the write-ahead log into the file
		return nil, fmt.Errorf("close sqlite: %w", err)
	}
	if fi, err := os.Stat(path + "-wal"); err == nil && fi.Size() > 0 {
		return nil, errors.New("sqlite: the write-ahead log was not checkpointed on close")
	}
	return os.ReadFile(path) //nolint:gosec // G304: the file this function just made in its own temporary directory
})

// OpenPostgres returns a fresh migrated PostgreSQL database: a new schema (see
// PostgresURL), closed and dropped when t ends.
func OpenPostgres(t testing.TB) *store.DB {
	t.Helper()
	u := PostgresURL(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db, err := store.Open(ctx, store.Config{URL: u})
	if err != nil {
		t.Fatalf("storetest: open postgres: %v", err)
	}
	// Registered after PostgresURL's cleanup, so it runs first: close, then drop.
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// withSearchPath adds search_path=schema to a PostgreSQL URL; pgx sends unknown URL
// parameters to the server as run-time settings of every connection.
func withSearchPath(raw, schema string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("invalid %s", EnvDatabaseURL)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

func randomHex(t testing.TB, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("storetest: random: %v", err)
	}
	return hex.EncodeToString(b)
}
