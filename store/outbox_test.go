package store_test

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/prima-dining/partner-api/store"
	"github.com/prima-dining/partner-api/store/storetest"
)

// TestMigration3UpgradesLiveDatabase takes a database back to version 2, writes rows as
// version 2 knew them, upgrades it, and reads them back with the new columns' defaults.
func TestMigration3UpgradesLiveDatabase(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := ctxT(t)
		if err := db.MigrateTo(ctx, 2); err != nil {
			t.Fatal(err)
		}
		steps := []struct {
			q    string
			args []any
		}{
			{"INSERT INTO partners (id, name, created_at) VALUES (?, ?, ?)", []any{"ptn_1", "Old partner", t0}},
			{"INSERT INTO venues (id, name, name_key, time_zone, currency, created_at) VALUES (?, ?, ?, ?, ?, ?)",
				[]any{"ven_1", "Old Venue", "old venue", "America/New_York", "USD", t0}},
			{`INSERT INTO slots (id, venue_id, starts_at, local_date, local_time, duration_minutes, party_size_min,
			  party_size_max, type, tables, tables_taken, status, created_at, updated_at)
			  VALUES (?, ?, ?, ?, ?, 90, 1, 4, 'standard', 2, 1, 'open', ?, ?)`,
				[]any{"slot_1", "ven_1", t0.Add(48 * time.Hour), "2030-05-03", "08:00", t0, t0}},
			{`INSERT INTO reservations (id, partner_id, slot_id, venue_id, status, party_size, guest_first_name,
			  starts_at, local_date, duration_minutes, slot_type, payment_refund_due, created_at, updated_at)
			  VALUES (?, ?, ?, ?, 'confirmed', 2, 'Ada', ?, '2030-05-03', 90, 'standard', 0, ?, ?)`,
				[]any{"res_1", "ptn_1", "slot_1", "ven_1", t0.Add(48 * time.Hour), t0, t0}},
		}
		for _, s := range steps {
			if err := exec(t, db, s.q, s.args...); err != nil {
				t.Fatalf("%s: %v", s.q, err)
			}
		}
		if err := db.Migrate(ctx); err != nil {
			t.Fatalf("upgrade: %v", err)
		}
		if cur, latest, err := db.MigrationStatus(ctx); err != nil || cur != latest || cur < 3 {
			t.Fatalf("status = %d, %d, %v", cur, latest, err)
		}
		r, err := db.GetReservation(ctx, "ptn_1", "res_1")
		if err != nil {
			t.Fatalf("read back: %v", err)
		}
		if r.Status != "confirmed" || r.GuestFirstName != "Ada" || r.VenueSyncStatus != "" ||
			r.VenueSyncAttempts != 0 || r.VenueSyncedAt != nil || r.Venue.PlatformKind != "log" ||
			r.Venue.PlatformURL != "" || r.Venue.PlatformSecret != "" || !r.CreatedAt.Equal(t0) {
			t.Fatalf("reservation after upgrade = %+v", r)
		}
		for _, table := range []string{"outbox", "webhook_endpoints", "venue_notifications"} {
			if n := countRows(t, db, table, ""); n != 0 {
				t.Fatalf("%s has %d rows", table, n)
			}
		}
	})
}

// outboxFixture makes a partner, a venue, a slot and a confirmed reservation.
func outboxFixture(t *testing.T, db *store.DB) store.Reservation {
	t.Helper()
	mustPartner(t, db, "ptn_a", true)
	mustPartner(t, db, "ptn_b", true)
	mustVenues(t, db, venue("ven_a", "Alpha", "NYC", "French"))
	s := slot("slot_a", "ven_a", t0.Add(48*time.Hour), 4)
	mustSlots(t, db, s)
	r := hold("res_a", "ptn_a", s, t0.Add(10*time.Minute))
	r.Status = "confirmed"
	r.VenueSyncStatus = store.VenueSyncPending
	return mustHold(t, db, r)
}

func insertOutbox(t *testing.T, db *store.DB, msgs ...store.OutboxMessage) []store.OutboxMessage {
	t.Helper()
	err := db.Transact(ctxT(t), func(tx *store.Tx) error { return tx.InsertOutbox(msgs) })
	if err != nil {
		t.Fatalf("insert outbox: %v", err)
	}
	return msgs
}

func msgIDs(ms []store.OutboxMessage) []string {
	return ids(ms, func(m store.OutboxMessage) string { return m.ID })
}

