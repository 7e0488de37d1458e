package access

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prima-dining/partner-api/internal/cache"
	"github.com/prima-dining/partner-api/internal/ids"
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
	// ScopeTokensWrite lets a token list, create, rotate and revoke its partner's tokens
	// (never with scopes wider than its own). Tokens issued without scopes do not carry
	// it: a token that mints tokens is asked for by name.
	ScopeTokensWrite = "tokens:write"
)

// AllScopes lists every scope, in the order they are shown.
var AllScopes = []string{ScopeVenuesRead, ScopeAvailabilityRead, ScopeReservationsRead, ScopeReservationsWrite, ScopeWebhooksWrite, ScopeAuditRead, ScopeTokensWrite}

// DefaultScopes are a partner token's scopes when none are asked for: every scope but
// tokens:write.
var DefaultScopes = []string{ScopeVenuesRead, ScopeAvailabilityRead, ScopeReservationsRead, ScopeReservationsWrite, ScopeWebhooksWrite, ScopeAuditRead}

// Scopes an operator token can carry; no scope is both a partner's and an operator's.
const (
	ScopeInventoryRead  = "inventory:read"
	ScopeInventoryWrite = "inventory:write"
	ScopeBookingsRead   = "bookings:read"
	ScopeBookingsWrite  = "bookings:write"
)

// OperatorScopes lists every operator scope, in the order they are shown.
var OperatorScopes = []string{ScopeInventoryRead, ScopeInventoryWrite, ScopeBookingsRead, ScopeBookingsWrite}

// Kind says whose token it is.
type Kind string

// Token kinds: a partner's tokens call the partner operations, an operator's tokens only
// the operator operations (/v1/operator/…).
const (
	KindPartner  Kind = "partner"
	KindOperator Kind = "operator"
)

// Authentication failures, each with its own error code on the wire.
var (
	ErrMissing = errors.New("access: no token")
	ErrInvalid = errors.New("access: token malformed or unknown")
	ErrExpired = errors.New("access: token expired")
	ErrRevoked = errors.New("access: token revoked")
)

// Principal is the authenticated caller of a request: a partner or an operator.
type Principal struct {
	TokenID     string
	Kind        Kind
	PartnerID   string // "" for an operator
	PartnerName string
	AllVenues   bool
	// OperatorID and OperatorName are set for an operator ("" for a partner).
	OperatorID   string
	OperatorName string
	Scopes       []string
	// RateLimitPerSecond and RateLimitBurst are the partner's own token bucket; zero
	// means the server's default.
	RateLimitPerSecond float64
	RateLimitBurst     int
}

// HasScope reports whether the token carries scope.
func (p Principal) HasScope(scope string) bool { return slices.Contains(p.Scopes, scope) }

// AccountID is the id of the partner or operator the token belongs to: what keys
// idempotency and the audit log.
func (p Principal) AccountID() string {
	if p.Kind == KindOperator {
		return p.OperatorID
	}
	return p.PartnerID
}

// Token describes an issued token; the secret itself is never kept.
type Token struct {
	ID          string
	Kind        Kind
	PartnerID   string
	PartnerName string
	// OperatorID and OperatorName are set for an operator's token.
	OperatorID   string
	OperatorName string
	Name         string
	Prefix       string
	Scopes       []string
	ExpiresAt    *time.Time
	RevokedAt    *time.Time
	LastUsedAt   *time.Time
	CreatedAt    time.Time
}

// Service issues, lists, revokes and checks tokens.
type Service struct {
	db  *store.DB
	now func() time.Time
	// touchEvery limits last_used_at writes to one per token per interval (and process),
	// so reads do not each become a write.
	touchEvery time.Duration
	// cache holds tokens by hash, trusted while db's invalidation feed is.
	cache *cache.Cache[string, *cachedToken]
}

// NewService returns a token service on db. It caches tokens while db's invalidation
// listener runs (store.DB.ListenInvalidations); without it, every check reads the
// database.
func NewService(db *store.DB) *Service {
	s := &Service{db: db, now: time.Now, touchEvery: time.Minute,
		cache: cache.New[string, *cachedToken]("tokens", db.Invalidations(), 0)}
	db.Invalidations().Subscribe(s.invalidate)
	return s
}

