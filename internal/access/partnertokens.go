package access

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

// Limits of the partner token operations.
const (
	MaxTokenOverlap     = 7 * 24 * time.Hour
	DefaultTokenOverlap = 24 * time.Hour
)

// PartnerTokens are a partner's own token operations (GET/POST /v1/tokens …), made by a
// token with tokens:write: never with scopes wider than the caller's, and never on
// another partner's tokens (a 404, as if they did not exist).
type PartnerTokens struct{ s *Service }

// Partner returns the partner token operations of s.
func (s *Service) Partner() PartnerTokens { return PartnerTokens{s: s} }

// List lists the caller's partner's tokens that still work (a rotated one until its
// overlap ends), newest first.
func (pt PartnerTokens) List(ctx context.Context, caller Principal) ([]Token, error) {
	rows, err := pt.s.db.ListTokens(ctx, caller.PartnerID)
	if err != nil {
		return nil, err
	}
	now := pt.s.now()
	out := make([]Token, 0, len(rows))
	for _, r := range rows {
		if r.OperatorID != nil || r.RevokedAt != nil && !r.RevokedAt.After(now) || r.ExpiresAt != nil && !r.ExpiresAt.After(now) {
			continue
		}
		out = append(out, tokenFromRow(r))
	}
	return out, nil
}

// Create issues a token of the caller's partner with scopes (each among the caller's:
// else a refusal.ForbiddenError) and a lifetime (0: none). It returns the secret, shown
// once. The token and the request's Idempotency-Key recovery point commit together; a
// retry of a request that died after the insert answers that token, without its secret
// ("", since only its hash is kept).
func (pt PartnerTokens) Create(ctx context.Context, caller Principal, name string, scopes []string, expiresIn time.Duration) (string, Token, error) {
	key := idempotency.FromContext(ctx)
	if id := key.AppliedTo(); id != "" {
		t, err := pt.get(ctx, caller, id)
		return "", t, err
	}
	clean, err := pt.allowed(caller, scopes)
	if err != nil {
		return "", Token{}, err
	}
	name = strings.TrimSpace(name)
	if name == "" {
		return "", Token{}, &refusal.ParamError{Param: "name", Message: "name must not be blank."}
	}
	secret, err := newTokenString()
	if err != nil {
		return "", Token{}, fmt.Errorf("access: generate token: %w", err)
	}
	now := pt.s.now().UTC()
	row := store.Token{
		ID: ids.New("tok"), PartnerID: caller.PartnerID, Name: name, Hash: hashToken(secret),
		Prefix: secret[:displayChars], Scopes: strings.Join(clean, " "), CreatedAt: now,
	}
	if expiresIn > 0 {
		exp := now.Add(expiresIn)
		row.ExpiresAt = &exp
	}
	if err := pt.s.db.CreateToken(ctx, &row, key.Applies(row.ID)); err != nil {
		return "", Token{}, fmt.Errorf("access: store token: %w", err)
	}
	key.Committed(idempotency.PointApplied)
	row.Partner = store.Partner{ID: caller.PartnerID, Name: caller.PartnerName}
	return secret, tokenFromRow(row), nil
}

// Rotate issues a successor of one of the caller's partner's tokens (whose scopes must
// all be the caller's) and revokes it at the end of overlap. It returns the
// successor's secret, shown once ("" on the retry of a request that died after the
// rotation committed).
func (pt PartnerTokens) Rotate(ctx context.Context, caller Principal, id string, overlap time.Duration) (string, Token, error) {
	if overlap < 0 || overlap > MaxTokenOverlap {
		return "", Token{}, &refusal.ParamError{Param: "overlap_seconds", Message: "overlap_seconds is 0 to 604800 (7 days)."}
	}
	key := idempotency.FromContext(ctx)
	if applied := key.AppliedTo(); applied != "" {
		t, err := pt.get(ctx, caller, applied)
		return "", t, err
	}
	old, err := pt.get(ctx, caller, id)
	if err != nil {
		return "", Token{}, err
	}
	if _, err := pt.allowed(caller, old.Scopes); err != nil {
		return "", Token{}, &refusal.ForbiddenError{Param: "token_id", Message: "That token has scopes this token lacks; rotate it with a token that has them all."}
	}
	now := pt.s.now().UTC()
	if old.RevokedAt != nil || old.ExpiresAt != nil && !old.ExpiresAt.After(now) {
		return "", Token{}, &refusal.ParamError{Param: "token_id", Message: "That token is already revoked, rotated or expired."}
	}
	secret, err := newTokenString()
	if err != nil {
		return "", Token{}, fmt.Errorf("access: generate token: %w", err)
	}
	row := store.Token{
		ID: ids.New("tok"), PartnerID: caller.PartnerID, Name: old.Name, Hash: hashToken(secret),
		Prefix: secret[:displayChars], Scopes: strings.Join(old.Scopes, " "), CreatedAt: now,
	}
	if old.ExpiresAt != nil {
		exp := now.Add(old.ExpiresAt.Sub(old.CreatedAt))
		row.ExpiresAt = &exp
	}
	err = pt.s.db.RotateToken(ctx, id, &row, now.Add(overlap), key.Applies(row.ID))
	if errors.Is(err, store.ErrConflict) {
		return "", Token{}, &refusal.ParamError{Param: "token_id", Message: "That token is already revoked, rotated or expired."}
	} else if err != nil {
		return "", Token{}, fmt.Errorf("access: rotate token: %w", err)
	}
	key.Committed(idempotency.PointApplied)
	row.Partner = store.Partner{ID: caller.PartnerID, Name: caller.PartnerName}
	return secret, tokenFromRow(row), nil
}

// Revoke revokes one of the caller's partner's tokens at once (any of them, so that a
// leaked one can be stopped by whoever holds tokens:write).
func (pt PartnerTokens) Revoke(ctx context.Context, caller Principal, id string) error {
	if _, err := pt.get(ctx, caller, id); err != nil {
		return err
	}
	return pt.s.db.RevokeToken(ctx, id, pt.s.now().UTC())
}

// get returns one of the caller's partner's tokens; another's is not found.
func (pt PartnerTokens) get(ctx context.Context, caller Principal, id string) (Token, error) {
	row, err := pt.s.db.GetToken(ctx, id)
	if errors.Is(err, store.ErrNotFound) || err == nil && (row.OperatorID != nil || row.PartnerID != caller.PartnerID || caller.PartnerID == "") {
		return Token{}, &refusal.NotFoundError{Kind: "token", ID: id, Param: "token_id"}
	}
	if err != nil {
		return Token{}, err
	}
	return tokenFromRow(row), nil
}

// allowed checks scopes: known partner scopes, each among the caller's.
func (pt PartnerTokens) allowed(caller Principal, scopes []string) ([]string, error) {
	clean, err := normalizeScopes(scopes, AllScopes)
	if err != nil || len(scopes) == 0 {
		return nil, &refusal.ParamError{Param: "scopes", Message: "scopes must name at least one partner scope."}
	}
	for _, sc := range clean {
		if !slices.Contains(caller.Scopes, sc) {
			return nil, &refusal.ForbiddenError{Param: "scopes", Message: fmt.Sprintf("This token lacks the scope %s, so it cannot grant it.", sc)}
		}
	}
	return clean, nil
}
