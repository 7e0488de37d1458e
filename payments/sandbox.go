package payments

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/oklog/ulid/v2"
)

// SandboxStore persists sandbox intents, so several server processes on one database
// share them. It speaks plain types so that this package need not import store/.
type SandboxStore interface {
	// InsertSandboxIntent stores a new intent; when idempotencyKey was used before it
	// stores nothing and returns the first intent's data.
	InsertSandboxIntent(ctx context.Context, id, idempotencyKey string, data []byte) ([]byte, error)
	// GetSandboxIntent returns the intent's data and version, or nil data when unknown.
	GetSandboxIntent(ctx context.Context, id string) ([]byte, int, error)
	// UpdateSandboxIntent replaces the data if the version is still version.
	UpdateSandboxIntent(ctx context.Context, id string, version int, data []byte) (bool, error)
}

// Test payment methods understood by Sandbox.Confirm, as in Stripe's test mode.
const (
	TestCardVisa                   = "pm_card_visa"
	TestCardChargeDeclined         = "pm_card_chargeDeclined"
	TestCardAuthenticationRequired = "pm_card_authenticationRequired"
)

// Scenarios the sandbox plays, named by the partner_reference of a hold (the booking
// layer passes it as the intent's partner_reference metadata), in the spirit of
// Stripe's test cards. They exist only in the sandbox: Stripe ignores the metadata.
const (
	// ScenarioOutageOnCreate: creating the hold's intent fails as a Stripe outage would.
	ScenarioOutageOnCreate = "sandbox_outage_on_create"
	// ScenarioOutageOnCapture: the first capture of the intent fails as a Stripe outage
	// would; the next one succeeds.
	ScenarioOutageOnCapture = "sandbox_outage_on_capture"
	// ScenarioSlotTaken: another partner takes the slot's last table between search and
	// hold (played by the booking layer, which the table belongs to).
	ScenarioSlotTaken = "sandbox_slot_taken"
)

// Sandbox is a Gateway whose intents move like Stripe's but only when Confirm is called,
// standing in for Stripe.js on the partner's client. It never moves real money.
type Sandbox struct {
	store SandboxStore
	now   func() time.Time
}

// NewSandbox returns a sandbox gateway keeping its intents in store.
func NewSandbox(store SandboxStore) *Sandbox {
	return &Sandbox{store: store, now: time.Now}
}

var _ Gateway = (*Sandbox)(nil)

// Name implements Gateway.
func (*Sandbox) Name() string { return "sandbox" }

type sandboxIntent struct {
	Intent
	PaymentMethod string    `json:"payment_method,omitempty"`
	CreatedAt     time.Time `json:"created_at"`
	// RefundKeys are the idempotency keys of refunds made, so a retried refund is not
	// paid twice, as with Stripe.
	RefundKeys []string `json:"refund_keys,omitempty"`
	// ConfirmKeys are the idempotency keys of confirms made (ConfirmOnce).
	ConfirmKeys []string `json:"confirm_keys,omitempty"`
	// Scenario is the scenario the intent plays, if any; CaptureFailed records that the
	// one capture failure of ScenarioOutageOnCapture happened.
	Scenario      string `json:"scenario,omitempty"`
	CaptureFailed bool   `json:"capture_failed,omitempty"`
}