func TestOutboxClaimLeaseAndOutcomes(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := ctxT(t)
		r := outboxFixture(t, db)
		if err := db.Transact(ctx, func(tx *store.Tx) error { return tx.InsertOutbox(nil) }); err != nil {
			t.Fatalf("empty insert: %v", err)
		}
		msgs := insertOutbox(t, db,
			store.OutboxMessage{Kind: store.OutboxPartner, Type: "reservation.confirmed", ReservationID: r.ID, PartnerID: "ptn_a", CreatedAt: t0},
			store.OutboxMessage{Kind: store.OutboxPartner, Type: "reservation.confirmed", ReservationID: r.ID, PartnerID: "ptn_a", CreatedAt: t0.Add(time.Second)},
			store.OutboxMessage{Kind: store.OutboxPartner, Type: "later", CreatedAt: t0, NextAttemptAt: t0.Add(time.Hour)},
		)
		for _, m := range msgs {
			if m.ID == "" || m.Status != store.OutboxPending || m.NextAttemptAt.IsZero() {
				t.Fatalf("defaults not filled: %+v", m)
			}
		}
		now := t0.Add(time.Minute)
		a, err := db.ClaimOutbox(ctx, "worker-a", now, now.Add(time.Minute), 10)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := msgIDs(a), msgIDs(msgs[:2]); !slices.Equal(got, want) {
			t.Fatalf("claimed %v, want the two due ones %v", got, want)
		}
		// Leased: nobody else gets them, not even by id.
		if b, err := db.ClaimOutbox(ctx, "worker-b", now, now.Add(time.Minute), 10); err != nil || len(b) != 0 {
			t.Fatalf("second claim = %v, %v; want nothing", msgIDs(b), err)
		}
		if _, ok, err := db.ClaimOutboxMessage(ctx, msgs[0].ID, "worker-b", now, now.Add(time.Minute)); ok || err != nil {
			t.Fatalf("claim by id of a leased message = %v, %v", ok, err)
		}
		// Payload only by the holder.
		if ok, err := db.SetOutboxPayload(ctx, msgs[0].ID, "worker-b", []byte(`{}`)); ok || err != nil {
			t.Fatalf("payload by a non-holder = %v, %v", ok, err)
		}
		if ok, err := db.SetOutboxPayload(ctx, msgs[0].ID, "worker-a", []byte(`{"a":1}`)); !ok || err != nil {
			t.Fatalf("payload by the holder = %v, %v", ok, err)
		}
		// Outcomes only by the holder.
		err = db.Transact(ctx, func(tx *store.Tx) error {
			if ok, err := tx.MarkOutboxDelivered(msgs[0].ID, "worker-b", 1, "", now); ok || err != nil {
				t.Errorf("delivered by a non-holder = %v, %v", ok, err)
			}
			if ok, err := tx.MarkOutboxDelivered(msgs[0].ID, "worker-a", 1, "ref", now); !ok || err != nil {
				t.Errorf("delivered by the holder = %v, %v", ok, err)
			}
			if ok, err := tx.RescheduleOutbox(msgs[1].ID, "worker-a", 1, "boom", now.Add(time.Hour)); !ok || err != nil {
				t.Errorf("reschedule = %v, %v", ok, err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		m0, err := db.GetOutboxMessage(ctx, msgs[0].ID)
		if err != nil || m0.Status != store.OutboxDelivered || m0.Attempts != 1 || m0.PlatformReference != "ref" ||
			string(m0.Payload) != `{"a":1}` || m0.ClaimedBy != "" || m0.ClaimedUntil != nil || m0.DeliveredAt == nil {
			t.Fatalf("delivered message = %+v, %v", m0, err)
		}
		m1, _ := db.GetOutboxMessage(ctx, msgs[1].ID)
		if m1.Status != store.OutboxPending || m1.Attempts != 1 || m1.LastError != "boom" || !m1.NextAttemptAt.Equal(now.Add(time.Hour)) || m1.ClaimedBy != "" {
			t.Fatalf("rescheduled message = %+v", m1)
		}
		// A dead worker's lease runs out: the message is claimable again, same id.
		later := now.Add(2 * time.Hour)
		c, err := db.ClaimOutbox(ctx, "worker-c", later, later.Add(time.Minute), 10)
		if err != nil || !slices.Equal(msgIDs(c), []string{msgs[2].ID, msgs[1].ID}) {
			t.Fatalf("claim after backoff = %v, %v", msgIDs(c), err)
		}
		d, err := db.ClaimOutbox(ctx, "worker-d", later.Add(2*time.Minute), later.Add(3*time.Minute), 10)
		if err != nil || len(d) != 2 || d[0].ClaimedBy != "worker-d" {
			t.Fatalf("claim after lease expiry = %v, %v", msgIDs(d), err)
		}
		err = db.Transact(ctx, func(tx *store.Tx) error {
			if ok, _ := tx.MarkOutboxFailed(msgs[1].ID, "worker-c", 2, "late"); ok {
				t.Error("the expired holder completed a message another worker holds")
			}
			ok, err := tx.MarkOutboxFailed(msgs[1].ID, "worker-d", 2, "gone")
			if !ok || err != nil {
				t.Errorf("failed by the holder = %v, %v", ok, err)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := db.ReleaseOutbox(ctx, msgs[2].ID, "worker-d"); err != nil {
			t.Fatal(err)
		}
		if m2, _ := db.GetOutboxMessage(ctx, msgs[2].ID); m2.ClaimedBy != "" || m2.Attempts != 0 {
			t.Fatalf("released message = %+v", m2)
		}

		// Lists and retry.
		failed, err := db.ListOutbox(ctx, store.OutboxFailed, 0)
		if err != nil || !slices.Equal(msgIDs(failed), []string{msgs[1].ID}) {
			t.Fatalf("failed list = %v, %v", msgIDs(failed), err)
		}
		all, _ := db.ListOutbox(ctx, "", 2)
		if len(all) != 2 || all[0].ID != msgs[1].ID {
			t.Fatalf("list newest first, limit 2 = %v", msgIDs(all))
		}
		if err := db.RetryOutbox(ctx, msgs[1].ID, later); err != nil {
			t.Fatal(err)
		}
		m1, _ = db.GetOutboxMessage(ctx, msgs[1].ID)
		if m1.Status != store.OutboxPending || m1.Attempts != 2 || !m1.NextAttemptAt.Equal(later) || m1.RetriedAt == nil {
			t.Fatalf("retried message = %+v", m1)
		}
		wantErr(t, db.RetryOutbox(ctx, "msg_nope", later), store.ErrNotFound)
		_, err = db.GetOutboxMessage(ctx, "msg_nope")
		wantErr(t, err, store.ErrNotFound)
		forRes, err := db.ListOutboxForReservation(ctx, r.ID)
		if err != nil || len(forRes) != 2 {
			t.Fatalf("messages of the reservation = %v, %v", msgIDs(forRes), err)
		}
	})
}

func TestOutboxVenueMessagesOfAReservationGoInOrder(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := ctxT(t)
		r := outboxFixture(t, db)
		msgs := insertOutbox(t, db,
			store.OutboxMessage{Kind: store.OutboxVenue, Type: "reservation.confirmed", ReservationID: r.ID, VenueID: r.VenueID, CreatedAt: t0},
			store.OutboxMessage{Kind: store.OutboxVenue, Type: "reservation.cancelled", ReservationID: r.ID, VenueID: r.VenueID, CreatedAt: t0.Add(time.Second)},
			store.OutboxMessage{Kind: store.OutboxPartner, Type: "reservation.cancelled", ReservationID: r.ID, CreatedAt: t0.Add(time.Second)},
		)
		now := t0.Add(time.Minute)
		if _, ok, _ := db.ClaimOutboxMessage(ctx, msgs[1].ID, "w", now, now.Add(time.Minute)); ok {
			t.Fatal("claimed the cancellation before the confirmation was delivered")
		}
		got, err := db.ClaimOutbox(ctx, "w", now, now.Add(time.Minute), 10)
		if err != nil || !slices.Equal(msgIDs(got), []string{msgs[0].ID, msgs[2].ID}) {
			t.Fatalf("claimed %v, %v; want the confirmation and the partner message", msgIDs(got), err)
		}
		err = db.Transact(ctx, func(tx *store.Tx) error {
			if _, err := tx.MarkOutboxDelivered(msgs[0].ID, "w", 1, "P-1", now); err != nil {
				return err
			}
			return tx.SetVenueSynced(r.ID, "P-1", 1, now)
		})
		if err != nil {
			t.Fatal(err)
		}
		m, ok, err := db.ClaimOutboxMessage(ctx, msgs[1].ID, "w", now, now.Add(time.Minute))
		if !ok || err != nil || m.ID != msgs[1].ID || m.ClaimedBy != "w" {
			t.Fatalf("claim of the cancellation after the confirmation = %+v, %v, %v", m, ok, err)
		}
		res, _ := db.GetReservation(ctx, "", r.ID)
		if res.VenueSyncStatus != store.VenueSyncSynced || res.VenueSyncReference != "P-1" || res.VenueSyncAttempts != 1 ||
			res.VenueSyncedAt == nil || res.Status != "confirmed" || res.GuestFirstName != "Ada" {
			t.Fatalf("reservation after sync = %+v", res)
		}
		err = db.Transact(ctx, func(tx *store.Tx) error {
			if err := tx.SetVenueSyncAttempt(r.ID, 2, "down", now); err != nil {
				return err
			}
			return tx.SetVenueSyncFailed(r.ID, 3, "still down", now)
		})
		if err != nil {
			t.Fatal(err)
		}
		res, _ = db.GetReservation(ctx, "", r.ID)
		if res.VenueSyncStatus != store.VenueSyncFailed || res.VenueSyncAttempts != 3 || res.VenueSyncError != "still down" {
			t.Fatalf("reservation after failure = %+v", res)
		}
		// An operator's retry of the venue message shows the sync pending again.
		if err := db.RetryOutbox(ctx, msgs[0].ID, now); err != nil {
			t.Fatal(err)
		}
		if res, _ = db.GetReservation(ctx, "", r.ID); res.VenueSyncStatus != store.VenueSyncPending {
			t.Fatalf("venue sync after retry = %q", res.VenueSyncStatus)
		}
	})
}

func TestWebhookEndpoints(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := ctxT(t)
		outboxFixture(t, db)
		e1 := store.WebhookEndpoint{PartnerID: "ptn_a", URL: "https://a.example/1", Events: "*", Secret: "whsec_x", CreatedAt: t0}
		e2 := store.WebhookEndpoint{PartnerID: "ptn_a", URL: "https://a.example/2", Events: "reservation.confirmed reservation.venue_sync_failed", Secret: "whsec_y", CreatedAt: t0.Add(time.Second)}
		e3 := store.WebhookEndpoint{PartnerID: "ptn_b", URL: "https://b.example/", Events: "*", Secret: "whsec_z", CreatedAt: t0}
		for _, e := range []*store.WebhookEndpoint{&e1, &e2, &e3} {
			if err := db.CreateWebhookEndpoint(ctx, e); err != nil {
				t.Fatal(err)
			}
			if e.ID == "" || e.Status != store.EndpointEnabled {
				t.Fatalf("defaults not filled: %+v", e)
			}
		}
		list, err := db.ListWebhookEndpoints(ctx, "ptn_a")
		if err != nil || !slices.Equal(ids(list, func(e store.WebhookEndpoint) string { return e.ID }), []string{e2.ID, e1.ID}) {
			t.Fatalf("list = %+v, %v; want newest first, own only", list, err)
		}
		wantErr(t, db.DeleteWebhookEndpoint(ctx, "ptn_b", e1.ID), store.ErrNotFound)
		wantErr(t, db.DeleteWebhookEndpoint(ctx, "ptn_a", "we_nope"), store.ErrNotFound)

		var msgs []store.OutboxMessage
		err = db.Transact(ctx, func(tx *store.Tx) error {
			if ok, err := tx.DisableWebhookEndpoint(e1.ID, "410 Gone"); !ok || err != nil {
				t.Errorf("disable = %v, %v", ok, err)
			}
			if ok, _ := tx.DisableWebhookEndpoint(e1.ID, "again"); ok {
				t.Error("disabled twice")
			}
			enabled, err := tx.EnabledWebhookEndpoints("ptn_a")
			if err != nil {
				return err
			}
			msgs = store.PartnerEventMessages(enabled, "reservation.venue_sync_failed", "res_a", "ven_a", t0)
			msgs = append(msgs, store.PartnerEventMessages(enabled, "reservation.cancelled", "res_a", "ven_a", t0)...)
			return tx.InsertOutbox(msgs)
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) != 1 || msgs[0].EndpointID != e2.ID || msgs[0].Kind != store.OutboxPartner || msgs[0].PartnerID != "ptn_a" {
			t.Fatalf("partner messages = %+v", msgs)
		}
		got, _ := db.GetWebhookEndpoint(ctx, e1.ID)
		if got.Status != store.EndpointDisabled || got.DisabledReason != "410 Gone" {
			t.Fatalf("disabled endpoint = %+v", got)
		}
		if err := db.DeleteWebhookEndpoint(ctx, "ptn_a", e1.ID); err != nil {
			t.Fatal(err)
		}
		_, err = db.GetWebhookEndpoint(ctx, e1.ID)
		wantErr(t, err, store.ErrNotFound)
	})
}

func TestVenueNotificationsAreKeptOnce(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := ctxT(t)
		n := store.VenueNotification{ID: "msg_1", VenueID: "ven_a", ReservationID: "res_a", Type: "reservation.confirmed", Payload: []byte(`{"x":1}`), CreatedAt: t0}
		for range 2 {
			if err := db.Transact(ctx, func(tx *store.Tx) error { return tx.InsertVenueNotification(n) }); err != nil {
				t.Fatal(err)
			}
		}
		n2 := n
		n2.ID, n2.CreatedAt = "msg_2", t0.Add(time.Second)
		if err := db.Transact(ctx, func(tx *store.Tx) error { return tx.InsertVenueNotification(n2) }); err != nil {
			t.Fatal(err)
		}
		list, err := db.ListVenueNotifications(ctx, "ven_a", 0)
		if err != nil || len(list) != 2 || list[0].ID != "msg_2" || string(list[1].Payload) != `{"x":1}` {
			t.Fatalf("inbox = %+v, %v", list, err)
		}
		if other, _ := db.ListVenueNotifications(ctx, "ven_b", 0); len(other) != 0 {
			t.Fatalf("another venue's inbox = %+v", other)
		}
	})
}

