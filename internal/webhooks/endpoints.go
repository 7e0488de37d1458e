package webhooks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/prima-dining/partner-api/internal/idempotency"
	"github.com/prima-dining/partner-api/internal/ids"
	"github.com/prima-dining/partner-api/internal/refusal"
	"github.com/prima-dining/partner-api/store"
)

// Endpoint is a partner's URL for events.
type Endpoint struct {
	ID     string
	URL    string
	Events []string
	Status string // enabled | disabled
	Secret string // only when just created or rotated
	// PreviousSecretExpiresAt is the end of a rotation's overlap, while it is ahead.
	PreviousSecretExpiresAt *time.Time
	CreatedAt               time.Time
}

// EndpointsConfig tunes Endpoints.
type EndpointsConfig struct {
	// AllowPrivate lets partners register URLs on private or loopback addresses
	// (PRIMA_WEBHOOK_ALLOW_PRIVATE; for development and tests).
	AllowPrivate bool
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Endpoints registers, lists and deletes partners' webhook endpoints: the addresses the
// outbox worker delivers their events to.
type Endpoints struct {
	db     *store.DB
	cfg    EndpointsConfig
	sender *Sender
}

// NewEndpoints returns the partners' endpoint registry on db.
func NewEndpoints(db *store.DB, cfg EndpointsConfig) *Endpoints {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Endpoints{db: db, cfg: cfg, sender: NewSender(SenderConfig{Timeout: DefaultTimeout, AllowPrivate: cfg.AllowPrivate})}
}

// Create registers a URL for partnerID's events and returns it with its signing secret,
// which is never shown again. URLs that are not http(s), or that reach private, loopback
// or link-local addresses (unless the configuration allows them), are refused.
//
// The endpoint and the request's Idempotency-Key recovery point commit together: a retry
// of a request that died after the insert answers the endpoint it created, secret
// included, rather than registering a second one.
func (e *Endpoints) Create(ctx context.Context, partnerID, rawURL string, events []string) (Endpoint, error) {
	key := idempotency.FromContext(ctx)
	if id := key.AppliedTo(); id != "" {
		row, err := e.db.GetWebhookEndpoint(ctx, id)
		if err != nil {
			return Endpoint{}, fmt.Errorf("webhooks: resume create of %s: %w", id, err)
		}
		out := endpointFromRow(row)
		out.Secret = row.Secret
		return out, nil
	}
	if err := ValidateURL(rawURL, e.cfg.AllowPrivate); err != nil {
		return Endpoint{}, &refusal.ParamError{Param: "url", Message: err.Error()}
	}
	clean, err := cleanEvents(events)
	if err != nil {
		return Endpoint{}, err
	}
	secret, err := NewSecret()
	if err != nil {
		return Endpoint{}, err
	}
	row := store.WebhookEndpoint{
		ID: ids.New("we"), PartnerID: partnerID, URL: rawURL, Events: strings.Join(clean, " "),
		Secret: secret, Status: "enabled", CreatedAt: e.cfg.Now().UTC(),
	}
	if err := e.db.CreateWebhookEndpoint(ctx, &row, key.Applies(row.ID)); err != nil {
		return Endpoint{}, err
	}
	key.Committed(idempotency.PointApplied)
	out := endpointFromRow(row)
	out.Secret = secret
	return out, nil
}

// List lists partnerID's endpoints, without their secrets.
func (e *Endpoints) List(ctx context.Context, partnerID string) ([]Endpoint, error) {
	rows, err := e.db.ListWebhookEndpoints(ctx, partnerID)
	if err != nil {
		return nil, err
	}
	out := make([]Endpoint, 0, len(rows))
	for _, r := range rows {
		out = append(out, e.fromRow(r))
	}
	return out, nil
}

// Delete deletes one of partnerID's endpoints.
func (e *Endpoints) Delete(ctx context.Context, partnerID, id string) error {
	err := e.db.DeleteWebhookEndpoint(ctx, partnerID, id)
	if errors.Is(err, store.ErrNotFound) {
		return &refusal.NotFoundError{Kind: "webhook endpoint", ID: id, Param: "webhook_endpoint_id"}
	}
	return err
}

// cleanEvents checks event types and drops duplicates.
func cleanEvents(events []string) ([]string, error) {
	var clean []string
	for _, ev := range events {
		if ev != "*" && !slices.Contains(EventTypes, ev) {
			return nil, &refusal.ParamError{Param: "events", Message: fmt.Sprintf("%q is not an event type.", ev)}
		}
		if !slices.Contains(clean, ev) {
			clean = append(clean, ev)
		}
	}
	return clean, nil
}

// Get returns one of partnerID's endpoints, without its secret.
func (e *Endpoints) Get(ctx context.Context, partnerID, id string) (Endpoint, error) {
	row, err := e.db.GetWebhookEndpointOf(ctx, partnerID, id)
	if errors.Is(err, store.ErrNotFound) {
		return Endpoint{}, notFoundEndpoint(id)
	}
	if err != nil {
		return Endpoint{}, err
	}
	return e.fromRow(row), nil
}

// EndpointChange is what Update changes; nil fields stay.
type EndpointChange struct {
	URL    *string
	Events []string // nil: unchanged
	Status *string  // enabled | disabled
}

// Update changes one of partnerID's endpoints and returns it as it now is. The change
// and the request's Idempotency-Key recovery point commit together.
func (e *Endpoints) Update(ctx context.Context, partnerID, id string, c EndpointChange) (Endpoint, error) {
	var change store.WebhookEndpointChange
	if c.URL != nil {
		if err := ValidateURL(*c.URL, e.cfg.AllowPrivate); err != nil {
			return Endpoint{}, &refusal.ParamError{Param: "url", Message: err.Error()}
		}
		change.URL = c.URL
	}
	if c.Events != nil {
		clean, err := cleanEvents(c.Events)
		if err != nil {
			return Endpoint{}, err
		}
		joined := strings.Join(clean, " ")
		change.Events = &joined
	}
	if c.Status != nil {
		if *c.Status != store.EndpointEnabled && *c.Status != store.EndpointDisabled {
			return Endpoint{}, &refusal.ParamError{Param: "status", Message: "status is enabled or disabled."}
		}
		change.Status = c.Status
	}
	key := idempotency.FromContext(ctx)
	row, err := e.db.UpdateWebhookEndpoint(ctx, partnerID, id, change, key.Applies(id))
	if errors.Is(err, store.ErrNotFound) {
		return Endpoint{}, notFoundEndpoint(id)
	}
	if err != nil {
		return Endpoint{}, err
	}
	key.Committed(idempotency.PointApplied)
	return e.fromRow(row), nil
}

// MaxSecretOverlap bounds a rotation's overlap; DefaultSecretOverlap is the overlap
// when the request names none.
const (
	MaxSecretOverlap     = 7 * 24 * time.Hour
	DefaultSecretOverlap = 24 * time.Hour
)

// RotateSecret gives one of partnerID's endpoints a new signing secret and returns the
// endpoint with it (shown once); the previous secret still signs deliveries for
// overlap. The rotation and the request's Idempotency-Key recovery point commit
// together: a retry of a request that died after it answers the secret it made, and
// does not rotate again (which would end the overlap of the secret just issued).
func (e *Endpoints) RotateSecret(ctx context.Context, partnerID, id string, overlap time.Duration) (Endpoint, error) {
	if overlap < 0 || overlap > MaxSecretOverlap {
		return Endpoint{}, &refusal.ParamError{Param: "overlap_seconds", Message: "overlap_seconds is 0 to 604800 (7 days)."}
	}
	key := idempotency.FromContext(ctx)
	if applied := key.AppliedTo(); applied != "" {
		row, err := e.db.GetWebhookEndpointOf(ctx, partnerID, applied)
		if err != nil {
			return Endpoint{}, fmt.Errorf("webhooks: resume rotation of %s: %w", applied, err)
		}
		out := e.fromRow(row)
		out.Secret = row.Secret
		return out, nil
	}
	secret, err := NewSecret()
	if err != nil {
		return Endpoint{}, err
	}
	row, err := e.db.RotateWebhookSecret(ctx, partnerID, id, secret, e.cfg.Now().UTC().Add(overlap), key.Applies(id))
	if errors.Is(err, store.ErrNotFound) {
		return Endpoint{}, notFoundEndpoint(id)
	}
	if err != nil {
		return Endpoint{}, err
	}
	key.Committed(idempotency.PointApplied)
	out := e.fromRow(row)
	out.Secret = secret
	return out, nil
}

// Ping sends a test event to one of partnerID's endpoints now, signed like a delivery
// (both secrets during a rotation's overlap), and returns the attempt. It is neither
// retried nor kept.
func (e *Endpoints) Ping(ctx context.Context, partnerID, id string) (Attempt, error) {
	row, err := e.db.GetWebhookEndpointOf(ctx, partnerID, id)
	if errors.Is(err, store.ErrNotFound) {
		return Attempt{}, notFoundEndpoint(id)
	}
	if err != nil {
		return Attempt{}, err
	}
	now := e.cfg.Now().UTC()
	eventID := ids.New("evt")
	body, err := json.Marshal(map[string]any{
		"id": eventID, "object": "event", "type": "ping", "created_at": now.Format(time.RFC3339),
		"data": map[string]string{"webhook_endpoint_id": row.ID},
	})
	if err != nil {
		return Attempt{}, err
	}
	d := Delivery{URL: row.URL, Secret: row.Secret, MessageID: eventID, Timestamp: time.Now(), Body: body, AlsoSecrets: activePrevious(row, now)}
	started := time.Now()
	resp, err := e.sender.Send(ctx, d)
	a := Attempt{
		ID: ids.New("wha"), EventID: eventID, EndpointID: row.ID, Outcome: "succeeded", StatusCode: resp.StatusCode,
		Duration: time.Since(started), AttemptedAt: e.cfg.Now().UTC(),
	}
	if err != nil {
		a.Outcome, a.Error = "failed", publicReason("The endpoint", err)
		var se *StatusError
		if errors.As(err, &se) {
			a.StatusCode = se.StatusCode
		}
	}
	return a, nil
}

// activePrevious is the endpoint's previous secret while its overlap runs at now.
func activePrevious(r store.WebhookEndpoint, now time.Time) []string {
	if r.PreviousSecret != "" && r.PreviousSecretExpiresAt != nil && now.Before(*r.PreviousSecretExpiresAt) {
		return []string{r.PreviousSecret}
	}
	return nil
}

func notFoundEndpoint(id string) error {
	return &refusal.NotFoundError{Kind: "webhook endpoint", ID: id, Param: "webhook_endpoint_id"}
}

// fromRow maps an endpoint, without its secret; the end of a rotation's overlap shows
// while it is ahead.
func (e *Endpoints) fromRow(r store.WebhookEndpoint) Endpoint {
	out := endpointFromRow(r)
	if r.PreviousSecretExpiresAt != nil && e.cfg.Now().Before(*r.PreviousSecretExpiresAt) {
		at := r.PreviousSecretExpiresAt.UTC()
		out.PreviousSecretExpiresAt = &at
	}
	return out
}

func endpointFromRow(r store.WebhookEndpoint) Endpoint {
	return Endpoint{ID: r.ID, URL: r.URL, Events: strings.Fields(r.Events), Status: r.Status, CreatedAt: r.CreatedAt}
}
