package booking

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/prima-dining/partner-api/internal/ids"
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
	// AllowPrivateWebhooks lets partners register webhook URLs on private or loopback
	// addresses (PRIMA_WEBHOOK_ALLOW_PRIVATE; for development and tests).
	AllowPrivateWebhooks bool
	// MaxActiveHolds caps a partner's held, unexpired reservations (PRIMA_MAX_ACTIVE_HOLDS,
	// default 50), so one partner cannot hold a venue's whole evening; negative means
	// no cap.
	MaxActiveHolds int
	// Metrics counts holds and payment outcomes; nil counts nothing.
	Metrics *metrics.Metrics
}

// Service runs the reservation lifecycle on a store and a payment gateway.
type Service struct {
	db      *store.DB
	gateway payments.Gateway
	cfg     Config
	log     *slog.Logger
}

// DefaultMaxActiveHolds is Config.MaxActiveHolds when it is zero.
const DefaultMaxActiveHolds = 50

// New returns a Service. Zero Config fields take their defaults.
func New(db *store.DB, gateway payments.Gateway, cfg Config) *Service {
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
	return &Service{db: db, gateway: gateway, cfg: cfg, log: cfg.Logger}
}

// Gateway is the payment gateway in use.
func (s *Service) Gateway() payments.Gateway { return s.gateway }

func (s *Service) now() time.Time { return s.cfg.Now().UTC() }

func scope(p Partner) store.Scope { return store.Scope{PartnerID: p.ID, AllVenues: p.AllVenues} }

// PageError turns the store's unknown-cursor error into a parameter error.
func PageError(err error, page store.Page) error {
	if errors.Is(err, store.ErrNotFound) {
		return &ParamError{Param: "starting_after", Message: fmt.Sprintf("No object %s in this list.", page.StartingAfter)}
	}
	return err
}

// ListVenues lists the venues p may sell.
func (s *Service) ListVenues(ctx context.Context, p Partner, f store.VenueFilter, page store.Page) ([]Venue, bool, error) {
	rows, more, err := s.db.ListVenues(ctx, scope(p), f, page)
	if err != nil {
		return nil, false, PageError(err, page)
	}
	out := make([]Venue, 0, len(rows))
	for _, r := range rows {
		out = append(out, VenueFromRow(r))
	}
	return out, more, nil
}

// GetVenue returns one venue p may sell.
func (s *Service) GetVenue(ctx context.Context, p Partner, id string) (Venue, error) {
	row, err := s.db.GetVenue(ctx, scope(p), id)
	if errors.Is(err, store.ErrNotFound) {
		return Venue{}, &NotFoundError{Kind: "venue", ID: id, Param: "venue_id"}
	} else if err != nil {
		return Venue{}, err
	}
	return VenueFromRow(row), nil
}

// Search lists bookable slots. q.Now is set here.
func (s *Service) Search(ctx context.Context, p Partner, q store.SlotQuery, page store.Page) ([]Slot, bool, error) {
	if q.TimeFrom != "" && q.TimeTo != "" && q.TimeTo < q.TimeFrom {
		return nil, false, &ParamError{Param: "time_to", Message: "time_to must not be before time_from."}
	}
	q.Now = s.now()
	rows, more, err := s.db.SearchSlots(ctx, scope(p), q, page)
	if err != nil {
		return nil, false, PageError(err, page)
	}
	slots := slotsFromRows(rows)
	if err := s.countOwnAllocations(ctx, p, slots, q.Now); err != nil {
		return nil, false, err
	}
	return slots, more, nil
}

// HoldRequest is what a partner asks to hold.
type HoldRequest struct {
	SlotID           string
	PartySize        int
	Guest            Guest
	Notes            string
	PartnerReference string
}

