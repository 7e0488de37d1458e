package payments

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/oklog/ulid/v2"
)

// Off-session scenarios the sandbox plays, named like the others by the
// partner_reference of the hold (the booking layer passes it in the fee's metadata).
const (
	// ScenarioFeeDeclined: the off-session fee is declined (generic_decline).
	ScenarioFeeDeclined = "sandbox_fee_declined"
	// ScenarioFeeAuthenticationRequired: the bank asks for authentication, which an
	// off-session charge cannot give (authentication_required).
	ScenarioFeeAuthenticationRequired = "sandbox_fee_authentication_required"
)

var _ CardSaver = (*Sandbox)(nil)

// CreateSetup implements CardSaver. The SetupIntent waits for ConfirmSetup, which stands
// in for Stripe.js's confirmSetup on the partner's client.
func (s *Sandbox) CreateSetup(ctx context.Context, p CreateSetup) (SetupIntent, error) {
	id := "seti_sbx_" + strings.ToLower(ulid.Make().String())
	si := SetupIntent{
		ID: id, ClientSecret: id + "_secret_" + strings.ToLower(rand.Text()[:16]),
		Status: "requires_payment_method", Customer: "cus_sbx_" + strings.ToLower(ulid.Make().String()),
	}
	data, err := json.Marshal(si) //nolint:gosec // G117: the sandbox stores its own fake secret, as Stripe keeps a real one
	if err != nil {
		return SetupIntent{}, err
	}
	existing, err := s.store.InsertSandboxIntent(ctx, id, p.IdempotencyKey, data)
	if err != nil {
		return SetupIntent{}, fmt.Errorf("sandbox: create setup: %w: %w", ErrProvider, err)
	}
	if existing != nil {
		var first SetupIntent
		if err := json.Unmarshal(existing, &first); err != nil {
			return SetupIntent{}, fmt.Errorf("sandbox: create setup: %w: %w", ErrProvider, err)
		}
		return first, nil
	}
	return si, nil
}

// GetSetup implements CardSaver.
func (s *Sandbox) GetSetup(ctx context.Context, id string) (SetupIntent, error) {
	si, _, err := s.loadSetup(ctx, id)
	return si, err
}

// ConfirmSetup saves the test payment method on the SetupIntent id (pm_card_visa,
// pm_card_chargeDeclined, pm_card_authenticationRequired: each is saved; how it fares
// is decided when it is charged off-session). A saved one answers as it is; a cancelled
// one (its hold ended) is ErrInvalidState.
func (s *Sandbox) ConfirmSetup(ctx context.Context, id, paymentMethod string) (SetupIntent, error) {
	if paymentMethod == "" {
		paymentMethod = TestCardVisa
	}
	switch paymentMethod {
	case TestCardVisa, TestCardChargeDeclined, TestCardAuthenticationRequired:
	default:
		return SetupIntent{}, fmt.Errorf("sandbox: unknown test payment method %q: %w", paymentMethod, ErrInvalidState)
	}
	return s.updateSetup(ctx, "confirm", id, func(si *SetupIntent) error {
		switch si.Status {
		case SetupSucceeded:
			return errUnchanged
		case SetupCanceled:
			return ErrInvalidState
		}
		si.Status, si.PaymentMethod = SetupSucceeded, paymentMethod
		return nil
	})
}

// Confirmations of a sandbox SetupIntent that save no card (FailSetup).
const (
	// SetupDeclined: the issuer refuses the card; the SetupIntent waits for another.
	SetupDeclined = "declined"
	// SetupRequiresAction: the bank wants 3-D Secure first.
	SetupRequiresAction = "requires_action"
)

// FailSetup plays a confirmation of the SetupIntent id that saves no card: with
// SetupDeclined it stays requires_payment_method and the answer is ErrDeclined; with
// SetupRequiresAction it waits at requires_action. Either can be confirmed again with
// ConfirmSetup. A saved or cancelled one is ErrInvalidState.
func (s *Sandbox) FailSetup(ctx context.Context, id, outcome string) (SetupIntent, error) {
	si, err := s.updateSetup(ctx, "confirm", id, func(si *SetupIntent) error {
		if si.Status == SetupSucceeded || si.Status == SetupCanceled {
			return ErrInvalidState
		}
		switch outcome {
		case SetupDeclined:
			si.Status = "requires_payment_method"
		case SetupRequiresAction:
			si.Status = "requires_action"
		default:
			return ErrInvalidState
		}
		return nil
	})
	if err == nil && outcome == SetupDeclined {
		return si, fmt.Errorf("sandbox: confirm setup %s: card_declined: %w", id, ErrDeclined)
	}
	return si, err
}

// CancelSetup implements CardSaver: the SetupIntent of a hold that ended is cancelled,
// so it can no longer be confirmed. A canceled one is returned as it is; one that
// succeeded is returned with ErrInvalidState.
func (s *Sandbox) CancelSetup(ctx context.Context, id, _ string) (SetupIntent, error) {
	return s.updateSetup(ctx, "cancel", id, func(si *SetupIntent) error {
		switch si.Status {
		case SetupCanceled:
			return errUnchanged
		case SetupSucceeded:
			return ErrInvalidState
		}
		si.Status = SetupCanceled
		return nil
	})
}

