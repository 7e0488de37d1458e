// Package demo fills a database with venues and slots: a small hand-made catalogue for
// `make run` and tests, and large generated ones for benchmarks.
package demo

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/prima-dining/partner-api/internal/ids"
	"github.com/prima-dining/partner-api/store"
)

// City is where generated venues are.
type City struct {
	Name, Country, TimeZone, Currency, PostalCode string
}

// Cities of the demo catalogue; generated catalogues cycle through them.
var Cities = []City{
	{"New York", "US", "America/New_York", "usd", "10014"},
	{"London", "GB", "Europe/London", "gbp", "W1D 4HS"},
	{"Paris", "FR", "Europe/Paris", "eur", "75003"},
}

var (
	demoVenues = []struct {
		Name, Cuisine, Description, Street string
		City                               int
		Prime                              bool
	}{
		{"Osteria Lupa", "italian", "Handmade pasta and a long natural-wine list.", "233 West 4th Street", 0, true},
		{"Kin Khao Kitchen", "thai", "Northern Thai grills and curries, loud and bright.", "41 Carmine Street", 0, false},
		{"The Grey Heron", "american", "A wood-fired tavern with a raw bar.", "12 Bleecker Street", 0, true},
		{"Sora Omakase", "japanese", "Twelve seats at a hinoki counter.", "88 Lafayette Street", 0, true},
		{"Casa Verde", "mexican", "Masa made in-house, mezcal by the copita.", "150 Orchard Street", 0, false},
		{"Le Petit Marché", "french", "A corner bistro: steak frites and profiteroles.", "7 Jane Street", 0, false},
		{"Hearth & Vine", "british", "Seasonal plates from a fire-led kitchen.", "22 Dean Street", 1, true},
		{"Bombay Lantern", "indian", "Small plates from Mumbai's Irani cafés.", "9 Kingly Street", 1, false},
		{"Mare Nostrum", "mediterranean", "Grilled fish and mezze by the window.", "31 Greek Street", 1, true},
		{"Noodle Atelier", "chinese", "Hand-pulled noodles made to order.", "4 Lisle Street", 1, false},
		{"The Larder", "british", "Pies, roasts and a serious cheese trolley.", "60 Exmouth Market", 1, false},
		{"Ristorante Fiume", "italian", "Riverside dining with a tasting menu.", "2 Clink Street", 1, true},
		{"Chez Margaux", "french", "A bistronomy classic in the Marais.", "14 rue de Turenne", 2, true},
		{"Le Comptoir Bleu", "french", "Zinc bar, chalkboard menu, late service.", "3 rue Charlot", 2, false},
		{"Yuzu Paris", "japanese", "Kaiseki-inspired plates, counter and tables.", "25 rue de Bretagne", 2, true},
		{"La Cave à Fromages", "french", "Cheese, charcuterie and wine by the glass.", "40 rue Vieille du Temple", 2, false},
		{"Trattoria Sole", "italian", "Roman classics, carbonara done right.", "11 rue des Archives", 2, false},
		{"Maison Épices", "moroccan", "Tagines and couscous under lanterns.", "5 rue de Saintonge", 2, true},
		{"Smoke & Salt", "american", "Barbecue and bourbon, family style.", "301 Bowery", 0, false},
		{"Seoul Table", "korean", "Tabletop grills and banchan.", "18 Wardour Street", 1, true},
	}
	cuisines  = []string{"italian", "french", "japanese", "american", "british", "indian", "thai", "mexican", "chinese", "korean", "mediterranean", "moroccan"}
	nameParts = [2][]string{
		{"Golden", "Little", "Blue", "Old", "Wild", "Silver", "Copper", "Green", "Red", "Quiet", "Salt", "Olive", "Fig", "Harbour", "Lantern"},
		{"Table", "Kitchen", "Fork", "Room", "Garden", "Tavern", "Bistro", "House", "Cellar", "Counter", "Grill", "Larder", "Hearth", "Vine", "Pantry"},
	}
)

// Options shape a catalogue.
type Options struct {
	// Venues is how many venues to generate; 0 means the hand-made demo catalogue.
	Venues int
	// Days is how many days of slots, starting today in each venue's time zone.
	Days int
	// Start is "today"; zero means time.Now().
	Start time.Time
	// Progress, if set, is called after each venue with (done, total).
	Progress func(done, total int)
}

