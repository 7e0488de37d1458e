package inventory

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/prima-dining/partner-api/internal/booking"
	"github.com/prima-dining/partner-api/store"
)

func ptr[T any](v T) *T { return &v }

// fullVenue is a change that creates a valid venue.
func fullVenue() VenueChange {
	return VenueChange{
		Name: ptr("Chez Amélie"), City: ptr("Paris"), Cuisine: ptr("French"),
		TimeZone: ptr("Europe/Paris"), Currency: ptr("eur"),
		Address:      &AddressChange{Line1: "1 rue de Rivoli", PostalCode: "75001", Country: "FR"},
		SeatingAreas: []string{"terrace", "bar"},
	}
}

func TestApplyVenueChangeRefusesBlankNamesAndBadTimeZones(t *testing.T) {
	cases := []struct {
		name      string
		change    func(*VenueChange)
		wantParam string
	}{
		{"blank name", func(c *VenueChange) { c.Name = ptr("   ") }, "name"},
		{"blank city", func(c *VenueChange) { c.City = ptr("") }, "city"},
		{"blank cuisine", func(c *VenueChange) { c.Cuisine = ptr("\t") }, "cuisine"},
		{"unknown zone", func(c *VenueChange) { c.TimeZone = ptr("Mars/Olympus_Mons") }, "time_zone"},
		{"empty zone (LoadLocation's UTC)", func(c *VenueChange) { c.TimeZone = ptr("") }, "time_zone"},
		{"Local", func(c *VenueChange) { c.TimeZone = ptr("Local") }, "time_zone"},
		{"local", func(c *VenueChange) { c.TimeZone = ptr("local") }, "time_zone"},
		{"offset, not a zone", func(c *VenueChange) { c.TimeZone = ptr("+02:00") }, "time_zone"},
		{"platform kind", func(c *VenueChange) { c.Platform = &Platform{Kind: "fax"} }, "platform.kind"},
		{"platform email", func(c *VenueChange) { c.Platform = &Platform{Kind: "email", Email: "Lupa <not an address"} }, "platform.email"},
		{"question", func(c *VenueChange) {
			c.Questions = &[]booking.Question{{ID: "allergies", Kind: "dietary"}, {ID: "allergies", Kind: "occasion"}}
		}, "questions.1.id"},
		{"platform without url", func(c *VenueChange) { c.Platform = &Platform{Kind: "webhook"} }, "platform.url"},
		{"platform relative url", func(c *VenueChange) { c.Platform = &Platform{Kind: "webhook", URL: "/hooks"} }, "platform.url"},
		{"platform ftp url", func(c *VenueChange) { c.Platform = &Platform{Kind: "webhook", URL: "ftp://example.com/x"} }, "platform.url"},
		{"platform url without host", func(c *VenueChange) { c.Platform = &Platform{Kind: "webhook", URL: "https://"} }, "platform.url"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := fullVenue()
			tc.change(&c)
			var row store.Venue
			secret, err := applyVenueChange(&row, c, false)
			if got := paramOf(t, err); got != tc.wantParam {
				t.Fatalf("param = %q, want %q (%v)", got, tc.wantParam, err)
			}
			if secret != "" {
				t.Errorf("a refused change returned a signing secret")
			}
		})
	}
}

func TestApplyVenueChangeTrimsAndKeysNames(t *testing.T) {
	c := fullVenue()
	c.Name, c.City, c.Cuisine, c.Description = ptr("  Chez Amélie "), ptr(" Paris"), ptr("French  "), ptr(" Bistro. ")
	c.TimeZone = ptr(" Europe/Paris ")
	c.SeatingAreas = []string{"terrace", "bar", "terrace", "dining_room", "bar"}
	var row store.Venue
	if _, err := applyVenueChange(&row, c, false); err != nil {
		t.Fatal(err)
	}
	if row.Name != "Chez Amélie" || row.City != "Paris" || row.Cuisine != "French" || row.Description != "Bistro." {
		t.Errorf("not trimmed: %q %q %q %q", row.Name, row.City, row.Cuisine, row.Description)
	}
	if row.NameKey != "chez amélie" || row.CityKey != "paris" || row.CuisineKey != "french" {
		t.Errorf("keys: %q %q %q", row.NameKey, row.CityKey, row.CuisineKey)
	}
	if row.TimeZone != "Europe/Paris" || row.Currency != "eur" {
		t.Errorf("zone %q currency %q", row.TimeZone, row.Currency)
	}
	// Seating areas are kept sorted, once each.
	if row.SeatingAreas != "bar,dining_room,terrace" {
		t.Errorf("seating areas %q", row.SeatingAreas)
	}
	if row.AddressLine1 != "1 rue de Rivoli" || row.PostalCode != "75001" || row.Country != "FR" {
		t.Errorf("address: %q %q %q", row.AddressLine1, row.PostalCode, row.Country)
	}
}

