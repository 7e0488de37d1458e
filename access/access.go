package access

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/prima-dining/partner-api/ids"
	"github.com/prima-dining/partner-api/store"
)

// Scopes a partner token can carry.
const (
	ScopeVenuesRead        = "venues:read"
	ScopeAvailabilityRead  = "availability:read"
	ScopeReservationsRead  = "reservations:read"
	ScopeReservationsWrite = "reservations:write"
	ScopeWebhooksWrite     = "webhooks:write"
	ScopeAuditRead         = "audit:read"
)

// AllScopes lists every scope, in the order they are shown.
var AllScopes = []string{ScopeVenuesRead, ScopeAvailabilityRead, ScopeReservationsRead, ScopeReservationsWrite, ScopeWebhooksWrite, ScopeAuditRead}

// Authentication failures, each with its own error code on the wire.
var (
	ErrMissing = errors.New("access: no token")
	ErrInvalid = errors.New("access: token malformed or unknown")
	ErrExpired = errors.New("access: token expired")
	ErrRevoked = errors.New("access: token revoked")
)

// Principal is the authenticated caller of a request.
type Principal struct {
	TokenID     string
	PartnerID   string
	PartnerName string
	AllVenues   bool
	Scopes      []string
	// RateLimitPerSecond and RateLimitBurst are the partner's own token bucket; zero
	// means the server's default.
	RateLimitPerSecond float64
	RateLimitBurst     int
}

// HasScope reports whether the token carries scope.
func (p Principal) HasScope(scope string) bool { return slices.Contains(p.Scopes, scope) }

// Token describes an issued token; the secret itself is never kept.
type Token struct {
	ID          string
	PartnerID   string
	PartnerName string
	Name        string
	Prefix      string
	Scopes      []string
	ExpiresAt   *time.Time
	RevokedAt   *time.Time
	LastUsedAt  *time.Time
	CreatedAt   time.Time
}

// Service issues, lists, revokes and checks tokens.
type Service struct {
	db  *store.DB
	now func() time.Time
	// touchEvery limits last_used_at writes to one per token per interval, so reads do
	// not each become a write.
	touchEvery time.Duration
}

// NewService returns a token service on db.
func NewService(db *store.DB) *Service {
	return &Service{db: db, now: time.Now, touchEvery: time.Minute}
}

// CreateParams describes a token to issue.
type CreateParams struct {
	Partner   string   // partner name; the partner is created if it does not exist
	Name      string   // a label for people, e.g. "production checkout"
	Scopes    []string // empty means AllScopes
	ExpiresIn time.Duration
}

// Create issues a token and returns its secret, which is shown once and never stored.
func (s *Service) Create(ctx context.Context, p CreateParams) (string, Token, error) {
	scopes, err := normalizeScopes(p.Scopes)
	if err != nil {
		return "", Token{}, err
	}
	if strings.TrimSpace(p.Partner) == "" {
		return "", Token{}, errors.New("access: a partner name is required")
	}
	partner, err := s.ensurePartner(ctx, strings.TrimSpace(p.Partner))
	if err != nil {
		return "", Token{}, err
	}
	secret, err := newTokenString()
	if err != nil {
		return "", Token{}, fmt.Errorf("access: generate token: %w", err)
	}
	now := s.now().UTC()
	row := store.Token{
		ID:        ids.New("tok"),
		PartnerID: partner.ID,
		Name:      p.Name,
		Hash:      hashToken(secret),
		Prefix:    secret[:displayChars],
		Scopes:    strings.Join(scopes, " "),
		CreatedAt: now,
	}
	if p.ExpiresIn > 0 {
		exp := now.Add(p.ExpiresIn)
		row.ExpiresAt = &exp
	}
	if err := s.db.CreateToken(ctx, &row); err != nil {
		return "", Token{}, fmt.Errorf("access: store token: %w", err)
	}
	row.Partner = partner
	return secret, tokenFromRow(row), nil
}

func (s *Service) ensurePartner(ctx context.Context, name string) (store.Partner, error) {
	p, err := s.db.GetPartnerByName(ctx, name)
	if err == nil {
		return p, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return store.Partner{}, err
	}
	p = store.Partner{ID: ids.New("ptn"), Name: name, AllVenues: true, CreatedAt: s.now().UTC()}
	if err := s.db.CreatePartner(ctx, &p); errors.Is(err, store.ErrConflict) {
		return s.db.GetPartnerByName(ctx, name) // created concurrently
	} else if err != nil {
		return store.Partner{}, err
	}
	return p, nil
}

// List returns the tokens of a partner (by name), or of every partner when partner is "".
func (s *Service) List(ctx context.Context, partner string) ([]Token, error) {
	partnerID := ""
	if partner != "" {
		p, err := s.db.GetPartnerByName(ctx, partner)
		if errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("access: no partner named %q", partner)
		} else if err != nil {
			return nil, err
		}
		partnerID = p.ID
	}
	rows, err := s.db.ListTokens(ctx, partnerID)
	if err != nil {
		return nil, err
	}
	out := make([]Token, 0, len(rows))
	for _, r := range rows {
		out = append(out, tokenFromRow(r))
	}
	return out, nil
}

