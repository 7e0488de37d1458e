package booking

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/prima-dining/partner-api/internal/idempotency"
	"github.com/prima-dining/partner-api/internal/ids"
	"github.com/prima-dining/partner-api/internal/webhooks"
	"github.com/prima-dining/partner-api/store"
)

// WatchStatus is where a watch stands.
type WatchStatus string

// Watch statuses.
const (
	WatchActive    WatchStatus = store.WatchActive
	WatchMatched   WatchStatus = store.WatchMatched
	WatchHeld      WatchStatus = store.WatchHeld
	WatchExpired   WatchStatus = store.WatchExpired
	WatchCancelled WatchStatus = store.WatchCancelled
)

// ErrWatchState: the watch is not active, so it cannot be cancelled.
var ErrWatchState = errors.New("booking: watch is not active")

// Watch is a partner's notify-me: tell it, or hold a table for its guest, when a table
// matching it frees up.
type Watch struct {
	ID               string
	Status           WatchStatus
	VenueID          string // "" for a city watch
	City             string // "" for a venue watch
	Date             string
	TimeFrom         string
	TimeTo           string
	PartySize        int
	Type             SlotType // "" for any
	Guest            Guest
	Notes            string
	PartnerReference string
	AutoHold         bool
	SlotID           string // once matched or held
	ReservationID    string // once held
	ExpiresAt        time.Time
	MatchedAt        *time.Time
	CancelledAt      *time.Time
	CreatedAt        time.Time
}

// WatchRequest is what a partner asks to watch. Exactly one of VenueID and City.
type WatchRequest struct {
	VenueID          string
	City             string
	Date             string
	TimeFrom         string
	TimeTo           string
	PartySize        int
	Type             SlotType
	Guest            Guest
	Notes            string
	PartnerReference string
	AutoHold         bool
}

// RenderWatch builds the body of a watch.matched delivery (the wire format lives in
// server/).
type RenderWatch func(messageID, eventType string, createdAt time.Time, w Watch) ([]byte, error)

// Watches are partners' watches and their matching with freed tables.
type Watches struct{ *core }

func watchFromRow(r store.Watch) Watch {
	w := Watch{
		ID: r.ID, Status: WatchStatus(r.Status), VenueID: r.VenueID, City: r.City,
		Date: r.LocalDate, TimeFrom: r.TimeFrom, TimeTo: r.TimeTo, PartySize: r.PartySize,
		Type:             SlotType(r.SlotType),
		Guest:            Guest{FirstName: r.GuestFirstName, LastName: r.GuestLastName, Email: r.GuestEmail, Phone: r.GuestPhone},
		Notes:            r.Notes,
		PartnerReference: r.PartnerReference, AutoHold: r.AutoHold,
		ExpiresAt: r.ExpiresAt.UTC(), MatchedAt: r.MatchedAt, CancelledAt: r.CancelledAt, CreatedAt: r.CreatedAt.UTC(),
	}
	if r.SlotID != nil {
		w.SlotID = *r.SlotID
	}
	if r.ReservationID != nil {
		w.ReservationID = *r.ReservationID
	}
	return w
}

