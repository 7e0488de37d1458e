package payments

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v79"
	"github.com/stripe/stripe-go/v79/client"
)

// Defaults for StripeConfig.
const (
	DefaultStripeTimeout           = 10 * time.Second
	DefaultStripeMaxNetworkRetries = 2
)

// StripeConfig configures the Stripe gateway.
type StripeConfig struct {
	// SecretKey is the account's secret (sk_…) or restricted (rk_…) API key.
	SecretKey string
	// APIBase is the API's base URL; "" means Stripe's own. Tests point it at
	// stripe-mock (http://127.0.0.1:12111) or at a stripetest.Server.
	APIBase string
	// Timeout bounds each request to Stripe, stripe-go's own retries included;
	// 0 means DefaultStripeTimeout. A retry's back-off sleep (0.5 s, then 1 s) is not
	// interruptible, so a call that keeps failing fast can overrun it by that much.
	Timeout time.Duration
	// MaxNetworkRetries is how often stripe-go retries a request that failed in a way
	// Stripe marks safe to retry (network errors, 409, most 5xx); 0 means
	// DefaultStripeMaxNetworkRetries and a negative value means no retries. Retried
	// POSTs reuse their idempotency key, so they never act twice.
	MaxNetworkRetries int64
	// HTTPClient, when set, replaces the default client (tests use it). Its own
	// Timeout, if any, applies to each attempt.
	HTTPClient *http.Client
	// Logger receives stripe-go's diagnostics (requests at debug, retries at warn);
	// nil means none. Response bodies are never logged: they carry client secrets.
	Logger *slog.Logger
}

// Stripe is a Gateway backed by Stripe PaymentIntents with manual capture. It is safe
// for concurrent use, and several with different configurations can coexist: it uses
// its own stripe-go backend, never the package-level one.
type Stripe struct {
	api     *client.API
	timeout time.Duration
	// secret is kept only to scrub it from error text.
	secret string
}

var _ Gateway = (*Stripe)(nil)

// NewStripe returns a Stripe gateway for cfg.
func NewStripe(cfg StripeConfig) (*Stripe, error) {
	key := cfg.SecretKey
	if key == "" || strings.ContainsAny(key, " \t\r\n") {
		return nil, errors.New("stripe: a secret key without spaces is required")
	}
	if cfg.Timeout < 0 {
		return nil, fmt.Errorf("stripe: negative timeout %s", cfg.Timeout)
	}
	timeout := cfg.Timeout
	if timeout == 0 {
		timeout = DefaultStripeTimeout
	}
	retries := cfg.MaxNetworkRetries
	switch {
	case retries == 0:
		retries = DefaultStripeMaxNetworkRetries
	case retries < 0:
		retries = 0
	}
	httpClient := cfg.HTTPClient
	if httpClient == nil {
		// No client-wide timeout: each call carries a context deadline instead.
		httpClient = &http.Client{}
	}
	backendConfig := &stripe.BackendConfig{
		HTTPClient:        httpClient,
		MaxNetworkRetries: stripe.Int64(retries),
		LeveledLogger:     stripeLogger{log: cfg.Logger, secret: key},
	}
	if cfg.APIBase != "" {
		u, err := url.Parse(cfg.APIBase)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("stripe: API base %q is not an http(s) URL", cfg.APIBase)
		}
		backendConfig.URL = stripe.String(cfg.APIBase)
	}
	// Only the API backend is set: this gateway uses nothing else, and a nil Connect or
	// Uploads backend fails loudly instead of quietly reaching Stripe's real hosts when
	// APIBase points elsewhere.
	api := client.New(key, &stripe.Backends{API: stripe.GetBackendWithConfig(stripe.APIBackend, backendConfig)})
	return &Stripe{api: api, timeout: timeout, secret: key}, nil
}

// Name implements Gateway.
func (*Stripe) Name() string { return "stripe" }