// Revoke revokes a token by id; the next request with it is refused.
func (s *Service) Revoke(ctx context.Context, id string) error {
	err := s.db.RevokeToken(ctx, id, s.now().UTC())
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("access: no token %s", id)
	}
	return err
}

// Get returns a token by id (without its secret, which is never kept).
func (s *Service) Get(ctx context.Context, id string) (Token, error) {
	row, err := s.db.GetToken(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return Token{}, fmt.Errorf("access: no token %s: %w", id, ErrInvalid)
	} else if err != nil {
		return Token{}, err
	}
	return tokenFromRow(row), nil
}

// Rotate issues a successor of the token id, with the same partner, name and scopes
// and the same lifetime counted from now, and revokes id at the end of overlap (at once
// when overlap is 0), so clients can switch to the new secret without a gap. It returns
// the successor's secret, shown once.
func (s *Service) Rotate(ctx context.Context, id string, overlap time.Duration) (string, Token, error) {
	if overlap < 0 {
		return "", Token{}, errors.New("access: the overlap cannot be negative")
	}
	old, err := s.db.GetToken(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return "", Token{}, fmt.Errorf("access: no token %s", id)
	} else if err != nil {
		return "", Token{}, err
	}
	now := s.now().UTC()
	if old.RevokedAt != nil {
		return "", Token{}, fmt.Errorf("access: token %s is already revoked or rotated", id)
	}
	if old.ExpiresAt != nil && !old.ExpiresAt.After(now) {
		return "", Token{}, fmt.Errorf("access: token %s has expired; create a new one", id)
	}
	secret, err := newTokenString()
	if err != nil {
		return "", Token{}, fmt.Errorf("access: generate token: %w", err)
	}
	row := store.Token{
		ID:        ids.New("tok"),
		PartnerID: old.PartnerID,
		Name:      old.Name,
		Hash:      hashToken(secret),
		Prefix:    secret[:displayChars],
		Scopes:    old.Scopes,
		CreatedAt: now,
	}
	if old.ExpiresAt != nil {
		exp := now.Add(old.ExpiresAt.Sub(old.CreatedAt))
		row.ExpiresAt = &exp
	}
	if err := s.db.RotateToken(ctx, id, &row, now.Add(overlap)); errors.Is(err, store.ErrConflict) {
		return "", Token{}, fmt.Errorf("access: token %s is already revoked or rotated", id)
	} else if err != nil {
		return "", Token{}, fmt.Errorf("access: rotate token: %w", err)
	}
	row.Partner = old.Partner
	return secret, tokenFromRow(row), nil
}

// Authenticate checks a bearer token and returns who it belongs to.
func (s *Service) Authenticate(ctx context.Context, raw string) (Principal, error) {
	if raw == "" {
		return Principal{}, ErrMissing
	}
	if !wellFormed(raw) {
		return Principal{}, ErrInvalid
	}
	row, err := s.db.GetTokenByHash(ctx, hashToken(raw))
	if errors.Is(err, store.ErrNotFound) {
		return Principal{}, ErrInvalid
	} else if err != nil {
		return Principal{}, fmt.Errorf("access: look up token: %w", err)
	}
	now := s.now().UTC()
	if row.RevokedAt != nil && !row.RevokedAt.After(now) {
		return Principal{}, ErrRevoked
	}
	if row.ExpiresAt != nil && !row.ExpiresAt.After(now) {
		return Principal{}, ErrExpired
	}
	if row.LastUsedAt == nil || now.Sub(*row.LastUsedAt) >= s.touchEvery {
		if err := s.db.TouchToken(ctx, row.ID, now); err != nil {
			return Principal{}, fmt.Errorf("access: record token use: %w", err)
		}
	}
	return Principal{
		TokenID:     row.ID,
		PartnerID:   row.PartnerID,
		PartnerName: row.Partner.Name,
		AllVenues:   row.Partner.AllVenues,
		Scopes:      strings.Fields(row.Scopes),

		RateLimitPerSecond: row.Partner.RateLimitPerSecond,
		RateLimitBurst:     row.Partner.RateLimitBurst,
	}, nil
}

func normalizeScopes(in []string) ([]string, error) {
	if len(in) == 0 {
		return slices.Clone(AllScopes), nil
	}
	var out []string
	for _, sc := range in {
		sc = strings.TrimSpace(sc)
		if sc == "" {
			continue
		}
		if !slices.Contains(AllScopes, sc) {
			return nil, fmt.Errorf("access: unknown scope %q (known: %s)", sc, strings.Join(AllScopes, ", "))
		}
		if !slices.Contains(out, sc) {
			out = append(out, sc)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("access: at least one scope is required")
	}
	return out, nil
}

func tokenFromRow(r store.Token) Token {
	return Token{
		ID:          r.ID,
		PartnerID:   r.PartnerID,
		PartnerName: r.Partner.Name,
		Name:        r.Name,
		Prefix:      r.Prefix,
		Scopes:      strings.Fields(r.Scopes),
		ExpiresAt:   r.ExpiresAt,
		RevokedAt:   r.RevokedAt,
		LastUsedAt:  r.LastUsedAt,
		CreatedAt:   r.CreatedAt,
	}
}
