package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/spf13/cobra"

	"github.com/prima-dining/partner-api/internal/access"
	"github.com/prima-dining/partner-api/internal/audit"
	"github.com/prima-dining/partner-api/internal/booking"
	"github.com/prima-dining/partner-api/internal/cache"
	"github.com/prima-dining/partner-api/internal/demo"
	"github.com/prima-dining/partner-api/internal/idempotency"
	"github.com/prima-dining/partner-api/internal/inventory"
	"github.com/prima-dining/partner-api/internal/metrics"
	"github.com/prima-dining/partner-api/internal/ratelimit"
	"github.com/prima-dining/partner-api/internal/webhooks"
	"github.com/prima-dining/partner-api/payments"
	"github.com/prima-dining/partner-api/server"
	"github.com/prima-dining/partner-api/store"
)

func serveCommand() *cobra.Command {
	var (
		migrate  bool
		demoMode bool
	)
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the API",
		Long: `Serve the API on PRIMA_ADDR with the database at PRIMA_DATABASE_URL (SQLite under
./data by default). With --seed-demo-if-empty, an empty database is filled with the demo
catalogue, and a fresh demo partner token is printed at every start.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := loadConfig()
			if err != nil {
				return err
			}
			return serve(cmd.Context(), c, migrate, demoMode)
		},
	}
	cmd.Flags().BoolVar(&migrate, "migrate", true, "apply database migrations before serving")
	cmd.Flags().BoolVar(&demoMode, "seed-demo-if-empty", false, "seed the demo catalogue into an empty database and print a demo token")
	return cmd
}

func serve(ctx context.Context, c config, migrate, demoMode bool) error {
	log := c.logger()
	slog.SetDefault(log)
	db, err := openStore(ctx, store.Config{
		URL: c.DatabaseURL, MaxOpenConns: c.DatabaseMaxConns, ReadURL: c.DatabaseReadURL, ReadWait: c.ReadWait, ReadMaxLag: c.ReadMaxLag, Logger: log,
	}, migrate)
	if err != nil {
		return err
	}
	defer db.Close()

	gateway, err := c.gateway(db)
	if err != nil {
		return err
	}
	log.Info("payment gateway", "provider", gateway.Name(), "webhooks", c.StripeWebhookSecret != "")
	if gateway.Name() == "stripe" && c.StripeWebhookSecret == "" {
		log.Warn("STRIPE_WEBHOOK_SECRET is not set: Stripe webhooks are refused, payments follow finalize and the reconciler only")
	}

	m := metrics.New()
	m.WatchDB(db.SQL(), db.Dialect())
	if replica := db.ReplicaSQL(); replica != nil {
		m.WatchDB(replica, "replica")
		m.WatchReplica(func() metrics.ReplicaStats {
			st, _ := db.ReplicaStats()
			return metrics.ReplicaStats{
				Up: st.Up, Lagging: st.Lagging, Lag: st.Lag,
				Replica: st.Reads.Replica, BehindReads: st.Reads.Lagging, UnavailableReads: st.Reads.Unavailable,
			}
		})
		st, _ := db.ReplicaStats()
		log.Info("read replica", "up", st.Up, "wait", c.ReadWait.String(), "max_lag", c.ReadMaxLag.String())
	}
	m.WatchOutbox(func(ctx context.Context) (metrics.OutboxStats, error) {
		pending, failed, oldest, err := db.OutboxStats(ctx)
		st := metrics.OutboxStats{Pending: pending, Failed: failed}
		if !oldest.IsZero() {
			st.OldestPendingAge = time.Since(oldest)
		}
		return st, err
	})

	var reservations *booking.Reservations
	render := renderEvent(func() *booking.Reservations { return reservations })
	worker := webhooks.NewWorker(db, webhooks.WorkerConfig{
		Render:       render,
		AllowPrivate: c.WebhookAllowPrivate,
		MaxAge:       c.OutboxMaxAge,
		SMTP:         c.SMTP,
		Logger:       log,
		// The sandbox's magic values reach the demo venues' log connector too.
		SandboxScenarios: gateway.Name() == "sandbox",
	})
	svc := booking.New(db, gateway, booking.Config{
		HoldTTL: c.HoldTTL, HoldMax: c.HoldMax, Logger: log,
		WebhookSecret: c.StripeWebhookSecret, VenueSync: worker,
		MaxActiveHolds: c.MaxActiveHolds, Metrics: m, SearchCacheTTL: c.Caches.SearchTTL,
		RenderAvailability: server.AvailabilityEventJSON, RenderWatch: server.WatchEventJSON,
	})
	reservations = svc.Reservations
	endpoints := webhooks.NewEndpoints(db, webhooks.EndpointsConfig{AllowPrivate: c.WebhookAllowPrivate})
	inv := inventory.New(db, inventory.Config{Logger: log, AllowPrivatePlatforms: c.WebhookAllowPrivate})
	tokens := access.NewService(db)
	m.WatchCaches(db.Invalidations().Stats, func() []cache.Stats {
		return append([]cache.Stats{tokens.CacheStats()}, svc.Reservations.CacheStats()...)
	})
	idem := idempotency.NewService(db)
	idem.SetLease(c.IdempotencyLease)
	auditLog := audit.New(db, audit.Config{Logger: log, Metrics: m})
	// Closed at SIGTERM: /readyz answers 503 stopping through the shutdown delay.
	stopping := make(chan struct{})
	shared, closeShared, err := sharedRateLimits(ctx, c, log)
	if err != nil {
		return err
	}
	defer closeShared()
	e, err := server.New(server.Deps{
		Reservations:      svc.Reservations,
		Changes:           svc.Changes,
		Payments:          svc.Payments,
		VenueReservations: svc.VenueReservations,
		Watches:           svc.Watches,
		WebhookEndpoints:  endpoints,
		Events:            webhooks.NewEvents(db, render, nil),
		Tokens:            tokens,
		Idempotency:       idem,
		Database:          db,
		Logger:            log,
		PublicURL:         c.PublicURL,

		RateLimit:         c.RateLimit,
		AuthFailureLimit:  c.AuthFailureLimit,
		SharedRateLimits:  shared,
		TrustProxyHeaders: c.TrustProxy,
		RequestTimeout:    c.RequestTimeout,
		Metrics:           m,
		Audit:             auditLog,
		Inventory:         inv,
		Stopping:          stopping,
	})
	if err != nil {
		return err
	}

	var demoToken string
	if demoMode {
		if demoToken, err = prepareDemo(ctx, db, tokens); err != nil {
			return err
		}
	}

	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           e,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		// Past the request deadline, so its 503 can still be written.
		WriteTimeout: max(30*time.Second, c.RequestTimeout+10*time.Second),
		IdleTimeout:  2 * time.Minute,
		ErrorLog:     slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	base := c.PublicURL
	if base == "" {
		base = "http://" + ln.Addr().String()
	}
	log.Info("serving", "addr", ln.Addr().String(), "database", db.Dialect(), "docs", base+"/docs/")
	fmt.Printf("\nPRIMA Partner API on %s (%s database, %s payments)\n", base, db.Dialect(), gateway.Name())
	fmt.Printf("  Docs:          %s/docs/ (getting started and guides)\n", base)
	fmt.Printf("  API reference: %s/docs/reference/\n  OpenAPI JSON:  %s/v1/openapi.json\n", base, base)
	fmt.Printf("  Operator API:  %s/docs/operator/ (%s/v1/operator/openapi.json)\n", base, base)
	if demoToken != "" {
		fmt.Printf("  Demo token:    %s\n\n  curl -H 'Authorization: Bearer %s' '%s/v1/venues'\n", demoToken, demoToken, base)
	}
	fmt.Println()

	if c.MetricsAddr != "" {
		// On its own listener, so the API's address never exposes the process's internals.
		mln, err := net.Listen("tcp", c.MetricsAddr)
		if err != nil {
			return fmt.Errorf("PRIMA_METRICS_ADDR: %w", err)
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", m.Handler())
		if c.Pprof {
			mux.HandleFunc("GET /debug/pprof/", pprof.Index)
			mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
			mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
			mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
		}
		// WriteTimeout leaves room for a 30 s CPU profile.
		msrv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second, WriteTimeout: 60 * time.Second}
		go func() { _ = msrv.Serve(mln) }()
		defer msrv.Close()
		log.Info("metrics", "addr", mln.Addr().String(), "path", "/metrics")
	}

	workers, stopWorkers := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		runWorkers(workers, db, svc.Payments, svc.AvailabilityFeed, inv, worker, idem, c, log)
	}()

	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	select {
	case err := <-serveErr:
		auditLog.Close()
		stopWorkers()
		<-done
		return err
	case <-ctx.Done():
	}
	// Keep serving a moment first: a connection the kernel has accepted but the server
	// has not is reset when the listener closes, and its request is lost. Meanwhile
	// /readyz answers 503, so a load balancer checking it stops sending new requests.
	close(stopping)
	log.Info("shutting down: serving for the shutdown delay, then finishing in-flight requests", "delay", c.ShutdownDelay.String())
	time.Sleep(c.ShutdownDelay)
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 25*time.Second)
	defer cancel()
	err = srv.Shutdown(shutdownCtx)
	auditLog.Close() // every answered request's event is written before exit
	stopWorkers()
	<-done
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("stopped")
	return nil
}

// rollSchedules generates the slots that schedules' rolling horizons reach, at start and
// then hourly (generation is idempotent, so every process may run it).
func rollSchedules(ctx context.Context, inv *inventory.Service, log *slog.Logger) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if n, err := inv.RollHorizon(ctx); err != nil && ctx.Err() == nil {
			log.Error("roll schedules", "error", err)
		} else if n > 0 {
			log.Info("roll schedules", "slots", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// runWorkers runs the background loops of this process until ctx ends. Every process
// runs them; each decides its work in the database, so several never collide.
func runWorkers(ctx context.Context, db *store.DB, pay *booking.Payments, feed *booking.AvailabilityFeed, inv *inventory.Service, outbox *webhooks.Worker, idem *idempotency.Service, c config, log *slog.Logger) {
	purge := time.NewTicker(time.Hour)
	defer purge.Stop()
	go pay.RunSweeper(ctx, c.SweepInterval)
	go pay.RunReconciler(ctx, c.ReconcileInterval)
	go outbox.Run(ctx, c.OutboxInterval)
	go runAvailabilityFeed(ctx, feed, outbox, c.AvailabilityInterval, log)
	go rollSchedules(ctx, inv, log)
	go listenInvalidations(ctx, db, c.Caches, log)
	for {
		select {
		case <-ctx.Done():
			return
		case <-purge.C:
			if n, err := idem.Purge(ctx); err != nil {
				log.Warn("purge idempotency keys", "error", err)
			} else if n > 0 {
				log.Info("purged idempotency keys", "count", n)
			}
			// Safe in every process: each batch deletes what is old, whoever runs it.
			if n, err := db.PurgeFinished(ctx, time.Now(), c.Retention); err != nil {
				log.Warn("purge finished records", "error", err)
			} else {
				for table, count := range n {
					if count > 0 {
						log.Info("purged finished records", "table", table, "count", count)
					}
				}
			}
		}
	}
}

// runAvailabilityFeed turns slot changes into availability.updated events every
// interval, and delivers the events it made at once rather than at the outbox worker's
// next turn, so a partner hears of a change within a second or so.
func runAvailabilityFeed(ctx context.Context, feed *booking.AvailabilityFeed, outbox *webhooks.Worker, every time.Duration, log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n, err := feed.RunOnce(ctx)
		if err != nil && ctx.Err() == nil {
			log.Error("availability events", "error", err)
		}
		if n > 0 {
			if _, err := outbox.RunOnce(ctx); err != nil && ctx.Err() == nil {
				log.Error("outbox delivery", "error", err)
			}
		}
	}
}

// renderEvent builds a delivery's body: the event envelope around the reservation as
// partners see it in the API.
func renderEvent(reservations func() *booking.Reservations) func(context.Context, store.OutboxMessage) ([]byte, error) {
	return func(ctx context.Context, m store.OutboxMessage) ([]byte, error) {
		r, err := reservations().Get(ctx, booking.Partner{ID: m.PartnerID}, m.ReservationID)
		if err != nil {
			return nil, err
		}
		return server.EventJSON(m.ID, m.Type, m.CreatedAt, r)
	}
}

// gateway is Stripe when STRIPE_SECRET_KEY is set, the sandbox otherwise.
func (c config) gateway(db *store.DB) (payments.Gateway, error) {
	if c.StripeSecretKey == "" {
		return payments.NewSandbox(db), nil
	}
	return payments.NewStripe(payments.StripeConfig{SecretKey: c.StripeSecretKey, APIBase: c.StripeAPIBase, Timeout: c.StripeTimeout})
}

// prepareDemo seeds the demo catalogue when the database has no venue, and issues a
// fresh token for the demo partner (the secret of an older one cannot be shown again).
func prepareDemo(ctx context.Context, db *store.DB, tokens *access.Service) (string, error) {
	n, err := db.CountVenues(ctx)
	if err != nil {
		return "", err
	}
	if n == 0 {
		venues, slots, err := demo.Seed(ctx, db, demo.Options{Days: 30})
		if err != nil {
			return "", err
		}
		fmt.Printf("Seeded the demo catalogue: %d venues, %d slots over 30 days.\n", venues, slots)
	}
	secret, _, err := tokens.Create(ctx, access.CreateParams{
		Partner:   "demo",
		Name:      "make run " + time.Now().UTC().Format(time.RFC3339),
		ExpiresIn: 7 * 24 * time.Hour,
	})
	return secret, err
}

// sharedRateLimits opens the Redis of PRIMA_REDIS_URL, whose buckets every process
// shares; nil without it. A Redis that does not answer at start-up is not fatal: the
// server limits in-process and logs so until it answers.
func sharedRateLimits(ctx context.Context, c config, log *slog.Logger) (server.SharedBuckets, func(), error) {
	if c.RedisURL == "" {
		log.Info("rate limits", "shared", false, "note", "per process; set PRIMA_REDIS_URL to share them across processes")
		return nil, func() {}, nil
	}
	ratelimit.SetClientLogger(log)
	r, err := ratelimit.Open(c.RedisURL)
	if err != nil {
		return nil, nil, fmt.Errorf("PRIMA_REDIS_URL: %w", err)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := r.Ping(pingCtx); err != nil {
		log.Warn("rate limits: Redis does not answer at start-up; limiting in this process until it does", "redis", r.Addr(), "error", err.Error())
	} else {
		log.Info("rate limits", "shared", true, "redis", r.Addr())
	}
	return r, func() { _ = r.Close() }, nil
}