// Hold takes one table of the slot for the party and, for a prime slot, creates a
// manual-capture payment intent. The table is taken by a conditional update inside the
// transaction, so concurrent holds can never exceed the slot's tables.
func (s *Service) Hold(ctx context.Context, p Partner, req HoldRequest) (Reservation, error) {
	now := s.now()
	var (
		row       store.Reservation
		slot      store.Slot
		noTable   bool
		holdError error
	)
	err := s.db.Transact(ctx, func(tx *store.Tx) error {
		var err error
		slot, err = tx.GetSlot(scope(p), req.SlotID)
		if errors.Is(err, store.ErrNotFound) {
			holdError = &NotFoundError{Kind: "slot", ID: req.SlotID, Param: "slot_id"}
			return nil
		} else if err != nil {
			return err
		}
		if slot.Status != "open" || !slot.StartsAt.After(now) {
			holdError = ErrSlotNotBookable
			return nil
		}
		if req.PartySize < slot.PartySizeMin || req.PartySize > slot.PartySizeMax {
			holdError = &PartySizeError{PartySize: req.PartySize, Min: slot.PartySizeMin, Max: slot.PartySizeMax}
			return nil
		}
		// Holds that ran out release their tables first: an expired hold never blocks
		// a new one, whether or not the sweeper has passed.
		if err := expireDue(tx, slot.ID, now, 100); err != nil {
			return err
		}
		if limit := s.cfg.MaxActiveHolds; limit > 0 {
			// Counted under the partner's lock, so concurrent holds cannot both see
			// limit-1 and both insert.
			if err := tx.LockPartner(p.ID); err != nil {
				return err
			}
			n, err := tx.CountActiveHolds(p.ID, now)
			if err != nil {
				return err
			}
			if n >= int64(limit) {
				holdError = &HoldLimitError{Limit: limit}
				return nil
			}
		}
		// The partner's allocation of the slot first, if it has one, else the shared pool.
		allocationID, took, err := tx.TakeTableFor(slot, p.ID, now)
		if err != nil {
			return err
		}
		if !took {
			noTable = true
			return nil
		}
		row = s.newReservation(p, req, slot, now)
		if allocationID != "" {
			row.AllocationID = &allocationID
		}
		if err := tx.InsertReservation(&row); err != nil {
			return err
		}
		return insertHistory(tx, row.ID, historyHeld, p.TokenID,
			map[string]FieldChange{"status": {To: string(StatusHeld)}}, now)
	})
	if err != nil {
		return Reservation{}, fmt.Errorf("booking: hold %s: %w", req.SlotID, err)
	}
	if holdError != nil {
		return Reservation{}, holdError
	}
	if noTable {
		return Reservation{}, s.unavailable(ctx, p, slot, req.PartySize, now)
	}
	if slot.Type == string(SlotPrime) {
		if err := s.attachPayment(ctx, &row, slot); err != nil {
			return Reservation{}, err
		}
	}
	row.Venue = slot.Venue
	s.cfg.Metrics.Hold("created", 1)
	return reservationFromRow(row), nil
}

func (s *Service) newReservation(p Partner, req HoldRequest, slot store.Slot, now time.Time) store.Reservation {
	expires := now.Add(s.cfg.HoldTTL)
	holdMax := now.Add(s.cfg.HoldMax)
	return store.Reservation{
		ID:                     ids.New("res"),
		PartnerID:              p.ID,
		TokenID:                p.TokenID,
		SlotID:                 slot.ID,
		VenueID:                slot.VenueID,
		Status:                 string(StatusHeld),
		PartySize:              req.PartySize,
		GuestFirstName:         req.Guest.FirstName,
		GuestLastName:          req.Guest.LastName,
		GuestEmail:             req.Guest.Email,
		GuestPhone:             req.Guest.Phone,
		Notes:                  req.Notes,
		PartnerReference:       req.PartnerReference,
		ExpiresAt:              &expires,
		HoldMaxAt:              &holdMax,
		StartsAt:               slot.StartsAt,
		LocalDate:              slot.LocalDate,
		DurationMinutes:        slot.DurationMinutes,
		SeatingArea:            slot.SeatingArea,
		SlotType:               slot.Type,
		PolicyFreeHours:        slot.Venue.PolicyFreeHours,
		PolicyFeeType:          slot.Venue.PolicyFeeType,
		PolicyFeePercent:       slot.Venue.PolicyFeePercent,
		PolicyFeeAmount:        slot.Venue.PolicyFeeAmount,
		PolicyModifyUntilHours: slot.Venue.PolicyModifyUntilHours,
		CreatedAt:              now,
		UpdatedAt:              now,
	}
}

