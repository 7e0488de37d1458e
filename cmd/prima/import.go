package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/prima-dining/partner-api/gen"
	"github.com/prima-dining/partner-api/internal/access"
	"github.com/prima-dining/partner-api/internal/booking"
	"github.com/prima-dining/partner-api/internal/idempotency"
	"github.com/prima-dining/partner-api/internal/ids"
	"github.com/prima-dining/partner-api/internal/inventory"
	"github.com/prima-dining/partner-api/internal/webhooks"
	"github.com/prima-dining/partner-api/payments"
	"github.com/prima-dining/partner-api/server"
	"github.com/prima-dining/partner-api/store"
)

// importFile is what `prima import` reads: venues in the shapes of the operator API's
// request bodies, each with its schedules, one-off slots, closures and allocations.
type importFile struct {
	Venues []importVenue `json:"venues"`
}

type importVenue struct {
	// The venue itself: a CreateVenueRequest (name, address, city, …), kept raw so the
	// API validates it exactly as it would a request.
	Venue       map[string]any     `json:"-"`
	Name        string             `json:"name"`
	Schedules   []map[string]any   `json:"schedules"`
	Slots       []map[string]any   `json:"slots"`
	Closures    []map[string]any   `json:"closures"`
	Allocations []importAllocation `json:"allocations"`
}

// importAllocation names its slot by venue-local date and time (slot ids are not known
// before the import) and its partner by name.
type importAllocation struct {
	Partner            string `json:"partner"`
	LocalDate          string `json:"local_date"`
	LocalTime          string `json:"local_time"`
	SeatingArea        string `json:"seating_area"`
	Tables             int    `json:"tables"`
	ReleaseHoursBefore *int   `json:"release_hours_before"`
}

func importCommand() *cobra.Command {
	var (
		operator string
		dryRun   bool
	)
	cmd := &cobra.Command{
		Use:   "import FILE",
		Short: "Load venues, schedules, slots, closures and allocations from a YAML or JSON file",
		Long: `import FILE loads a venue operator's inventory: a file (YAML or JSON) with a list of
venues in the shapes of the operator API (CreateVenueRequest), each with schedules
(CreateScheduleRequest), one-off slots (CreateSlotRequest), closures
(CreateClosureRequest) and allocations ({partner: NAME, local_date, local_time,
seating_area, tables, release_hours_before}). Every item goes through the operator API
in-process, as --operator (created if new), so it is validated and applied exactly as
over HTTP (without a token: the command runs on the database itself). A venue is matched by name among the operator's venues: updated if found,
created if not; schedules, slots, closures and allocations that already exist are
left alone, so importing a file again changes nothing. --dry-run reports what would
change and changes nothing.

  venues:
    - name: Osteria Lupa
      address: {line1: 233 West 4th Street, postal_code: "10014", country: US}
      city: New York
      cuisine: italian
      time_zone: America/New_York
      currency: usd
      seating_areas: [dining_room, bar]
      cancellation_policy: {free_until_hours_before: 24, fee_type: percent, fee_percent: 50}
      schedules:
        - {days: [thu, fri, sat], times: ["19:00", "20:00"], duration_minutes: 120,
           party_size_min: 2, party_size_max: 4, seating_area: dining_room,
           type: prime, price: {amount: 2500, per: cover}, tables: 4}
      closures:
        - {date_from: "2026-12-24", date_to: "2026-12-26", reason: Holidays}
      allocations:
        - {partner: acme-rewards, local_date: "2026-12-04", local_time: "19:00", tables: 2}`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if strings.TrimSpace(operator) == "" {
				return errors.New("--operator NAME is required: the operator the venues belong to")
			}
			raw, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			file, err := parseImport(raw)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			c, err := loadConfig()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			db, err := openDB(ctx, c, true)
			if err != nil {
				return err
			}
			defer db.Close()
			imp, err := newImporter(ctx, db, operator, dryRun)
			if err != nil {
				return err
			}
			total := 0
			for _, v := range file.Venues {
				total += 1 + len(v.Schedules) + len(v.Slots) + len(v.Closures) + len(v.Allocations)
			}
			bar := progressbar.NewOptions(total,
				progressbar.OptionSetDescription("import"),
				progressbar.OptionSetWriter(cmd.ErrOrStderr()),
				progressbar.OptionShowCount(),
				progressbar.OptionClearOnFinish())
			imp.progress = func() { _ = bar.Add(1) }
			for _, v := range file.Venues {
				if err := imp.venue(v); err != nil {
					_ = bar.Clear()
					imp.report(cmd.OutOrStdout())
					return err
				}
			}
			_ = bar.Finish()
			imp.report(cmd.OutOrStdout())
			return nil
		},
	}
	cmd.Flags().StringVar(&operator, "operator", "", "the venue operator the venues belong to (created if new)")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "report what would change and change nothing")
	return cmd
}

