package store_test

import (
	"runtime"
	"testing"

	"github.com/prima-dining/partner-api/store"
	"github.com/prima-dining/partner-api/store/storetest"
)

// A PostgreSQL pool holds at most Config.MaxOpenConns connections, and by default four
// per CPU of the process, at least 8.
func TestPostgresPoolSize(t *testing.T) {
	if want := max(8, 4*runtime.GOMAXPROCS(0)); store.DefaultMaxOpenConns() != want {
		t.Fatalf("DefaultMaxOpenConns() = %d, want %d", store.DefaultMaxOpenConns(), want)
	}
	if got := storetest.OpenPostgres(t).SQL().Stats().MaxOpenConnections; got != store.DefaultMaxOpenConns() {
		t.Errorf("default pool: at most %d connections, want %d", got, store.DefaultMaxOpenConns())
	}
	db, err := store.Open(ctxT(t), store.Config{URL: storetest.PostgresURL(t), MaxOpenConns: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got := db.SQL().Stats().MaxOpenConnections; got != 3 {
		t.Errorf("MaxOpenConns 3: at most %d connections", got)
	}
}
