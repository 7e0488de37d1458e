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

// recordAudit queues the audit event of every request to an authenticated operation:
// authenticated, refused by the authentication (401, 403, 429), or answered before its
// token could be checked (503 while the database is unreachable): attributed to the
// token when it is known, to the client address alone when it is not. The database
// write happens later, in a batch, off the request's path.
func (s *Server) recordAudit(c echo.Context, start time.Time, duration time.Duration) {
	if s.deps.Audit == nil {
		return
	}
	ctx := c.Request().Context()
	status := c.Response().Status
	// The caller of an authentication attempt: the principal once accepted, else who
	// was refused (or an empty Principal, by client address alone).
	st := stateOf(ctx)
	if !st.authAttempted {
		return // a public operation, or a path the document does not describe
	}
	who := st.caller
	req := c.Request()
	key := ""
	if req.Method == http.MethodPost {
		key = req.Header.Get("Idempotency-Key")
	}
	s.deps.Audit.Record(audit.Event{
		OccurredAt: start, PartnerID: who.AccountID(), TokenID: who.TokenID,
		Method: req.Method, Route: c.Path(), Status: status, RequestID: st.id,
		IdempotencyKey: key, ClientAddr: c.RealIP(), Duration: duration,
	})
}
