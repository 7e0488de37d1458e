package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prima-dining/partner-api/internal/access"
	"github.com/prima-dining/partner-api/internal/audit"
	"github.com/prima-dining/partner-api/internal/booking"
	"github.com/prima-dining/partner-api/internal/idempotency"
	"github.com/prima-dining/partner-api/internal/ids"
	"github.com/prima-dining/partner-api/internal/inventory"
	"github.com/prima-dining/partner-api/internal/metrics"
	"github.com/prima-dining/partner-api/internal/webhooks"
	"github.com/prima-dining/partner-api/payments"
	client "github.com/prima-dining/partner-api/sdk/go"
	"github.com/prima-dining/partner-api/server"
	"github.com/prima-dining/partner-api/store"
)

// env is one running server on a real database, driven over HTTP.
type env struct {
	t       testing.TB
	db      *store.DB
	booking booking.Services
	// endpoints is the partners' webhook endpoint registry.
	endpoints *webhooks.Endpoints
	events    *webhooks.Events
	outbox    *webhooks.Worker
	tokens    *access.Service
	audit     *audit.Log
	// inventory is the venue operators' service (/v1/operator/…).
	inventory *inventory.Service
	srv       *httptest.Server
	// handler is the Echo server srv serves (behind the response validation), for
	// benchmarks of the server's own cost.
	handler http.Handler
	token   string // a partner token with every scope
	client  *client.ClientWithResponses
}

type envConfig struct {
	booking  booking.Config
	webhooks webhooks.EndpointsConfig
	gateway  payments.Gateway
	server   server.Deps // only the limits, RequestTimeout, PublicURL and Metrics are read
	logger   *slog.Logger
	audit    audit.Config // FlushEvery, Logger and Metrics are the env's unless set
	smtp     *webhooks.SMTPConfig
}

type envOption func(*envConfig)

func withHoldTTL(d time.Duration) envOption {
	return func(c *envConfig) { c.booking.HoldTTL = d; c.booking.HoldMax = 2 * d }
}

// withGateway replaces the sandbox gateway, e.g. with Stripe pointed at a stand-in.
func withGateway(gw payments.Gateway) envOption {
	return func(c *envConfig) { c.gateway = gw }
}

func withWebhookSecret(secret string) envOption {
	return func(c *envConfig) { c.booking.WebhookSecret = secret }
}

// withPublicWebhooksOnly refuses webhook URLs on private and loopback addresses, as in
// production.
func withPublicWebhooksOnly() envOption {
	return func(c *envConfig) { c.webhooks.AllowPrivate = false }
}

// withRateLimit sets each token's default bucket.
func withRateLimit(rl server.RateLimit) envOption {
	return func(c *envConfig) { c.server.RateLimit = rl }
}

// withAuthFailureLimit sets each client address's bucket of failed authentications.
func withAuthFailureLimit(rl server.RateLimit) envOption {
	return func(c *envConfig) { c.server.AuthFailureLimit = rl }
}

// withRequestTimeout sets each request's deadline (PRIMA_REQUEST_TIMEOUT).
func withRequestTimeout(d time.Duration) envOption {
	return func(c *envConfig) { c.server.RequestTimeout = d }
}

// withMaxActiveHolds caps each partner's active holds.
func withMaxActiveHolds(n int) envOption {
	return func(c *envConfig) { c.booking.MaxActiveHolds = n }
}

// withMetrics records the server's and the booking layer's metrics in m.
func withMetrics(m *metrics.Metrics) envOption {
	return func(c *envConfig) { c.server.Metrics = m; c.booking.Metrics = m }
}

// withLogger sends the server's and the booking layer's logs to log.
func withLogger(log *slog.Logger) envOption {
	return func(c *envConfig) { c.logger = log; c.booking.Logger = log }
}

// withPublicURL sets the server's public base URL (PRIMA_PUBLIC_URL).
func withPublicURL(u string) envOption {
	return func(c *envConfig) { c.server.PublicURL = u }
}

// withAudit tunes the audit log (e.g. a small queue, a failing writer).
func withAudit(cfg audit.Config) envOption {
	return func(c *envConfig) { c.audit = cfg }
}

// withSMTP gives the outbox worker's email connector a mail server.
func withSMTP(c webhooks.SMTPConfig) envOption {
	return func(cfg *envConfig) { cfg.smtp = &c }
}

// withClock makes the booking layer read time from now.
func withClock(now func() time.Time) envOption {
	return func(c *envConfig) { c.booking.Now = now }
}

// withSearchCacheTTL sets how long search answers are served (PRIMA_SEARCH_CACHE_TTL).
func withSearchCacheTTL(d time.Duration) envOption {
	return func(c *envConfig) { c.booking.SearchCacheTTL = d }
}

