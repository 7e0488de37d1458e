package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prima-dining/partner-api/internal/access"
	"github.com/prima-dining/partner-api/internal/ids"
	"github.com/prima-dining/partner-api/store"
)

// TestShutdownDuring50InFlightHoldsAnswersEveryOne stops \`prima serve\` the way SIGTERM
// does (its context ends) once 50 holds have been sent: every one gets a complete
// answer, and every 201 is in the database.
func TestShutdownDuring50InFlightHoldsAnswersEveryOne(t *testing.T) {
	dir := t.TempDir()
	dbURL := "sqlite:" + filepath.Join(dir, "prima.db")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	t.Setenv("PRIMA_DATABASE_URL", dbURL)
	t.Setenv("PRIMA_ADDR", addr)
	t.Setenv("PRIMA_LOG_LEVEL", "error")
	t.Setenv("PRIMA_MAX_ACTIVE_HOLDS", "1000")
	t.Setenv("PRIMA_SHUTDOWN_DELAY", "500ms")

	// A venue with one slot of 100 tables, and a token.
	ctx := context.Background()
	db, err := store.Open(ctx, store.Config{URL: dbURL})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	v := store.Venue{ID: ids.New("ven"), Name: "Osteria Test", NameKey: "osteria test", Description: "A test venue.",
		AddressLine1: "1 Test Street", City: "New York", CityKey: "new york", PostalCode: "10014", Country: "US",
		Cuisine: "italian", CuisineKey: "italian", TimeZone: "America/New_York", Currency: "usd",
		SeatingAreas: "dining_room", PolicyFreeHours: 24, PolicyFeeType: "percent", PolicyFeePercent: 50, CreatedAt: now}
	starts := now.Add(48 * time.Hour).Truncate(time.Minute)
	loc, _ := time.LoadLocation(v.TimeZone)
	slot := store.Slot{ID: ids.New("slot"), VenueID: v.ID, StartsAt: starts,
		LocalDate: starts.In(loc).Format(time.DateOnly), LocalTime: starts.In(loc).Format("15:04"),
		DurationMinutes: 120, PartySizeMin: 1, PartySizeMax: 6, SeatingArea: "dining_room",
		Type: "standard", Tables: 100, Status: "open", CreatedAt: now, UpdatedAt: now}
	if err := db.InsertVenues(ctx, []store.Venue{v}); err != nil {
		t.Fatal(err)
	}
	if err := db.InsertSlots(ctx, []store.Slot{slot}); err != nil {
		t.Fatal(err)
	}
	token, _, err := access.NewService(db).Create(ctx, access.CreateParams{Partner: "acme-rewards"})
	if err != nil {
		t.Fatal(err)
	}
	_ = db.Close()

	c, err := loadConfig()
	if err != nil {
		t.Fatal(err)
	}
	serveCtx, sigterm := context.WithCancel(ctx)
	stopped := make(chan error, 1)
	go func() { stopped <- serve(serveCtx, c, true, false) }()
	waitForServer(t, "http://"+addr+"/healthz")

	const n = 50
	var (
		sent    sync.WaitGroup
		done    sync.WaitGroup
		mu      sync.Mutex
		created []string
		failed  []string
	)
	sent.Add(n)
	body := fmt.Sprintf(`{"slot_id":%q,"party_size":2,"guest":{"first_name":"Ada","last_name":"Lovelace","email":"ada@example.com","phone":"+12125550143"}}`, slot.ID)
	client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: n, MaxIdleConnsPerHost: n}, Timeout: 30 * time.Second}
	for i := range n {
		done.Add(1)
		go func() {
			defer done.Done()
			var once sync.Once
			trace := &httptrace.ClientTrace{WroteRequest: func(httptrace.WroteRequestInfo) { once.Do(sent.Done) }}
			req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), "POST", "http://"+addr+"/v1/reservations", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Idempotency-Key", fmt.Sprint("shutdown-", i))
			resp, err := client.Do(req)
			once.Do(sent.Done)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				failed = append(failed, err.Error())
				return
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			var r struct {
				ID string `json:"id"`
			}
			switch {
			case err != nil:
				failed = append(failed, "truncated body: "+err.Error())
			case resp.StatusCode == http.StatusCreated && json.Unmarshal(b, &r) == nil && r.ID != "":
				created = append(created, r.ID)
			default:
				failed = append(failed, fmt.Sprintf("%d %s", resp.StatusCode, b))
			}
		}()
	}
	sent.Wait() // all 50 are on the wire
	sigterm()
	done.Wait()
	if err := <-stopped; err != nil {
		t.Fatalf("serve: %v", err)
	}
	if len(failed) > 0 || len(created) != n {
		t.Fatalf("%d created; %d without a complete 201: %v", len(created), len(failed), failed)
	}

	db, err = store.Open(ctx, store.Config{URL: dbURL})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, id := range created {
		var status string
		if err := db.SQL().QueryRow("SELECT status FROM reservations WHERE id = ?", id).Scan(&status); err != nil || status != "held" {
			t.Errorf("201 %s: in the database as %q (%v)", id, status, err)
		}
	}
	var audited int
	if err := db.SQL().QueryRow("SELECT count(*) FROM audit_events WHERE route = '/v1/reservations'").Scan(&audited); err != nil || audited != n {
		t.Errorf("%d holds in the audit log after the shutdown, want %d (%v)", audited, n, err)
	}
}

func waitForServer(t *testing.T, url string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second) // migrating and seeding under -race on a busy machine: a bound, not a wait
	for time.Now().Before(deadline) {
		if resp, err := http.Get(url); err == nil {
			_ = resp.Body.Close()
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s did not answer", url)
}