// Create implements Gateway.
func (s *Sandbox) Create(ctx context.Context, p CreateIntent) (Intent, error) {
	if p.Amount <= 0 || p.Currency == "" {
		return Intent{}, fmt.Errorf("sandbox: create: amount and currency are required: %w", ErrInvalidState)
	}
	scenario := p.Metadata["partner_reference"]
	if scenario == ScenarioOutageOnCreate {
		return Intent{}, fmt.Errorf("sandbox: create: %s: %w", scenario, ErrProvider)
	}
	id := "pi_sbx_" + strings.ToLower(ulid.Make().String())
	in := sandboxIntent{
		Intent: Intent{
			ID:           id,
			ClientSecret: id + "_secret_" + strings.ToLower(rand.Text()[:16]),
			Amount:       p.Amount,
			Currency:     strings.ToLower(p.Currency),
			Status:       StatusRequiresPaymentMethod,
		},
		CreatedAt: s.now().UTC(),
	}
	if scenario == ScenarioOutageOnCapture {
		in.Scenario = scenario
	}
	data, err := json.Marshal(in)
	if err != nil {
		return Intent{}, err
	}
	existing, err := s.store.InsertSandboxIntent(ctx, id, p.IdempotencyKey, data)
	if err != nil {
		return Intent{}, fmt.Errorf("sandbox: create: %w: %w", ErrProvider, err)
	}
	if existing != nil {
		var first sandboxIntent
		if err := json.Unmarshal(existing, &first); err != nil {
			return Intent{}, fmt.Errorf("sandbox: create: %w: %w", ErrProvider, err)
		}
		return first.Intent, nil
	}
	return in.Intent, nil
}

// Get implements Gateway.
func (s *Sandbox) Get(ctx context.Context, id string) (Intent, error) {
	in, _, err := s.load(ctx, id)
	return in.Intent, err
}

// Confirm authorises the intent with a test payment method: pm_card_visa moves it to
// requires_capture, pm_card_authenticationRequired to requires_action, and
// pm_card_chargeDeclined leaves it at requires_payment_method and returns ErrDeclined.
func (s *Sandbox) Confirm(ctx context.Context, id, paymentMethod string) (Intent, error) {
	return s.ConfirmOnce(ctx, id, paymentMethod, "")
}

// ConfirmOnce is Confirm under an idempotency key, as Stripe's confirm takes one: a
// confirm whose key already confirmed the intent changes nothing and answers the intent
// as it stands (declined again if it was declined), so a client that retries a confirm
// whose answer it lost does not see it refused. The key is kept with the intent, in the
// same write as the confirmation. "" keys nothing.
func (s *Sandbox) ConfirmOnce(ctx context.Context, id, paymentMethod, idempotencyKey string) (Intent, error) {
	if paymentMethod == "" {
		paymentMethod = TestCardVisa
	}
	replayed := false
	intent, err := s.update(ctx, id, func(in *sandboxIntent) error {
		if idempotencyKey != "" && slices.Contains(in.ConfirmKeys, idempotencyKey) {
			replayed = true
			return errUnchanged
		}
		switch in.Status {
		case StatusRequiresPaymentMethod, StatusRequiresConfirmation, StatusRequiresAction:
		default:
			return fmt.Errorf("sandbox: confirm %s in status %s: %w", id, in.Status, ErrInvalidState)
		}
		in.PaymentMethod = paymentMethod
		in.DeclineCode = ""
		switch paymentMethod {
		case TestCardVisa:
			in.Status = StatusRequiresCapture
		case TestCardAuthenticationRequired:
			in.Status = StatusRequiresAction
		case TestCardChargeDeclined:
			in.Status = StatusRequiresPaymentMethod
			in.DeclineCode = "generic_decline"
		default:
			return fmt.Errorf("sandbox: unknown test payment method %q: %w", paymentMethod, ErrInvalidState)
		}
		if idempotencyKey != "" {
			in.ConfirmKeys = append(in.ConfirmKeys, idempotencyKey)
		}
		return nil
	})
	if err == nil && replayed && intent.DeclineCode != "" {
		return intent, fmt.Errorf("sandbox: %s: %w", intent.DeclineCode, ErrDeclined)
	}
	return intent, err
}

