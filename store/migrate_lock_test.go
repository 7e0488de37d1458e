package store_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/pressly/goose/v3/lock"

	"github.com/prima-dining/partner-api/store"
	"github.com/prima-dining/partner-api/store/storetest"
)

// holdMigrationLock writes the row goose's PostgreSQL table locker writes when it takes
// the migration lock (same table, columns and lock id), held by a process that no longer
// exists and leased for lease from now: what a process killed while migrating leaves.
func holdMigrationLock(t *testing.T, db *store.DB, lease time.Duration) {
	t.Helper()
	ctx := ctxT(t)
	if _, err := db.SQL().ExecContext(ctx, `CREATE TABLE IF NOT EXISTS goose_lock (
		lock_id bigint NOT NULL PRIMARY KEY,
		locked boolean NOT NULL DEFAULT false,
		locked_at timestamptz NULL,
		locked_by text NULL,
		lease_expires_at timestamptz NULL,
		updated_at timestamptz NULL
	)`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SQL().ExecContext(ctx, `INSERT INTO goose_lock (lock_id, locked, locked_at, locked_by, lease_expires_at, updated_at)
		VALUES ($1, true, now(), 'killed-host-4242-dead', now() + $2::interval, now())
		ON CONFLICT (lock_id) DO UPDATE SET locked = true, locked_at = now(), locked_by = excluded.locked_by,
			lease_expires_at = excluded.lease_expires_at, updated_at = now()`,
		lock.DefaultLockID, lease.String()); err != nil {
		t.Fatal(err)
	}
}

func openPostgres(t *testing.T, u string) *store.DB {
	t.Helper()
	db, err := store.Open(ctxT(t), store.Config{URL: u, MaxOpenConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// Readiness reads the schema version: it must not queue behind the migration lock, held
// or stale, on any backend.
func TestMigrationStatusAndMigrateTakeNoLockWhenTheSchemaIsCurrent(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		if db.Dialect() == store.DialectPostgres {
			holdMigrationLock(t, db, time.Hour)
		}
		ctx := ctxT(t)
		const probes = 3
		var wg sync.WaitGroup
		took := make([]time.Duration, probes)
		errs := make([]error, probes)
		for i := range probes {
			wg.Go(func() {
				start := time.Now()
				cur, latest, err := db.MigrationStatus(ctx)
				took[i] = time.Since(start)
				if err == nil && (cur != latest || latest < 1) {
					t.Errorf("status = (%d, %d), want current == latest >= 1", cur, latest)
				}
				errs[i] = err
			})
		}
		wg.Wait()
		for i := range probes {
			if errs[i] != nil {
				t.Fatalf("status: %v", errs[i])
			}
			// The old status took the lock: 4-6 s with three probes, 30 s behind a stale lock.
			if took[i] > time.Second {
				t.Errorf("status %d took %v with the migration lock held", i, took[i])
			}
		}
		t.Logf("%s: three concurrent MigrationStatus calls took %v", db.Dialect(), took)

		start := time.Now()
		if err := db.Migrate(ctx); err != nil {
			t.Fatalf("migrate: %v", err)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("migrate with nothing pending took %v with the migration lock held", d)
		}
	})
}

// A process killed while migrating leaves the lock row leased; the next migrator waits
// for that lease (never a live holder's), which is MigrationLockLease, not goose's 30 s.
func TestMigrateTakesOverAStaleLockWithinItsShortLease(t *testing.T) {
	db := openPostgres(t, storetest.EmptyPostgresURL(t))
	holdMigrationLock(t, db, store.MigrationLockLease)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	start := time.Now()
	if err := db.Migrate(ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	took := time.Since(start)
	t.Logf("migrated behind a stale lock of %v in %v", store.MigrationLockLease, took)
	if took < store.MigrationLockLease/2 {
		t.Errorf("migrate took %v: it did not wait for the lock's lease of %v", took, store.MigrationLockLease)
	}
	if limit := store.MigrationLockLease + 4*time.Second; took > limit {
		t.Errorf("migrate took %v behind a stale lock, want < %v", took, limit)
	}
	if cur, latest, err := db.MigrationStatus(ctx); err != nil || cur != latest {
		t.Fatalf("status after migrate = (%d, %d, %v)", cur, latest, err)
	}
	var locked bool
	if err := db.SQL().QueryRowContext(ctx, "SELECT locked FROM goose_lock WHERE lock_id = $1", lock.DefaultLockID).Scan(&locked); err != nil || locked {
		t.Fatalf("lock after migrate: locked=%v, %v", locked, err)
	}
}

// An unmigrated database is at version 0, without reading through goose (no lock).
func TestMigrationStatusOfAnEmptyPostgresSchemaIsZero(t *testing.T) {
	db := openPostgres(t, storetest.EmptyPostgresURL(t))
	cur, latest, err := db.MigrationStatus(ctxT(t))
	if err != nil || cur != 0 || latest < 1 {
		t.Fatalf("status = (%d, %d, %v), want (0, >=1, nil)", cur, latest, err)
	}
}