// Seed inserts venues and their slots, and returns how many of each.
func Seed(ctx context.Context, db *store.DB, o Options) (venues, slots int, err error) {
	if o.Days <= 0 {
		o.Days = 30
	}
	if o.Start.IsZero() {
		o.Start = time.Now()
	}
	rows := venueRows(o)
	const venueBatch = 50
	for i := 0; i < len(rows); i += venueBatch {
		batch := rows[i:min(i+venueBatch, len(rows))]
		if err := db.InsertVenues(ctx, batch); err != nil {
			return venues, slots, fmt.Errorf("demo: insert venues: %w", err)
		}
		var ss []store.Slot
		for j := range batch {
			ss = append(ss, slotRows(batch[j], o, i+j)...)
		}
		if err := db.InsertSlots(ctx, ss); err != nil {
			return venues, slots, fmt.Errorf("demo: insert slots: %w", err)
		}
		venues += len(batch)
		slots += len(ss)
		if o.Progress != nil {
			o.Progress(venues, len(rows))
		}
	}
	return venues, slots, nil
}

func venueRows(o Options) []store.Venue {
	now := o.Start.UTC()
	var out []store.Venue
	if o.Venues <= 0 {
		for _, d := range demoVenues {
			c := Cities[d.City]
			out = append(out, newVenue(d.Name, d.Cuisine, d.Description, d.Street, c, d.Prime, now))
		}
		return out
	}
	r := rand.New(rand.NewPCG(uint64(o.Venues), 42)) //nolint:gosec // names for test data: reproducible, not secret
	for i := 0; i < o.Venues; i++ {
		c := Cities[i%len(Cities)]
		name := fmt.Sprintf("%s %s %d", nameParts[0][r.IntN(len(nameParts[0]))], nameParts[1][r.IntN(len(nameParts[1]))], i+1)
		cuisine := cuisines[r.IntN(len(cuisines))]
		out = append(out, newVenue(name, cuisine, "A generated venue for load tests.", fmt.Sprintf("%d Main Street", i+1), c, i%3 == 0, now))
	}
	return out
}

func newVenue(name, cuisine, description, street string, c City, prime bool, now time.Time) store.Venue {
	v := store.Venue{
		ID:              ids.New("ven"),
		Name:            name,
		NameKey:         strings.ToLower(name),
		Description:     description,
		AddressLine1:    street,
		City:            c.Name,
		CityKey:         strings.ToLower(c.Name),
		PostalCode:      c.PostalCode,
		Country:         c.Country,
		Cuisine:         cuisine,
		CuisineKey:      strings.ToLower(cuisine),
		TimeZone:        c.TimeZone,
		Currency:        c.Currency,
		SeatingAreas:    "dining_room,bar",
		PolicyFreeHours: 24,
		// Changes are accepted until two hours before the start.
		PolicyModifyUntilHours: 2,
		PolicyFeeType:          "none",
		PlatformKind:           "log", // notifications kept for `prima venue inbox`
		CreatedAt:              now,
	}
	if prime {
		v.PolicyFeeType = "percent"
		v.PolicyFeePercent = 50
	}
	return v
}

// slotRows makes a venue's evening service for each day: dining-room tables every half
// hour from 17:30 to 21:30 (the 19:00–20:00 ones prime at venues that sell prime) and
// bar seats at 18:00, 20:00 and 22:00.
func slotRows(v store.Venue, o Options, n int) []store.Slot {
	loc, err := time.LoadLocation(v.TimeZone)
	if err != nil {
		loc = time.UTC
	}
	prime := v.PolicyFeeType == "percent"
	today := o.Start.In(loc)
	created := o.Start.UTC()
	var out []store.Slot
	add := func(day time.Time, hh, mm int, area string, minP, maxP, tables int, isPrime bool) {
		starts := time.Date(day.Year(), day.Month(), day.Day(), hh, mm, 0, 0, loc)
		s := store.Slot{
			ID:              ids.New("slot"),
			VenueID:         v.ID,
			StartsAt:        starts.UTC(),
			LocalDate:       starts.Format(time.DateOnly),
			LocalTime:       starts.Format("15:04"),
			DurationMinutes: 120,
			PartySizeMin:    minP,
			PartySizeMax:    maxP,
			SeatingArea:     area,
			Type:            "standard",
			Tables:          tables,
			Status:          "open",
			CreatedAt:       created,
			UpdatedAt:       created,
		}
		if isPrime {
			s.Type = "prime"
			s.PriceAmount = int64(2500 + 500*(n%6))
			s.PriceCurrency = v.Currency
			s.PricePer = "cover"
		}
		out = append(out, s)
	}
	for d := 0; d < o.Days; d++ {
		day := today.AddDate(0, 0, d)
		for m := 17*60 + 30; m <= 21*60+30; m += 30 {
			isPrime := prime && m >= 19*60 && m <= 20*60
			add(day, m/60, m%60, "dining_room", 2, 6, 4, isPrime)
		}
		for _, h := range []int{18, 20, 22} {
			add(day, h, 0, "bar", 1, 2, 3, false)
		}
	}
	return out
}
