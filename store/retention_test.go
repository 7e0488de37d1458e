package store_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/prima-dining/partner-api/store"
	"github.com/prima-dining/partner-api/store/storetest"
)

func TestPurgeFinishedDeletesOnlyWhatIsOldAndDone(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := ctxT(t)
		r := outboxFixture(t, db)
		old, recent := t0.Add(-40*24*time.Hour), t0.Add(-time.Hour)
		msgs := insertOutbox(t, db,
			store.OutboxMessage{Kind: store.OutboxPartner, Type: "reservation.confirmed", ReservationID: r.ID, PartnerID: "ptn_a", CreatedAt: old},
			store.OutboxMessage{Kind: store.OutboxPartner, Type: "reservation.confirmed", ReservationID: r.ID, PartnerID: "ptn_a", CreatedAt: old},
			store.OutboxMessage{Kind: store.OutboxPartner, Type: "reservation.confirmed", ReservationID: r.ID, PartnerID: "ptn_a", CreatedAt: old},
			store.OutboxMessage{Kind: store.OutboxPartner, Type: "reservation.confirmed", ReservationID: r.ID, PartnerID: "ptn_a", CreatedAt: recent},
		)
		// 0: delivered long ago (purged); 1: failed long ago (kept: it may be retried);
		// 2: still pending (kept); 3: delivered an hour ago (kept).
		for _, s := range []struct {
			id, status string
			at         time.Time
		}{{msgs[0].ID, "delivered", old}, {msgs[1].ID, "failed", old}, {msgs[3].ID, "delivered", recent}} {
			if err := exec(t, db, "UPDATE outbox SET status = ?, delivered_at = ? WHERE id = ?", s.status, s.at, s.id); err != nil {
				t.Fatal(err)
			}
		}
		for _, q := range []struct {
			sql  string
			args []any
		}{
			{"INSERT INTO processed_events (id, type, received_at) VALUES (?, ?, ?)", []any{"evt_old", "payment_intent.succeeded", old}},
			{"INSERT INTO processed_events (id, type, received_at) VALUES (?, ?, ?)", []any{"evt_new", "payment_intent.succeeded", recent}},
			{"INSERT INTO venue_notifications (id, venue_id, reservation_id, type, payload, created_at) VALUES (?, ?, ?, ?, ?, ?)", []any{"msg_old", "ven_a", r.ID, "reservation.confirmed", []byte(`{}`), old}},
			{"INSERT INTO venue_notifications (id, venue_id, reservation_id, type, payload, created_at) VALUES (?, ?, ?, ?, ?, ?)", []any{"msg_new", "ven_a", r.ID, "reservation.confirmed", []byte(`{}`), recent}},
		} {
			if err := exec(t, db, q.sql, q.args...); err != nil {
				t.Fatalf("%s: %v", q.sql, err)
			}
		}
		if err := db.InsertAuditEvents(ctx, []store.AuditEvent{
			{ID: "aud_1", OccurredAt: t0.Add(-100 * 24 * time.Hour), PartnerID: "ptn_a", TokenID: "tok_1", Method: "GET", Route: "/v1/venues", Status: 200, RequestID: "req_1"},
			{ID: "aud_2", OccurredAt: old, PartnerID: "ptn_a", TokenID: "tok_1", Method: "GET", Route: "/v1/venues", Status: 200, RequestID: "req_2"},
		}); err != nil {
			t.Fatal(err)
		}

		got, err := db.PurgeFinished(ctx, t0, store.Retention{Deliveries: 30 * 24 * time.Hour, Audit: 90 * 24 * time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]int64{"outbox": 1, "processed_events": 1, "venue_notifications": 1, "audit_events": 1}
		for table, n := range want {
			if got[table] != n {
				t.Fatalf("purged %v, want %v", got, want)
			}
		}
		if n := countRows(t, db, "outbox", ""); n != 3 || countRows(t, db, "outbox", "id = ?", msgs[0].ID) != 0 {
			t.Fatalf("outbox rows left %d; the old delivered one must be the one gone", n)
		}
		if countRows(t, db, "processed_events", "id = 'evt_new'") != 1 || countRows(t, db, "venue_notifications", "id = 'msg_new'") != 1 ||
			countRows(t, db, "audit_events", "id = 'aud_2'") != 1 {
			t.Fatal("a recent row was purged")
		}
		// Zero keeps everything.
		if got, err := db.PurgeFinished(ctx, t0.Add(1000*24*time.Hour), store.Retention{}); err != nil || len(got) != 0 {
			t.Fatalf("zero retention purged %v, %v", got, err)
		}
	})
}

// A batch of audit events larger than one statement's is written whole, and written
// again (a batch whose commit's answer was lost) adds nothing.
func TestAuditEventsBatchIsWrittenWholeOnce(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		events := make([]store.AuditEvent, 250)
		for i := range events {
			events[i] = store.AuditEvent{
				ID: fmt.Sprintf("aud_batch_%03d", i), OccurredAt: t0, PartnerID: "ptn_a", TokenID: "tok_a",
				Method: "GET", Route: "/v1/venues", Status: 200, RequestID: fmt.Sprintf("req_%d", i),
			}
		}
		for range 2 {
			if err := db.InsertAuditEvents(ctxT(t), slices.Clone(events)); err != nil {
				t.Fatal(err)
			}
		}
		if n := countRows(t, db, "audit_events", "id LIKE 'aud_batch_%'"); n != 250 {
			t.Fatalf("%d audit events stored, want 250", n)
		}
	})
}