// Create stores an active watch and matches it at once with a table already free (the
// oldest matching watch still comes first). The watch and the Idempotency-Key's recovery
// point commit together; a retry after a crash answers the watch as it stands.
func (s *Watches) Create(ctx context.Context, p Partner, req WatchRequest) (Watch, error) {
	defer s.db.NoteWrite(ctx, p.ID)
	key := idempotency.FromContext(ctx)
	if point, id := key.Resumed(); point == idempotency.PointApplied {
		return s.Get(ctx, p, id)
	}
	now := s.now()
	if (req.VenueID == "") == (req.City == "") {
		return Watch{}, &ParamError{Param: "venue_id", Message: "Give venue_id or city, not both."}
	}
	if req.TimeTo < req.TimeFrom {
		return Watch{}, &ParamError{Param: "time_to", Message: "time_to must not be before time_from."}
	}
	row := store.Watch{
		ID: ids.New("wat"), PartnerID: p.ID, TokenID: p.TokenID, VenueID: req.VenueID,
		LocalDate: req.Date, TimeFrom: req.TimeFrom, TimeTo: req.TimeTo, PartySize: req.PartySize,
		SlotType: string(req.Type), GuestFirstName: req.Guest.FirstName, GuestLastName: req.Guest.LastName,
		GuestEmail: req.Guest.Email, GuestPhone: req.Guest.Phone, Notes: req.Notes,
		PartnerReference: req.PartnerReference, AutoHold: req.AutoHold, Status: store.WatchActive,
		CreatedAt: now, UpdatedAt: now,
	}
	var zone string
	if req.VenueID != "" {
		v, err := s.db.GetVenue(ctx, scope(p), req.VenueID)
		if errors.Is(err, store.ErrNotFound) {
			return Watch{}, &NotFoundError{Kind: "venue", ID: req.VenueID, Param: "venue_id"}
		} else if err != nil {
			return Watch{}, err
		}
		zone = v.TimeZone
	} else {
		row.City, row.CityKey = strings.TrimSpace(req.City), strings.ToLower(strings.TrimSpace(req.City))
		z, err := s.db.VenueZoneInCity(ctx, scope(p), row.CityKey)
		if errors.Is(err, store.ErrNotFound) {
			return Watch{}, &ParamError{Param: "city", Message: fmt.Sprintf("You may sell no venue in %s.", req.City)}
		} else if err != nil {
			return Watch{}, err
		}
		zone = z
	}
	loc, err := time.LoadLocation(zone)
	if err != nil {
		loc = time.UTC
	}
	end, err := time.ParseInLocation(time.DateOnly+" 15:04", req.Date+" "+req.TimeTo, loc)
	if err != nil {
		return Watch{}, &ParamError{Param: "date", Message: "date must be a date (YYYY-MM-DD)."}
	}
	if !end.After(now) {
		return Watch{}, &ParamError{Param: "date", Message: "The watch's window has already passed."}
	}
	row.ExpiresAt = end
	if err := s.db.InsertWatch(ctx, &row, func(tx *store.Tx) error {
		return key.Record(tx, "", idempotency.PointApplied, row.ID)
	}); err != nil {
		return Watch{}, fmt.Errorf("booking: create watch: %w", err)
	}
	key.Committed(idempotency.PointApplied)
	// A table already free goes to the oldest watch it matches, perhaps this one.
	free, err := s.db.FreeSlotsFor(ctx, scope(p), row, now)
	if err != nil {
		s.log.WarnContext(ctx, "free slots for a new watch", "watch_id", row.ID, "error", err)
	}
	for _, slotID := range free {
		if _, err := s.matchSlot(ctx, slotID); err != nil {
			s.log.WarnContext(ctx, "match a new watch", "watch_id", row.ID, "slot_id", slotID, "error", err)
			break
		}
		cur, err := s.db.GetWatch(ctx, p.ID, row.ID)
		if err != nil || cur.Status != store.WatchActive {
			break
		}
	}
	return s.Get(ctx, p, row.ID)
}

// Get returns one of p's watches; a NotFoundError for another partner's.
func (s *Watches) Get(ctx context.Context, p Partner, id string) (Watch, error) {
	row, err := s.db.GetWatch(ctx, p.ID, id)
	if errors.Is(err, store.ErrNotFound) {
		return Watch{}, &NotFoundError{Kind: "watch", ID: id, Param: "watch_id"}
	} else if err != nil {
		return Watch{}, err
	}
	return watchFromRow(row), nil
}

// List lists p's watches, newest first (of one status, unless status is "").
func (s *Watches) List(ctx context.Context, p Partner, status string, page store.Page) ([]Watch, bool, error) {
	rows, more, err := s.db.ListWatches(ctx, p.ID, status, page)
	if err != nil {
		return nil, false, PageError(err, page)
	}
	out := make([]Watch, 0, len(rows))
	for _, r := range rows {
		out = append(out, watchFromRow(r))
	}
	return out, more, nil
}

// Cancel stops one of p's active watches; ErrWatchState if it is not active.
func (s *Watches) Cancel(ctx context.Context, p Partner, id string) (Watch, error) {
	defer s.db.NoteWrite(ctx, p.ID)
	key := idempotency.FromContext(ctx)
	if point, res := key.Resumed(); point == idempotency.PointApplied && res == id {
		return s.Get(ctx, p, id)
	}
	row, ok, err := s.db.CancelWatch(ctx, p.ID, id, s.now(), func(tx *store.Tx) error {
		return key.Record(tx, "", idempotency.PointApplied, id)
	})
	if errors.Is(err, store.ErrNotFound) {
		return Watch{}, &NotFoundError{Kind: "watch", ID: id, Param: "watch_id"}
	} else if err != nil {
		return Watch{}, err
	}
	if !ok {
		return Watch{}, fmt.Errorf("%w: it is %s", ErrWatchState, row.Status)
	}
	key.Committed(idempotency.PointApplied)
	return watchFromRow(row), nil
}

// errWatchTaken: the watch stopped being active while its hold was being made; the
// hold is rolled back.
var errWatchTaken = errors.New("booking: watch no longer active")

