package payments

import "context"

// Card guarantees (issue 18): the guest's card is saved with a SetupIntent when a table is
// held, and a fee is charged later, off-session, with the saved payment method (a no-show
// or a late cancellation). Only provider ids are kept; never card data.

// SetupIntent is a card saved for later off-session charges, as last seen at the gateway.
type SetupIntent struct {
	ID string
	// ClientSecret lets the partner's client confirm the SetupIntent (Stripe.js
	// confirmSetup), as it confirms a PaymentIntent.
	ClientSecret string
	// Status is Stripe's: requires_payment_method, requires_confirmation,
	// requires_action, processing, canceled or succeeded (the card is saved).
	Status string
	// Customer is the customer the payment method is attached to.
	Customer string
	// PaymentMethod is the saved payment method, once the guest confirmed.
	PaymentMethod string
}

// SetupIntent statuses PRIMA acts on.
const (
	// SetupSucceeded: the card is saved.
	SetupSucceeded = "succeeded"
	// SetupCanceled: the SetupIntent was cancelled; its client_secret saves nothing.
	SetupCanceled = "canceled"
)

// CreateSetup is a SetupIntent to create.
type CreateSetup struct {
	Description string
	// Metadata is attached to the SetupIntent (and its customer): reservation_id, …
	Metadata map[string]string
	// IdempotencyKey makes a retried create return the first SetupIntent.
	IdempotencyKey string
}

// OffSessionCharge is a charge of a saved card without the guest present.
type OffSessionCharge struct {
	Amount        int64
	Currency      string
	Customer      string
	PaymentMethod string
	Description   string
	Metadata      map[string]string
	// IdempotencyKey is per reservation and reason: a retried fee is charged once.
	IdempotencyKey string
}

// Decline codes of a failed off-session charge, besides the card's own decline codes.
const (
	// DeclineAuthenticationRequired: the bank asks for the cardholder (3-D Secure), who
	// is not there; the charge is not made.
	DeclineAuthenticationRequired = "authentication_required"
)

// CardSaver is a gateway that saves cards and charges them off-session. The Stripe and
// sandbox gateways implement it. A failed charge answers ErrDeclined (with the intent
// and its DeclineCode, e.g. DeclineAuthenticationRequired) or ErrProvider.
type CardSaver interface {
	CreateSetup(ctx context.Context, p CreateSetup) (SetupIntent, error)
	GetSetup(ctx context.Context, id string) (SetupIntent, error)
	ChargeOffSession(ctx context.Context, p OffSessionCharge) (Intent, error)
	// CancelSetup cancels the SetupIntent of a hold that ended without a booking.
	// Cancelling a cancelled one returns it; one that already succeeded (the card was
	// saved) is returned with ErrInvalidState.
	CancelSetup(ctx context.Context, id, idempotencyKey string) (SetupIntent, error)
}