// Create implements Gateway. The intent takes any payment method enabled in the
// Dashboard (automatic_payment_methods) and is captured later by Capture.
func (s *Stripe) Create(ctx context.Context, p CreateIntent) (Intent, error) {
	if p.Amount <= 0 || p.Currency == "" {
		return Intent{}, fmt.Errorf("stripe: create: a positive amount and a currency are required: %w", ErrInvalidState)
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	params := &stripe.PaymentIntentParams{
		Amount:        stripe.Int64(p.Amount),
		Currency:      stripe.String(strings.ToLower(p.Currency)),
		CaptureMethod: stripe.String(string(stripe.PaymentIntentCaptureMethodManual)),
		AutomaticPaymentMethods: &stripe.PaymentIntentAutomaticPaymentMethodsParams{
			Enabled: stripe.Bool(true),
		},
	}
	if p.Description != "" {
		params.Description = stripe.String(p.Description)
	}
	prepare(ctx, &params.Params, p.IdempotencyKey, p.Metadata)
	pi, err := s.api.PaymentIntents.New(params)
	if err != nil {
		return s.fail("create", "", err)
	}
	return intentFromStripe(pi), nil
}

// Get implements Gateway. It expands the latest charge, because the amounts captured
// and refunded live on the charge, not on the intent.
func (s *Stripe) Get(ctx context.Context, id string) (Intent, error) {
	if id == "" {
		return Intent{}, fmt.Errorf("stripe: get: empty intent id: %w", ErrNotFound)
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	params := &stripe.PaymentIntentParams{}
	prepare(ctx, &params.Params, "", nil)
	params.AddExpand("latest_charge")
	pi, err := s.api.PaymentIntents.Get(id, params)
	if err != nil {
		return s.fail("get", id, err)
	}
	return intentFromStripe(pi), nil
}

// Capture implements Gateway. Stripe answers payment_intent_unexpected_state to a
// second capture; reading the intent back tells a done capture from a wrong state.
func (s *Stripe) Capture(ctx context.Context, id, idempotencyKey string) (Intent, error) {
	if id == "" {
		return Intent{}, fmt.Errorf("stripe: capture: empty intent id: %w", ErrNotFound)
	}
	pi, err := s.capture(ctx, id, idempotencyKey)
	if err == nil {
		return intentFromStripe(pi), nil
	}
	return s.settled(ctx, "capture", id, err, StatusSucceeded)
}

func (s *Stripe) capture(ctx context.Context, id, idempotencyKey string) (*stripe.PaymentIntent, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	params := &stripe.PaymentIntentCaptureParams{}
	prepare(ctx, &params.Params, idempotencyKey, nil)
	params.AddExpand("latest_charge")
	return s.api.PaymentIntents.Capture(id, params)
}

// Cancel implements Gateway. As with Capture, an unexpected-state answer is resolved by
// reading the intent back: already cancelled is success, captured is ErrInvalidState.
func (s *Stripe) Cancel(ctx context.Context, id, idempotencyKey string) (Intent, error) {
	if id == "" {
		return Intent{}, fmt.Errorf("stripe: cancel: empty intent id: %w", ErrNotFound)
	}
	pi, err := s.cancel(ctx, id, idempotencyKey)
	if err == nil {
		return intentFromStripe(pi), nil
	}
	return s.settled(ctx, "cancel", id, err, StatusCanceled)
}

func (s *Stripe) cancel(ctx context.Context, id, idempotencyKey string) (*stripe.PaymentIntent, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	params := &stripe.PaymentIntentCancelParams{}
	prepare(ctx, &params.Params, idempotencyKey, nil)
	params.AddExpand("latest_charge")
	return s.api.PaymentIntents.Cancel(id, params)
}

// settled handles a failed capture or cancel: when Stripe says the intent is in an
// unexpected state and it turns out to be in the state the call wanted already (a retry
// after a lost response, or a webhook-driven duplicate), the call succeeded.
func (s *Stripe) settled(ctx context.Context, op, id string, err error, want IntentStatus) (Intent, error) {
	var se *stripe.Error
	if !errors.As(err, &se) || se.Code != stripe.ErrorCodePaymentIntentUnexpectedState {
		return s.fail(op, id, err)
	}
	in, getErr := s.Get(ctx, id)
	if getErr != nil {
		return s.fail(op, id, err)
	}
	if in.Status == want {
		return in, nil
	}
	_, failErr := s.fail(op, id, err)
	return in, failErr
}

// Refund implements Gateway. It returns the intent read back after the refund, so its
// AmountRefunded includes it. If that read fails the refund may still have been made:
// retrying with the same idempotency key is safe and does not refund twice.
func (s *Stripe) Refund(ctx context.Context, id string, amount int64, idempotencyKey string) (Intent, error) {
	if id == "" {
		return Intent{}, fmt.Errorf("stripe: refund: empty intent id: %w", ErrNotFound)
	}
	if amount <= 0 {
		return Intent{}, fmt.Errorf("stripe: refund %d of %s: amount must be positive: %w", amount, id, ErrInvalidState)
	}
	if err := s.refund(ctx, id, amount, idempotencyKey); err != nil {
		return s.fail("refund", id, err)
	}
	in, err := s.Get(ctx, id)
	if err != nil {
		return Intent{}, fmt.Errorf("stripe: refund of %s made, reading it back: %w", id, err)
	}
	return in, nil
}

func (s *Stripe) refund(ctx context.Context, id string, amount int64, idempotencyKey string) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	params := &stripe.RefundParams{
		PaymentIntent: stripe.String(id),
		Amount:        stripe.Int64(amount),
	}
	prepare(ctx, &params.Params, idempotencyKey, nil)
	_, err := s.api.Refunds.New(params)
	return err
}

// prepare sets what every request to Stripe carries on its embedded stripe.Params: the
// context that bounds it, the idempotency key of a mutation ("" for a read, or for a
// call Stripe keys itself) and the metadata (reservation_id, …) of a create. One place,
// so no request goes out without its deadline or its key.
func prepare(ctx context.Context, p *stripe.Params, idempotencyKey string, metadata map[string]string) {
	p.Context = ctx
	if idempotencyKey != "" {
		p.SetIdempotencyKey(idempotencyKey)
	}
	for k, v := range metadata {
		p.AddMetadata(k, v)
	}
}

// intentFromStripe maps a PaymentIntent, with or without its latest charge expanded.
func intentFromStripe(pi *stripe.PaymentIntent) Intent {
	in := Intent{
		ID:           pi.ID,
		ClientSecret: pi.ClientSecret,
		Amount:       pi.Amount,
		Currency:     string(pi.Currency),
		Status:       IntentStatus(pi.Status),
		// amount_received is what was captured; the expanded charge, when present,
		// says the same and also knows the refunds.
		AmountCaptured: pi.AmountReceived,
	}
	// An unexpanded latest_charge unmarshals to a Charge with only its ID. An
	// uncaptured charge's amount_refunded is an authorisation released by cancelling,
	// not money returned, so only a captured charge's counts.
	if ch := pi.LatestCharge; ch != nil && ch.Object == "charge" && ch.Captured {
		in.AmountCaptured = ch.AmountCaptured
		in.AmountRefunded = ch.AmountRefunded
	}
	if e := pi.LastPaymentError; e != nil {
		in.DeclineCode = string(e.DeclineCode)
		if in.DeclineCode == "" {
			in.DeclineCode = string(e.Code)
		}
	}
	return in
}

// fail maps an error from stripe-go to the package's sentinel errors. The text keeps
// what helps an operator (HTTP status, Stripe's type, code, message and request id) and
// never the key, a client secret or a response body. For a card error the intent that
// Stripe attached is returned, with its decline code.
func (s *Stripe) fail(op, id string, err error) (Intent, error) {
	what := "stripe: " + op
	if id != "" {
		what += " " + id
	}
	var se *stripe.Error
	if !errors.As(err, &se) {
		return Intent{}, s.transportError(what, err)
	}
	kind := classify(se)
	detail := fmt.Sprintf("HTTP %d %s", se.HTTPStatusCode, se.Type)
	if se.Code != "" {
		detail += " " + string(se.Code)
	}
	if se.DeclineCode != "" {
		detail += " (decline code " + string(se.DeclineCode) + ")"
	}
	if se.Msg != "" {
		detail += ": " + se.Msg
	}
	if se.RequestID != "" {
		detail += " [" + se.RequestID + "]"
	}
	var in Intent
	if errors.Is(kind, ErrDeclined) {
		if se.PaymentIntent != nil {
			in = intentFromStripe(se.PaymentIntent)
		}
		if in.DeclineCode == "" {
			in.DeclineCode = string(se.DeclineCode)
		}
		if in.DeclineCode == "" {
			in.DeclineCode = string(se.Code)
		}
	}
	err = fmt.Errorf("%s: %w: %s", what, kind, s.scrub(detail))
	if keySpent(se) {
		err = spentError{err}
	}
	return in, err
}

// keySpent reports whether Stripe keeps this answer under the request's idempotency key.
// It stores the result of every request that began executing, errors included; a 409
// (another request with the key is running) and a 429 (refused before it ran) are not
// stored, and the first request of a 409 may still succeed.
func keySpent(se *stripe.Error) bool {
	switch se.HTTPStatusCode {
	case 0, http.StatusConflict, http.StatusTooManyRequests:
		return false
	}
	return true
}

// spentError marks a failure as ErrKeySpent, keeping its text and its other sentinel.
type spentError struct{ error }

func (e spentError) Unwrap() error { return e.error }

// Is makes errors.Is(err, ErrKeySpent) true.
func (spentError) Is(target error) bool { return target == ErrKeySpent }

// classify picks the sentinel error for an error Stripe answered.
func classify(se *stripe.Error) error {
	switch {
	case se.Type == stripe.ErrorTypeCard:
		return ErrDeclined
	case se.HTTPStatusCode == http.StatusNotFound || se.Code == stripe.ErrorCodeResourceMissing:
		return ErrNotFound
	case se.HTTPStatusCode >= 500, se.HTTPStatusCode == http.StatusTooManyRequests,
		// A 409 is a concurrent request with the same idempotency key, retryable;
		// 401 and 403 are a bad key, which to callers is an outage of the provider.
		se.HTTPStatusCode == http.StatusConflict, se.HTTPStatusCode == http.StatusUnauthorized,
		se.HTTPStatusCode == http.StatusForbidden, se.Type == stripe.ErrorTypeAPI:
		return ErrProvider
	case se.Code == stripe.ErrorCodePaymentIntentUnexpectedState,
		se.Type == stripe.ErrorTypeInvalidRequest, se.Type == stripe.ErrorTypeIdempotency,
		se.HTTPStatusCode == http.StatusBadRequest, se.HTTPStatusCode == http.StatusPaymentRequired:
		// A request Stripe refused as it stands: the intent's status, an amount above
		// what is refundable, an idempotency key reused with other parameters. The
		// sandbox answers the same cases with ErrInvalidState.
		return ErrInvalidState
	}
	return ErrProvider
}

// transportError maps a failure to get an answer from Stripe: timeouts, cancelled
// contexts, refused connections and unreadable responses. All are ErrProvider; context
// errors stay in the chain so that callers can tell their own cancellation apart.
func (s *Stripe) transportError(what string, err error) error {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%s: %w: no answer in time (timeout %s): %w", what, ErrProvider, s.timeout, context.DeadlineExceeded)
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("%s: %w: %w", what, ErrProvider, context.Canceled)
	}
	var netErr net.Error
	if errors.As(err, &netErr) {
		return fmt.Errorf("%s: %w: %s", what, ErrProvider, s.scrub(netErr.Error()))
	}
	// Anything else is stripe-go failing to read an answer, and its text may quote the
	// response body: keep only its start, scrubbed.
	msg := s.scrub(err.Error())
	if len(msg) > 200 {
		msg = msg[:200] + "…"
	}
	return fmt.Errorf("%s: %w: %s", what, ErrProvider, msg)
}