// unavailable builds the slot_unavailable error with up to three nearby alternatives.
func (s *Service) unavailable(ctx context.Context, p Partner, slot store.Slot, partySize int, now time.Time) error {
	e := &SlotUnavailableError{SlotID: slot.ID, PartySize: partySize}
	alts, err := s.db.NearbySlots(ctx, scope(p), slot.VenueID, slot.StartsAt, partySize, 3, slot.ID, now)
	if err != nil {
		// The refusal stands without alternatives; they are a courtesy.
		s.log.WarnContext(ctx, "alternatives for unavailable slot", "slot_id", slot.ID, "error", err)
		return e
	}
	e.Alternatives = slotsFromRows(alts)
	return e
}

// attachPayment creates the hold's payment intent. When the provider fails, the hold is
// released so that no table stays taken for a payment that cannot happen.
func (s *Service) attachPayment(ctx context.Context, row *store.Reservation, slot store.Slot) error {
	price := Price{Amount: slot.PriceAmount, Currency: slot.PriceCurrency, Per: PricePer(slot.PricePer)}
	intent, err := s.gateway.Create(ctx, payments.CreateIntent{
		Amount:      price.Total(row.PartySize),
		Currency:    price.Currency,
		Description: fmt.Sprintf("PRIMA reservation %s at %s", row.ID, slot.Venue.Name),
		Metadata: map[string]string{
			"reservation_id": row.ID,
			"partner_id":     row.PartnerID,
			"venue_id":       row.VenueID,
			"slot_id":        row.SlotID,
		},
		IdempotencyKey: "prima-hold-" + row.ID,
	})
	if err != nil {
		if rerr := s.releaseHold(ctx, row.ID, "payment_provider_error"); rerr != nil {
			s.log.ErrorContext(ctx, "release hold after payment failure", "reservation_id", row.ID, "error", rerr)
		}
		return fmt.Errorf("%w: create payment intent: %w", ErrPaymentProvider, err)
	}
	applyIntent(row, s.gateway.Name(), intent)
	err = s.db.Transact(ctx, func(tx *store.Tx) error {
		ok, err := tx.UpdateReservation(row, string(StatusHeld))
		if err == nil && !ok {
			err = errors.New("hold changed while its payment was created")
		}
		return err
	})
	if err != nil {
		s.cancelIntent(ctx, row.ID, intent.ID)
		return fmt.Errorf("booking: record payment of %s: %w", row.ID, err)
	}
	return nil
}

// releaseHold moves a held reservation to released and gives its table back.
func (s *Service) releaseHold(ctx context.Context, id, reason string) error {
	now := s.now()
	return s.db.Transact(ctx, func(tx *store.Tx) error {
		r, err := tx.GetReservation("", id)
		if err != nil {
			return err
		}
		if r.Status != string(StatusHeld) {
			return nil
		}
		r.Status = string(StatusReleased)
		r.CancelReason = reason
		r.CancelledAt = &now
		r.UpdatedAt = now
		r.ExpiresAt, r.HoldMaxAt = nil, nil
		if ok, err := tx.UpdateReservation(&r, string(StatusHeld)); err != nil || !ok {
			return err
		}
		return tx.ReleaseTableOf(&r, now)
	})
}

