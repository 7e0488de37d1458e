package booking

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync"
	"time"

	"github.com/prima-dining/partner-api/internal/idempotency"
	"github.com/prima-dining/partner-api/internal/ids"
	"github.com/prima-dining/partner-api/payments"
	"github.com/prima-dining/partner-api/store"
)

// Reservations is what partners do with reservations: search venues and slots, hold,
// extend, finalize, cancel, read, list, quote and read the history.
type Reservations struct{ *core }

// ListVenues lists the venues p may sell. The read replica may serve it (store.OwnWrites).
func (s *Reservations) ListVenues(ctx context.Context, p Partner, f store.VenueFilter, page store.Page) ([]Venue, bool, error) {
	var (
		rows []store.Venue
		more bool
	)
	err := s.db.Read(ctx, p.ID, store.OwnWrites, func(r *store.DB) (err error) {
		rows, more, err = r.ListVenues(ctx, scope(p), f, page)
		return err
	})
	if err != nil {
		return nil, false, PageError(err, page)
	}
	out := make([]Venue, 0, len(rows))
	for _, r := range rows {
		out = append(out, VenueFromRow(r))
	}
	return out, more, nil
}

// GetVenue returns one venue p may sell. The read replica may serve it (store.OwnWrites).
func (s *Reservations) GetVenue(ctx context.Context, p Partner, id string) (Venue, error) {
	v, _, err := s.GetVenueWithMemo(ctx, p, id)
	return v, err
}

// GetVenueWithMemo is GetVenue, with the Memo kept beside the venue while this process's
// catalogue keeps it (nil when it does not): a caller keeps there what it derives from
// the venue alone, whoever asks (the server, its encoding of the answer in a language),
// and it is dropped when the venue changes.
func (s *Reservations) GetVenueWithMemo(ctx context.Context, p Partner, id string) (Venue, *Memo, error) {
	row, memo, err := s.catalog.venue(ctx, scope(p), id)
	if errors.Is(err, store.ErrNotFound) {
		return Venue{}, nil, &NotFoundError{Kind: "venue", ID: id, Param: "venue_id"}
	} else if err != nil {
		return Venue{}, nil, err
	}
	return VenueFromRow(row), memo, nil
}

// SearchPage is a page of Search.
type SearchPage struct {
	// Slots of a page answered from the cache (Memo not nil) are shared with every
	// other caller the answer is served to: read them, never change them.
	Slots []Slot
	More  bool
	// Memo is where a caller keeps what it derives from the page (the server, its
	// encoding) while the page is a cached answer (served from the cache, or just read
	// and kept there); nil when it is not one.
	Memo *Memo
}

// Memo keeps what callers derive from one cached search answer or venue, by key (the
// server's encoding of it in a language). It lives as long as the answer or venue is
// served from the cache and is dropped with it, so what it holds is never staler than
// what it was derived from. It is safe for concurrent use, and a nil Memo keeps nothing.
type Memo struct{ m sync.Map }

// Load returns the value kept under key.
func (m *Memo) Load(key string) (any, bool) {
	if m == nil {
		return nil, false
	}
	return m.m.Load(key)
}

// Store keeps v under key.
func (m *Memo) Store(key string, v any) {
	if m != nil {
		m.m.Store(key, v)
	}
}

