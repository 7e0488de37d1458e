// Package booking is the reservation lifecycle: search, hold, extend, finalize, cancel,
// change and expiry, the payments that go with them, and the venue's view of its
// bookings. It holds the state machine (lifecycle.go) and its compensations, and knows
// nothing of HTTP, SQL text or a payment provider's types.
//
// Its services, built together by New over one store and one gateway:
//   - Reservations: what partners do with a reservation (search, hold, finalize, ...);
//   - Changes: changing a booking (Modify; its finalize goes through Reservations);
//   - Payments: following the provider (webhooks, reconciler, sandbox) and the sweeper;
//   - VenueReservations: what venue operators see and record of their bookings.
//
// With a read replica (store.Config.ReadURL), a partner's searches, venue reads and lists
// go through store.(*DB).Read; a reservation read by id, and everything a write reads,
// stay on the primary. Every method that writes for a partner defers
// s.db.NoteWrite(ctx, p.ID), so that partner's next reads see the write.
package booking

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prima-dining/partner-api/internal/idempotency"
	"github.com/prima-dining/partner-api/internal/metrics"
	"github.com/prima-dining/partner-api/payments"
	"github.com/prima-dining/partner-api/store"
)

// Config tunes the lifecycle.
type Config struct {
	// HoldTTL is how long a hold keeps its table (PRIMA_HOLD_TTL, default 10 min).
	HoldTTL time.Duration
	// HoldMax caps a hold's total life, extensions included (PRIMA_HOLD_MAX, default 30 min).
	HoldMax time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives what the caller cannot be told (a compensation that failed).
	Logger *slog.Logger
	// WebhookSecret verifies the payment provider's webhooks (STRIPE_WEBHOOK_SECRET);
	// empty means webhooks are not accepted.
	WebhookSecret string
	// VenueSync delivers a venue's notification inline; nil leaves it to the worker.
	VenueSync VenueSyncer
	// MaxActiveHolds caps a partner's held, unexpired reservations (PRIMA_MAX_ACTIVE_HOLDS,
	// default 50), so one partner cannot hold a venue's whole evening; negative means
	// no cap.
	MaxActiveHolds int
	// Metrics counts holds and payment outcomes; nil counts nothing.
	Metrics *metrics.Metrics
	// SearchCacheTTL is the longest a search answer is served from the process's cache
	// (PRIMA_SEARCH_CACHE_TTL; default DefaultSearchTTL; negative keeps none). See
	// searches.go for where the cache is used at all.
	SearchCacheTTL time.Duration
	// RenderAvailability builds availability.updated bodies (server.AvailabilityEventJSON);
	// the AvailabilityFeed needs it.
	RenderAvailability RenderAvailability
	// AvailabilityGap is the least time between two availability.updated events of a
	// slot (default DefaultAvailabilityGap).
	AvailabilityGap time.Duration
	// RenderWatch builds watch.matched bodies (server.WatchEventJSON); matching a watch
	// needs it.
	RenderWatch RenderWatch
}

// DefaultMaxActiveHolds is Config.MaxActiveHolds when it is zero.
const DefaultMaxActiveHolds = 50

// Services are the booking services, sharing one store, gateway and configuration.
type Services struct {
	Reservations      *Reservations
	Changes           *Changes
	Payments          *Payments
	VenueReservations *VenueReservations
	AvailabilityFeed  *AvailabilityFeed
	Watches           *Watches
}

// core is what the services share: the store, the gateway, the configuration, and the
// steps more than one of them takes (a reservation's update, refunds, venue sync).
type core struct {
	db      *store.DB
	gateway payments.Gateway
	cfg     Config
	log     *slog.Logger
	catalog *catalog
	// searches caches search answers (nil: not on this database).
	searches *searches
}