func (s *Service) cancelIntent(ctx context.Context, reservationID, intentID string) {
	intent, err := s.gateway.Cancel(ctx, intentID, "prima-cancel-"+reservationID)
	if err != nil {
		// The sweeper retries every ended hold whose intent is still open.
		s.log.WarnContext(ctx, "cancel payment intent", "reservation_id", reservationID, "payment_intent_id", intentID, "error", err)
		return
	}
	s.recordIntent(ctx, reservationID, intent)
}

// Get returns one of p's reservations.
func (s *Service) Get(ctx context.Context, p Partner, id string) (Reservation, error) {
	row, err := s.row(ctx, p, id)
	if err != nil {
		return Reservation{}, err
	}
	return reservationFromRow(row), nil
}

// row reads one of p's reservations as stored; a NotFoundError if p has no such one.
func (s *Service) row(ctx context.Context, p Partner, id string) (store.Reservation, error) {
	row, err := s.db.GetReservation(ctx, p.ID, id)
	if errors.Is(err, store.ErrNotFound) {
		return store.Reservation{}, &NotFoundError{Kind: "reservation", ID: id, Param: "reservation_id"}
	}
	return row, err
}

// List lists p's reservations, newest first.
func (s *Service) List(ctx context.Context, p Partner, f store.ReservationFilter, page store.Page) ([]Reservation, bool, error) {
	if f.DateFrom != "" && f.DateTo != "" && f.DateTo < f.DateFrom {
		return nil, false, &ParamError{Param: "date_to", Message: "date_to must not be before date_from."}
	}
	rows, more, err := s.db.ListReservations(ctx, p.ID, f, page)
	if err != nil {
		return nil, false, PageError(err, page)
	}
	return reservationsFromRows(rows), more, nil
}

// mutate runs change on p's reservation inside a transaction, with the row locked, and
// writes it back with a conditional update from the status it was read in. change may
// return a non-nil outcome error, which is returned after the transaction commits: that
// is how a call both records an expiry and answers hold_expired.
func (s *Service) mutate(ctx context.Context, p Partner, id string, change func(tx *store.Tx, r *store.Reservation) (outcome error, err error)) (store.Reservation, error) {
	row, _, err := s.mutateEmitting(ctx, p, id, change)
	return row, err
}

