package booking

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/prima-dining/partner-api/internal/ids"
	"github.com/prima-dining/partner-api/internal/webhooks"
	"github.com/prima-dining/partner-api/store"
)

// WebhookEndpoint is a partner's URL for events.
type WebhookEndpoint struct {
	ID        string
	URL       string
	Events    []string
	Status    string // enabled | disabled
	Secret    string // only when just created
	CreatedAt time.Time
}

// CreateWebhookEndpoint registers a URL for p's events and returns it with its signing
// secret, which is never shown again. URLs that are not http(s), or that reach private,
// loopback or link-local addresses (unless the operator allows them), are refused.
func (s *Service) CreateWebhookEndpoint(ctx context.Context, p Partner, rawURL string, events []string) (WebhookEndpoint, error) {
	if err := webhooks.ValidateURL(rawURL, s.cfg.AllowPrivateWebhooks); err != nil {
		return WebhookEndpoint{}, &ParamError{Param: "url", Message: err.Error()}
	}
	var clean []string
	for _, e := range events {
		if e != "*" && !slices.Contains(EventTypes, e) {
			return WebhookEndpoint{}, &ParamError{Param: "events", Message: fmt.Sprintf("%q is not an event type.", e)}
		}
		if !slices.Contains(clean, e) {
			clean = append(clean, e)
		}
	}
	secret, err := webhooks.NewSecret()
	if err != nil {
		return WebhookEndpoint{}, err
	}
	row := store.WebhookEndpoint{
		ID: ids.New("we"), PartnerID: p.ID, URL: rawURL, Events: strings.Join(clean, " "),
		Secret: secret, Status: "enabled", CreatedAt: s.now(),
	}
	if err := s.db.CreateWebhookEndpoint(ctx, &row); err != nil {
		return WebhookEndpoint{}, err
	}
	out := endpointFromRow(row)
	out.Secret = secret
	return out, nil
}

// ListWebhookEndpoints lists p's endpoints, without their secrets.
func (s *Service) ListWebhookEndpoints(ctx context.Context, p Partner) ([]WebhookEndpoint, error) {
	rows, err := s.db.ListWebhookEndpoints(ctx, p.ID)
	if err != nil {
		return nil, err
	}
	out := make([]WebhookEndpoint, 0, len(rows))
	for _, r := range rows {
		out = append(out, endpointFromRow(r))
	}
	return out, nil
}

// DeleteWebhookEndpoint deletes one of p's endpoints.
func (s *Service) DeleteWebhookEndpoint(ctx context.Context, p Partner, id string) error {
	err := s.db.DeleteWebhookEndpoint(ctx, p.ID, id)
	if errors.Is(err, store.ErrNotFound) {
		return &NotFoundError{Kind: "webhook endpoint", ID: id, Param: "webhook_endpoint_id"}
	}
	return err
}

func endpointFromRow(r store.WebhookEndpoint) WebhookEndpoint {
	return WebhookEndpoint{ID: r.ID, URL: r.URL, Events: strings.Fields(r.Events), Status: r.Status, CreatedAt: r.CreatedAt}
}
