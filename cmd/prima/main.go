// Command prima is the PRIMA Partner API server and its operator tools: serve, migrate,
// seed and token.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
	_ "time/tzdata" // venue time zones must resolve on hosts without a zoneinfo database

	"github.com/spf13/cobra"

	"github.com/prima-dining/partner-api/internal/booking"
	"github.com/prima-dining/partner-api/internal/ratelimit"
	"github.com/prima-dining/partner-api/internal/webhooks"
	"github.com/prima-dining/partner-api/server"
	"github.com/prima-dining/partner-api/store"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := rootCommand().ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "prima:", err)
		os.Exit(1)
	}
}

func rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "prima",
		Short:         "The PRIMA Partner API server and its operator tools",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(serveCommand(), migrateCommand(), seedCommand(), tokenCommand(), partnerCommand(), auditCommand(), outboxCommand(), venueCommand(), importCommand())
	return root
}

// config is read from the environment; the README lists every variable.
type config struct {
	DatabaseURL   string
	Addr          string
	PublicURL     string
	HoldTTL       time.Duration
	HoldMax       time.Duration
	SweepInterval time.Duration
	// ReconcileInterval is how often held prime reservations are compared with their
	// intents at the provider.
	ReconcileInterval time.Duration
	// Outbox: how often each process delivers, how long a message is retried, and
	// whether webhook URLs may reach private addresses.
	OutboxInterval time.Duration
	OutboxMaxAge   time.Duration
	// AvailabilityInterval is how often each process turns slot changes into
	// availability.updated events (PRIMA_AVAILABILITY_INTERVAL).
	AvailabilityInterval time.Duration
	// IdempotencyLease is how long a request owns its Idempotency-Key before a retry may
	// take it over (PRIMA_IDEMPOTENCY_LEASE).
	IdempotencyLease time.Duration
	// RequestTimeout bounds each request's work (PRIMA_REQUEST_TIMEOUT).
	RequestTimeout time.Duration
	// Retention is how long delivered deliveries, handled provider event ids and venue
	// notifications (PRIMA_RETENTION, 30 days) and audit events (PRIMA_AUDIT_RETENTION,
	// 90 days) are kept; 0 keeps them for ever.
	Retention           store.Retention
	WebhookAllowPrivate bool
	// SMTP is the email connector's mail server (PRIMA_SMTP_URL); nil when unset.
	SMTP      *webhooks.SMTPConfig
	LogLevel  slog.Level
	LogFormat string
	// Stripe is used when StripeSecretKey is set; otherwise the sandbox gateway.
	StripeSecretKey     string
	StripeAPIBase       string
	StripeWebhookSecret string
	StripeTimeout       time.Duration
	// Limits: each token's default bucket, each client address's bucket of failed
	// authentications, each partner's active holds, and whether to take the client
	// address from a proxy's X-Forwarded-For.
	RateLimit        server.RateLimit
	AuthFailureLimit server.RateLimit
	MaxActiveHolds   int
	TrustProxy       bool

	// RedisURL, when set, shares both kinds of bucket across processes in that Redis
	// (PRIMA_REDIS_URL); checked here, connected to by serve.
	RedisURL string

	// ShutdownDelay is how long a stopping server keeps accepting and serving before
	// it drains (PRIMA_SHUTDOWN_DELAY): connections the kernel accepted but the server
	// had not yet are served, not reset, and a load balancer has time to notice.
	ShutdownDelay time.Duration
	// MetricsAddr is where /metrics listens (PRIMA_METRICS_ADDR); empty means nowhere.
	MetricsAddr string
	// Pprof also serves Go's profiles (/debug/pprof/) on MetricsAddr (PRIMA_PPROF=1),
	// for profiling a server under load (make bench does).
	Pprof bool
	// Caches: tokens and venues cached per process, kept fresh by the database
	// (PRIMA_CACHE_TTL, PRIMA_CACHE_LISTEN_RETRY; caches.go).
	Caches cacheConfig
	// DatabaseReadURL is a streaming replica of DatabaseURL for search, venue reads and
	// lists (PRIMA_DATABASE_READ_URL); ReadWait and ReadMaxLag tune it
	// (PRIMA_DATABASE_READ_WAIT, PRIMA_DATABASE_READ_MAX_LAG). Only serve opens it.
	DatabaseReadURL string
	ReadWait        time.Duration
	ReadMaxLag      time.Duration
	// DatabaseMaxConns is the size of each PostgreSQL pool (PRIMA_DATABASE_MAX_CONNS;
	// 0: store.DefaultMaxOpenConns).
	DatabaseMaxConns int
}

