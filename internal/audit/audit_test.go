package audit_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/prima-dining/partner-api/internal/audit"
	"github.com/prima-dining/partner-api/store"
	"github.com/prima-dining/partner-api/store/storetest"
)

func TestCloseWritesEveryQueuedEvent(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		// An hour between timed flushes: only batches and Close can write.
		log := audit.New(db, audit.Config{FlushEvery: time.Hour, BatchSize: 500, QueueSize: 5 * 501})
		var wg sync.WaitGroup
		for w := range 5 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 501 {
					log.Record(audit.Event{
						OccurredAt: time.Now(), PartnerID: "ptn_a", TokenID: fmt.Sprintf("tok_%d", w),
						Method: "GET", Route: "/v1/venues", Status: 200, RequestID: fmt.Sprintf("req_%d_%d", w, i),
					})
				}
			}()
		}
		wg.Wait()
		log.Close()
		var n int
		if err := db.SQL().QueryRow("SELECT count(*) FROM audit_events").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 5*501 {
			t.Fatalf("%d events written, want %d", n, 5*501)
		}
		log.Close() // a second Close is harmless
	})
}

func TestListPagesNewestFirstWithFilters(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		log := audit.New(db, audit.Config{})
		defer log.Close()
		start := time.Now().Add(-time.Hour)
		for i := range 5 {
			status := 200
			if i == 3 {
				status = 404
			}
			log.Record(audit.Event{OccurredAt: start.Add(time.Duration(i) * time.Minute), PartnerID: "ptn_a", TokenID: "tok_a",
				Method: "GET", Route: "/v1/venues", Status: status, RequestID: fmt.Sprint("req_", i), Duration: 1500 * time.Microsecond})
		}
		log.Record(audit.Event{OccurredAt: start, PartnerID: "ptn_b", TokenID: "tok_b", Method: "GET", Route: "/v1/venues", Status: 200, RequestID: "req_b"})
		log.Flush()
		ctx := context.Background()

		page1, more, err := log.List(ctx, audit.Filter{PartnerID: "ptn_a"}, store.Page{Limit: 3})
		if err != nil || !more || len(page1) != 3 || page1[0].RequestID != "req_4" || page1[0].Duration != 1500*time.Microsecond {
			t.Fatalf("page 1: %+v more=%v err=%v", page1, more, err)
		}
		page2, more, err := log.List(ctx, audit.Filter{PartnerID: "ptn_a"}, store.Page{Limit: 3, StartingAfter: page1[2].ID})
		if err != nil || more || len(page2) != 2 || page2[1].RequestID != "req_0" {
			t.Fatalf("page 2: %+v more=%v err=%v", page2, more, err)
		}
		if got, _, _ := log.List(ctx, audit.Filter{PartnerID: "ptn_a", Status: 404}, store.Page{Limit: 10}); len(got) != 1 || got[0].RequestID != "req_3" {
			t.Fatalf("status filter: %+v", got)
		}
		if got, _, _ := log.List(ctx, audit.Filter{PartnerID: "ptn_a", Since: start.Add(150 * time.Second)}, store.Page{Limit: 10}); len(got) != 2 {
			t.Fatalf("since filter: %d events", len(got))
		}
		// Another partner's event id is not a cursor of this list.
		b, _, _ := log.List(ctx, audit.Filter{PartnerID: "ptn_b"}, store.Page{Limit: 1})
		if _, _, err := log.List(ctx, audit.Filter{PartnerID: "ptn_a"}, store.Page{Limit: 3, StartingAfter: b[0].ID}); err == nil {
			t.Fatal("another partner's event was accepted as a cursor")
		}
	})
}
