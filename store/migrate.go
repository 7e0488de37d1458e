package store

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// versionTable is goose's default table of applied migrations.
const versionTable = "goose_db_version"

// The PostgreSQL migration lock (goose's table locker: a row in goose_lock with a lease
// that its holder renews). The lease is short so that a process killed while holding the
// lock delays the next migrator by at most MigrationLockLease plus one retry, not by
// goose's default 30 s lease; the holder renews it every second, so it survives several
// missed heartbeats. A session-level advisory lock would die with its connection at once,
// but PostgreSQL-compatible distributed engines do not all implement advisory locks (and
// DESIGN.md allows them only beside another guard), so the table lock stays the guard.
// Processes whose schema is current never take the lock at all (see Migrate).
const (
	MigrationLockLease     = 6 * time.Second
	migrationLockHeartbeat = time.Second
	migrationLockRetry     = time.Second
	// A live migrator may build indexes CONCURRENTLY for minutes: wait up to 10 minutes.
	migrationLockAttempts = 600
)

// migrations holds one folder of goose SQL migrations per dialect. A schema change adds
// a file to both folders with the same version number.
//
//go:embed migrations
var migrations embed.FS

// provider builds a goose provider for db's dialect. It uses goose's Provider API rather
// than its package-level state, so databases of both dialects can be migrated in one
// process (the tests do).
func (db *DB) provider() (*goose.Provider, error) {
	fsys, err := fs.Sub(migrations, "migrations/"+db.dialect)
	if err != nil {
		return nil, fmt.Errorf("store: migrations for %s: %w", db.dialect, err)
	}
	var (
		dialect goose.Dialect
		opts    []goose.ProviderOption
	)
	switch db.dialect {
	case DialectPostgres:
		dialect = goose.DialectPostgres
		// Several processes may run `migrate` (or serve with auto-migrate) at once. The table
		// locker needs no advisory locks, so it also works on PostgreSQL-compatible engines.
		locker, err := lock.NewPostgresTableLocker(
			lock.WithTableLeaseDuration(MigrationLockLease),
			lock.WithTableHeartbeatInterval(migrationLockHeartbeat),
			lock.WithTableLockTimeout(migrationLockRetry, migrationLockAttempts),
		)
		if err != nil {
			return nil, fmt.Errorf("store: migration locker: %w", err)
		}
		opts = append(opts, goose.WithLocker(locker))
	case DialectSQLite:
		// One process owns an SQLite file, and the single connection serialises everything.
		dialect = goose.DialectSQLite3
	default:
		return nil, fmt.Errorf("store: no migrations for dialect %q", db.dialect)
	}
	p, err := goose.NewProvider(dialect, db.sql, fsys, opts...)
	if err != nil {
		return nil, fmt.Errorf("store: migrations: %w", err)
	}
	return p, nil
}

// Migrate applies every pending migration. Applied migrations are never edited: a live
// database is upgraded by new versions, without losing rows.
//
// It first compares the applied versions with the embedded ones without any lock, and
// returns at once when nothing is pending: a restart, or the Nth process of a deploy,
// never waits on the migration lock (nor on a stale one left by a killed process). Only
// when something is pending does it take the lock; goose then reads the versions again
// under it, so two processes never apply the same migration.
func (db *DB) Migrate(ctx context.Context) error {
	pending, err := db.pendingMigrations(ctx)
	if err != nil {
		return err
	}
	if len(pending) == 0 {
		return nil
	}
	p, err := db.provider()
	if err != nil {
		return err
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("store: migrate %s: %w", db.dialect, err)
	}
	return nil
}

// MigrationStatus reports the database's schema version and the newest version this
// binary knows. current < latest means Migrate has work to do; current > latest means the
// database was migrated by a newer binary.
//
// Readiness probes call it, so it takes no lock (goose's provider would take the
// migration lock): it reads goose's version table directly, within ProbeTimeout.
func (db *DB) MigrationStatus(ctx context.Context) (current, latest int64, err error) {
	ctx, cancel := context.WithTimeout(ctx, ProbeTimeout)
	defer cancel()
	known, err := embeddedVersions(db.dialect)
	if err != nil {
		return 0, 0, err
	}
	if len(known) > 0 {
		latest = known[len(known)-1]
	}
	applied, err := db.appliedVersions(ctx)
	if err != nil {
		return 0, 0, err
	}
	if len(applied) > 0 {
		current = applied[len(applied)-1]
	}
	return current, latest, nil
}

// pendingMigrations lists the embedded versions the database has not applied, read
// without a lock.
func (db *DB) pendingMigrations(ctx context.Context) ([]int64, error) {
	known, err := embeddedVersions(db.dialect)
	if err != nil {
		return nil, err
	}
	applied, err := db.appliedVersions(ctx)
	if err != nil {
		return nil, err
	}
	var pending []int64
	for _, v := range known {
		if _, found := slices.BinarySearch(applied, v); !found {
			pending = append(pending, v)
		}
	}
	return pending, nil
}

// appliedVersions reads goose's version table, sorted, with plain SELECTs (no lock). A
// database never migrated has no version table: nothing is applied.
func (db *DB) appliedVersions(ctx context.Context) ([]int64, error) {
	// Resolved like the unqualified name in the SELECT below (search_path on PostgreSQL).
	exists := "SELECT to_regclass('" + versionTable + "') IS NOT NULL"
	if db.dialect == DialectSQLite {
		exists = "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = '" + versionTable + "'"
	}
	var found bool
	if err := db.sql.QueryRowContext(ctx, exists).Scan(&found); err != nil {
		return nil, fmt.Errorf("store: migration status: %w", err)
	}
	if !found {
		return nil, nil
	}
	// goose deletes a version's row when it is rolled back (is_applied is false only in
	// rows of very old goose versions); version 0 is the row goose writes on creation.
	rows, err := db.sql.QueryContext(ctx, "SELECT version_id FROM "+versionTable+" WHERE is_applied AND version_id > 0")
	if err != nil {
		return nil, fmt.Errorf("store: migration status: %w", err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			return nil, fmt.Errorf("store: migration status: %w", err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: migration status: %w", err)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// embeddedVersions lists the versions of the dialect's embedded migrations, ascending,
// from their file names (NNNNN_name.sql, as goose reads them).
func embeddedVersions(dialect string) ([]int64, error) {
	all, err := embeddedVersionsByDialect()
	if err != nil {
		return nil, err
	}
	vs, ok := all[dialect]
	if !ok {
		return nil, fmt.Errorf("store: no migrations for dialect %q", dialect)
	}
	return vs, nil
}

var embeddedVersionsByDialect = sync.OnceValues(func() (map[string][]int64, error) {
	out := map[string][]int64{}
	for _, d := range []string{DialectPostgres, DialectSQLite} {
		entries, err := fs.ReadDir(migrations, "migrations/"+d)
		if err != nil {
			return nil, fmt.Errorf("store: migrations for %s: %w", d, err)
		}
		var vs []int64
		for _, e := range entries {
			if e.IsDir() || path.Ext(e.Name()) != ".sql" {
				continue
			}
			num, _, _ := strings.Cut(e.Name(), "_")
			v, err := strconv.ParseInt(num, 10, 64)
			if err != nil || v < 1 {
				return nil, fmt.Errorf("store: migration %s/%s has no version number", d, e.Name())
			}
			vs = append(vs, v)
		}
		slices.Sort(vs)
		out[d] = vs
	}
	return out, nil
})