// mutateEmitting is mutate that also writes the events the change makes (see emit) and
// returns the id of the venue's message, if the venue must hear of it.
func (s *Service) mutateEmitting(ctx context.Context, p Partner, id string, change func(tx *store.Tx, r *store.Reservation) (outcome error, err error)) (store.Reservation, string, error) {
	var (
		row      store.Reservation
		outcome  error
		venueMsg string
	)
	err := s.db.Transact(ctx, func(tx *store.Tx) error {
		r, err := tx.GetReservation(p.ID, id)
		if errors.Is(err, store.ErrNotFound) {
			outcome = &NotFoundError{Kind: "reservation", ID: id, Param: "reservation_id"}
			return nil
		} else if err != nil {
			return err
		}
		before := r
		from := r.Status
		outcome, err = change(tx, &r)
		if err != nil {
			return err
		}
		if r.Status == from && outcome != nil {
			row = r
			return nil // refused without a change
		}
		if venueMsg, err = emit(tx, before, &r, p.TokenID, s.now()); err != nil {
			return err
		}
		ok, err := tx.UpdateReservation(&r, from)
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
	return row, venueMsg, outcome
}

// expireIfDue moves a held reservation whose time ran out to expired, releasing its
// table, and says whether it did.
func expireIfDue(tx *store.Tx, r *store.Reservation, now time.Time) (bool, error) {
	if r.Status != string(StatusHeld) || r.ExpiresAt == nil || r.ExpiresAt.After(now) {
		return false, nil
	}
	r.Status = string(StatusExpired)
	r.UpdatedAt = now
	return true, tx.ReleaseTableOf(r, now)
}

// Extend moves a hold's expiry to one hold period from now, capped at HoldMaxAt.
func (s *Service) Extend(ctx context.Context, p Partner, id string) (Reservation, error) {
	now := s.now()
	row, err := s.mutate(ctx, p, id, func(tx *store.Tx, r *store.Reservation) (error, error) {
		if expired, err := expireIfDue(tx, r, now); err != nil || expired {
			return ErrHoldExpired, err
		}
		if r.Status != string(StatusHeld) {
			return stateError(r.Status, "extend"), nil
		}
		next := now.Add(s.cfg.HoldTTL)
		if r.HoldMaxAt != nil && next.After(*r.HoldMaxAt) {
			next = *r.HoldMaxAt
		}
		if !next.After(*r.ExpiresAt) {
			return ErrExtensionLimit, nil
		}
		r.ExpiresAt = &next
		r.UpdatedAt = now
		return nil, nil
	})
	if err != nil {
		return Reservation{}, err
	}
	return reservationFromRow(row), nil
}

func stateError(status string, action string) error {
	if Status(status) == StatusExpired {
		return ErrHoldExpired
	}
	return &StateError{Status: Status(status), Action: action}
}

// finalizeLease keeps a hold from expiring while its payment is captured, so that money
// is never taken for a table that was given away during the capture.
const finalizeLease = time.Minute

// Finalize confirms a held reservation. For a prime hold it checks the payment intent
// with the gateway (never the client's word), captures it, and then confirms.
func (s *Service) Finalize(ctx context.Context, p Partner, id string) (Reservation, error) {
	row, err := s.row(ctx, p, id)
	if err != nil {
		return Reservation{}, err
	}
	current := reservationFromRow(row)
	if current.Status == StatusConfirmed {
		if current.PendingChange != nil {
			return s.finalizeChange(ctx, p, row)
		}
		return current, nil // finalizing twice books and charges once
	}
	var intent payments.Intent
	if current.Payment != nil && current.Status == StatusHeld {
		intent, err = s.authorisePayment(ctx, p, current)
		if err != nil {
			s.cfg.Metrics.Payment(paymentOutcome(err))
			return Reservation{}, err
		}
	}
	now := s.now()
	confirmedHere := false
	row, venueMsg, err := s.mutateEmitting(ctx, p, id, func(tx *store.Tx, r *store.Reservation) (error, error) {
		confirmedHere = false
		if r.Status == string(StatusConfirmed) {
			return nil, nil // a concurrent finalize won; nothing more to do
		}
		if expired, err := expireIfDue(tx, r, now); err != nil || expired {
			return ErrHoldExpired, err
		}
		if r.Status != string(StatusHeld) {
			return stateError(r.Status, "finalize"), nil
		}
		if r.PaymentIntentID != nil {
			applyIntent(r, s.gateway.Name(), intent)
		}
		confirm(r, now)
		confirmedHere = true
		return nil, nil
	})
	if err != nil && intent.Status == payments.StatusSucceeded && !errors.Is(err, ErrNotFound) {
		// Money was captured but the booking did not happen: give it back at once.
		s.refundUnbooked(ctx, id, intent)
		s.cfg.Metrics.Payment("refunded_unbooked")
	}
	if err != nil {
		return Reservation{}, err
	}
	if confirmedHere {
		s.cfg.Metrics.Hold("finalized", 1)
		if intent.Status == payments.StatusSucceeded {
			s.cfg.Metrics.Payment("captured")
		}
	}
	return s.afterSync(ctx, p, row, venueMsg), nil
}

// afterSync tries the venue's message inline and answers with the reservation as it then
// is, venue sync included.
func (s *Service) afterSync(ctx context.Context, p Partner, row store.Reservation, venueMsg string) Reservation {
	if venueMsg == "" || s.cfg.VenueSync == nil {
		return reservationFromRow(row)
	}
	s.syncNow(ctx, venueMsg)
	if fresh, err := s.db.GetReservation(ctx, p.ID, row.ID); err == nil {
		row = fresh
	}
	return reservationFromRow(row)
}

// authorisePayment makes sure the hold's intent is captured, capturing it when it is
// authorised. Any other status is a PaymentError naming what the partner must do.
func (s *Service) authorisePayment(ctx context.Context, p Partner, r Reservation) (payments.Intent, error) {
	intent, err := s.gateway.Get(ctx, r.Payment.IntentID)
	if err != nil {
		return payments.Intent{}, fmt.Errorf("%w: read payment intent: %w", ErrPaymentProvider, err)
	}
	switch intent.Status {
	case payments.StatusSucceeded:
		return intent, nil
	case payments.StatusRequiresCapture:
	default:
		s.recordIntent(ctx, r.ID, intent)
		return intent, &PaymentError{Status: intent.Status, DeclineCode: intent.DeclineCode}
	}
	restore, err := s.leaseHold(ctx, p, r.ID)
	if err != nil {
		return payments.Intent{}, err
	}
	// A fresh key per attempt: Stripe replays a failed request's error under its key for
	// a day, and the intent's own state already makes a second capture impossible.
	captured, err := s.gateway.Capture(ctx, intent.ID, fmt.Sprintf("prima-capture-%s-%d", r.ID, s.now().UnixNano()))
	if err != nil {
		restore()
		if errors.Is(err, payments.ErrInvalidState) {
			return payments.Intent{}, &PaymentError{Status: intent.Status}
		}
		return payments.Intent{}, fmt.Errorf("%w: capture: %w", ErrPaymentProvider, err)
	}
	return captured, nil
}

// leaseHold pushes the hold's expiry out by finalizeLease if it would end sooner, and
// returns a function that puts the old expiry back (for a capture that failed).
func (s *Service) leaseHold(ctx context.Context, p Partner, id string) (func(), error) {
	now := s.now()
	var previous *time.Time
	_, err := s.mutate(ctx, p, id, func(tx *store.Tx, r *store.Reservation) (error, error) {
		if expired, err := expireIfDue(tx, r, now); err != nil || expired {
			return ErrHoldExpired, err
		}
		if r.Status != string(StatusHeld) {
			return stateError(r.Status, "finalize"), nil
		}
		if lease := now.Add(finalizeLease); r.ExpiresAt.Before(lease) {
			previous = r.ExpiresAt
			r.ExpiresAt = &lease
			r.UpdatedAt = now
		}
		return nil, nil
	})
	restore := func() {
		if previous == nil {
			return
		}
		_, err := s.mutate(context.WithoutCancel(ctx), p, id, func(_ *store.Tx, r *store.Reservation) (error, error) {
			if r.Status == string(StatusHeld) {
				r.ExpiresAt = previous
			}
			return nil, nil
		})
		if err != nil {
			s.log.WarnContext(ctx, "restore hold expiry", "reservation_id", id, "error", err)
		}
	}
	return restore, err
}

// recordIntent stores the intent's latest status on the reservation, whatever its status.
func (s *Service) recordIntent(ctx context.Context, id string, intent payments.Intent) {
	_, err := s.mutate(ctx, Partner{}, id, func(_ *store.Tx, r *store.Reservation) (error, error) {
		applyIntent(r, s.gateway.Name(), intent)
		return nil, nil
	})
	if err != nil {
		s.log.WarnContext(ctx, "record payment intent status", "reservation_id", id, "error", err)
	}
}

// Cancel releases a hold or cancels a confirmed booking; the table is free at once. A
// confirmed prime booking is refunded what its cancellation policy allows.
func (s *Service) Cancel(ctx context.Context, p Partner, id, reason string) (Reservation, error) {
	now := s.now()
	var wasHeld bool
	row, venueMsg, err := s.mutateEmitting(ctx, p, id, func(tx *store.Tx, r *store.Reservation) (error, error) {
		if expired, err := expireIfDue(tx, r, now); err != nil || expired {
			return ErrHoldExpired, err
		}
		switch Status(r.Status) {
		case StatusHeld:
			wasHeld = true
			r.Status = string(StatusReleased)
			r.ExpiresAt, r.HoldMaxAt = nil, nil
		case StatusConfirmed:
			r.Status = string(StatusCancelled)
			if err := endPendingChange(tx, r, now); err != nil {
				return nil, err
			}
			if paid := netPaid(*r); paid > 0 {
				if err := oweAcross(tx, r, reservationFromRow(*r).Policy.Refund(paid, r.StartsAt, now), now); err != nil {
					return nil, err
				}
			}
		case StatusCancelled, StatusReleased:
			return errAlreadyDone, nil
		default:
			return stateError(r.Status, "cancel"), nil
		}
		r.CancelReason = reason
		r.CancelledAt = &now
		r.UpdatedAt = now
		return nil, tx.ReleaseTableOf(r, now)
	})
	if errors.Is(err, errAlreadyDone) {
		return reservationFromRow(row), nil // cancelling twice is harmless
	}
	if err != nil {
		return Reservation{}, err
	}
	s.settleChangePayments(ctx, row.Payments)
	if row.PaymentIntentID != nil {
		if wasHeld {
			s.cancelIntent(ctx, row.ID, *row.PaymentIntentID)
		} else {
			s.payRefund(ctx, row)
		}
	}
	if row.PaymentIntentID != nil || len(row.Payments) > 0 {
		if fresh, err := s.db.GetReservation(ctx, p.ID, id); err == nil {
			row = fresh
		}
	}
	return s.afterSync(ctx, p, row, venueMsg), nil
}

var errAlreadyDone = errors.New("already done")

// ConfirmSandboxPayment stands in for Stripe.js on the partner's client: it confirms the
// sandbox intent of one of p's holds with a test payment method.
func (s *Service) ConfirmSandboxPayment(ctx context.Context, p Partner, intentID, paymentMethod string) (payments.Intent, error) {
	sandbox, ok := s.gateway.(*payments.Sandbox)
	if !ok {
		return payments.Intent{}, ErrSandboxNotEnabled
	}
	notFound := &NotFoundError{Kind: "payment intent", ID: intentID, Param: "payment_intent_id"}
	row, err := s.db.GetReservationByIntent(ctx, intentID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && row.PartnerID != p.ID) {
		return payments.Intent{}, notFound
	} else if err != nil {
		return payments.Intent{}, err
	}
	intent, err := sandbox.Confirm(ctx, intentID, paymentMethod)
	switch {
	case errors.Is(err, payments.ErrDeclined):
		s.recordIntent(ctx, row.ID, intent)
		return intent, &PaymentError{Declined: true, Status: intent.Status, DeclineCode: intent.DeclineCode}
	case errors.Is(err, payments.ErrInvalidState):
		return intent, &StateError{Status: Status(row.Status), Action: "confirm the payment of"}
	case errors.Is(err, payments.ErrNotFound):
		return payments.Intent{}, notFound
	case err != nil:
		return payments.Intent{}, fmt.Errorf("%w: %w", ErrPaymentProvider, err)
	}
	s.recordIntent(ctx, row.ID, intent)
	return intent, nil
}

// SandboxActive reports whether the sandbox gateway is in use.
func (s *Service) SandboxActive() bool {
	_, ok := s.gateway.(*payments.Sandbox)
	return ok
}

// confirmationAlphabet leaves out characters that read alike (0/O, 1/I/L).
const confirmationAlphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"

func newConfirmationCode() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	var sb strings.Builder
	sb.WriteString("PRM-")
	for _, c := range b {
		sb.WriteByte(confirmationAlphabet[int(c)%len(confirmationAlphabet)])
	}
	return sb.String()
}

// paymentOutcome names a failed authorisation for metrics.
func paymentOutcome(err error) string {
	var pe *PaymentError
	switch {
	case errors.As(err, &pe) && pe.Declined:
		return "declined"
	case errors.As(err, &pe):
		return "not_authorised"
	case errors.Is(err, ErrPaymentProvider):
		return "provider_error"
	}
	return "error"
}