func TestApplyVenueChangeLeavesUnsetFieldsAlone(t *testing.T) {
	row := store.Venue{
		ID: "ven_1", Name: "Old", NameKey: "old", City: "Lyon", CityKey: "lyon", Cuisine: "Bouchon", CuisineKey: "bouchon",
		TimeZone: "Europe/Paris", Currency: "eur", SeatingAreas: "bar", AddressLine1: "2 quai", PostalCode: "69001", Country: "FR",
		PolicyFreeHours: 24, PolicyFeeType: "fixed", PolicyFeeAmount: 2000, PolicyModifyUntilHours: 2,
		PlatformKind: "webhook", PlatformURL: "https://platform.example/hook", PlatformSecret: "whsec_old",
	}
	before := row
	secret, err := applyVenueChange(&row, VenueChange{Name: ptr("New Name")}, false)
	if err != nil || secret != "" {
		t.Fatalf("apply = %q, %v", secret, err)
	}
	want := before
	want.Name, want.NameKey = "New Name", "new name"
	if row != want {
		t.Errorf("row = %+v\nwant  %+v", row, want)
	}
}

func TestApplyVenueChangeNormalisesTheCancellationPolicy(t *testing.T) {
	cases := []struct {
		name        string
		in          booking.CancellationPolicy
		wantType    string
		wantPercent int
		wantAmount  int64
	}{
		{"percent drops an amount", booking.CancellationPolicy{FreeUntilHoursBefore: 24, FeeType: booking.FeePercent, FeePercent: 50, FeeAmount: 999}, "percent", 50, 0},
		{"fixed drops a percent", booking.CancellationPolicy{FreeUntilHoursBefore: 48, FeeType: booking.FeeFixed, FeePercent: 50, FeeAmount: 2500}, "fixed", 0, 2500},
		{"none drops both", booking.CancellationPolicy{FreeUntilHoursBefore: 12, FeeType: booking.FeeNone, FeePercent: 50, FeeAmount: 2500}, "none", 0, 0},
		{"unknown is none", booking.CancellationPolicy{FreeUntilHoursBefore: 12, FeeType: "mystery", FeePercent: 50, FeeAmount: 2500}, "none", 0, 0},
		{"empty is none", booking.CancellationPolicy{FreeUntilHoursBefore: 6}, "none", 0, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := fullVenue()
			c.Cancellation = &tc.in
			var row store.Venue
			if _, err := applyVenueChange(&row, c, false); err != nil {
				t.Fatal(err)
			}
			if row.PolicyFreeHours != tc.in.FreeUntilHoursBefore || row.PolicyFeeType != tc.wantType ||
				row.PolicyFeePercent != tc.wantPercent || row.PolicyFeeAmount != tc.wantAmount {
				t.Errorf("policy = %d h, %s, %d %%, %d; want %d h, %s, %d %%, %d",
					row.PolicyFreeHours, row.PolicyFeeType, row.PolicyFeePercent, row.PolicyFeeAmount,
					tc.in.FreeUntilHoursBefore, tc.wantType, tc.wantPercent, tc.wantAmount)
			}
		})
	}
	c := fullVenue()
	c.ModifyUntilHours = ptr(0)
	row := store.Venue{PolicyModifyUntilHours: defaultModifyUntilHours}
	if _, err := applyVenueChange(&row, c, false); err != nil || row.PolicyModifyUntilHours != 0 {
		t.Errorf("modify until 0 h: got %d, %v", row.PolicyModifyUntilHours, err)
	}
}

// Switching a venue to the webhook connector makes a signing secret and returns it once;
// changing only the URL afterwards keeps the secret (the platform still verifies with it)
// and returns none; switching to log forgets URL and secret.
func TestApplyVenueChangeIssuesTheWebhookSecretOnce(t *testing.T) {
	row := store.Venue{PlatformKind: "log"}
	c := fullVenue()
	c.Platform = &Platform{Kind: "webhook", URL: "https://platform.example/prima"}
	secret, err := applyVenueChange(&row, c, false)
	if err != nil {
		t.Fatal(err)
	}
	key, decErr := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if !strings.HasPrefix(secret, "whsec_") || decErr != nil || len(key) < 24 {
		t.Fatalf("secret %q is not whsec_ and base64 of at least 24 bytes", secret)
	}
	if row.PlatformKind != "webhook" || row.PlatformURL != "https://platform.example/prima" || row.PlatformSecret != secret {
		t.Fatalf("row platform = %q %q %q", row.PlatformKind, row.PlatformURL, row.PlatformSecret)
	}

	c.Platform = &Platform{Kind: "webhook", URL: "http://platform.example/v2"}
	again, err := applyVenueChange(&row, c, false)
	if err != nil || again != "" {
		t.Fatalf("URL change: secret %q, %v; want none", again, err)
	}
	if row.PlatformSecret != secret || row.PlatformURL != "http://platform.example/v2" {
		t.Fatalf("URL change: secret kept %v, url %q", row.PlatformSecret == secret, row.PlatformURL)
	}

	c.Platform = &Platform{Kind: "log", URL: "https://ignored.example"}
	if s, err := applyVenueChange(&row, c, false); err != nil || s != "" {
		t.Fatalf("to log: %q, %v", s, err)
	}
	if row.PlatformKind != "log" || row.PlatformURL != "" || row.PlatformSecret != "" {
		t.Fatalf("to log: %q %q %q", row.PlatformKind, row.PlatformURL, row.PlatformSecret)
	}

	// Back to webhook: a new secret, not the forgotten one.
	c.Platform = &Platform{Kind: "webhook", URL: "https://platform.example/prima"}
	fresh, err := applyVenueChange(&row, c, false)
	if err != nil || fresh == "" || fresh == secret {
		t.Fatalf("back to webhook: %q, %v", fresh, err)
	}
}