// A delivery writes its every outcome column (a former attempt's error cleared, the
// lease released), and the venue sync's writes set their columns and nothing else of
// the reservation.
func TestOutboxDeliveryAndVenueSyncWriteTheirColumns(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := ctxT(t)
		r := outboxFixture(t, db)
		msgs := insertOutbox(t, db, store.OutboxMessage{Kind: store.OutboxVenue, Type: "reservation.confirmed",
			ReservationID: r.ID, VenueID: r.VenueID, CreatedAt: t0})
		now := t0.Add(time.Minute)
		tx := func(fn func(tx *store.Tx) error) {
			t.Helper()
			if err := db.Transact(ctx, fn); err != nil {
				t.Fatal(err)
			}
		}
		claim := func(at time.Time) {
			t.Helper()
			m, ok, err := db.ClaimOutboxMessage(ctx, msgs[0].ID, "w", at, at.Add(time.Minute))
			if !ok || err != nil || m.ClaimedBy != "w" || m.ClaimedUntil == nil || !m.ClaimedUntil.Equal(at.Add(time.Minute)) {
				t.Fatalf("claim = %+v, %v, %v", m, ok, err)
			}
		}
		claim(now)
		// Leased to a live worker: not claimed again.
		if _, ok, err := db.ClaimOutboxMessage(ctx, msgs[0].ID, "v", now, now.Add(time.Minute)); ok || err != nil {
			t.Fatalf("claim of a leased message = %v, %v", ok, err)
		}
		tx(func(tx *store.Tx) error {
			if _, err := tx.RescheduleOutbox(msgs[0].ID, "w", 1, "down", now); err != nil {
				return err
			}
			return tx.SetVenueSyncAttempt(r.ID, 1, "down", now)
		})
		claim(now.Add(time.Second))
		at := now.Add(2 * time.Second)
		tx(func(tx *store.Tx) error {
			if ok, err := tx.MarkOutboxDelivered(msgs[0].ID, "w", 2, "P-9", at); !ok || err != nil {
				t.Errorf("delivered = %v, %v", ok, err)
			}
			return tx.SetVenueSynced(r.ID, "P-9", 2, at)
		})
		m, err := db.GetOutboxMessage(ctx, msgs[0].ID)
		if err != nil || m.Status != store.OutboxDelivered || m.Attempts != 2 || m.PlatformReference != "P-9" ||
			m.LastError != "" || m.DeliveredAt == nil || !m.DeliveredAt.Equal(at) || m.ClaimedBy != "" || m.ClaimedUntil != nil {
			t.Fatalf("delivered message = %+v, %v", m, err)
		}
		got, err := db.GetReservation(ctx, "", r.ID)
		if err != nil || got.VenueSyncStatus != store.VenueSyncSynced || got.VenueSyncReference != "P-9" ||
			got.VenueSyncAttempts != 2 || got.VenueSyncError != "" || got.VenueSyncedAt == nil ||
			!got.VenueSyncedAt.Equal(at) || !got.UpdatedAt.Equal(at) {
			t.Fatalf("reservation after sync = %+v, %v", got, err)
		}
		// Nothing else of the row moved.
		got.VenueSyncStatus, got.VenueSyncReference, got.VenueSyncAttempts = r.VenueSyncStatus, r.VenueSyncReference, r.VenueSyncAttempts
		got.VenueSyncedAt, got.UpdatedAt, got.Venue, got.Payments = r.VenueSyncedAt, r.UpdatedAt, r.Venue, r.Payments
		gv, rv := reflect.ValueOf(got), reflect.ValueOf(r)
		for i := range gv.NumField() {
			if a, b := gv.Field(i).Interface(), rv.Field(i).Interface(); !sameValue(a, b) {
				t.Errorf("%s: %#v after the sync, was %#v", gv.Type().Field(i).Name, a, b)
			}
		}
		// A message no worker holds is not delivered.
		tx(func(tx *store.Tx) error {
			if ok, err := tx.MarkOutboxDelivered(msgs[0].ID, "w", 3, "P-9", at); ok || err != nil {
				t.Errorf("delivered twice = %v, %v", ok, err)
			}
			return nil
		})
		// Nothing to do without a reservation.
		tx(func(tx *store.Tx) error { return tx.SetVenueSynced("", "P-9", 1, at) })
	})
}

