package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/prima-dining/partner-api/store"
)

// runOutboxCmd executes one of this file's commands with args and returns its output.
func runOutboxCmd(t *testing.T, cmd *cobra.Command, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

func TestOutboxAndVenueInboxCommands(t *testing.T) {
	dbURL := "sqlite:" + filepath.Join(t.TempDir(), "prima.db")
	t.Setenv("PRIMA_DATABASE_URL", dbURL)
	ctx := context.Background()
	db, err := store.Open(ctx, store.Config{URL: dbURL})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	if err := db.CreatePartner(ctx, &store.Partner{ID: "ptn_1", Name: "acme", AllVenues: true, CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if err := db.InsertVenues(ctx, []store.Venue{{
		ID: "ven_1", Name: "Chez Log", NameKey: "chez log", TimeZone: "Europe/Paris", Currency: "EUR",
		PlatformKind: "log", CreatedAt: now,
	}}); err != nil {
		t.Fatal(err)
	}
	msgs := []store.OutboxMessage{
		{ID: "msg_a", Kind: store.OutboxVenue, Type: "reservation.confirmed", ReservationID: "res_1", PartnerID: "ptn_1", VenueID: "ven_1", CreatedAt: now},
		{ID: "msg_b", Kind: store.OutboxPartner, Type: "reservation.confirmed", ReservationID: "res_1", PartnerID: "ptn_1", EndpointID: "we_1", CreatedAt: now.Add(time.Second)},
	}
	err = db.Transact(ctx, func(tx *store.Tx) error {
		if err := tx.InsertOutbox(msgs); err != nil {
			return err
		}
		return tx.InsertVenueNotification(store.VenueNotification{
			ID: "msg_a", VenueID: "ven_1", ReservationID: "res_1", Type: "reservation.confirmed",
			Payload: []byte("{\n  \"type\": \"reservation.confirmed\",\n  \"party_size\": 2\n}"), CreatedAt: now,
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	held, err := db.ClaimOutbox(ctx, "w", now.Add(time.Minute), now.Add(2*time.Minute), 10)
	if err != nil || len(held) != 2 {
		t.Fatalf("claim = %d, %v", len(held), err)
	}
	err = db.Transact(ctx, func(tx *store.Tx) error {
		if _, err := tx.MarkOutboxDelivered("msg_a", "w", 1, "log_msg_a", now); err != nil {
			return err
		}
		_, err := tx.MarkOutboxFailed("msg_b", "w", 7, "platforms: endpoint answered HTTP 500")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	out, err := runOutboxCmd(t, outboxCommand(), "list")
	if err != nil || !strings.Contains(out, "msg_a") || !strings.Contains(out, "msg_b") || !strings.Contains(out, "log_msg_a") ||
		!strings.Contains(out, "HTTP 500") || strings.Index(out, "msg_b") > strings.Index(out, "msg_a") {
		t.Fatalf("outbox list: %v\n%s", err, out)
	}
	out, err = runOutboxCmd(t, outboxCommand(), "list", "--status", "failed", "--limit", "5")
	if err != nil || strings.Contains(out, "msg_a") || !strings.Contains(out, "we_1") {
		t.Fatalf("outbox list --status failed: %v\n%s", err, out)
	}
	if _, err := runOutboxCmd(t, outboxCommand(), "list", "--status", "lost"); err == nil {
		t.Fatal("an unknown status was accepted")
	}

	out, err = runOutboxCmd(t, outboxCommand(), "retry", "msg_b")
	if err != nil || !strings.Contains(out, "pending again") {
		t.Fatalf("outbox retry: %v\n%s", err, out)
	}
	m, err := db.GetOutboxMessage(ctx, "msg_b")
	if err != nil || m.Status != store.OutboxPending || m.Attempts != 7 || m.NextAttemptAt.After(time.Now()) {
		t.Fatalf("retried message = %+v, %v", m, err)
	}
	if _, err := runOutboxCmd(t, outboxCommand(), "retry", "msg_nope"); err == nil || !strings.Contains(err.Error(), "no outbox message") {
		t.Fatalf("retry of an unknown message = %v", err)
	}

	out, err = runOutboxCmd(t, venueCommand(), "inbox", "ven_1")
	if err != nil || !strings.Contains(out, "1 notification") || !strings.Contains(out, "res_1") ||
		!strings.Contains(out, `{"type":"reservation.confirmed","party_size":2}`) {
		t.Fatalf("venue inbox: %v\n%s", err, out)
	}
	if _, err := runOutboxCmd(t, venueCommand(), "inbox", "ven_nope"); err == nil || !strings.Contains(err.Error(), "no venue") {
		t.Fatalf("inbox of an unknown venue = %v", err)
	}
}