// parseImport reads YAML (JSON is YAML too) into the file's shape.
func parseImport(raw []byte) (importFile, error) {
	var doc any
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return importFile{}, fmt.Errorf("not YAML or JSON: %w", err)
	}
	js, err := json.Marshal(doc)
	if err != nil {
		return importFile{}, fmt.Errorf("not representable as JSON: %w", err)
	}
	var f importFile
	dec := json.NewDecoder(bytes.NewReader(js))
	if err := dec.Decode(&f); err != nil {
		return importFile{}, fmt.Errorf("unexpected shape: %w", err)
	}
	// Each venue again, raw, without its nested lists: that is the API's request body.
	var rawVenues struct {
		Venues []map[string]any `json:"venues"`
	}
	if err := json.Unmarshal(js, &rawVenues); err != nil {
		return importFile{}, err
	}
	for i, v := range rawVenues.Venues {
		for _, k := range []string{"schedules", "slots", "closures", "allocations"} {
			delete(v, k)
		}
		f.Venues[i].Venue = v
		if strings.TrimSpace(f.Venues[i].Name) == "" {
			return importFile{}, fmt.Errorf("venue %d has no name", i+1)
		}
	}
	return f, nil
}

// importer applies a file through the operator API, in-process, as one operator.
type importer struct {
	db       *store.DB
	api      http.Handler
	token    string
	fresh    bool // a dry run for an operator that does not exist yet: nothing exists
	dryRun   bool
	progress func()
	actions  []string
	counts   map[string]int
}

// operatorAuth authenticates the importer's own in-process requests as the operator; no
// token is stored, so even a dry run leaves the database as it was.
type operatorAuth struct {
	secret string
	who    access.Principal
}

func (a operatorAuth) Authenticate(_ context.Context, raw string) (access.Principal, error) {
	if raw != a.secret {
		return access.Principal{}, access.ErrInvalid
	}
	return a.who, nil
}

func (a operatorAuth) Get(context.Context, string) (access.Token, error) {
	return access.Token{}, access.ErrInvalid
}

