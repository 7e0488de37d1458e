// Package payments moves money for prime reservations through a Gateway: Stripe
// PaymentIntents in production and a sandbox gateway of the same shape for development
// and tests. Provider types never leave this package.
package payments

import (
	"context"
	"errors"
	"time"
)

// IntentStatus is a PaymentIntent's status, named as Stripe names it.
type IntentStatus string

// PaymentIntent statuses.
const (
	StatusRequiresPaymentMethod IntentStatus = "requires_payment_method"
	StatusRequiresConfirmation  IntentStatus = "requires_confirmation"
	StatusRequiresAction        IntentStatus = "requires_action"
	StatusProcessing            IntentStatus = "processing"
	StatusRequiresCapture       IntentStatus = "requires_capture"
	StatusCanceled              IntentStatus = "canceled"
	StatusSucceeded             IntentStatus = "succeeded"
)

// Open reports whether the intent can still move money (it is neither captured nor
// cancelled), so an ended hold must cancel it.
func (s IntentStatus) Open() bool {
	return s != StatusCanceled && s != StatusSucceeded && s != ""
}

// Intent is what PRIMA keeps of a PaymentIntent.
type Intent struct {
	ID             string
	ClientSecret   string
	Amount         int64
	Currency       string
	Status         IntentStatus
	AmountCaptured int64
	AmountRefunded int64
	// DeclineCode is the issuer's reason when the last confirmation was declined.
	DeclineCode string
}

// CreateIntent describes a manual-capture PaymentIntent to create.
type CreateIntent struct {
	Amount      int64
	Currency    string
	Description string
	Metadata    map[string]string
	// IdempotencyKey makes a retried creation return the first intent.
	IdempotencyKey string
}

// Gateway is a payment provider.
type Gateway interface {
	// Name is the provider's name as shown on reservations: "sandbox" or "stripe".
	Name() string
	// Create creates a PaymentIntent with capture_method=manual.
	Create(ctx context.Context, p CreateIntent) (Intent, error)
	// Get reads the intent's current state from the provider.
	Get(ctx context.Context, id string) (Intent, error)
	// Capture captures an authorised intent in full. Capturing a succeeded intent is a
	// no-op that returns it.
	Capture(ctx context.Context, id, idempotencyKey string) (Intent, error)
	// Cancel cancels an intent that was not captured. Cancelling a cancelled intent is a
	// no-op that returns it.
	Cancel(ctx context.Context, id, idempotencyKey string) (Intent, error)
	// Refund refunds amount (minor units) of a captured intent.
	Refund(ctx context.Context, id string, amount int64, idempotencyKey string) (Intent, error)
}

// Errors a Gateway returns, so callers never see a provider's own error types.
var (
	// ErrProvider: the provider failed, timed out or could not be reached; retryable.
	ErrProvider = errors.New("payments: provider error")
	// ErrNotFound: no such intent at the provider.
	ErrNotFound = errors.New("payments: no such payment intent")
	// ErrInvalidState: the intent's status does not allow the operation.
	ErrInvalidState = errors.New("payments: payment intent in the wrong state")
	// ErrDeclined: the card was declined.
	ErrDeclined = errors.New("payments: card declined")
)

// ErrKeySpent is matched, beside one of the errors above, by a failure the provider
// answered and keeps under the request's idempotency key (Stripe replays it for 24 h):
// sending the same key again can only fail again, so a new attempt needs a new key. A
// failure without an answer (a timeout, a refused connection) does not match it: the
// request may have taken effect, so a retry must send the same key.
var ErrKeySpent = errors.New("payments: idempotency key spent on a failure")

// ErrSignature: a webhook whose signature, secret or timestamp does not check out.
var ErrSignature = errors.New("payments: webhook signature invalid")

// Event is a provider's notification about a PaymentIntent or its charge, already
// verified. Events can arrive twice and out of order; ID tells duplicates apart.
type Event struct {
	ID      string
	Type    string // payment_intent.succeeded, charge.refunded, …
	Created time.Time
	// IntentID is the PaymentIntent the event is about (for charge events, the charge's).
	IntentID string
	// Intent is the intent as the event saw it, for payment_intent.* events.
	Intent *Intent
	// AmountRefunded is the charge's total refunded, for charge.refunded.
	AmountRefunded int64
}