// Search lists bookable slots. q.Now is set here. The read replica may serve it
// (store.OwnWrites): the availability it shows may be a moment old, never older than the
// partner's own writes through this process; a hold decides on the primary.
func (s *Reservations) Search(ctx context.Context, p Partner, q store.SlotQuery, page store.Page) (SearchPage, error) {
	if q.TimeFrom != "" && q.TimeTo != "" && q.TimeTo < q.TimeFrom {
		return SearchPage{}, &ParamError{Param: "time_to", Message: "time_to must not be before time_from."}
	}
	key := newSearchKey(p, q, page)
	if hit, ok := s.searches.get(key); ok {
		return hit, nil
	}
	ticket := s.searches.begin()
	q.Now = s.now()
	var out SearchPage
	err := s.db.Read(ctx, p.ID, store.OwnWrites, func(r *store.DB) error {
		found, err := r.SearchSlotsPage(ctx, scope(p), q, page)
		if err != nil {
			return err
		}
		out = SearchPage{Slots: slotsFromRows(found.Slots), More: found.More}
		// Kept before the partner's own allocations are counted in; an answer is kept only
		// when no slot has tables held back for allocations, which the count leaves as
		// they are, so the kept answer is this one and takes its memo.
		out.Memo = s.searches.put(ticket, key, found, out.Slots)
		return countOwnAllocations(ctx, r, p, out.Slots, q.Now)
	})
	if err != nil {
		return SearchPage{}, PageError(err, page)
	}
	return out, nil
}

// HoldRequest is what a partner asks to hold.
type HoldRequest struct {
	SlotID           string
	PartySize        int
	Guest            Guest
	Answers          Answers // to the venue's booking questions
	Notes            string
	PartnerReference string
	// inTx runs in the hold's transaction once the reservation is written (a watch's
	// hold records itself on the watch): its error undoes the hold.
	inTx        func(tx *store.Tx, r *store.Reservation) error
	answersJSON string // Answers as checked and stored
}