func newImporter(ctx context.Context, db *store.DB, operator string, dryRun bool) (*importer, error) {
	im := &importer{db: db, dryRun: dryRun, progress: func() {}, counts: map[string]int{}, token: ids.New("imp")}
	op, err := db.GetOperatorByName(ctx, operator)
	switch {
	case errors.Is(err, store.ErrNotFound) && dryRun:
		im.fresh = true
	case errors.Is(err, store.ErrNotFound):
		op = store.Operator{ID: ids.New("opr"), Name: operator, CreatedAt: time.Now().UTC()}
		if err := db.CreateOperator(ctx, &op); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, err
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc := booking.New(db, payments.NewSandbox(db), booking.Config{Logger: quiet})
	h, err := server.New(server.Deps{
		Reservations:      svc.Reservations,
		Changes:           svc.Changes,
		Payments:          svc.Payments,
		VenueReservations: svc.VenueReservations,
		WebhookEndpoints:  webhooks.NewEndpoints(db, webhooks.EndpointsConfig{}),
		Events:            webhooks.NewEvents(db, nil, nil),
		Tokens: operatorAuth{secret: im.token, who: access.Principal{
			TokenID: "import", Kind: access.KindOperator, OperatorID: op.ID, OperatorName: op.Name,
			Scopes: access.OperatorScopes,
		}},
		Idempotency: idempotency.NewService(db),
		Database:    db,
		Logger:      quiet,
		RateLimit:   server.RateLimit{PerSecond: 1e6, Burst: 1e6},
		Inventory:   inventory.New(db, inventory.Config{Logger: quiet}),
	})
	if err != nil {
		return nil, err
	}
	im.api = h
	return im, nil
}

// call makes one API request; a non-2xx answer is an error with the API's message.
func (im *importer) call(method, path string, body any, out any) error {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		r = bytes.NewReader(b)
	}
	req := httptest.NewRequest(method, path, r)
	req.Header.Set("Authorization", "Bearer "+im.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := httptest.NewRecorder()
	im.api.ServeHTTP(rec, req)
	if rec.Code >= 300 {
		var e gen.ErrorResponse
		if json.Unmarshal(rec.Body.Bytes(), &e) == nil && e.Error.Message != "" {
			msg := e.Error.Message
			if e.Error.Param != nil {
				msg += " (" + *e.Error.Param + ")"
			}
			return fmt.Errorf("%s %s: %d %s: %s", method, path, rec.Code, e.Error.Code, msg)
		}
		return fmt.Errorf("%s %s: %d", method, path, rec.Code)
	}
	if out != nil {
		return json.Unmarshal(rec.Body.Bytes(), out)
	}
	return nil
}

// did records an action (or, in a dry run, one that would be taken).
func (im *importer) did(kind, what string) {
	im.counts[kind]++
	if kind != "unchanged" {
		im.actions = append(im.actions, what)
	}
	im.progress()
}

func (im *importer) report(w io.Writer) {
	prefix := ""
	if im.dryRun {
		prefix = "would "
	}
	for _, a := range im.actions {
		fmt.Fprintf(w, "%s%s\n", prefix, a)
	}
	fmt.Fprintf(w, "%d created, %d updated, %d unchanged.\n", im.counts["create"], im.counts["update"], im.counts["unchanged"])
	if im.dryRun {
		fmt.Fprintln(w, "Dry run: nothing was changed.")
	}
}

// venue applies one venue and what it carries.
func (im *importer) venue(v importVenue) error {
	existing, err := im.findVenue(v.Name)
	if err != nil {
		return err
	}
	venueID := ""
	if existing == nil {
		if !im.dryRun {
			var created gen.OperatorVenue
			if err := im.call("POST", "/v1/operator/venues", v.Venue, &created); err != nil {
				return fmt.Errorf("venue %q: %w", v.Name, err)
			}
			venueID = created.Id
		}
		im.did("create", fmt.Sprintf("create venue %q", v.Name))
		return im.children(v, venueID)
	}
	venueID = existing.Id
	changed, err := venueChanges(*existing, v.Venue)
	if err != nil {
		return fmt.Errorf("venue %q: %w", v.Name, err)
	}
	if len(changed) == 0 {
		im.did("unchanged", "")
		return im.children(v, venueID)
	}
	if !im.dryRun {
		if err := im.call("PATCH", "/v1/operator/venues/"+venueID, v.Venue, nil); err != nil {
			return fmt.Errorf("venue %q: %w", v.Name, err)
		}
	}
	im.did("update", fmt.Sprintf("update venue %q (%s)", v.Name, strings.Join(changed, ", ")))
	return im.children(v, venueID)
}

// children applies a venue's schedules, slots, closures and allocations. venueID is ""
// for a venue a dry run would create: everything under it would be created too.
func (im *importer) children(v importVenue, venueID string) error {
	var schedules gen.ScheduleList
	var closures gen.ClosureList
	if venueID != "" {
		if err := im.call("GET", "/v1/operator/venues/"+venueID+"/schedules", nil, &schedules); err != nil {
			return err
		}
		if err := im.call("GET", "/v1/operator/venues/"+venueID+"/closures", nil, &closures); err != nil {
			return err
		}
	}
	for i, s := range v.Schedules {
		key, err := scheduleKey(s)
		if err != nil {
			return fmt.Errorf("venue %q schedule %d: %w", v.Name, i+1, err)
		}
		if slices.ContainsFunc(schedules.Data, func(have gen.Schedule) bool { k, _ := scheduleKey(have); return k == key }) {
			im.did("unchanged", "")
			continue
		}
		what := fmt.Sprintf("add schedule to %q (%s)", v.Name, key)
		if !im.dryRun {
			var created gen.Schedule
			if err := im.call("POST", "/v1/operator/venues/"+venueID+"/schedules", s, &created); err != nil {
				return fmt.Errorf("venue %q schedule %d: %w", v.Name, i+1, err)
			}
			what += fmt.Sprintf(": %d slots", created.SlotsGenerated)
		}
		im.did("create", what)
	}
	for i, c := range v.Closures {
		key := fmt.Sprint(c["date_from"], " to ", c["date_to"], " ", c["time_from"], "-", c["time_to"])
		if slices.ContainsFunc(closures.Data, func(have gen.Closure) bool {
			return fmt.Sprint(have.DateFrom, " to ", have.DateTo, " ", orNil(have.TimeFrom), "-", orNil(have.TimeTo)) == key
		}) {
			im.did("unchanged", "")
			continue
		}
		what := fmt.Sprintf("add closure to %q (%v to %v)", v.Name, c["date_from"], c["date_to"])
		if !im.dryRun {
			var created gen.Closure
			if err := im.call("POST", "/v1/operator/venues/"+venueID+"/closures", c, &created); err != nil {
				return fmt.Errorf("venue %q closure %d: %w", v.Name, i+1, err)
			}
			what += fmt.Sprintf(": %d slots withdrawn, %d reservations on them", created.SlotsWithdrawn, created.ReservationsAffected)
		}
		im.did("create", what)
	}
	for i, s := range v.Slots {
		date, _ := s["local_date"].(string)
		hhmm, _ := s["local_time"].(string)
		area, _ := s["seating_area"].(string)
		if venueID != "" {
			found, err := im.findSlot(venueID, date, hhmm, area, true)
			if err != nil {
				return err
			}
			if found != nil {
				im.did("unchanged", "")
				continue
			}
		}
		if !im.dryRun {
			if err := im.call("POST", "/v1/operator/venues/"+venueID+"/slots", s, nil); err != nil {
				return fmt.Errorf("venue %q slot %d: %w", v.Name, i+1, err)
			}
		}
		im.did("create", fmt.Sprintf("add slot to %q (%s %s %s)", v.Name, date, hhmm, area))
	}
	for i, a := range v.Allocations {
		if err := im.allocation(v.Name, venueID, a); err != nil {
			return fmt.Errorf("venue %q allocation %d: %w", v.Name, i+1, err)
		}
	}
	return nil
}

func (im *importer) allocation(venue, venueID string, a importAllocation) error {
	what := fmt.Sprintf("allocate %d tables of %q %s %s to %q", a.Tables, venue, a.LocalDate, a.LocalTime, a.Partner)
	p, err := im.db.GetPartnerByName(context.Background(), a.Partner)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("no partner %q", a.Partner)
	} else if err != nil {
		return err
	}
	if venueID == "" { // a dry run's new venue
		im.did("create", what)
		return nil
	}
	slot, err := im.findSlot(venueID, a.LocalDate, a.LocalTime, a.SeatingArea, false)
	if err != nil {
		return err
	}
	if slot == nil {
		if im.dryRun { // its schedule or slot would be created first
			im.did("create", what)
			return nil
		}
		return fmt.Errorf("no slot at %s %s", a.LocalDate, a.LocalTime)
	}
	var allocs gen.AllocationList
	if err := im.call("GET", "/v1/operator/slots/"+slot.Id+"/allocations", nil, &allocs); err != nil {
		return err
	}
	if slices.ContainsFunc(allocs.Data, func(have gen.Allocation) bool { return have.PartnerId == p.ID }) {
		im.did("unchanged", "")
		return nil
	}
	if !im.dryRun {
		body := gen.CreateAllocationRequest{PartnerId: p.ID, Tables: a.Tables, ReleaseHoursBefore: a.ReleaseHoursBefore}
		if err := im.call("POST", "/v1/operator/slots/"+slot.Id+"/allocations", body, nil); err != nil {
			return err
		}
	}
	im.did("create", what)
	return nil
}

