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

// TokenAdmin is a partner's management of its own tokens (access.PartnerTokens).
type TokenAdmin interface {
	List(ctx context.Context, caller access.Principal) ([]access.Token, error)
	Create(ctx context.Context, caller access.Principal, name string, scopes []string, expiresIn time.Duration) (string, access.Token, error)
	Rotate(ctx context.Context, caller access.Principal, id string, overlap time.Duration) (string, access.Token, error)
	Revoke(ctx context.Context, caller access.Principal, id string) error
}

// tokenAdmin is Deps.PartnerTokens, or a refusal when the server has none (the
// import's operator-only server).
func (s *Server) tokenAdmin() (TokenAdmin, error) {
	if s.deps.PartnerTokens == nil {
		return nil, newProblem(CodeRouteNotFound, "", "")
	}
	return s.deps.PartnerTokens, nil
}

// ListTokens implements gen.StrictServerInterface.
func (s *Server) ListTokens(ctx context.Context, _ gen.ListTokensRequestObject) (gen.ListTokensResponseObject, error) {
	admin, err := s.tokenAdmin()
	if err != nil {
		return nil, err
	}
	tokens, err := admin.List(ctx, principal(ctx))
	if err != nil {
		return nil, err
	}
	now := time.Now()
	out := gen.TokenList{Object: gen.TokenListObjectList, Data: make([]gen.Token, 0, len(tokens))}
	for _, t := range tokens {
		out.Data = append(out.Data, tokenToAPI(t, now))
	}
	return gen.ListTokens200JSONResponse{Body: out}, nil
}

// CreateToken implements gen.StrictServerInterface.
func (s *Server) CreateToken(ctx context.Context, req gen.CreateTokenRequestObject) (gen.CreateTokenResponseObject, error) {
	admin, err := s.tokenAdmin()
	if err != nil {
		return nil, err
	}
	b := req.Body
	var lifetime time.Duration
	if b.ExpiresInSeconds != nil {
		lifetime = time.Duration(*b.ExpiresInSeconds) * time.Second
	}
	secret, t, err := admin.Create(ctx, principal(ctx), b.Name, eventNames(b.Scopes), lifetime)
	if err != nil {
		return nil, err
	}
	return gen.CreateToken201JSONResponse{Body: tokenWithSecret(t, secret)}, nil
}

// RotateToken implements gen.StrictServerInterface.
func (s *Server) RotateToken(ctx context.Context, req gen.RotateTokenRequestObject) (gen.RotateTokenResponseObject, error) {
	admin, err := s.tokenAdmin()
	if err != nil {
		return nil, err
	}
	overlap := access.DefaultTokenOverlap
	if req.Body != nil && req.Body.OverlapSeconds != nil {
		overlap = time.Duration(*req.Body.OverlapSeconds) * time.Second
	}
	secret, t, err := admin.Rotate(ctx, principal(ctx), req.TokenId, overlap)
	if err != nil {
		return nil, err
	}
	return gen.RotateToken201JSONResponse{Body: tokenWithSecret(t, secret)}, nil
}

// RevokeToken implements gen.StrictServerInterface.
func (s *Server) RevokeToken(ctx context.Context, req gen.RevokeTokenRequestObject) (gen.RevokeTokenResponseObject, error) {
	admin, err := s.tokenAdmin()
	if err != nil {
		return nil, err
	}
	if err := admin.Revoke(ctx, principal(ctx), req.TokenId); err != nil {
		return nil, err
	}
	return gen.RevokeToken200JSONResponse{Body: gen.DeletedObject{Id: req.TokenId, Object: "token", Deleted: true}}, nil
}

// tokenWithSecret is a token just issued; secret "" (a resumed request) is null.
func tokenWithSecret(t access.Token, secret string) gen.TokenWithSecret {
	a := tokenToAPI(t, time.Now())
	out := gen.TokenWithSecret{
		Id: a.Id, Object: gen.TokenWithSecretObjectToken, Name: a.Name, Prefix: a.Prefix, Scopes: a.Scopes,
		ExpiresAt: a.ExpiresAt, LastUsedAt: a.LastUsedAt, RevokesAt: a.RevokesAt, CreatedAt: a.CreatedAt,
		Secret: optional(secret),
	}
	out.Partner.Id, out.Partner.Name = a.Partner.Id, a.Partner.Name
	return out
}
