package main

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/prima-dining/partner-api/internal/access"
	"github.com/prima-dining/partner-api/store"
)

// run executes the prima command line with args and returns what it printed.
func run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	cmd := rootCommand()
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

var secretPattern = regexp.MustCompile(`prima_pat_[0-9A-Za-z]{40}`)

func TestTokenCommandsCreateListAndRevoke(t *testing.T) {
	dbURL := "sqlite:" + filepath.Join(t.TempDir(), "prima.db")
	t.Setenv("PRIMA_DATABASE_URL", dbURL)

	out, err := run(t, "token", "create", "--partner", "acme-rewards", "--name", "checkout", "--scopes", "venues:read,availability:read", "--expires", "90d")
	if err != nil {
		t.Fatalf("create: %v\n%s", err, out)
	}
	secret := secretPattern.FindString(out)
	if secret == "" || !strings.Contains(out, "expires") {
		t.Fatalf("create printed no secret or expiry:\n%s", out)
	}
	id := regexp.MustCompile(`tok_[0-9a-z]+`).FindString(out)

	out, err = run(t, "token", "list", "--partner", "acme-rewards")
	if err != nil || !strings.Contains(out, id) || !strings.Contains(out, "active") || strings.Contains(out, secret) {
		t.Fatalf("list (must show the token, never its secret): %v\n%s", err, out)
	}

	db, err := store.Open(context.Background(), store.Config{URL: dbURL})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tokens := access.NewService(db)
	p, err := tokens.Authenticate(context.Background(), secret)
	if err != nil || p.PartnerName != "acme-rewards" || !p.HasScope("venues:read") || p.HasScope("reservations:write") {
		t.Fatalf("the created token authenticates as %+v (%v)", p, err)
	}

	if out, err := run(t, "token", "revoke", id); err != nil {
		t.Fatalf("revoke: %v\n%s", err, out)
	}
	if _, err := tokens.Authenticate(context.Background(), secret); !errors.Is(err, access.ErrRevoked) {
		t.Fatalf("after revoke: %v, want ErrRevoked", err)
	}
	if _, err := run(t, "token", "create", "--partner", "x", "--scopes", "tables:eat"); err == nil {
		t.Fatal("an unknown scope was accepted")
	}
}

func TestSeedGeneratesVenuesAndSlots(t *testing.T) {
	dbURL := "sqlite:" + filepath.Join(t.TempDir(), "prima.db")
	t.Setenv("PRIMA_DATABASE_URL", dbURL)
	out, err := run(t, "seed", "--venues", "7", "--days", "2")
	if err != nil || !strings.Contains(out, "Seeded 7 venues and 168 slots") {
		t.Fatalf("seed: %v\n%s", err, out)
	}
	out, err = run(t, "seed", "--demo", "--days", "1")
	if err != nil || !strings.Contains(out, "Seeded 20 venues") || secretPattern.FindString(out) == "" {
		t.Fatalf("seed --demo: %v\n%s", err, out)
	}
	if _, err := run(t, "seed"); err == nil {
		t.Fatal("seed without --demo or --venues was accepted")
	}
}

func TestTokenRotateKeepsTheOldTokenForTheOverlap(t *testing.T) {
	dbURL := "sqlite:" + filepath.Join(t.TempDir(), "prima.db")
	t.Setenv("PRIMA_DATABASE_URL", dbURL)
	out, err := run(t, "token", "create", "--partner", "acme-rewards", "--name", "checkout", "--scopes", "venues:read", "--expires", "90d")
	if err != nil {
		t.Fatalf("create: %v\n%s", err, out)
	}
	oldSecret := secretPattern.FindString(out)
	oldID := regexp.MustCompile(`tok_[0-9a-z]+`).FindString(out)

	out, err = run(t, "token", "rotate", oldID, "--overlap", "24h")
	if err != nil {
		t.Fatalf("rotate: %v\n%s", err, out)
	}
	newSecret := secretPattern.FindString(out)
	if newSecret == "" || newSecret == oldSecret || !strings.Contains(out, oldID+" stops working at") {
		t.Fatalf("rotate printed:\n%s", out)
	}
	if _, err := run(t, "token", "rotate", oldID); err == nil {
		t.Fatal("a token was rotated twice")
	}

	db, err := store.Open(context.Background(), store.Config{URL: dbURL})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tokens := access.NewService(db)
	for name, secret := range map[string]string{"old": oldSecret, "new": newSecret} {
		p, err := tokens.Authenticate(context.Background(), secret)
		if err != nil || p.PartnerName != "acme-rewards" || !p.HasScope("venues:read") || p.HasScope("reservations:write") {
			t.Fatalf("the %s token during the overlap: %+v (%v)", name, p, err)
		}
	}
	if out, err := run(t, "token", "list"); err != nil || !strings.Contains(out, "rotated, works until") {
		t.Fatalf("list: %v\n%s", err, out)
	}
	// Revoking during the overlap ends it at once; the successor is untouched.
	if _, err := run(t, "token", "revoke", oldID); err != nil {
		t.Fatal(err)
	}
	if _, err := tokens.Authenticate(context.Background(), oldSecret); !errors.Is(err, access.ErrRevoked) {
		t.Fatalf("old token after revoke: %v", err)
	}
	if _, err := tokens.Authenticate(context.Background(), newSecret); err != nil {
		t.Fatalf("new token after the old one's revoke: %v", err)
	}
}

func TestTokenCreateForAnOperatorGrantsItsVenues(t *testing.T) {
	dbURL := "sqlite:" + filepath.Join(t.TempDir(), "prima.db")
	t.Setenv("PRIMA_DATABASE_URL", dbURL)
	if out, err := run(t, "seed", "--demo"); err != nil {
		t.Fatalf("seed: %v\n%s", err, out)
	}
	db, err := store.Open(context.Background(), store.Config{URL: dbURL})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	venues, _, err := db.ListVenues(context.Background(), store.Scope{AllVenues: true}, store.VenueFilter{}, store.Page{Limit: 3})
	if err != nil || len(venues) < 3 {
		t.Fatalf("venues: %v", err)
	}

	out, err := run(t, "token", "create", "--operator", "lupa-group", "--venues", venues[0].ID+","+venues[1].ID)
	if err != nil || !strings.Contains(out, `operator "lupa-group"`) || !strings.Contains(out, "inventory:write") {
		t.Fatalf("create: %v\n%s", err, out)
	}
	p, err := access.NewService(db).Authenticate(context.Background(), secretPattern.FindString(out))
	if err != nil || p.Kind != access.KindOperator || p.OperatorName != "lupa-group" || p.PartnerID != "" {
		t.Fatalf("the operator token authenticates as %+v (%v)", p, err)
	}
	granted, err := db.OperatorVenueIDs(context.Background(), p.OperatorID)
	if err != nil || len(granted) != 2 {
		t.Fatalf("granted venues %v (%v)", granted, err)
	}
	if out, err := run(t, "token", "list"); err != nil || !strings.Contains(out, `operator "lupa-group"`) {
		t.Fatalf("list: %v\n%s", err, out)
	}
	for _, args := range [][]string{
		{"token", "create", "--operator", "x", "--venues", "ven_nope"},
		{"token", "create", "--operator", "x", "--partner", "y"},
		{"token", "create", "--operator", "x", "--scopes", "reservations:write"},
		{"token", "create"},
	} {
		if out, err := run(t, args...); err == nil {
			t.Errorf("%v succeeded:\n%s", args, out)
		}
	}
}
