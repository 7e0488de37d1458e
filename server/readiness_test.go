package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pressly/goose/v3/lock"

	"github.com/prima-dining/partner-api/store"
	"github.com/prima-dining/partner-api/store/storetest"
)

type readiness struct {
	Status string `json:"status"`
	Checks struct {
		Database   string `json:"database"`
		Migrations string `json:"migrations"`
	} `json:"checks"`
}

func probeReadiness(url string) (int, readiness, time.Duration, error) {
	start := time.Now()
	resp, err := http.Get(url)
	if err != nil {
		return 0, readiness{}, time.Since(start), err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	took := time.Since(start)
	var r readiness
	if err == nil {
		err = json.Unmarshal(b, &r)
	}
	return resp.StatusCode, r, took, err
}

// /readyz reads the schema version without the migration lock: with the lock held (by a
// live migrator or a killed one), three concurrent probes each answer at once. Through
// goose's provider they queued on the lock for 4-6 s, and 30 s behind a stale one.
func TestReadinessAnswersConcurrentProbesWhileTheMigrationLockIsHeld(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		if db.Dialect() == store.DialectPostgres {
			if _, err := db.SQL().Exec(`INSERT INTO goose_lock (lock_id, locked, locked_at, locked_by, lease_expires_at, updated_at)
				VALUES ($1, true, now(), 'migrator-elsewhere', now() + interval '1 hour', now())
				ON CONFLICT (lock_id) DO UPDATE SET locked = true, locked_by = excluded.locked_by,
					lease_expires_at = excluded.lease_expires_at`, lock.DefaultLockID); err != nil {
				t.Fatalf("hold the migration lock: %v", err)
			}
		}
		for round := range 3 {
			var wg sync.WaitGroup
			took := make([]time.Duration, 3)
			for i := range 3 {
				wg.Go(func() {
					code, r, d, err := probeReadiness(e.srv.URL + "/readyz")
					took[i] = d
					if err != nil || code != http.StatusOK || r.Status != "ok" || r.Checks.Migrations != "ok" {
						t.Errorf("probe %d: %d %+v %v", i, code, r, err)
					}
					// The target is 100 ms; the bound leaves room for a busy CI machine.
					if d > time.Second {
						t.Errorf("probe %d took %v with the migration lock held", i, d)
					}
				})
			}
			wg.Wait()
			t.Logf("%s round %d: three concurrent /readyz took %v", db.Dialect(), round, took)
		}
	})
}

// A database behind the binary's migrations is not ready, and says which version it is
// at; the comparison is made without goose (and without its lock).
func TestReadinessReportsASchemaBehindTheBinary(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		_, latest, err := db.MigrationStatus(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		q := "DELETE FROM goose_db_version WHERE version_id = ?"
		if db.Dialect() == store.DialectPostgres {
			q = "DELETE FROM goose_db_version WHERE version_id = $1"
		}
		if _, err := db.SQL().Exec(q, latest); err != nil {
			t.Fatal(err)
		}
		code, r, _, err := probeReadiness(e.srv.URL + "/readyz")
		if err != nil || code != http.StatusServiceUnavailable || r.Status != "unavailable" || r.Checks.Database != "ok" ||
			!strings.Contains(r.Checks.Migrations, "run 'prima migrate'") {
			t.Fatalf("readyz with the schema one version behind: %d %+v %v", code, r, err)
		}
	})
}
