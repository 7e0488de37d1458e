package booking

import (
	"errors"
	"fmt"

	"github.com/prima-dining/partner-api/internal/refusal"
	"github.com/prima-dining/partner-api/payments"
	"github.com/prima-dining/partner-api/store"
)

// Sentinel errors of the reservation lifecycle. The server maps each to one error code.
var (
	ErrNotFound          = refusal.ErrNotFound
	ErrInvalidParameter  = refusal.ErrInvalidParameter
	ErrSlotUnavailable   = errors.New("booking: slot unavailable")
	ErrSlotNotBookable   = errors.New("booking: slot not bookable")
	ErrPartySize         = errors.New("booking: party size out of range")
	ErrHoldExpired       = errors.New("booking: hold expired")
	ErrExtensionLimit    = errors.New("booking: hold extension limit reached")
	ErrHoldLimit         = errors.New("booking: partner's active hold limit reached")
	ErrInvalidState      = errors.New("booking: reservation state does not allow this")
	ErrPaymentRequired   = errors.New("booking: payment not authorised")
	ErrCardDeclined      = errors.New("booking: card declined")
	ErrPaymentProvider   = errors.New("booking: payment provider failed")
	ErrSandboxNotEnabled = errors.New("booking: sandbox gateway not active")
	ErrModifyCutoff      = errors.New("booking: modification cutoff passed")
	ErrChangeExpired     = errors.New("booking: pending change expired")
	ErrRefundTooLarge    = errors.New("booking: refund larger than what can be refunded")
	// ErrUnavailable: the database could not be reached; nothing was done, and the same
	// call can succeed shortly. It is store.ErrUnavailable, which every service's errors
	// wrap (booking, inventory, webhooks, access, idempotency), so one check finds it.
	ErrUnavailable = store.ErrUnavailable
)

// NotFoundError names what was not found; it matches ErrNotFound. It is shared with
// inventory and webhooks (see package refusal).
type NotFoundError = refusal.NotFoundError

// ParamError is a request that is well-formed but whose value the domain refuses; it
// matches ErrInvalidParameter.
type ParamError = refusal.ParamError

// PartySizeError says which party sizes the slot seats; it matches ErrPartySize.
type PartySizeError struct {
	PartySize, Min, Max int
}

func (e *PartySizeError) Error() string {
	return fmt.Sprintf("booking: party of %d outside %d–%d", e.PartySize, e.Min, e.Max)
}

// Is makes errors.Is(err, ErrPartySize) true.
func (e *PartySizeError) Is(target error) bool { return target == ErrPartySize }

// SlotUnavailableError carries nearby slots that do have a table; it matches
// ErrSlotUnavailable.
type SlotUnavailableError struct {
	SlotID       string
	PartySize    int
	Alternatives []Slot
}

func (e *SlotUnavailableError) Error() string {
	return fmt.Sprintf("booking: slot %s has no table left for %d", e.SlotID, e.PartySize)
}

// Is makes errors.Is(err, ErrSlotUnavailable) true.
func (e *SlotUnavailableError) Is(target error) bool { return target == ErrSlotUnavailable }

// StateError says which status refused the call; it matches ErrInvalidState.
type StateError struct {
	Status Status
	Action string
}

func (e *StateError) Error() string {
	return fmt.Sprintf("booking: cannot %s a reservation that is %s", e.Action, e.Status)
}

// Is makes errors.Is(err, ErrInvalidState) true.
func (e *StateError) Is(target error) bool { return target == ErrInvalidState }

// PaymentError carries the payment intent's status when a payment blocks the call; it
// matches ErrPaymentRequired or ErrCardDeclined.
type PaymentError struct {
	Declined    bool
	Status      payments.IntentStatus
	DeclineCode string
}

func (e *PaymentError) Error() string {
	if e.Declined {
		return "booking: card declined (" + e.DeclineCode + ")"
	}
	return "booking: payment not authorised, intent is " + string(e.Status)
}

// Is makes errors.Is match ErrCardDeclined or ErrPaymentRequired.
func (e *PaymentError) Is(target error) bool {
	if e.Declined {
		return target == ErrCardDeclined
	}
	return target == ErrPaymentRequired
}

// NextStep tells the partner what unblocks the payment.
func (e *PaymentError) NextStep() string {
	switch e.Status {
	case payments.StatusRequiresAction:
		return "handle_next_action"
	case payments.StatusProcessing:
		return "wait_for_processing"
	case payments.StatusRequiresPaymentMethod:
		if e.Declined || e.DeclineCode != "" {
			return "retry_with_new_payment_method"
		}
	}
	return "confirm_payment"
}

// HoldLimitError refuses a hold because the partner already has Limit active holds.
type HoldLimitError struct{ Limit int }

func (e *HoldLimitError) Error() string {
	return fmt.Sprintf("booking: partner already has %d active holds", e.Limit)
}

func (e *HoldLimitError) Unwrap() error { return ErrHoldLimit }

// RefundTooLargeError refuses a goodwill refund larger than what was captured and not yet
// refunded (Refundable, minor units of Currency); it matches ErrRefundTooLarge.
type RefundTooLargeError struct {
	Refundable int64
	Currency   string
}

func (e *RefundTooLargeError) Error() string {
	return fmt.Sprintf("booking: at most %d %s can be refunded", e.Refundable, e.Currency)
}

// Is makes errors.Is(err, ErrRefundTooLarge) true.
func (e *RefundTooLargeError) Is(target error) bool { return target == ErrRefundTooLarge }

// VenueSyncStateError refuses a venue re-sync of a reservation whose venue sync has not
// failed (Status: pending, synced, not_applicable).
type VenueSyncStateError struct{ Status string }

func (e *VenueSyncStateError) Error() string {
	return "booking: cannot re-sync a venue sync that is " + e.Status
}

// Is makes errors.Is(err, ErrInvalidState) true.
func (e *VenueSyncStateError) Is(target error) bool { return target == ErrInvalidState }
