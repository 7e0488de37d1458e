package store

import (
	"context"
	"embed"
	"fmt"
	"io/fs"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// versionTable is goose's default table of applied migrations.
const versionTable = "goose_db_version"

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
		locker, err := lock.NewPostgresTableLocker()
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
func (db *DB) Migrate(ctx context.Context) error {
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
func (db *DB) MigrationStatus(ctx context.Context) (current, latest int64, err error) {
	p, err := db.provider()
	if err != nil {
		return 0, 0, err
	}
	if src := p.ListSources(); len(src) > 0 {
		latest = src[len(src)-1].Version
	}
	// A database never migrated has no version table, which goose reports as an error.
	if !db.gorm.WithContext(ctx).Migrator().HasTable(versionTable) {
		return 0, latest, nil
	}
	current, err = p.GetDBVersion(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("store: migration status: %w", err)
	}
	return current, latest, nil
}
