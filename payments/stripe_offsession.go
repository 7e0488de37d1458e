package payments

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/stripe/stripe-go/v79"
)

var _ CardSaver = (*Stripe)(nil)

// CreateSetup implements CardSaver: a Customer (the saved card must be attached to one
// to be charged later) and a SetupIntent for off-session use on it, each created with
// its own idempotency key derived from p's, and p's metadata on both.
func (s *Stripe) CreateSetup(ctx context.Context, p CreateSetup) (SetupIntent, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	cp := &stripe.CustomerParams{}
	if p.Description != "" {
		cp.Description = stripe.String(p.Description)
	}
	customerKey := ""
	if p.IdempotencyKey != "" {
		customerKey = p.IdempotencyKey + "-customer"
	}
	prepare(ctx, &cp.Params, customerKey, p.Metadata)
	cus, err := s.api.Customers.New(cp)
	if err != nil {
		_, err = s.fail("create customer", "", err)
		return SetupIntent{}, err
	}
	params := &stripe.SetupIntentParams{
		Customer: stripe.String(cus.ID),
		Usage:    stripe.String(string(stripe.SetupIntentUsageOffSession)),
		AutomaticPaymentMethods: &stripe.SetupIntentAutomaticPaymentMethodsParams{
			Enabled: stripe.Bool(true),
		},
	}
	if p.Description != "" {
		params.Description = stripe.String(p.Description)
	}
	prepare(ctx, &params.Params, p.IdempotencyKey, p.Metadata)
	si, err := s.api.SetupIntents.New(params)
	if err != nil {
		_, err = s.fail("create setup intent", "", err)
		return SetupIntent{}, err
	}
	return setupFromStripe(si), nil
}

// GetSetup implements CardSaver.
func (s *Stripe) GetSetup(ctx context.Context, id string) (SetupIntent, error) {
	if id == "" {
		return SetupIntent{}, fmt.Errorf("stripe: get setup intent: empty id: %w", ErrNotFound)
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	params := &stripe.SetupIntentParams{}
	prepare(ctx, &params.Params, "", nil)
	si, err := s.api.SetupIntents.Get(id, params)
	if err != nil {
		_, err = s.fail("get setup intent", id, err)
		return SetupIntent{}, err
	}
	return setupFromStripe(si), nil
}

// ChargeOffSession implements CardSaver: a PaymentIntent confirmed at once, off-session,
// with the saved payment method, captured automatically. Stripe answers a card error
// (a decline, or authentication_required when the bank wants the absent cardholder)
// with the failed intent, which is returned with ErrDeclined and its decline code.
func (s *Stripe) ChargeOffSession(ctx context.Context, p OffSessionCharge) (Intent, error) {
	if p.Amount <= 0 || p.Currency == "" || p.Customer == "" || p.PaymentMethod == "" {
		return Intent{}, fmt.Errorf("stripe: off-session charge: amount, currency, customer and payment method are required: %w", ErrInvalidState)
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	params := &stripe.PaymentIntentParams{
		Amount:        stripe.Int64(p.Amount),
		Currency:      stripe.String(strings.ToLower(p.Currency)),
		Customer:      stripe.String(p.Customer),
		PaymentMethod: stripe.String(p.PaymentMethod),
		Confirm:       stripe.Bool(true),
		OffSession:    stripe.Bool(true),
	}
	if p.Description != "" {
		params.Description = stripe.String(p.Description)
	}
	prepare(ctx, &params.Params, p.IdempotencyKey, p.Metadata)
	params.AddExpand("latest_charge")
	pi, err := s.api.PaymentIntents.New(params)
	if err != nil {
		return s.fail("off-session charge", "", err)
	}
	return intentFromStripe(pi), nil
}

func setupFromStripe(si *stripe.SetupIntent) SetupIntent {
	out := SetupIntent{ID: si.ID, ClientSecret: si.ClientSecret, Status: string(si.Status)}
	if si.Customer != nil {
		out.Customer = si.Customer.ID
	}
	if si.PaymentMethod != nil {
		out.PaymentMethod = si.PaymentMethod.ID
	}
	return out
}

// CancelSetup implements CardSaver: the SetupIntent of a hold that ended without a
// booking is cancelled (cancellation_reason abandoned), so its client_secret can no
// longer save the guest's card. Stripe's cancel takes no metadata; the SetupIntent has
// carried the reservation's since it was created. As with Cancel, an unexpected-state
// answer is resolved by reading the SetupIntent back: already canceled is success, and
// succeeded (the card was saved before the hold ended) answers it with ErrInvalidState.
func (s *Stripe) CancelSetup(ctx context.Context, id, idempotencyKey string) (SetupIntent, error) {
	if id == "" {
		return SetupIntent{}, fmt.Errorf("stripe: cancel setup intent: empty id: %w", ErrNotFound)
	}
	si, err := s.cancelSetup(ctx, id, idempotencyKey)
	if err == nil {
		return setupFromStripe(si), nil
	}
	var se *stripe.Error
	if errors.As(err, &se) && se.Code == stripe.ErrorCodeSetupIntentUnexpectedState {
		if seen, getErr := s.GetSetup(ctx, id); getErr == nil {
			if seen.Status == SetupCanceled {
				return seen, nil
			}
			_, err = s.fail("cancel setup intent", id, err)
			return seen, err
		}
	}
	_, err = s.fail("cancel setup intent", id, err)
	return SetupIntent{}, err
}

func (s *Stripe) cancelSetup(ctx context.Context, id, idempotencyKey string) (*stripe.SetupIntent, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	params := &stripe.SetupIntentCancelParams{
		CancellationReason: stripe.String(string(stripe.SetupIntentCancellationReasonAbandoned)),
	}
	prepare(ctx, &params.Params, idempotencyKey, nil)
	return s.api.SetupIntents.Cancel(id, params)
}