// CreateParams describes a token to issue.
type CreateParams struct {
	Partner string // partner name; the partner is created if it does not exist
	// Operator names an operator instead of a partner (created if it does not exist);
	// Venues are granted to it (they must exist). Give Partner or Operator, not both.
	Operator  string
	Venues    []string
	Name      string   // a label for people, e.g. "production checkout"
	Scopes    []string // empty means DefaultScopes (OperatorScopes for an operator)
	ExpiresIn time.Duration
}

// Create issues a token and returns its secret, which is shown once and never stored.
func (s *Service) Create(ctx context.Context, p CreateParams) (string, Token, error) {
	partnerName, operatorName := strings.TrimSpace(p.Partner), strings.TrimSpace(p.Operator)
	switch {
	case partnerName != "" && operatorName != "":
		return "", Token{}, errors.New("access: a token belongs to a partner or an operator, not both")
	case partnerName == "" && operatorName == "":
		return "", Token{}, errors.New("access: a partner name is required")
	case partnerName != "" && len(p.Venues) > 0:
		return "", Token{}, errors.New("access: venues are granted to operators; partners use `prima partner`")
	}
	known, asked := AllScopes, p.Scopes
	if operatorName != "" {
		known = OperatorScopes
	} else if len(asked) == 0 {
		asked = DefaultScopes
	}
	scopes, err := normalizeScopes(asked, known)
	if err != nil {
		return "", Token{}, err
	}
	var (
		partner  store.Partner
		operator store.Operator
	)
	if operatorName != "" {
		if operator, err = s.ensureOperator(ctx, operatorName); err != nil {
			return "", Token{}, err
		}
		if err := s.db.GrantOperatorVenues(ctx, operator.ID, p.Venues); errors.Is(err, store.ErrNotFound) {
			return "", Token{}, fmt.Errorf("access: no venue %s", strings.Join(p.Venues, " or "))
		} else if err != nil {
			return "", Token{}, err
		}
	} else if partner, err = s.ensurePartner(ctx, partnerName); err != nil {
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
	if operator.ID != "" {
		row.OperatorID = &operator.ID
	}
	if err := s.db.CreateToken(ctx, &row); err != nil {
		return "", Token{}, fmt.Errorf("access: store token: %w", err)
	}
	row.Partner, row.Operator = partner, operator
	return secret, tokenFromRow(row), nil
}

func (s *Service) ensureOperator(ctx context.Context, name string) (store.Operator, error) {
	o, err := s.db.GetOperatorByName(ctx, name)
	if err == nil {
		return o, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return store.Operator{}, err
	}
	o = store.Operator{ID: ids.New("opr"), Name: name, CreatedAt: s.now().UTC()}
	if err := s.db.CreateOperator(ctx, &o); errors.Is(err, store.ErrConflict) {
		return s.db.GetOperatorByName(ctx, name) // created concurrently
	} else if err != nil {
		return store.Operator{}, err
	}
	return o, nil
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
		ID:         ids.New("tok"),
		PartnerID:  old.PartnerID,
		OperatorID: old.OperatorID,
		Name:       old.Name,
		Hash:       hashToken(secret),
		Prefix:     secret[:displayChars],
		Scopes:     old.Scopes,
		CreatedAt:  now,
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
	row.Partner, row.Operator = old.Partner, old.Operator
	return secret, tokenFromRow(row), nil
}

// Authenticate checks a bearer token and returns who it belongs to.
//
// The token is read from the process's cache when it may be trusted (see package
// cache: the database announces every change of a token, its partner or operator), else
// from the database; either way its revocation and expiry are checked against the clock
// here, so a rotated token's scheduled end and an expiry take effect on time.
func (s *Service) Authenticate(ctx context.Context, raw string) (Principal, error) {
	if raw == "" {
		return Principal{}, ErrMissing
	}
	if !wellFormed(raw) {
		return Principal{}, ErrInvalid
	}
	hash := hashToken(raw)
	t, ok := s.cache.Get(hash)
	if !ok {
		ticket := s.cache.Begin()
		row, err := s.db.GetTokenByHash(ctx, hash)
		if errors.Is(err, store.ErrNotFound) {
			return Principal{}, ErrInvalid // unknown tokens are not cached: guesses would fill it
		} else if err != nil {
			return Principal{}, fmt.Errorf("access: look up token: %w", err)
		}
		t = cachedFromRow(row)
		s.cache.Put(ticket, hash, t)
	}
	now := s.now().UTC()
	if t.revokedAt != nil && !t.revokedAt.After(now) {
		return Principal{}, ErrRevoked
	}
	if t.expiresAt != nil && !t.expiresAt.After(now) {
		return Principal{}, ErrExpired
	}
	if err := s.touch(ctx, t, now); err != nil {
		return Principal{}, err
	}
	return t.principal, nil
}

// touch records the token's use at most once per touchEvery per process: the request
// that moves lastUsed forward writes it, the others go on.
func (s *Service) touch(ctx context.Context, t *cachedToken, now time.Time) error {
	last := t.lastUsed.Load()
	if last != 0 && now.Sub(time.Unix(0, last)) < s.touchEvery {
		return nil
	}
	if !t.lastUsed.CompareAndSwap(last, now.UnixNano()) {
		return nil // another request is recording it
	}
	if err := s.db.TouchToken(ctx, t.principal.TokenID, now); err != nil {
		t.lastUsed.CompareAndSwap(now.UnixNano(), last) // the next request tries again
		return fmt.Errorf("access: record token use: %w", err)
	}
	return nil
}

// cachedToken is what Authenticate keeps of a token: who it belongs to, when it ends,
// and when its use was last recorded.
type cachedToken struct {
	principal            Principal
	expiresAt, revokedAt *time.Time
	lastUsed             atomic.Int64 // Unix nanoseconds; 0: never
}

func cachedFromRow(row store.Token) *cachedToken {
	t := &cachedToken{expiresAt: row.ExpiresAt, revokedAt: row.RevokedAt}
	if row.LastUsedAt != nil {
		t.lastUsed.Store(row.LastUsedAt.UnixNano())
	}
	if row.OperatorID != nil {
		t.principal = Principal{
			TokenID:      row.ID,
			Kind:         KindOperator,
			OperatorID:   *row.OperatorID,
			OperatorName: row.Operator.Name,
			Scopes:       strings.Fields(row.Scopes),
		}
		return t
	}
	t.principal = Principal{
		TokenID:     row.ID,
		Kind:        KindPartner,
		PartnerID:   row.PartnerID,
		PartnerName: row.Partner.Name,
		AllVenues:   row.Partner.AllVenues,
		Scopes:      strings.Fields(row.Scopes),

		RateLimitPerSecond: row.Partner.RateLimitPerSecond,
		RateLimitBurst:     row.Partner.RateLimitBurst,
	}
	return t
}

// invalidate drops the cached tokens a change concerns: the token itself, or every
// token of the partner or operator whose settings changed.
func (s *Service) invalidate(c store.Change) {
	var stale func(string, *cachedToken) bool
	switch c.Kind {
	case store.ChangeToken:
		stale = func(_ string, t *cachedToken) bool { return t.principal.TokenID == c.ID }
	case store.ChangePartner:
		stale = func(_ string, t *cachedToken) bool {
			return t.principal.Kind == KindPartner && (c.ID == "" || t.principal.PartnerID == c.ID)
		}
	case store.ChangeOperator:
		stale = func(_ string, t *cachedToken) bool {
			return t.principal.Kind == KindOperator && (c.ID == "" || t.principal.OperatorID == c.ID)
		}
	case store.ChangeAll:
		s.cache.Clear()
		return
	default:
		return
	}
	s.cache.Invalidate(stale)
}

// CacheStats reports the token cache's lookups.
func (s *Service) CacheStats() cache.Stats { return s.cache.Stats() }

func normalizeScopes(in, known []string) ([]string, error) {
	if len(in) == 0 {
		return slices.Clone(known), nil
	}
	var out []string
	for _, sc := range in {
		sc = strings.TrimSpace(sc)
		if sc == "" {
			continue
		}
		if !slices.Contains(known, sc) {
			return nil, fmt.Errorf("access: unknown scope %q (known: %s)", sc, strings.Join(known, ", "))
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
	kind, operatorID := KindPartner, ""
	if r.OperatorID != nil {
		kind, operatorID = KindOperator, *r.OperatorID
	}
	return Token{
		ID:           r.ID,
		Kind:         kind,
		OperatorID:   operatorID,
		OperatorName: r.Operator.Name,
		PartnerID:    r.PartnerID,
		PartnerName:  r.Partner.Name,
		Name:         r.Name,
		Prefix:       r.Prefix,
		Scopes:       strings.Fields(r.Scopes),
		ExpiresAt:    r.ExpiresAt,
		RevokedAt:    r.RevokedAt,
		LastUsedAt:   r.LastUsedAt,
		CreatedAt:    r.CreatedAt,
	}
}