// findVenue finds the operator's venue of that name.
func (im *importer) findVenue(name string) (*gen.OperatorVenue, error) {
	if im.fresh {
		return nil, nil
	}
	after := ""
	for {
		var page gen.OperatorVenueList
		path := "/v1/operator/venues?limit=100"
		if after != "" {
			path += "&starting_after=" + url.QueryEscape(after)
		}
		if err := im.call("GET", path, nil, &page); err != nil {
			return nil, err
		}
		for _, v := range page.Data {
			if strings.EqualFold(strings.TrimSpace(v.Name), strings.TrimSpace(name)) {
				return &v, nil
			}
		}
		if !page.HasMore || len(page.Data) == 0 {
			return nil, nil
		}
		after = page.Data[len(page.Data)-1].Id
	}
}

// findSlot finds a venue's slot at a local date and time (and seating area, when given);
// oneOff keeps only slots no schedule generated.
func (im *importer) findSlot(venueID, date, hhmm, area string, oneOff bool) (*gen.OperatorSlot, error) {
	var page gen.OperatorSlotList
	q := url.Values{"date_from": {date}, "date_to": {date}, "limit": {"100"}}
	if err := im.call("GET", "/v1/operator/venues/"+venueID+"/slots?"+q.Encode(), nil, &page); err != nil {
		return nil, err
	}
	for _, s := range page.Data {
		if s.LocalTime == hhmm && (area == "" || s.SeatingArea == area) && (!oneOff || s.ScheduleId == nil) {
			return &s, nil
		}
	}
	return nil, nil
}