// New returns the booking services. Zero Config fields take their defaults.
func New(db *store.DB, gateway payments.Gateway, cfg Config) Services {
	if cfg.HoldTTL <= 0 {
		cfg.HoldTTL = 10 * time.Minute
	}
	if cfg.HoldMax < cfg.HoldTTL {
		cfg.HoldMax = max(30*time.Minute, cfg.HoldTTL)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxActiveHolds == 0 {
		cfg.MaxActiveHolds = DefaultMaxActiveHolds
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.SearchCacheTTL == 0 {
		cfg.SearchCacheTTL = DefaultSearchTTL
	}
	if cfg.AvailabilityGap <= 0 {
		cfg.AvailabilityGap = DefaultAvailabilityGap
	}
	c := &core{db: db, gateway: gateway, cfg: cfg, log: cfg.Logger, catalog: newCatalog(db), searches: newSearches(db, cfg.SearchCacheTTL)}
	return Services{
		Reservations:      &Reservations{c},
		Changes:           &Changes{c},
		Payments:          &Payments{c},
		VenueReservations: &VenueReservations{c},
		AvailabilityFeed:  &AvailabilityFeed{core: c},
		Watches:           &Watches{c},
	}
}

func (s *core) now() time.Time { return s.cfg.Now().UTC() }

func scope(p Partner) store.Scope { return store.Scope{PartnerID: p.ID, AllVenues: p.AllVenues} }

// PageError turns the store's unknown-cursor error into a parameter error.
func PageError(err error, page store.Page) error {
	if errors.Is(err, store.ErrNotFound) {
		return &ParamError{Param: "starting_after", Message: fmt.Sprintf("No object %s in this list.", page.StartingAfter)}
	}
	return err
}

// row reads one of p's reservations as stored; a NotFoundError if p has no such one.
func (s *core) row(ctx context.Context, p Partner, id string) (store.Reservation, error) {
	row, err := s.db.GetReservation(ctx, p.ID, id)
	if errors.Is(err, store.ErrNotFound) {
		return store.Reservation{}, &NotFoundError{Kind: "reservation", ID: id, Param: "reservation_id"}
	}
	return row, err
}

// An edit changes a reservation row, locked in tx. It answers nil to have the row
// written; refuse(err) to write nothing to it and answer err; commitThen(err) to have
// the row written (an expiry it found due) and answer err once that has committed. Any
// other error rolls the whole transaction back.
type edit func(tx *store.Tx, r *store.Reservation) error

// refused is an edit's refusal: the row is left as it was read.
type refused struct{ answer error }

func (e *refused) Error() string { return e.answer.Error() }

// committed is an edit's answer given after its change commits.
type committed struct{ answer error }

func (e *committed) Error() string { return e.answer.Error() }

// refuse answers the call with err and writes nothing to the reservation. Whatever else
// the edit wrote in tx (holds of other slots it expired, say) still commits.
func refuse(err error) error { return &refused{answer: err} }

// commitThen writes the reservation as the edit left it and answers the call with err:
// how Extend or Finalize finding their hold overdue record its expiry and answer
// hold_expired.
func commitThen(err error) error { return &committed{answer: err} }

// update runs change on p's reservation (any partner's when p.ID is "") in one
// transaction, with the row locked, and writes it back with a conditional update from
// the status it was read in, together with the events and history the change makes
// (see emit). It returns the row as written (as read, on a refusal).
func (s *core) update(ctx context.Context, p Partner, id string, change edit) (store.Reservation, error) {
	row, _, err := s.updateNotifying(ctx, p, id, change)
	return row, err
}

// updateNotifying is update that also returns the id of the venue's message, if the
// venue must hear of the change.
func (s *core) updateNotifying(ctx context.Context, p Partner, id string, change edit) (store.Reservation, string, error) {
	var (
		row      store.Reservation
		answer   error
		venueMsg string
	)
	err := s.db.Transact(ctx, func(tx *store.Tx) error {
		answer, venueMsg = nil, ""
		r, err := tx.GetReservation(p.ID, id)
		if errors.Is(err, store.ErrNotFound) {
			answer = &NotFoundError{Kind: "reservation", ID: id, Param: "reservation_id"}
			return nil
		} else if err != nil {
			return err
		}
		before := r
		var (
			declined *refused
			after    *committed
		)
		switch err := change(tx, &r); {
		case errors.As(err, &declined):
			row, answer = r, declined.answer
			return nil
		case errors.As(err, &after):
			answer = after.answer
		case err != nil:
			return err
		}
		if venueMsg, err = emit(tx, before, &r, p.TokenID, s.now()); err != nil {
			return err
		}
		ok, err := tx.UpdateReservation(&r, before.Status)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("reservation %s changed under a row lock", id)
		}
		row = r
		return nil
	})
	if err != nil {
		return store.Reservation{}, "", fmt.Errorf("booking: update %s: %w", id, err)
	}
	return row, venueMsg, answer
}

// applied answers a request whose first run, under the same Idempotency-Key, committed
// its change of reservation id (idempotency.PointApplied) and died before its answer was
// stored: the reservation as it now stands, with ok true. ok is false for any other
// request, which then runs as usual.
func (s *core) applied(ctx context.Context, p Partner, id string) (r Reservation, ok bool, err error) {
	point, resource := idempotency.FromContext(ctx).Resumed()
	if point != idempotency.PointApplied || resource != id {
		return Reservation{}, false, nil
	}
	row, err := s.row(ctx, p, id)
	if err != nil {
		return Reservation{}, true, err
	}
	return reservationFromRow(row), true, nil
}

// recorded is change that also records, in its transaction, that the request's
// Idempotency-Key has applied its change to the reservation (idempotency.PointApplied),
// unless it refuses: the change and the key's recovery point commit together.
func recorded(ctx context.Context, change edit) edit {
	key := idempotency.FromContext(ctx)
	return func(tx *store.Tx, r *store.Reservation) error {
		err := change(tx, r)
		var (
			declined *refused
			after    *committed
		)
		if errors.As(err, &declined) || err != nil && !errors.As(err, &after) {
			return err
		}
		if rerr := key.Record(tx, "", idempotency.PointApplied, r.ID); rerr != nil {
			return rerr
		}
		return err
	}
}

// repeat runs fn every interval until ctx ends, logging what it did and its failures.
func (s *core) repeat(ctx context.Context, every time.Duration, what string, fn func(context.Context) (int, error)) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if n, err := fn(ctx); err != nil && ctx.Err() == nil {
				s.log.ErrorContext(ctx, what, "error", err)
			} else if n > 0 {
				s.log.InfoContext(ctx, what, "count", n)
			}
		}
	}
}