func loadConfig() (config, error) {
	c := config{
		DatabaseURL: os.Getenv("PRIMA_DATABASE_URL"),
		Addr:        envOr("PRIMA_ADDR", "127.0.0.1:8080"),
		PublicURL:   strings.TrimSuffix(os.Getenv("PRIMA_PUBLIC_URL"), "/"),
		LogFormat:   envOr("PRIMA_LOG_FORMAT", "json"),

		WebhookAllowPrivate: os.Getenv("PRIMA_WEBHOOK_ALLOW_PRIVATE") == "1",
		StripeSecretKey:     os.Getenv("STRIPE_SECRET_KEY"),
		StripeAPIBase:       os.Getenv("STRIPE_API_BASE"),
		StripeWebhookSecret: os.Getenv("STRIPE_WEBHOOK_SECRET"),
		TrustProxy:          os.Getenv("PRIMA_TRUST_PROXY") == "1",
		MetricsAddr:         os.Getenv("PRIMA_METRICS_ADDR"),
		Pprof:               os.Getenv("PRIMA_PPROF") == "1",
		RateLimit:           server.DefaultRateLimit,
		AuthFailureLimit:    server.DefaultAuthFailureLimit,
		MaxActiveHolds:      booking.DefaultMaxActiveHolds,
	}
	c.DatabaseReadURL = strings.TrimSpace(os.Getenv("PRIMA_DATABASE_READ_URL"))
	var err error
	if v := os.Getenv("PRIMA_RATE_LIMIT"); v != "" {
		if c.RateLimit, err = server.ParseRateLimit(v); err != nil {
			return c, fmt.Errorf("PRIMA_RATE_LIMIT: %w", err)
		}
	}
	if v := os.Getenv("PRIMA_AUTH_FAILURE_LIMIT"); v != "" {
		if c.AuthFailureLimit, err = server.ParseRateLimit(v); err != nil {
			return c, fmt.Errorf("PRIMA_AUTH_FAILURE_LIMIT: %w", err)
		}
	}
	if c.RedisURL = os.Getenv("PRIMA_REDIS_URL"); c.RedisURL != "" {
		if _, err := ratelimit.ParseURL(c.RedisURL); err != nil {
			return c, fmt.Errorf("PRIMA_REDIS_URL: want redis://[user:password@]host:port[/db] (rediss:// for TLS): %w", err)
		}
	}
	if v := os.Getenv("PRIMA_MAX_ACTIVE_HOLDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n == 0 {
			return c, fmt.Errorf("PRIMA_MAX_ACTIVE_HOLDS must be a positive number (or negative for no cap), not %q", v)
		}
		c.MaxActiveHolds = n
	}
	if c.DatabaseReadURL != "" {
		if u := strings.TrimSpace(c.DatabaseURL); !strings.HasPrefix(u, "postgres://") && !strings.HasPrefix(u, "postgresql://") {
			return c, errors.New("PRIMA_DATABASE_READ_URL needs PostgreSQL: PRIMA_DATABASE_URL is SQLite (set it to a postgres:// URL, or unset PRIMA_DATABASE_READ_URL)")
		}
		if !strings.HasPrefix(c.DatabaseReadURL, "postgres://") && !strings.HasPrefix(c.DatabaseReadURL, "postgresql://") {
			return c, errors.New("PRIMA_DATABASE_READ_URL must be a postgres:// URL of a streaming replica of PRIMA_DATABASE_URL")
		}
	}
	if v := strings.TrimSpace(os.Getenv("PRIMA_DATABASE_MAX_CONNS")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10_000 {
			return c, fmt.Errorf("PRIMA_DATABASE_MAX_CONNS must be a number of connections from 1 to 10000, not %q", v)
		}
		c.DatabaseMaxConns = n
	}
	if c.ReadWait, err = envDuration("PRIMA_DATABASE_READ_WAIT", store.DefaultReadWait); err != nil {
		return c, err
	}
	if c.ReadMaxLag, err = envDuration("PRIMA_DATABASE_READ_MAX_LAG", store.DefaultReadMaxLag); err != nil {
		return c, err
	}
	if c.HoldTTL, err = envDuration("PRIMA_HOLD_TTL", 10*time.Minute); err != nil {
		return c, err
	}
	if c.HoldMax, err = envDuration("PRIMA_HOLD_MAX", 30*time.Minute); err != nil {
		return c, err
	}
	if c.SweepInterval, err = envDuration("PRIMA_SWEEP_INTERVAL", time.Second); err != nil {
		return c, err
	}
	if c.ReconcileInterval, err = envDuration("PRIMA_RECONCILE_INTERVAL", 30*time.Second); err != nil {
		return c, err
	}
	if c.StripeTimeout, err = envDuration("STRIPE_TIMEOUT", 10*time.Second); err != nil {
		return c, err
	}
	if c.ShutdownDelay, err = envDuration("PRIMA_SHUTDOWN_DELAY", 2*time.Second); err != nil {
		return c, err
	}
	if c.OutboxInterval, err = envDuration("PRIMA_OUTBOX_INTERVAL", time.Second); err != nil {
		return c, err
	}
	if c.AvailabilityInterval, err = envDuration("PRIMA_AVAILABILITY_INTERVAL", 250*time.Millisecond); err != nil {
		return c, err
	}
	if c.OutboxMaxAge, err = envDuration("PRIMA_OUTBOX_MAX_AGE", 24*time.Hour); err != nil {
		return c, err
	}
	if raw := os.Getenv("PRIMA_SMTP_URL"); raw != "" {
		smtp, err := webhooks.ParseSMTPURL(raw)
		if err != nil {
			return c, err
		}
		c.SMTP = &smtp
	}
	if c.IdempotencyLease, err = envDuration("PRIMA_IDEMPOTENCY_LEASE", time.Minute); err != nil {
		return c, err
	}
	if c.RequestTimeout, err = envDuration("PRIMA_REQUEST_TIMEOUT", server.DefaultRequestTimeout); err != nil {
		return c, err
	}
	if c.Retention.Deliveries, err = envDuration("PRIMA_RETENTION", 30*24*time.Hour); err != nil {
		return c, err
	}
	if c.Retention.Audit, err = envDuration("PRIMA_AUDIT_RETENTION", 90*24*time.Hour); err != nil {
		return c, err
	}
	// Partners are promised 30 days of events (GET /v1/events), whatever PRIMA_RETENTION
	// says of finished deliveries (0 keeps everything for ever, events included).
	if c.Retention.Deliveries > 0 {
		c.Retention.Events = max(c.Retention.Deliveries, store.EventRetention)
	}
	if c.Caches, err = loadCacheConfig(); err != nil {
		return c, err
	}
	if err := c.LogLevel.UnmarshalText([]byte(envOr("PRIMA_LOG_LEVEL", "info"))); err != nil {
		return c, fmt.Errorf("PRIMA_LOG_LEVEL: %w", err)
	}
	if c.LogFormat != "json" && c.LogFormat != "text" {
		return c, fmt.Errorf("PRIMA_LOG_FORMAT must be json or text, not %q", c.LogFormat)
	}
	return c, nil
}