// venueChanges names the fields of want (a CreateVenueRequest) that differ from have.
func venueChanges(have gen.OperatorVenue, want map[string]any) ([]string, error) {
	haveJSON, err := json.Marshal(have)
	if err != nil {
		return nil, err
	}
	var cur map[string]any
	if err := json.Unmarshal(haveJSON, &cur); err != nil {
		return nil, err
	}
	// The response's shapes differ a little from the request's: the address carries
	// the city, policies a summary; compare only what the request says.
	var changed []string
	for k, v := range want {
		if !subset(v, cur[k]) {
			changed = append(changed, k)
		}
	}
	slices.Sort(changed)
	return changed, nil
}

// subset reports whether every field of want is in have with the same value (lists
// compare as sets of strings, numbers by value).
func subset(want, have any) bool {
	switch w := want.(type) {
	case map[string]any:
		h, ok := have.(map[string]any)
		if !ok {
			return false
		}
		for k, v := range w {
			if !subset(v, h[k]) {
				return false
			}
		}
		return true
	case []any:
		h, ok := have.([]any)
		if !ok || len(h) != len(w) {
			return false
		}
		ws, hs := make([]string, len(w)), make([]string, len(h))
		for i := range w {
			ws[i], hs[i] = fmt.Sprint(w[i]), fmt.Sprint(h[i])
		}
		slices.Sort(ws)
		slices.Sort(hs)
		return slices.Equal(ws, hs)
	default:
		return fmt.Sprint(want) == fmt.Sprint(have)
	}
}

// scheduleKey describes a schedule (a file's request or the API's answer) by what makes
// its slots, so equal schedules are recognised.
func scheduleKey(s any) (string, error) {
	b, err := json.Marshal(s)
	if err != nil {
		return "", err
	}
	var m struct {
		Days            []string `json:"days"`
		Times           []string `json:"times"`
		DurationMinutes int      `json:"duration_minutes"`
		PartySizeMin    int      `json:"party_size_min"`
		PartySizeMax    int      `json:"party_size_max"`
		SeatingArea     string   `json:"seating_area"`
		Type            string   `json:"type"`
		Tables          int      `json:"tables"`
		Price           *struct {
			Amount int64  `json:"amount"`
			Per    string `json:"per"`
		} `json:"price"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return "", err
	}
	days := slices.Clone(m.Days)
	slices.SortFunc(days, func(a, b string) int {
		return slices.Index(inventory.Weekdays, a) - slices.Index(inventory.Weekdays, b)
	})
	times := slices.Sorted(slices.Values(m.Times))
	price := "free"
	if m.Price != nil {
		price = fmt.Sprintf("%d per %s", m.Price.Amount, m.Price.Per)
	}
	return fmt.Sprintf("%s at %s, %d min, %d-%d guests, %s, %s %s, %d tables",
		strings.Join(days, ","), strings.Join(times, ","), m.DurationMinutes, m.PartySizeMin, m.PartySizeMax,
		m.SeatingArea, m.Type, price, m.Tables), nil
}

func orNil(s *string) any {
	if s == nil {
		return nil
	}
	return *s
}
