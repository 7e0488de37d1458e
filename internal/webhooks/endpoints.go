package webhooks

import (
	"context"
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
	ID        string
	URL       string
	Events    []string
	Status    string // enabled | disabled
	Secret    string // only when just created
	CreatedAt time.Time
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
	db  *store.DB
	cfg EndpointsConfig
}

// NewEndpoints returns the partners' endpoint registry on db.
func NewEndpoints(db *store.DB, cfg EndpointsConfig) *Endpoints {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Endpoints{db: db, cfg: cfg}
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
	var clean []string
	for _, ev := range events {
		if ev != "*" && !slices.Contains(EventTypes, ev) {
			return Endpoint{}, &refusal.ParamError{Param: "events", Message: fmt.Sprintf("%q is not an event type.", ev)}
		}
		if !slices.Contains(clean, ev) {
			clean = append(clean, ev)
		}
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
		out = append(out, endpointFromRow(r))
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

func endpointFromRow(r store.WebhookEndpoint) Endpoint {
	return Endpoint{ID: r.ID, URL: r.URL, Events: strings.Fields(r.Events), Status: r.Status, CreatedAt: r.CreatedAt}
}
