package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/prima-dining/partner-api/gen"
	"github.com/prima-dining/partner-api/internal/audit"
)

// ListAuditEvents implements gen.StrictServerInterface: the caller's partner's events only.
func (s *Server) ListAuditEvents(ctx context.Context, req gen.ListAuditEventsRequestObject) (gen.ListAuditEventsResponseObject, error) {
	if s.deps.Audit == nil {
		return nil, errors.New("server: the audit log is not configured")
	}
	p := req.Params
	f := audit.Filter{PartnerID: principal(ctx).PartnerID, TokenID: deref(p.TokenId), Status: deref(p.Status)}
	if p.Since != nil {
		f.Since = *p.Since
	}
	pg := page(p.Limit, p.StartingAfter)
	events, more, err := s.deps.Audit.List(ctx, f, pg)
	if errors.Is(err, audit.ErrUnknownCursor) {
		// The store's not-found means the cursor here, not a missing resource.
		return nil, newProblem(CodeParameterInvalid, fmt.Sprintf("No object %s in this list.", pg.StartingAfter), "starting_after")
	} else if err != nil {
		return nil, err
	}
	out := gen.AuditEventList{Object: gen.AuditEventListObjectList, HasMore: more, Data: make([]gen.AuditEvent, 0, len(events))}
	for _, e := range events {
		out.Data = append(out.Data, gen.AuditEvent{
			Id: e.ID, Object: gen.AuditEventObjectAuditEvent, OccurredAt: e.OccurredAt.UTC(), TokenId: e.TokenID,
			Method: e.Method, Route: e.Route, Status: e.Status, RequestId: e.RequestID,
			IdempotencyKey: e.IdempotencyKey, ClientAddr: e.ClientAddr,
			DurationMs: float32(float64(e.Duration.Microseconds()) / 1000),
		})
	}
	return gen.ListAuditEvents200JSONResponse{Body: out}, nil
}

// recordAudit queues the audit event of an authenticated request; the database write
// happens later, in a batch, off the request's path.
func (s *Server) recordAudit(c echo.Context, duration time.Duration) {
	ctx := c.Request().Context()
	who := principal(ctx)
	if s.deps.Audit == nil || who.TokenID == "" {
		return
	}
	req := c.Request()
	key := ""
	if req.Method == http.MethodPost {
		key = req.Header.Get("Idempotency-Key")
	}
	s.deps.Audit.Record(audit.Event{
		OccurredAt: now().Add(-duration), PartnerID: who.AccountID(), TokenID: who.TokenID,
		Method: req.Method, Route: c.Path(), Status: c.Response().Status, RequestID: RequestID(ctx),
		IdempotencyKey: key, ClientAddr: c.RealIP(), Duration: duration,
	})
}