// updateSetup applies change to the stored SetupIntent id with optimistic concurrency,
// retrying when another process changed it in between. change answers errUnchanged to
// return it as it is, or an error (ErrInvalidState) returned with it.
func (s *Sandbox) updateSetup(ctx context.Context, op, id string, change func(*SetupIntent) error) (SetupIntent, error) {
	for range 10 {
		si, version, err := s.loadSetup(ctx, id)
		if err != nil {
			return SetupIntent{}, err
		}
		switch err := change(&si); {
		case errors.Is(err, errUnchanged):
			return si, nil
		case err != nil:
			seen, _, _ := s.loadSetup(ctx, id)
			return seen, fmt.Errorf("sandbox: %s setup %s (%s): %w", op, id, seen.Status, err)
		}
		data, err := json.Marshal(si) //nolint:gosec // G117: the sandbox stores its own fake secret, as Stripe keeps a real one
		if err != nil {
			return SetupIntent{}, err
		}
		ok, err := s.store.UpdateSandboxIntent(ctx, id, version, data)
		if err != nil {
			return SetupIntent{}, fmt.Errorf("sandbox: %s setup %s: %w: %w", op, id, ErrProvider, err)
		}
		if ok {
			return si, nil
		}
	}
	return SetupIntent{}, fmt.Errorf("sandbox: %s setup %s: too much contention: %w", op, id, ErrProvider)
}

// ChargeOffSession implements CardSaver. The charge succeeds (captured) unless the saved
// card or the hold's partner_reference plays a failure: pm_card_chargeDeclined or
// ScenarioFeeDeclined decline it (generic_decline), pm_card_authenticationRequired or
// ScenarioFeeAuthenticationRequired need authentication (authentication_required). A
// retry with the same idempotency key answers the first outcome again.
func (s *Sandbox) ChargeOffSession(ctx context.Context, p OffSessionCharge) (Intent, error) {
	if p.Amount <= 0 || p.Currency == "" || p.Customer == "" || p.PaymentMethod == "" {
		return Intent{}, fmt.Errorf("sandbox: off-session charge: amount, currency, customer and payment method are required: %w", ErrInvalidState)
	}
	id := "pi_sbx_" + strings.ToLower(ulid.Make().String())
	in := sandboxIntent{
		Intent: Intent{
			ID: id, ClientSecret: id + "_secret_" + strings.ToLower(rand.Text()[:16]),
			Amount: p.Amount, Currency: strings.ToLower(p.Currency),
			Status: StatusSucceeded, AmountCaptured: p.Amount,
		},
		PaymentMethod: p.PaymentMethod,
		CreatedAt:     s.now().UTC(),
	}
	scenario := p.Metadata["partner_reference"]
	switch {
	case p.PaymentMethod == TestCardChargeDeclined || scenario == ScenarioFeeDeclined:
		in.Status, in.AmountCaptured, in.DeclineCode = StatusRequiresPaymentMethod, 0, "generic_decline"
	case p.PaymentMethod == TestCardAuthenticationRequired || scenario == ScenarioFeeAuthenticationRequired:
		in.Status, in.AmountCaptured, in.DeclineCode = StatusRequiresPaymentMethod, 0, DeclineAuthenticationRequired
	}
	data, err := json.Marshal(in)
	if err != nil {
		return Intent{}, err
	}
	existing, err := s.store.InsertSandboxIntent(ctx, id, p.IdempotencyKey, data)
	if err != nil {
		return Intent{}, fmt.Errorf("sandbox: off-session charge: %w: %w", ErrProvider, err)
	}
	if existing != nil {
		in = sandboxIntent{}
		if err := json.Unmarshal(existing, &in); err != nil {
			return Intent{}, fmt.Errorf("sandbox: off-session charge: %w: %w", ErrProvider, err)
		}
	}
	if in.DeclineCode != "" {
		return in.Intent, fmt.Errorf("sandbox: off-session charge: %s: %w", in.DeclineCode, ErrDeclined)
	}
	return in.Intent, nil
}

func (s *Sandbox) loadSetup(ctx context.Context, id string) (SetupIntent, int, error) {
	data, version, err := s.store.GetSandboxIntent(ctx, id)
	if err != nil {
		return SetupIntent{}, 0, fmt.Errorf("sandbox: get %s: %w: %w", id, ErrProvider, err)
	}
	if data == nil || !strings.HasPrefix(id, "seti_") {
		return SetupIntent{}, 0, fmt.Errorf("sandbox: %s: %w", id, ErrNotFound)
	}
	var si SetupIntent
	if err := json.Unmarshal(data, &si); err != nil {
		return SetupIntent{}, 0, fmt.Errorf("sandbox: decode %s: %w", id, err)
	}
	return si, version, nil
}
