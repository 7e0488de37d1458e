package server

import (
	"context"
	"time"

	"github.com/prima-dining/partner-api/gen"
	"github.com/prima-dining/partner-api/internal/access"
)

// GetCurrentToken implements gen.StrictServerInterface.
func (s *Server) GetCurrentToken(ctx context.Context, _ gen.GetCurrentTokenRequestObject) (gen.GetCurrentTokenResponseObject, error) {
	t, err := s.deps.Tokens.Get(ctx, principal(ctx).TokenID)
	if err != nil {
		return nil, err
	}
	return gen.GetCurrentToken200JSONResponse{Body: tokenToAPI(t, time.Now())}, nil
}

// tokenToAPI maps a token; revokes_at is shown only while it is ahead (a rotated token
// in its overlap), since a token revoked already cannot make the call.
func tokenToAPI(t access.Token, now time.Time) gen.Token {
	out := gen.Token{
		Id:         t.ID,
		Object:     gen.TokenObjectToken,
		Name:       t.Name,
		Prefix:     t.Prefix,
		Scopes:     t.Scopes,
		ExpiresAt:  utcPtr(t.ExpiresAt),
		LastUsedAt: utcPtr(t.LastUsedAt),
		CreatedAt:  t.CreatedAt.UTC(),
	}
	if out.Scopes == nil {
		out.Scopes = []string{}
	}
	out.Partner.Id, out.Partner.Name = t.PartnerID, t.PartnerName
	if t.RevokedAt != nil && t.RevokedAt.After(now) {
		out.RevokesAt = utcPtr(t.RevokedAt)
	}
	return out
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := t.UTC()
	return &v
}
