package booking

import (
	"time"

	"github.com/prima-dining/partner-api/store"
)

// The reservation state machine. Every change of a reservation's status is made in this
// file, by transition, on a row read in the transaction that writes it back with a
// conditional update from the status it was read in (store.Tx.UpdateReservation, or the
// store's own conditional update for the sweeper's expiries), so two transactions never
// both move one reservation. TestStatusWrittenOnlyByLifecycle fails the build's tests if
// a status is written anywhere else in this package.

// Status is a reservation's place in its lifecycle.
type Status string

// Reservation statuses: held → confirmed → cancelled | completed | no_show, and
// held → expired | released.
const (
	StatusHeld      Status = "held"
	StatusConfirmed Status = "confirmed"
	StatusCancelled Status = "cancelled"
	StatusCompleted Status = "completed"
	StatusNoShow    Status = "no_show"
	StatusExpired   Status = "expired"
	StatusReleased  Status = "released"
)

// statusNone is the status of a reservation that is not yet written: a hold is created
// from it.
const statusNone Status = ""

// transitions is every status change a reservation can make, and what makes it:
//
//	(none)    → held       Hold
//	held      → confirmed  Finalize; the reconciler or a Stripe webhook that sees the
//	                       hold's payment captured
//	held      → expired    its time ran out: the sweeper, a hold on its slot, or any call
//	                       on it (Extend, Finalize, Cancel, Modify, the reconciler, a
//	                       Stripe webhook) that finds it overdue
//	held      → released   Cancel; Hold when the payment intent cannot be created
//	confirmed → cancelled  Cancel
//	confirmed → completed  the venue records the visit (RecordOutcome), once it started
//	confirmed → no_show    the venue records that the guest did not come, likewise
//
// cancelled, completed, no_show, expired and released are final. Changing a booking
// (Modify, a pending change) and extending a hold keep the status.
var transitions = map[Status][]Status{
	statusNone:      {StatusHeld},
	StatusHeld:      {StatusConfirmed, StatusExpired, StatusReleased},
	StatusConfirmed: {StatusCancelled, StatusCompleted, StatusNoShow},
}

// actions names the call that moves a reservation to each status, as refusals say it
// ("You cannot cancel a reservation that is completed.").
var actions = map[Status]string{
	StatusHeld:      "hold",
	StatusConfirmed: "finalize",
	StatusCancelled: "cancel",
	StatusReleased:  "cancel",
	StatusCompleted: "mark as completed",
	StatusNoShow:    "mark as no_show",
	StatusExpired:   "expire",
}

// canTransition reports whether a reservation in status from may move to status to.
func canTransition(from, to Status) bool {
	for _, next := range transitions[from] {
		if next == to {
			return true
		}
	}
	return false
}

// transition moves r to status to, or returns the refusal the API answers for that move
// (see transitionRefused). Callers that find r already in to (a second finalize, cancel or outcome)
// answer it unchanged before asking: a replay is not a transition.
func transition(r *store.Reservation, to Status) error {
	from := Status(r.Status)
	if !canTransition(from, to) {
		return transitionRefused(from, to)
	}
	r.Status = string(to)
	return nil
}

// transitionRefused is the error for a move the state machine does not allow: a StateError naming
// the status and the call, except that a partner's finalize or cancel of a hold that has
// expired answers ErrHoldExpired (409 hold_expired). An operator's outcome on an expired
// hold stays a StateError.
func transitionRefused(from, to Status) error {
	switch to {
	case StatusConfirmed, StatusCancelled, StatusReleased:
		return stateError(from, actions[to])
	}
	return &StateError{Status: from, Action: actions[to]}
}

// stateError refuses action on a reservation in status: hold_expired for an expired hold,
// otherwise a StateError. Extend and Modify, which keep the status, refuse with it too.
func stateError(status Status, action string) error {
	if status == StatusExpired {
		return ErrHoldExpired
	}
	return &StateError{Status: status, Action: action}
}

// startHold makes a new reservation row a hold.
func startHold(r *store.Reservation) error {
	return transition(r, StatusHeld)
}

// confirm moves a held reservation to confirmed, with its confirmation code.
func confirm(r *store.Reservation, now time.Time) error {
	if err := transition(r, StatusConfirmed); err != nil {
		return err
	}
	code := newConfirmationCode()
	r.ConfirmationCode = &code
	r.ConfirmedAt = &now
	r.UpdatedAt = now
	r.ExpiresAt, r.HoldMaxAt = nil, nil
	return nil
}

// expireIfDue moves a held reservation whose time ran out to expired, releasing its
// table, and says whether it did.
func expireIfDue(tx *store.Tx, r *store.Reservation, now time.Time) (bool, error) {
	if r.Status != string(StatusHeld) || r.ExpiresAt == nil || r.ExpiresAt.After(now) {
		return false, nil
	}
	if err := transition(r, StatusExpired); err != nil {
		return false, err
	}
	r.UpdatedAt = now
	return true, tx.ReleaseTableOf(r, now)
}

// expireOverdue is expireIfDue for a call on the reservation: an overdue hold is expired
// and the call answers hold_expired once the expiry has committed (see commitThen).
func expireOverdue(tx *store.Tx, r *store.Reservation, now time.Time) error {
	expired, err := expireIfDue(tx, r, now)
	if err != nil {
		return err
	}
	if expired {
		return commitThen(ErrHoldExpired)
	}
	return nil
}

// expireDue expires a slot's overdue holds (all slots' with slotID "") and emits their
// events, in tx. The store moves them held → expired with one conditional update each.
func expireDue(tx *store.Tx, slotID string, now time.Time, limit int) error {
	expired, err := tx.ExpireDueHolds(slotID, now, limit)
	if err != nil {
		return err
	}
	return emitExpired(tx, expired, now)
}

// emitExpired writes the events of holds the store expired.
func emitExpired(tx *store.Tx, expired []store.Reservation, now time.Time) error {
	for i := range expired {
		before := expired[i]
		before.Status = string(StatusHeld)
		if _, err := emit(tx, before, &expired[i], "", now); err != nil {
			return err
		}
	}
	return nil
}

// release moves a hold to released: it ends without a booking, for reason.
func release(r *store.Reservation, reason string, now time.Time) error {
	if err := transition(r, StatusReleased); err != nil {
		return err
	}
	r.ExpiresAt, r.HoldMaxAt = nil, nil
	ended(r, reason, now)
	return nil
}

// cancel ends r at the partner's request: a hold is released, a booking cancelled.
func cancel(r *store.Reservation, reason string, now time.Time) error {
	if r.Status == string(StatusHeld) {
		return release(r, reason, now)
	}
	if err := transition(r, StatusCancelled); err != nil {
		return err
	}
	ended(r, reason, now)
	return nil
}

func ended(r *store.Reservation, reason string, now time.Time) {
	r.CancelReason = reason
	r.CancelledAt = &now
	r.UpdatedAt = now
}

// recordOutcome moves a confirmed booking that has started to outcome (completed or
// no_show).
func recordOutcome(r *store.Reservation, outcome Status, now time.Time) error {
	if r.Status == string(StatusConfirmed) && now.Before(r.StartsAt) {
		return &StateError{Status: "confirmed and has not started", Action: actions[outcome]}
	}
	if err := transition(r, outcome); err != nil {
		return err
	}
	r.UpdatedAt = now
	return nil
}