// matchSlot gives the slot's free tables to the watches that match it, oldest first
// across all partners, one table per watch: a watch without auto_hold is told
// (watch.matched) and the table stays free for whoever books first; one with
// auto_hold gets a hold for its guest, made by Hold itself (its cap, its payment
// intent), which records the watch as held in the hold's own transaction. It returns
// how many watches it matched.
func (s *core) matchSlot(ctx context.Context, slotID string) (int, error) {
	ctx = idempotency.NewContext(ctx, nil) // never the caller's Idempotency-Key
	matched, told := 0, 0
	skip := map[string]bool{}
	for range 50 {
		now := s.now()
		var (
			slot  store.Slot
			cands []store.Watch
		)
		err := s.db.Transact(ctx, func(tx *store.Tx) error {
			cands = nil
			rows, err := tx.SlotsForFeed([]string{slotID})
			if err != nil || len(rows) == 0 {
				return err
			}
			slot = rows[0]
			free := slot.Tables - slot.TablesTaken - slot.TablesReserved - told
			if slot.Status != "open" || !slot.StartsAt.After(now) || free <= 0 {
				return nil
			}
			cands, err = tx.MatchingWatches(slot, now, len(skip)+1)
			return err
		})
		if err != nil {
			return matched, err
		}
		var w *store.Watch
		for i := range cands {
			if !skip[cands[i].ID] {
				w = &cands[i]
				break
			}
		}
		if w == nil {
			return matched, nil
		}
		skip[w.ID] = true
		if !w.AutoHold {
			ok, err := s.tellWatch(ctx, *w, slot, now)
			if err != nil {
				return matched, err
			}
			if ok {
				matched++
				told++
			}
			continue
		}
		err = s.holdForWatch(ctx, *w, slot)
		var limit *HoldLimitError
		switch {
		case err == nil:
			matched++
		case errors.Is(err, errWatchTaken):
		case errors.Is(err, ErrSlotUnavailable), errors.Is(err, ErrSlotNotBookable):
			return matched, nil
		case errors.As(err, &limit), errors.Is(err, ErrPaymentProvider), errors.Is(err, ErrNotFound), errors.Is(err, ErrPartySize):
			// This watch cannot take the table now; the next one in line may.
			s.log.InfoContext(ctx, "watch skipped", "watch_id", w.ID, "slot_id", slotID, "reason", err)
		default:
			return matched, err
		}
	}
	return matched, nil
}

// tellWatch marks a watch without auto_hold matched with the slot and writes its
// watch.matched events, in one transaction.
func (s *core) tellWatch(ctx context.Context, w store.Watch, slot store.Slot, now time.Time) (bool, error) {
	var ok bool
	err := s.db.Transact(ctx, func(tx *store.Tx) error {
		row, done, err := tx.SetWatchMatched(w.ID, store.WatchMatched, slot.ID, nil, now)
		if err != nil || !done {
			ok = false
			return err
		}
		ok = true
		return s.emitWatch(tx, row, now)
	})
	return ok, err
}

// holdForWatch holds a table of the slot for the watch's guest through Hold, as the
// watch's partner; the watch becomes held, with its watch.matched events, in the hold's
// transaction.
func (s *core) holdForWatch(ctx context.Context, w store.Watch, slot store.Slot) error {
	p := Partner{ID: w.PartnerID, TokenID: w.TokenID, AllVenues: w.PartnerAllVenues}
	req := HoldRequest{
		SlotID: slot.ID, PartySize: w.PartySize,
		Guest: Guest{FirstName: w.GuestFirstName, LastName: w.GuestLastName, Email: w.GuestEmail, Phone: w.GuestPhone},
		Notes: w.Notes, PartnerReference: w.PartnerReference,
		inTx: func(tx *store.Tx, r *store.Reservation) error {
			row, ok, err := tx.SetWatchMatched(w.ID, store.WatchHeld, slot.ID, &r.ID, r.CreatedAt)
			if err != nil {
				return err
			}
			if !ok {
				return errWatchTaken
			}
			return s.emitWatch(tx, row, r.CreatedAt)
		},
	}
	_, err := (&Reservations{s}).Hold(ctx, p, req)
	return err
}

// emitWatch writes the watch.matched event of the watch (GET /v1/events lists it) and its
// delivery to each of the partner's endpoints that subscribes to it.
func (s *core) emitWatch(tx *store.Tx, row store.Watch, now time.Time) error {
	if s.cfg.RenderWatch == nil {
		return errors.New("booking: no RenderWatch configured")
	}
	endpoints, err := tx.EnabledWebhookEndpoints(row.PartnerID)
	if err != nil {
		return err
	}
	w := watchFromRow(row)
	return tx.EmitRenderedEvent(row.PartnerID, webhooks.EventWatchMatched, w.ReservationID, w.VenueID, endpoints,
		func(e store.WebhookEndpoint) bool { return e.Subscribes(webhooks.EventWatchMatched) }, now,
		func(id string) ([]byte, error) { return s.cfg.RenderWatch(id, webhooks.EventWatchMatched, now, w) })
}

// ExpireWatches expires the watches whose window has passed.
func (s *core) expireWatches(ctx context.Context, now time.Time) (int, error) {
	total := 0
	for {
		n, err := s.db.ExpireWatches(ctx, now, 500)
		total += n
		if err != nil || n < 500 {
			return total, err
		}
	}
}
