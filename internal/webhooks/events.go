package webhooks

// Event types: what partners can subscribe to, and what venues' platforms are told.
// booking decides which a change makes; this package delivers them.
const (
	EventReservationConfirmed = "reservation.confirmed"
	EventReservationUpdated   = "reservation.updated"
	EventReservationCompleted = "reservation.completed"
	EventReservationNoShow    = "reservation.no_show"
	EventReservationCancelled = "reservation.cancelled"
	EventReservationExpired   = "reservation.expired"
	// EventVenueSyncFailed is written when a venue message fails for good.
	EventVenueSyncFailed = "reservation.venue_sync_failed"
	EventPaymentCaptured = "payment.captured"
	EventPaymentRefunded = "payment.refunded"
	EventPaymentFailed   = "payment.failed"
	EventPaymentCanceled = "payment.canceled"
	// EventReservationFeeFailed: the no-show or late-cancellation fee of a card-guaranteed
	// booking could not be charged off-session (declined, or authentication required).
	EventReservationFeeFailed = "reservation.fee_failed"
	// EventAvailabilityUpdated: a slot the partner may sell changed its tables left or
	// whether it is bookable (at most one a second per slot). Sent only to endpoints that
	// name it: "*" does not include it.
	EventAvailabilityUpdated = "availability.updated"
	// EventWatchMatched: a freed table went to one of the partner's watches (matched,
	// or held for its guest).
	EventWatchMatched = "watch.matched"
)

// EventTypes lists every partner event type.
var EventTypes = []string{
	EventReservationConfirmed, EventReservationUpdated, EventReservationCancelled,
	EventReservationCompleted, EventReservationNoShow, EventReservationExpired, EventVenueSyncFailed,
	EventPaymentCaptured, EventPaymentRefunded, EventPaymentFailed, EventPaymentCanceled,
	EventAvailabilityUpdated, EventWatchMatched, EventReservationFeeFailed,
}