// The same invalid request must get the same answer every time: with several blank
// fields the error names one of them, always the same.
func TestApplyVenueChangeNamesTheSameBlankFieldEveryTime(t *testing.T) {
	c := fullVenue()
	c.Name, c.City, c.Cuisine = ptr(""), ptr(""), ptr("")
	seen := map[string]bool{}
	for range 50 {
		var row store.Venue
		_, err := applyVenueChange(&row, c, false)
		seen[paramOf(t, err)] = true
	}
	if len(seen) != 1 {
		t.Fatalf("one request, %d different params: %v", len(seen), seen)
	}
}

func TestVenueFromRowDefaultsThePlatformToLog(t *testing.T) {
	created := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	row := store.Venue{
		ID: "ven_1", Name: "A", City: "Paris", Cuisine: "French", TimeZone: "Europe/Paris", Currency: "eur",
		SeatingAreas: "bar,terrace", PolicyFreeHours: 24, PolicyFeeType: "percent", PolicyFeePercent: 20,
		PolicyModifyUntilHours: 3, PlatformSecret: "whsec_never_shown", CreatedAt: created,
	}
	v := venueFromRow(row)
	if v.Platform != (Platform{Kind: "log"}) {
		t.Errorf("platform = %+v, want log", v.Platform)
	}
	if v.ID != "ven_1" || strings.Join(v.SeatingAreas, ",") != "bar,terrace" || v.Policy.FeeType != booking.FeePercent ||
		v.Policy.FeePercent != 20 || v.Modification.AllowedUntilHoursBefore != 3 || !v.CreatedAt.Equal(created) {
		t.Errorf("venue = %+v", v.Venue)
	}
	if v.NewSigningSecret != "" {
		t.Errorf("a stored secret is shown: %q", v.NewSigningSecret)
	}
	row.PlatformKind, row.PlatformURL = "webhook", "https://platform.example/hook"
	if v := venueFromRow(row); v.Platform != (Platform{Kind: "webhook", URL: "https://platform.example/hook"}) || v.NewSigningSecret != "" {
		t.Errorf("webhook venue: %+v, secret %q", v.Platform, v.NewSigningSecret)
	}
}

func TestAllocationFromRowReleasesAtItsReleaseTime(t *testing.T) {
	now := time.Date(2026, 3, 14, 12, 0, 0, 0, time.UTC)
	paris := time.FixedZone("CET", 3600)
	created := time.Date(2026, 3, 1, 10, 0, 0, 0, paris)
	row := store.SlotAllocation{ID: "alc_1", SlotID: "slot_1", PartnerID: "ptn_1", Tables: 3, TablesTaken: 1, CreatedAt: created}
	cases := []struct {
		name      string
		releaseAt time.Time
		released  bool
		want      bool
	}{
		{"before release", now.Add(time.Second), false, false},
		{"at release", now, false, true},
		{"after release, not yet swept", now.Add(-time.Hour), false, true},
		{"marked released", now.Add(time.Hour), true, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := row
			r.ReleaseAt, r.Released = tc.releaseAt.In(paris), tc.released
			a := allocationFromRow(r, now)
			if a.Released != tc.want {
				t.Errorf("Released = %v, want %v", a.Released, tc.want)
			}
			if a.ID != "alc_1" || a.SlotID != "slot_1" || a.PartnerID != "ptn_1" || a.Tables != 3 || a.TablesTaken != 1 {
				t.Errorf("allocation = %+v", a)
			}
			if !a.ReleaseAt.Equal(tc.releaseAt) || a.ReleaseAt.Location() != time.UTC ||
				!a.CreatedAt.Equal(created) || a.CreatedAt.Location() != time.UTC {
				t.Errorf("times not in UTC: release %s, created %s", a.ReleaseAt, a.CreatedAt)
			}
		})
	}
}

func TestAllocationUnavailableErrorSaysWhy(t *testing.T) {
	if got := (&AllocationUnavailableError{Requested: 4, Free: 1}).Error(); got != "inventory: 1 tables free in the shared pool, 4 asked" {
		t.Errorf("no room: %q", got)
	}
	if got := (&AllocationUnavailableError{Requested: 4, Exists: true}).Error(); got != "inventory: the partner already has an allocation of the slot" {
		t.Errorf("exists: %q", got)
	}
}