// newEnv starts the real router on db with the sandbox gateway, and a partner token.
func newEnv(t testing.TB, db *store.DB, opts ...envOption) *env {
	t.Helper()
	cfg := envConfig{
		booking: booking.Config{
			Logger: quietLogger(), RenderAvailability: server.AvailabilityEventJSON, RenderWatch: server.WatchEventJSON,
		},
		webhooks: webhooks.EndpointsConfig{AllowPrivate: true},
	}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.gateway == nil {
		cfg.gateway = payments.NewSandbox(db)
	}
	e := &env{t: t, db: db, tokens: access.NewService(db)}
	render := func(ctx context.Context, m store.OutboxMessage) ([]byte, error) {
		r, err := e.booking.Reservations.Get(ctx, booking.Partner{ID: m.PartnerID}, m.ReservationID)
		if err != nil {
			return nil, err
		}
		return server.EventJSON(m.ID, m.Type, m.CreatedAt, r)
	}
	e.outbox = webhooks.NewWorker(db, webhooks.WorkerConfig{
		Render:           render,
		Now:              cfg.booking.Now, // the booking clock, if the test sets one
		AllowPrivate:     true,            // the test receivers listen on loopback
		SandboxScenarios: cfg.gateway.Name() == "sandbox",
		Timeout:          time.Second,
		BaseBackoff:      time.Millisecond,
		MaxBackoff:       time.Millisecond,
		SMTP:             cfg.smtp,
		Logger:           quietLogger(),
	})
	cfg.booking.VenueSync = e.outbox
	e.booking = booking.New(db, cfg.gateway, cfg.booking)
	cfg.webhooks.Now = cfg.booking.Now
	e.endpoints = webhooks.NewEndpoints(db, cfg.webhooks)
	e.events = webhooks.NewEvents(db, render, cfg.booking.Now)
	if cfg.logger == nil {
		cfg.logger = quietLogger()
	}
	e.inventory = inventory.New(db, inventory.Config{Now: cfg.booking.Now, Logger: cfg.logger})
	if cfg.audit.FlushEvery == 0 {
		cfg.audit.FlushEvery = 10 * time.Millisecond
	}
	if cfg.audit.Logger == nil {
		cfg.audit.Logger = cfg.logger
	}
	if cfg.audit.Metrics == nil {
		cfg.audit.Metrics = cfg.server.Metrics
	}
	e.audit = audit.New(db, cfg.audit)
	t.Cleanup(e.audit.Close) // after the server's Close below (cleanups run last first)
	h, err := server.New(e.withServices(server.Deps{
		Tokens:           e.tokens,
		Idempotency:      idempotency.NewService(db),
		Database:         db,
		Logger:           cfg.logger,
		RateLimit:        cfg.server.RateLimit,
		AuthFailureLimit: cfg.server.AuthFailureLimit,
		SharedRateLimits: cfg.server.SharedRateLimits,
		RequestTimeout:   cfg.server.RequestTimeout,
		PublicURL:        cfg.server.PublicURL,
		Metrics:          cfg.server.Metrics,
		Audit:            e.audit,
		Inventory:        e.inventory,
	}))
	if err != nil {
		t.Fatal(err)
	}
	e.handler = h
	e.srv = httptest.NewServer(validatingHandler(t, h))
	t.Cleanup(e.srv.Close)
	e.token = e.newToken("acme-rewards", access.AllScopes...)
	e.client = e.clientFor(e.token)
	return e
}

// withServices is d with the env's booking services and webhook endpoints.
func (e *env) withServices(d server.Deps) server.Deps {
	d.Reservations, d.Changes, d.Payments = e.booking.Reservations, e.booking.Changes, e.booking.Payments
	d.VenueReservations, d.WebhookEndpoints = e.booking.VenueReservations, e.endpoints
	d.Watches = e.booking.Watches
	d.Events = e.events
	return d
}

func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func (e *env) newToken(partner string, scopes ...string) string {
	e.t.Helper()
	secret, _, err := e.tokens.Create(context.Background(), access.CreateParams{Partner: partner, Scopes: scopes})
	if err != nil {
		e.t.Fatal(err)
	}
	return secret
}

// newOperatorToken issues a token of the operator (created if new) granted the venues.
func (e *env) newOperatorToken(operator string, venues []string, scopes ...string) string {
	e.t.Helper()
	secret, _, err := e.tokens.Create(context.Background(), access.CreateParams{Operator: operator, Venues: venues, Scopes: scopes})
	if err != nil {
		e.t.Fatal(err)
	}
	return secret
}