// Hold takes one table of the slot for the party and, for a prime slot, creates a
// manual-capture payment intent. The table is taken by a conditional update inside the
// transaction, so concurrent holds can never exceed the slot's tables.
//
// The reservation is written in the same transaction as the Idempotency-Key's recovery
// point (idempotency.PointHeld, naming it), so a retry of a request that died after the
// commit resumes with that reservation (resumeHold) instead of taking a second table.
func (s *Reservations) Hold(ctx context.Context, p Partner, req HoldRequest) (Reservation, error) {
	defer s.db.NoteWrite(ctx, p.ID) // its reads through this process see the write (store.OwnWrites)
	key := idempotency.FromContext(ctx)
	if point, id := key.Resumed(); point == idempotency.PointHeld {
		return s.resumeHold(ctx, p, id)
	}
	lang, err := CanonicalLanguage(req.Guest.Language, "guest.language")
	if err != nil {
		return Reservation{}, err
	}
	req.Guest.Language = lang
	now := s.now()
	var (
		row       store.Reservation
		slot      store.Slot
		noTable   bool
		holdError error
	)
	err = s.db.Transact(ctx, func(tx *store.Tx) error {
		noTable = false
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
		answers, err := checkAnswers(QuestionsFromJSON(slot.Venue.Questions), SlotType(slot.Type), maps.Clone(req.Answers))
		if err != nil {
			holdError = err
			return nil
		}
		if req.answersJSON, err = answersJSON(answers); err != nil {
			return err
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
		if took && s.sandboxPlays(req.PartnerReference, payments.ScenarioSlotTaken) {
			// Another partner was faster: nothing of this transaction commits.
			return errSlotTaken
		}
		if !took {
			noTable = true
			return nil
		}
		row = s.newReservation(p, req, slot, now)
		if err := startHold(&row); err != nil {
			return err
		}
		if allocationID != "" {
			row.AllocationID = &allocationID
		}
		if err := tx.InsertReservation(&row); err != nil {
			return err
		}
		if err := insertHistory(tx, row.ID, historyHeld, p.TokenID,
			map[string]FieldChange{"status": {To: string(StatusHeld)}}, now); err != nil {
			return err
		}
		if req.inTx != nil {
			if err := req.inTx(tx, &row); err != nil {
				return err
			}
		}
		return key.Record(tx, "", idempotency.PointHeld, row.ID)
	})
	if errors.Is(err, errSlotTaken) {
		err, noTable = nil, true
	}
	if err != nil {
		return Reservation{}, fmt.Errorf("booking: hold %s: %w", req.SlotID, err)
	}
	if row.ID != "" && !noTable {
		key.Committed(idempotency.PointHeld)
	}
	if holdError != nil {
		return Reservation{}, holdError
	}
	if noTable {
		return Reservation{}, s.unavailable(ctx, p, slot, req.PartySize, now)
	}
	if paid(slot) {
		if err := s.attachPayment(ctx, &row, slot); err != nil {
			return Reservation{}, err
		}
	}
	if guaranteed(slot) {
		if err := s.attachSetup(ctx, &row, slot); err != nil {
			return Reservation{}, err
		}
	}
	row.Venue = slot.Venue
	s.cfg.Metrics.Hold("created", 1)
	return reservationFromRow(row), nil
}

func (s *core) newReservation(p Partner, req HoldRequest, slot store.Slot, now time.Time) store.Reservation {
	expires := now.Add(s.cfg.HoldTTL)
	holdMax := now.Add(s.cfg.HoldMax)
	r := store.Reservation{
		ID:                     ids.New("res"),
		PartnerID:              p.ID,
		TokenID:                p.TokenID,
		SlotID:                 slot.ID,
		VenueID:                slot.VenueID,
		PartySize:              req.PartySize,
		GuestFirstName:         req.Guest.FirstName,
		GuestLastName:          req.Guest.LastName,
		GuestEmail:             req.Guest.Email,
		GuestPhone:             req.Guest.Phone,
		GuestLanguage:          req.Guest.Language,
		GuestLoyaltyNumber:     req.Guest.LoyaltyNumber,
		GuestRoomNumber:        req.Guest.RoomNumber,
		GuestMarketingConsent:  req.Guest.MarketingConsent,
		GuestReference:         req.Guest.Reference,
		Answers:                req.answersJSON,
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
	bookedPrice(&r, slot, chargesOf(slot.Venue))
	if d := slotDeposit(slot); d.Per != "" {
		r.DepositAmount, r.DepositPer = d.Amount, string(d.Per)
	}
	if g := slotGuarantee(slot); g.Per != "" {
		r.PaymentPolicy, r.DepositAmount, r.DepositPer = string(PolicyCardGuarantee), g.Amount, string(g.Per)
	}
	return r
}

// errSlotTaken rolls back a sandbox hold playing payments.ScenarioSlotTaken.
var errSlotTaken = errors.New("booking: sandbox: slot taken between search and hold")

// sandboxPlays reports whether the sandbox gateway is in use and partnerReference names
// scenario: a sandbox-only magic value (never played with a real gateway).
func (s *core) sandboxPlays(partnerReference, scenario string) bool {
	_, sandbox := s.gateway.(*payments.Sandbox)
	return sandbox && partnerReference == scenario
}

// resumeHold finishes a hold whose first run committed the reservation id and then died:
// it attaches the payment intent if the run died before it could (the intent's
// idempotency key is the reservation's, so the provider never makes two), and answers
// the reservation as it now stands.
func (s *Reservations) resumeHold(ctx context.Context, p Partner, id string) (Reservation, error) {
	row, err := s.row(ctx, p, id)
	if err != nil {
		return Reservation{}, fmt.Errorf("booking: resume hold %s: %w", id, err)
	}
	if (row.SlotType == string(SlotPrime) || depositOf(row).Per != "") && row.PaymentIntentID == nil && row.Status == string(StatusHeld) {
		slot, err := s.db.GetSlot(ctx, scope(p), row.SlotID)
		if err != nil {
			return Reservation{}, fmt.Errorf("booking: resume hold %s: %w", id, err)
		}
		if err := s.attachPayment(ctx, &row, slot); err != nil {
			return Reservation{}, err
		}
	}
	if row.PaymentPolicy == string(PolicyCardGuarantee) && row.SetupIntentID == nil && row.Status == string(StatusHeld) {
		slot, err := s.db.GetSlot(ctx, scope(p), row.SlotID)
		if err != nil {
			return Reservation{}, fmt.Errorf("booking: resume hold %s: %w", id, err)
		}
		if err := s.attachSetup(ctx, &row, slot); err != nil {
			return Reservation{}, err
		}
	}
	return reservationFromRow(row), nil
}

// unavailable builds the slot_unavailable error with up to three nearby alternatives.
func (s *core) unavailable(ctx context.Context, p Partner, slot store.Slot, partySize int, now time.Time) error {
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
func (s *core) attachPayment(ctx context.Context, row *store.Reservation, slot store.Slot) error {
	price := priceOfSlot(slot)
	metadata := map[string]string{
		"reservation_id": row.ID,
		"partner_id":     row.PartnerID,
		"venue_id":       row.VenueID,
		"slot_id":        row.SlotID,
	}
	if row.PartnerReference != "" {
		// The partner's own reference, to reconcile; the sandbox reads its scenarios here.
		metadata["partner_reference"] = row.PartnerReference
	}
	amount, currency := price.Total(row.PartySize), price.Currency
	if slot.Type != string(SlotPrime) {
		amount, currency = depositOf(*row).Total(row.PartySize), slotCurrency(slot)
	}
	intent, err := s.gateway.Create(ctx, payments.CreateIntent{
		Amount:         amount,
		Currency:       currency,
		Description:    fmt.Sprintf("PRIMA reservation %s at %s", row.ID, slot.Venue.Name),
		Metadata:       metadata,
		IdempotencyKey: paymentKey("hold", row.ID, row.PaymentAttempt),
	})
	if err != nil {
		// The hold is undone, and so is its recovery point: a retry with the same key
		// tries a new hold, as if this one had never been.
		undo := func(tx *store.Tx) error {
			return idempotency.FromContext(ctx).Record(tx, idempotency.PointHeld, "", "")
		}
		if rerr := s.releaseHold(ctx, row.ID, "payment_provider_error", undo); rerr != nil {
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

// releaseHold moves a held reservation to released and gives its table back; a
// reservation that is no longer held is left as it is.
func (s *core) releaseHold(ctx context.Context, id, reason string, also ...func(*store.Tx) error) error {
	now := s.now()
	return s.db.Transact(ctx, func(tx *store.Tx) error {
		for _, fn := range also {
			if err := fn(tx); err != nil {
				return err
			}
		}
		r, err := tx.GetReservation("", id)
		if err != nil {
			return err
		}
		if release(&r, reason, now) != nil {
			return nil // not a hold any more: nothing to release
		}
		if ok, err := tx.UpdateReservation(&r, string(StatusHeld)); err != nil || !ok {
			return err
		}
		return tx.ReleaseTableOf(&r, now)
	})
}

func (s *core) cancelIntent(ctx context.Context, reservationID, intentID string) {
	attempt := s.paymentAttempt(ctx, reservationID)
	intent, err := s.gateway.Cancel(ctx, intentID, paymentKey("cancel", reservationID, attempt))
	if err != nil {
		// The sweeper retries every ended hold whose intent is still open, after a backoff.
		s.paymentFailed(ctx, reservationID, attempt, err)
		s.log.WarnContext(ctx, "cancel payment intent", "reservation_id", reservationID, "payment_intent_id", intentID, "error", err)
		return
	}
	s.recordIntent(ctx, reservationID, intent)
}

// Get returns one of p's reservations.
func (s *Reservations) Get(ctx context.Context, p Partner, id string) (Reservation, error) {
	row, err := s.row(ctx, p, id)
	if err != nil {
		return Reservation{}, err
	}
	return reservationFromRow(row), nil
}

// List lists p's reservations, newest first. The read replica may serve it once it has
// replayed every write committed before the list began, whichever process made it
// (store.Latest).
func (s *Reservations) List(ctx context.Context, p Partner, f store.ReservationFilter, page store.Page) ([]Reservation, bool, error) {
	if f.DateFrom != "" && f.DateTo != "" && f.DateTo < f.DateFrom {
		return nil, false, &ParamError{Param: "date_to", Message: "date_to must not be before date_from."}
	}
	var (
		rows []store.Reservation
		more bool
	)
	err := s.db.Read(ctx, p.ID, store.Latest, func(r *store.DB) (err error) {
		rows, more, err = r.ListReservations(ctx, p.ID, f, page)
		return err
	})
	if err != nil {
		return nil, false, PageError(err, page)
	}
	return reservationsFromRows(rows), more, nil
}

// Extend moves a hold's expiry to one hold period from now, capped at HoldMaxAt.
func (s *Reservations) Extend(ctx context.Context, p Partner, id string) (Reservation, error) {
	defer s.db.NoteWrite(ctx, p.ID) // its reads through this process see the write (store.OwnWrites)
	if r, ok, err := s.applied(ctx, p, id); ok {
		return r, err // extended once already under this Idempotency-Key
	}
	now := s.now()
	row, err := s.update(ctx, p, id, recorded(ctx, func(tx *store.Tx, r *store.Reservation) error {
		if err := expireOverdue(tx, r, now); err != nil {
			return err
		}
		if r.Status != string(StatusHeld) {
			return refuse(stateError(Status(r.Status), "extend"))
		}
		next := now.Add(s.cfg.HoldTTL)
		if r.HoldMaxAt != nil && next.After(*r.HoldMaxAt) {
			next = *r.HoldMaxAt
		}
		if !next.After(*r.ExpiresAt) {
			return refuse(ErrExtensionLimit)
		}
		r.ExpiresAt = &next
		r.UpdatedAt = now
		return nil
	}))
	if err != nil {
		return Reservation{}, err
	}
	return reservationFromRow(row), nil
}

// finalizeLease keeps a hold from expiring while its payment is captured, so that money
// is never taken for a table that was given away during the capture.
const finalizeLease = time.Minute

// Finalize confirms a held reservation. For a prime hold it checks the payment intent
// with the gateway (never the client's word), captures it, and then confirms.
func (s *Reservations) Finalize(ctx context.Context, p Partner, id string) (Reservation, error) {
	defer s.db.NoteWrite(ctx, p.ID) // its reads through this process see the write (store.OwnWrites)
	if r, ok, err := s.applied(ctx, p, id); ok {
		return r, err // confirmed once already under this Idempotency-Key
	}
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
	var setup payments.SetupIntent
	if row.SetupIntentID != nil && current.Status == StatusHeld {
		if setup, err = s.verifySetup(ctx, row); err != nil {
			return Reservation{}, err
		}
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
	row, venueMsg, err := s.updateNotifying(ctx, p, id, recorded(ctx, func(tx *store.Tx, r *store.Reservation) error {
		confirmedHere = false
		if r.Status == string(StatusConfirmed) {
			return nil // a concurrent finalize won; nothing more to do
		}
		if err := expireOverdue(tx, r, now); err != nil {
			return err
		}
		if r.PaymentIntentID != nil {
			applyIntent(r, s.gateway.Name(), intent)
		}
		if setup.ID != "" {
			r.SetupStatus, r.CardCustomer, r.CardPaymentMethod = setup.Status, setup.Customer, setup.PaymentMethod
		}
		if err := confirm(r, now); err != nil {
			return refuse(err)
		}
		confirmedHere = true
		return nil
	}))
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
func (s *core) afterSync(ctx context.Context, p Partner, row store.Reservation, venueMsg string) Reservation {
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
func (s *core) authorisePayment(ctx context.Context, p Partner, r Reservation) (payments.Intent, error) {
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
	// The key is the attempt's: a finalize retried after a timeout sends it again, and a
	// capture failure Stripe stored moves the attempt on (paymentFailed).
	attempt := s.paymentAttempt(ctx, r.ID)
	captured, err := s.gateway.Capture(ctx, intent.ID, paymentKey("capture", r.ID, attempt))
	if err != nil {
		s.paymentFailed(ctx, r.ID, attempt, err)
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
func (s *core) leaseHold(ctx context.Context, p Partner, id string) (func(), error) {
	now := s.now()
	var previous *time.Time
	_, err := s.update(ctx, p, id, func(tx *store.Tx, r *store.Reservation) error {
		if err := expireOverdue(tx, r, now); err != nil {
			return err
		}
		if r.Status != string(StatusHeld) {
			return refuse(stateError(Status(r.Status), "finalize"))
		}
		if lease := now.Add(finalizeLease); r.ExpiresAt.Before(lease) {
			previous = r.ExpiresAt
			r.ExpiresAt = &lease
			r.UpdatedAt = now
		}
		return nil
	})
	restore := func() {
		if previous == nil {
			return
		}
		_, err := s.update(context.WithoutCancel(ctx), p, id, func(_ *store.Tx, r *store.Reservation) error {
			if r.Status == string(StatusHeld) {
				r.ExpiresAt = previous
			}
			return nil
		})
		if err != nil {
			s.log.WarnContext(ctx, "restore hold expiry", "reservation_id", id, "error", err)
		}
	}
	return restore, err
}

// recordIntent stores the intent's latest status on the reservation, whatever its status.
func (s *core) recordIntent(ctx context.Context, id string, intent payments.Intent) {
	_, err := s.update(ctx, Partner{}, id, func(_ *store.Tx, r *store.Reservation) error {
		applyIntent(r, s.gateway.Name(), intent)
		return nil
	})
	if err != nil {
		s.log.WarnContext(ctx, "record payment intent status", "reservation_id", id, "error", err)
	}
}

// Cancel releases a hold or cancels a confirmed booking; the table is free at once. A
// confirmed prime booking is refunded what its cancellation policy allows.
func (s *Reservations) Cancel(ctx context.Context, p Partner, id, reason string) (Reservation, error) {
	defer s.db.NoteWrite(ctx, p.ID) // its reads through this process see the write (store.OwnWrites)
	now := s.now()
	if r, ok, err := s.applied(ctx, p, id); ok {
		// Cancelled under this Idempotency-Key already; the sweeper cancels or refunds
		// the payment if the first run died before it could.
		return r, err
	}
	var wasHeld bool
	row, venueMsg, err := s.updateNotifying(ctx, p, id, recorded(ctx, func(tx *store.Tx, r *store.Reservation) error {
		if err := expireOverdue(tx, r, now); err != nil {
			return err
		}
		from := Status(r.Status)
		if from == StatusCancelled || from == StatusReleased {
			return refuse(errAlreadyDone)
		}
		if err := cancel(r, reason, now); err != nil {
			return refuse(err)
		}
		wasHeld = from == StatusHeld
		if from == StatusConfirmed {
			if err := endPendingChange(tx, r, now); err != nil {
				return err
			}
			if paid := netPaid(*r); paid > 0 {
				if err := oweAcross(tx, r, reservationFromRow(*r).Policy.Refund(paid, r.StartsAt, now), now); err != nil {
					return err
				}
			}
			if insideFeeWindow(*r, now) {
				feeDue(r, FeeReasonLateCancel, now)
			}
		}
		return tx.ReleaseTableOf(r, now)
	}))
	if errors.Is(err, errAlreadyDone) {
		return reservationFromRow(row), nil // cancelling twice is harmless
	}
	if err != nil {
		return Reservation{}, err
	}
	s.settleChangePayments(ctx, row.Payments)
	if row.FeeStatus == FeePending {
		row = s.chargeFee(ctx, row)
	}
	if row.PaymentIntentID != nil {
		if wasHeld {
			s.cancelIntent(ctx, row.ID, *row.PaymentIntentID)
		} else {
			s.payRefund(ctx, row)
		}
	}
	if wasHeld && setupOpen(row) {
		s.cancelSetup(ctx, row)
	}
	if row.PaymentIntentID != nil || len(row.Payments) > 0 || row.SetupIntentID != nil {
		if fresh, err := s.db.GetReservation(ctx, p.ID, id); err == nil {
			row = fresh
		}
	}
	return s.afterSync(ctx, p, row, venueMsg), nil
}

var errAlreadyDone = errors.New("already done")

// Quote is what cancelling a reservation now would do to its payment.
type Quote struct {
	Reservation Reservation
	Cancellable bool
	Currency    string
	Refund      int64
	Fee         int64
	// FreeUntil is when free cancellation ends; zero when cancelling is always free.
	FreeUntil time.Time
}

// Quote says what cancelling now would refund and keep.
func (s *core) Quote(ctx context.Context, p Partner, id string) (Quote, error) {
	row, err := s.row(ctx, p, id)
	if err != nil {
		return Quote{}, err
	}
	r := reservationFromRow(row)
	q := Quote{Reservation: r, Cancellable: r.Status == StatusHeld || r.Status == StatusConfirmed}
	if r.Policy.FeeType != FeeNone && r.Policy.FeeType != "" {
		q.FreeUntil = r.StartsAt.Add(-time.Duration(r.Policy.FreeUntilHoursBefore) * time.Hour)
	}
	if len(r.Payments) == 0 {
		return q, nil
	}
	q.Currency = r.Payments[0].Currency
	if r.Status == StatusConfirmed {
		paid := netPaid(row)
		q.Refund = r.Policy.Refund(paid, r.StartsAt, s.now())
		q.Fee = paid - q.Refund
	}
	return q, nil
}

// countOwnAllocations takes the unsold tables of p's own allocations out of each slot's
// TablesReserved, so TablesLeft counts them as p's. It reads db, the handle the slots
// were read from.
func countOwnAllocations(ctx context.Context, db *store.DB, p Partner, slots []Slot, now time.Time) error {
	var ids []string
	for _, sl := range slots {
		if sl.TablesReserved > 0 {
			ids = append(ids, sl.ID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	own, err := db.PartnerAllocationsFree(ctx, p.ID, ids, now)
	if err != nil {
		return err
	}
	for i := range slots {
		slots[i].TablesReserved = max(0, slots[i].TablesReserved-own[slots[i].ID])
	}
	return nil
}

// History lists one of p's reservations' history, oldest first. The reservation is read
// from the primary; its events may come from the read replica once it has replayed every
// write committed before the list began (store.Latest).
func (s *Reservations) History(ctx context.Context, p Partner, id string, page store.Page) ([]HistoryEvent, bool, error) {
	if _, err := s.row(ctx, p, id); err != nil {
		return nil, false, err
	}
	var (
		rows []store.ReservationEvent
		more bool
	)
	err := s.db.Read(ctx, p.ID, store.Latest, func(r *store.DB) (err error) {
		rows, more, err = r.ListReservationEvents(ctx, id, page)
		return err
	})
	if err != nil {
		return nil, false, PageError(err, page)
	}
	out := make([]HistoryEvent, 0, len(rows))
	for _, r := range rows {
		ev := HistoryEvent{ID: r.ID, ReservationID: r.ReservationID, Type: r.Type, TokenID: r.TokenID, CreatedAt: r.CreatedAt.UTC()}
		if err := json.Unmarshal([]byte(r.Changes), &ev.Changes); err != nil {
			return nil, false, fmt.Errorf("booking: history %s: %w", r.ID, err)
		}
		out = append(out, ev)
	}
	return out, more, nil
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

// ResyncVenue retries the failed venue-platform sync of one of p's reservations: its
// latest venue message goes back to pending and is tried at once (up to the inline
// deadline); the answer shows the new sync status (synced, or pending with the worker
// retrying). A sync that has not failed is a *VenueSyncStateError.
func (s *Reservations) ResyncVenue(ctx context.Context, p Partner, id string) (Reservation, error) {
	r, err := s.Get(ctx, p, id)
	if err != nil {
		return Reservation{}, err
	}
	if r.VenueSync.Status != SyncFailed {
		return Reservation{}, &VenueSyncStateError{Status: r.VenueSync.Status}
	}
	msgID, err := s.db.RetryFailedVenueSync(ctx, r.ID, s.now())
	if err != nil {
		return Reservation{}, err
	}
	if msgID == "" {
		// Another request retried it first, or the worker is at it: report what is.
		return s.Get(ctx, p, id)
	}
	s.syncNow(ctx, msgID)
	return s.Get(ctx, p, id)
}
