package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prima-dining/partner-api/store"
)

// inventoryYAML is a venue with a schedule, a one-off slot, a closure of another day
// and an allocation of the one-off slot.
func inventoryYAML(city string) string {
	loc, _ := time.LoadLocation("Europe/London")
	day := func(n int) string { return time.Now().In(loc).AddDate(0, 0, n).Format(time.DateOnly) }
	return fmt.Sprintf(`venues:
  - name: The Lantern
    address: {line1: 5 Lamb Street, postal_code: E1 6EA, country: GB}
    city: %s
    cuisine: british
    time_zone: Europe/London
    currency: gbp
    seating_areas: [dining_room, bar]
    cancellation_policy: {free_until_hours_before: 24, fee_type: fixed, fee_amount: 1500}
    modification_policy: {allowed_until_hours_before: 4}
    schedules:
      - {days: [mon, tue, wed, thu, fri, sat, sun], times: ["18:00", "20:00"], duration_minutes: 120,
         party_size_min: 1, party_size_max: 4, seating_area: dining_room, type: standard, tables: 3, horizon_days: 5}
    slots:
      - {local_date: "%s", local_time: "22:30", duration_minutes: 90, party_size_min: 2, party_size_max: 6,
         seating_area: bar, type: prime, price: {amount: 4000, per: booking}, tables: 4}
    closures:
      - {date_from: "%s", date_to: "%s", reason: Refit}
    allocations:
      - {partner: acme-rewards, local_date: "%s", local_time: "22:30", tables: 2, release_hours_before: 6}
`, city, day(3), day(4), day(4), day(3))
}

func TestImportDryRunThenImportThenAgainChangesNothing(t *testing.T) {
	dbURL := "sqlite:" + filepath.Join(t.TempDir(), "prima.db")
	t.Setenv("PRIMA_DATABASE_URL", dbURL)
	if out, err := run(t, "token", "create", "--partner", "acme-rewards"); err != nil {
		t.Fatalf("token: %v\n%s", err, out)
	}
	file := filepath.Join(t.TempDir(), "inventory.yaml")
	if err := os.WriteFile(file, []byte(inventoryYAML("London")), 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(context.Background(), store.Config{URL: dbURL})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	count := func(q string) int {
		var n int
		if err := db.SQL().QueryRow(q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	state := func() string {
		return fmt.Sprint(count("SELECT count(*) FROM venues"), count("SELECT count(*) FROM slots"),
			count("SELECT count(*) FROM schedules"), count("SELECT count(*) FROM closures"),
			count("SELECT count(*) FROM slot_allocations"), count("SELECT count(*) FROM operators"),
			count("SELECT count(*) FROM tokens"))
	}
	before := state()

	out, err := run(t, "import", file, "--operator", "lantern-group", "--dry-run")
	if err != nil {
		t.Fatalf("dry run: %v\n%s", err, out)
	}
	for _, want := range []string{`would create venue "The Lantern"`, "would add schedule", "would add slot", "would add closure", "would allocate 2 tables", "5 created, 0 updated", "Dry run: nothing was changed."} {
		if !strings.Contains(out, want) {
			t.Fatalf("dry run output lacks %q:\n%s", want, out)
		}
	}
	if after := state(); after != before {
		t.Fatalf("the dry run changed the database: %s → %s", before, after)
	}

	out, err = run(t, "import", file, "--operator", "lantern-group")
	if err != nil {
		t.Fatalf("import: %v\n%s", err, out)
	}
	if !strings.Contains(out, "5 created, 0 updated, 0 unchanged") || !strings.Contains(out, "2 slots withdrawn") {
		t.Fatalf("import output:\n%s", out)
	}
	if n := count("SELECT count(*) FROM operator_venues ov JOIN operators o ON o.id = ov.operator_id WHERE o.name = 'lantern-group'"); n != 1 {
		t.Fatalf("the operator manages %d venues", n)
	}
	if n := count("SELECT tables_reserved FROM slots WHERE local_time = '22:30'"); n != 2 {
		t.Fatalf("the one-off slot has %d tables reserved", n)
	}
	if n := count("SELECT count(*) FROM slots WHERE status = 'withdrawn'"); n != 2 {
		t.Fatalf("%d withdrawn slots, want the closed day's 2", n)
	}
	imported := state()

	out, err = run(t, "import", file, "--operator", "lantern-group")
	if err != nil || !strings.Contains(out, "0 created, 0 updated, 5 unchanged") {
		t.Fatalf("second import: %v\n%s", err, out)
	}
	if again := state(); again != imported {
		t.Fatalf("the second import changed the database: %s → %s", imported, again)
	}

	// A changed field is reported, by a dry run, and then applied.
	if err := os.WriteFile(file, []byte(inventoryYAML("City of London")), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err = run(t, "import", file, "--operator", "lantern-group", "--dry-run")
	if err != nil || !strings.Contains(out, `would update venue "The Lantern" (city)`) || !strings.Contains(out, "0 created, 1 updated, 4 unchanged") {
		t.Fatalf("dry run of a change: %v\n%s", err, out)
	}
	if out, err := run(t, "import", file, "--operator", "lantern-group"); err != nil {
		t.Fatalf("import of a change: %v\n%s", err, out)
	}
	if n := count("SELECT count(*) FROM venues WHERE city = 'City of London' AND city_key = 'city of london'"); n != 1 {
		t.Fatal("the city was not updated")
	}

	// JSON works the same.
	js := filepath.Join(t.TempDir(), "inventory.json")
	if err := os.WriteFile(js, []byte(`{"venues":[{"name":"Jasmine","address":{"line1":"1 Road"},"city":"Paris","cuisine":"thai",
		"time_zone":"Europe/Paris","currency":"eur","seating_areas":["dining_room"],
		"cancellation_policy":{"free_until_hours_before":12,"fee_type":"none"}}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := run(t, "import", js, "--operator", "lantern-group", "--dry-run"); err != nil || !strings.Contains(out, `would create venue "Jasmine"`) {
		t.Fatalf("JSON dry run: %v\n%s", err, out)
	}

	// Bad input is refused with the API's own message.
	bad := strings.Replace(inventoryYAML("London"), "time_zone: Europe/London", "time_zone: Mars/Base", 1)
	bad = strings.Replace(bad, "The Lantern", "The Other", 1)
	if err := os.WriteFile(file, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := run(t, "import", file, "--operator", "lantern-group"); err == nil || !strings.Contains(err.Error(), "time_zone") {
		t.Fatalf("bad time zone: %v\n%s", err, out)
	}
}