// The outbox worker's claim is planned for the outbox as it is at each poll, never from
// a plan a connection kept from when the outbox was empty: that plan scans the whole
// table, and its NOT EXISTS the whole table again for each row (make bench's claim grew
// from 27 ms to 2.4 s in twenty seconds of booking, with autovacuum off). Counted on the
// pool's only connection, in pg_prepared_statements.
func TestPostgresOutboxClaimIsPlannedAtEachPoll(t *testing.T) {
	u := storetest.PostgresURL(t)
	db, err := store.Open(ctxT(t), store.Config{URL: u, MaxOpenConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := ctxT(t)
	r := outboxFixture(t, db)
	if err := exec(t, db, "ANALYZE outbox"); err != nil { // empty, as after a deployment
		t.Fatal(err)
	}
	claim := func() []store.OutboxMessage {
		t.Helper()
		got, err := db.ClaimOutbox(ctx, "worker-plan", t0.Add(time.Minute), t0.Add(2*time.Minute), 20)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	for range 8 { // past the five custom plans after which a generic plan may be kept
		if got := claim(); len(got) != 0 {
			t.Fatalf("claimed %v from an empty outbox", msgIDs(got))
		}
	}
	// The outbox fills: 2,000 venue messages delivered, one due.
	if err := exec(t, db, `INSERT INTO outbox (id, kind, type, reservation_id, partner_id, venue_id, status, attempts, next_attempt_at, created_at)
		SELECT 'msg_plan_' || g, 'venue', 'reservation.confirmed', ?, 'ptn_a', 'ven_a', 'delivered', 1, ?, ?
		FROM generate_series(1, 2000) g`, r.ID, t0, t0); err != nil {
		t.Fatal(err)
	}
	due := insertOutbox(t, db, store.OutboxMessage{Kind: store.OutboxVenue, Type: "reservation.cancelled", ReservationID: r.ID, PartnerID: "ptn_a", VenueID: "ven_a", CreatedAt: t0.Add(time.Second)})
	if got := claim(); !slices.Equal(msgIDs(got), msgIDs(due)) {
		t.Fatalf("claimed %v, want %v", msgIDs(got), msgIDs(due))
	}
	var generic, custom int64
	if err := db.SQL().QueryRowContext(ctx, `SELECT COALESCE(sum(generic_plans), 0), COALESCE(sum(custom_plans), 0)
		FROM pg_prepared_statements WHERE statement LIKE 'SELECT * FROM "outbox" WHERE outbox.status%'`).Scan(&generic, &custom); err != nil {
		t.Fatal(err)
	}
	if generic != 0 || custom < 9 {
		t.Fatalf("the claim's statement: %d generic plans, %d custom plans; want none generic, one custom plan a poll", generic, custom)
	}
}