// Capture implements Gateway. An intent playing ScenarioOutageOnCapture fails its first
// capture with ErrProvider, recording that it did, and captures on the next.
func (s *Sandbox) Capture(ctx context.Context, id, _ string) (Intent, error) {
	outage := false
	in, err := s.update(ctx, id, func(in *sandboxIntent) error {
		outage = false
		switch in.Status {
		case StatusSucceeded:
			return errUnchanged
		case StatusRequiresCapture:
			if in.Scenario == ScenarioOutageOnCapture && !in.CaptureFailed {
				in.CaptureFailed, outage = true, true
				return nil
			}
			in.Status = StatusSucceeded
			in.AmountCaptured = in.Amount
			return nil
		}
		return fmt.Errorf("sandbox: capture %s in status %s: %w", id, in.Status, ErrInvalidState)
	})
	if err == nil && outage {
		return in, fmt.Errorf("sandbox: capture %s: %s: %w", id, ScenarioOutageOnCapture, ErrProvider)
	}
	return in, err
}

// Cancel implements Gateway.
func (s *Sandbox) Cancel(ctx context.Context, id, _ string) (Intent, error) {
	return s.update(ctx, id, func(in *sandboxIntent) error {
		switch in.Status {
		case StatusCanceled:
			return errUnchanged
		case StatusSucceeded:
			return fmt.Errorf("sandbox: cancel captured %s: %w", id, ErrInvalidState)
		}
		in.Status = StatusCanceled
		return nil
	})
}

// Refund implements Gateway.
func (s *Sandbox) Refund(ctx context.Context, id string, amount int64, idempotencyKey string) (Intent, error) {
	return s.update(ctx, id, func(in *sandboxIntent) error {
		if idempotencyKey != "" && slices.Contains(in.RefundKeys, idempotencyKey) {
			return errUnchanged
		}
		if in.Status != StatusSucceeded || amount <= 0 || in.AmountRefunded+amount > in.AmountCaptured {
			return fmt.Errorf("sandbox: refund %d of %s: %w", amount, id, ErrInvalidState)
		}
		in.AmountRefunded += amount
		if idempotencyKey != "" {
			in.RefundKeys = append(in.RefundKeys, idempotencyKey)
		}
		return nil
	})
}

// errUnchanged tells update that the intent is already as wanted.
var errUnchanged = errors.New("unchanged")

// update applies change to the stored intent with optimistic concurrency, retrying when
// another process changed it in between.
func (s *Sandbox) update(ctx context.Context, id string, change func(*sandboxIntent) error) (Intent, error) {
	for attempt := 0; attempt < 10; attempt++ {
		in, version, err := s.load(ctx, id)
		if err != nil {
			return Intent{}, err
		}
		if err := change(&in); errors.Is(err, errUnchanged) {
			return in.Intent, nil
		} else if err != nil {
			return in.Intent, err
		}
		data, err := json.Marshal(in)
		if err != nil {
			return Intent{}, err
		}
		ok, err := s.store.UpdateSandboxIntent(ctx, id, version, data)
		if err != nil {
			return Intent{}, fmt.Errorf("sandbox: update %s: %w: %w", id, ErrProvider, err)
		}
		if ok {
			if in.DeclineCode != "" {
				return in.Intent, fmt.Errorf("sandbox: %s: %w", in.DeclineCode, ErrDeclined)
			}
			return in.Intent, nil
		}
	}
	return Intent{}, fmt.Errorf("sandbox: update %s: too much contention: %w", id, ErrProvider)
}

func (s *Sandbox) load(ctx context.Context, id string) (sandboxIntent, int, error) {
	data, version, err := s.store.GetSandboxIntent(ctx, id)
	if err != nil {
		return sandboxIntent{}, 0, fmt.Errorf("sandbox: get %s: %w: %w", id, ErrProvider, err)
	}
	if data == nil {
		return sandboxIntent{}, 0, fmt.Errorf("sandbox: %s: %w", id, ErrNotFound)
	}
	var in sandboxIntent
	if err := json.Unmarshal(data, &in); err != nil {
		return sandboxIntent{}, 0, fmt.Errorf("sandbox: decode %s: %w", id, err)
	}
	return in, version, nil
}