func (c config) logger() *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.LogLevel}
	if c.LogFormat == "text" {
		return slog.New(slog.NewTextHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewJSONHandler(os.Stderr, opts))
}

func envOr(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}

func envDuration(name string, fallback time.Duration) (time.Duration, error) {
	v := os.Getenv(name)
	if v == "" {
		return fallback, nil
	}
	d, err := parseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%s: %q is not a positive duration like 90s, 10m or 2h", name, v)
	}
	return d, nil
}

// parseDuration accepts Go durations plus whole days ("90d").
func parseDuration(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("bad duration %q", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	return time.ParseDuration(s)
}

// openDB opens and, when migrate is set, migrates the configured database.
func openDB(ctx context.Context, c config, migrate bool) (*store.DB, error) {
	return openStore(ctx, store.Config{URL: c.DatabaseURL}, migrate)
}

// openStore is openDB with the store's whole configuration: serve's adds the read replica.
func openStore(ctx context.Context, sc store.Config, migrate bool) (*store.DB, error) {
	db, err := store.Open(ctx, sc)
	if err != nil {
		return nil, err
	}
	if migrate {
		if err := db.Migrate(ctx); err != nil {
			_ = db.Close()
			return nil, err
		}
	}
	return db, nil
}

func migrateCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "Apply the database migrations (PRIMA_DATABASE_URL)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := loadConfig()
			if err != nil {
				return err
			}
			db, err := openDB(cmd.Context(), c, true)
			if err != nil {
				return err
			}
			defer db.Close()
			current, latest, err := db.MigrationStatus(cmd.Context())
			if err != nil {
				return err
			}
			if current != latest {
				return errors.New("migrations did not reach the latest version")
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s database at migration %d\n", db.Dialect(), current)
			return nil
		},
	}
}
