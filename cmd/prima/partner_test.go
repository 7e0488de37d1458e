package main

import (
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prima-dining/partner-api/internal/access"
	"github.com/prima-dining/partner-api/internal/audit"
	"github.com/prima-dining/partner-api/store"
)

func TestPartnerRateLimitCommandSetsAndResetsTheBucket(t *testing.T) {
	dbURL := "sqlite:" + filepath.Join(t.TempDir(), "prima.db")
	t.Setenv("PRIMA_DATABASE_URL", dbURL)
	out, err := run(t, "token", "create", "--partner", "acme-rewards")
	if err != nil {
		t.Fatalf("create: %v\n%s", err, out)
	}
	secret := regexp.MustCompile(`prima_pat_[0-9A-Za-z]{40}`).FindString(out)

	if out, err := run(t, "partner", "rate-limit", "acme-rewards", "20/s burst 40"); err != nil || !strings.Contains(out, "20/s burst 40") {
		t.Fatalf("rate-limit: %v\n%s", err, out)
	}
	if _, err := run(t, "partner", "rate-limit", "nobody", "20/s"); err == nil {
		t.Fatal("an unknown partner was accepted")
	}
	if _, err := run(t, "partner", "rate-limit", "acme-rewards", "lots"); err == nil {
		t.Fatal("a malformed limit was accepted")
	}

	db, err := store.Open(context.Background(), store.Config{URL: dbURL})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	p, err := access.NewService(db).Authenticate(context.Background(), secret)
	if err != nil || p.RateLimitPerSecond != 20 || p.RateLimitBurst != 40 {
		t.Fatalf("principal %+v (%v), want 20/s burst 40", p, err)
	}
	if out, err := run(t, "partner", "rate-limit", "acme-rewards", "default"); err != nil {
		t.Fatalf("reset: %v\n%s", err, out)
	}
	if p, _ = access.NewService(db).Authenticate(context.Background(), secret); p.RateLimitPerSecond != 0 || p.RateLimitBurst != 0 {
		t.Fatalf("after reset: %+v", p)
	}
}

func TestAuditCommandListsAPartnersEvents(t *testing.T) {
	dbURL := "sqlite:" + filepath.Join(t.TempDir(), "prima.db")
	t.Setenv("PRIMA_DATABASE_URL", dbURL)
	if out, err := run(t, "token", "create", "--partner", "acme-rewards"); err != nil {
		t.Fatalf("create: %v\n%s", err, out)
	}
	db, err := store.Open(context.Background(), store.Config{URL: dbURL})
	if err != nil {
		t.Fatal(err)
	}
	p, err := db.GetPartnerByName(context.Background(), "acme-rewards")
	if err != nil {
		t.Fatal(err)
	}
	log := audit.New(db, audit.Config{})
	log.Record(audit.Event{OccurredAt: time.Now(), PartnerID: p.ID, TokenID: "tok_a", Method: "POST", Route: "/v1/reservations", Status: 201, RequestID: "req_mine", IdempotencyKey: "k1"})
	log.Record(audit.Event{OccurredAt: time.Now(), PartnerID: "ptn_other", TokenID: "tok_b", Method: "GET", Route: "/v1/venues", Status: 200, RequestID: "req_theirs"})
	// A bad token's 429: no partner, no token, only the client address.
	log.Record(audit.Event{OccurredAt: time.Now(), Method: "GET", Route: "/v1/venues", Status: 429, RequestID: "req_refused", ClientAddr: "203.0.113.9"})
	log.Close()
	_ = db.Close()

	out, err := run(t, "audit", "--partner", "acme-rewards", "--since", "1h")
	if err != nil || !strings.Contains(out, "req_mine") || !strings.Contains(out, "/v1/reservations") || strings.Contains(out, "req_theirs") {
		t.Fatalf("audit --partner: %v\n%s", err, out)
	}
	if out, err := run(t, "audit", "--status", "200"); err != nil || !strings.Contains(out, "req_theirs") || strings.Contains(out, "req_mine") {
		t.Fatalf("audit --status 200: %v\n%s", err, out)
	}
	if out, err := run(t, "audit", "--status", "429"); err != nil || !regexp.MustCompile(`-\s+-\s+GET\s+/v1/venues\s+429 .*req_refused\s+-\s+203\.0\.113\.9`).MatchString(out) {
		t.Fatalf("audit --status 429: %v\n%s", err, out)
	}
	if _, err := run(t, "audit", "--partner", "nobody"); err == nil {
		t.Fatal("an unknown partner was accepted")
	}
}