// secretPattern matches Stripe API keys, webhook secrets and the secret part of
// PaymentIntent client secrets.
var secretPattern = regexp.MustCompile(`\b(?:sk|rk|whsec)_[A-Za-z0-9_]+|_secret_[A-Za-z0-9]+`)

// scrub removes anything that looks like a secret from text bound for errors and logs.
func (s *Stripe) scrub(text string) string {
	return scrubSecrets(text, s.secret)
}

func scrubSecrets(text, key string) string {
	if key != "" {
		text = strings.ReplaceAll(text, key, "[REDACTED]")
	}
	return secretPattern.ReplaceAllString(text, "[REDACTED]")
}

// stripeLogger adapts stripe-go's leveled logger to slog. stripe-go logs whole response
// bodies at debug level, client secrets included, so debug is dropped; its
// per-request info lines go to debug and its errors, which the gateway also returns
// to its caller, go to debug as well so that they are not reported twice.
type stripeLogger struct {
	log    *slog.Logger
	secret string
}

func (l stripeLogger) emit(level slog.Level, format string, v []any) {
	if l.log == nil || !l.log.Enabled(context.Background(), level) {
		return
	}
	l.log.Log(context.Background(), level, scrubSecrets(fmt.Sprintf(format, v...), l.secret), "component", "stripe-go")
}

func (stripeLogger) Debugf(string, ...any) {}

func (l stripeLogger) Infof(format string, v ...any) { l.emit(slog.LevelDebug, format, v) }

func (l stripeLogger) Warnf(format string, v ...any) { l.emit(slog.LevelWarn, format, v) }

func (l stripeLogger) Errorf(format string, v ...any) { l.emit(slog.LevelDebug, format, v) }