func (e *env) clientFor(token string) *client.ClientWithResponses {
	e.t.Helper()
	c, err := client.NewClientWithResponses(e.srv.URL, client.WithRequestEditorFn(func(_ context.Context, r *http.Request) error {
		if token != "" {
			r.Header.Set("Authorization", "Bearer "+token)
		}
		return nil
	}))
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

type slotSpec struct {
	tables int
	prime  bool
	in     time.Duration // start, from now
	minP   int
	maxP   int
}

// addVenue inserts a venue in New York with one slot per spec.
func (e *env) addVenue(specs ...slotSpec) (store.Venue, []store.Slot) {
	e.t.Helper()
	now := time.Now().UTC()
	v := store.Venue{
		ID: ids.New("ven"), Name: "Osteria Test", NameKey: "osteria test", Description: "A test venue.",
		AddressLine1: "1 Test Street", City: "New York", CityKey: "new york", PostalCode: "10014", Country: "US",
		Cuisine: "italian", CuisineKey: "italian", TimeZone: "America/New_York", Currency: "usd",
		SeatingAreas: "dining_room", PolicyFreeHours: 24, PolicyFeeType: "percent", PolicyFeePercent: 50, CreatedAt: now,
	}
	if err := e.db.InsertVenues(context.Background(), []store.Venue{v}); err != nil {
		e.t.Fatal(err)
	}
	loc, _ := time.LoadLocation(v.TimeZone)
	var slots []store.Slot
	for i, s := range specs {
		if s.in == 0 {
			s.in = 48*time.Hour + time.Duration(i)*30*time.Minute
		}
		if s.minP == 0 {
			s.minP, s.maxP = 1, 6
		}
		starts := now.Add(s.in).Truncate(time.Minute)
		row := store.Slot{
			ID: ids.New("slot"), VenueID: v.ID, StartsAt: starts,
			LocalDate: starts.In(loc).Format(time.DateOnly), LocalTime: starts.In(loc).Format("15:04"),
			DurationMinutes: 120, PartySizeMin: s.minP, PartySizeMax: s.maxP, SeatingArea: "dining_room",
			Type: "standard", Tables: s.tables, Status: "open", CreatedAt: now, UpdatedAt: now,
		}
		if s.prime {
			row.Type, row.PriceAmount, row.PriceCurrency, row.PricePer = "prime", 7500, "usd", "cover"
		}
		slots = append(slots, row)
	}
	if err := e.db.InsertSlots(context.Background(), slots); err != nil {
		e.t.Fatal(err)
	}
	return v, slots
}

// untilNewYork is how long from now until hour:minute, New York time (the test venues'
// zone), days after today there: slots placed with it share a local date whatever the
// hour the test runs at.
func untilNewYork(days, hour, minute int) time.Duration {
	loc, _ := time.LoadLocation("America/New_York")
	now := time.Now().In(loc)
	return time.Until(time.Date(now.Year(), now.Month(), now.Day()+days, hour, minute, 0, 0, loc))
}

func guest() client.Guest {
	return client.Guest{FirstName: "Ada", LastName: "Lovelace", Email: "ada@example.com", Phone: "+12125550143"}
}

func holdBody(slotID string, party int) client.CreateReservationJSONRequestBody {
	return client.CreateReservationJSONRequestBody{SlotId: slotID, PartySize: party, Guest: guest()}
}

func key() string { return ids.New("key") }

// do sends a raw request, for inputs the generated client cannot even express.
func (e *env) do(method, path, token, body string, headers ...string) (int, http.Header, []byte) {
	e.t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, r)
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "" {
			req.Header.Del(headers[i]) // "" means: do not send it
			continue
		}
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

// apiError decodes and checks the error format, returning the error object.
func apiError(t *testing.T, body []byte) client.ErrorDetail {
	t.Helper()
	var out struct {
		Error *client.ErrorDetail `json:"error"`
	}
	if err := json.Unmarshal(body, &out); err != nil || out.Error == nil {
		t.Fatalf("not an error body: %s", body)
	}
	d := out.Error
	if d.Code == "" || d.Message == "" || d.Type == "" || !strings.HasPrefix(d.RequestId, "req_") ||
		!strings.Contains(d.DocUrl, "/docs/errors#"+d.Code) {
		t.Fatalf("incomplete error: %s", body)
	}
	for _, leak := range []string{"strconv.", "json:", "gorm", "sql:", "runtime error", "kin-openapi", "<nil>", "Error at \""} {
		if strings.Contains(d.Message, leak) {
			t.Fatalf("error message leaks internals (%q): %s", leak, d.Message)
		}
	}
	return *d
}

// counts reads the database's view of a slot: tables taken, and reservations that hold
// a table (held or confirmed).
func (e *env) counts(slotID string) (taken, active, total int) {
	e.t.Helper()
	q := func(query string, args ...any) int {
		var n int
		if err := e.db.SQL().QueryRow(query, args...).Scan(&n); err != nil {
			e.t.Fatal(err)
		}
		return n
	}
	ph := "?"
	if e.db.Dialect() == store.DialectPostgres {
		ph = "$1"
	}
	taken = q("SELECT tables_taken FROM slots WHERE id = "+ph, slotID)
	active = q("SELECT count(*) FROM reservations WHERE status IN ('held', 'confirmed') AND slot_id = "+ph, slotID)
	total = q("SELECT count(*) FROM reservations")
	return taken, active, total
}

func statusOf(resp interface{ StatusCode() int }) string {
	return fmt.Sprint(resp.StatusCode())
}

func idempotencyFor(e *env) *idempotency.Service { return idempotency.NewService(e.db) }
