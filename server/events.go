package server

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"

	"github.com/prima-dining/partner-api/gen"
	"github.com/prima-dining/partner-api/internal/webhooks"
)

// ListEvents implements gen.StrictServerInterface. Each event's body is served as
// stored, byte for byte what its webhook deliveries carry.
func (s *Server) ListEvents(ctx context.Context, req gen.ListEventsRequestObject) (gen.ListEventsResponseObject, error) {
	p := req.Params
	f := webhooks.EventFilter{ReservationID: deref(p.ReservationId), CreatedGTE: p.CreatedGte, CreatedLT: p.CreatedLt}
	if p.Type != nil {
		f.Type = string(*p.Type)
	}
	events, more, err := s.deps.Events.List(ctx, partner(ctx).ID, f, page(p.Limit, p.StartingAfter))
	if err != nil {
		return nil, err
	}
	data := make([]json.RawMessage, 0, len(events))
	for _, ev := range events {
		data = append(data, ev.Payload)
	}
	body, err := json.Marshal(struct {
		Object  string            `json:"object"`
		Data    []json.RawMessage `json:"data"`
		HasMore bool              `json:"has_more"`
	}{string(gen.EventListObjectList), data, more})
	if err != nil {
		return nil, err
	}
	return eventJSON(body), nil
}

// GetEvent implements gen.StrictServerInterface.
func (s *Server) GetEvent(ctx context.Context, req gen.GetEventRequestObject) (gen.GetEventResponseObject, error) {
	ev, err := s.deps.Events.Get(ctx, partner(ctx).ID, req.EventId)
	if err != nil {
		return nil, err
	}
	return eventJSON(ev.Payload), nil
}

// ListEventAttempts implements gen.StrictServerInterface.
func (s *Server) ListEventAttempts(ctx context.Context, req gen.ListEventAttemptsRequestObject) (gen.ListEventAttemptsResponseObject, error) {
	attempts, more, err := s.deps.Events.Attempts(ctx, partner(ctx).ID, req.EventId)
	if err != nil {
		return nil, err
	}
	out := gen.WebhookAttemptList{Object: gen.WebhookAttemptListObjectList, HasMore: more, Data: make([]gen.WebhookAttempt, 0, len(attempts))}
	for _, a := range attempts {
		out.Data = append(out.Data, attemptToAPI(a))
	}
	return gen.ListEventAttempts200JSONResponse{Body: out}, nil
}

// RedeliverEvent implements gen.StrictServerInterface.
func (s *Server) RedeliverEvent(ctx context.Context, req gen.RedeliverEventRequestObject) (gen.RedeliverEventResponseObject, error) {
	d, err := s.deps.Events.Redeliver(ctx, partner(ctx).ID, req.EventId, req.Body.WebhookEndpointId)
	if err != nil {
		return nil, err
	}
	return gen.RedeliverEvent202JSONResponse{Body: gen.EventDelivery{
		Id: d.ID, Object: gen.EventDeliveryObjectEventDelivery, EventId: d.EventID, WebhookEndpointId: d.EndpointID,
		Status: gen.EventDeliveryStatus(d.Status), CreatedAt: d.CreatedAt.UTC(),
	}}, nil
}

// eventJSON is an event (or a page of them) served as stored.
type eventJSON []byte

// VisitListEventsResponse implements gen.ListEventsResponseObject.
func (b eventJSON) VisitListEventsResponse(w http.ResponseWriter) error { return b.write(w) }

// VisitGetEventResponse implements gen.GetEventResponseObject.
func (b eventJSON) VisitGetEventResponse(w http.ResponseWriter) error { return b.write(w) }

func (b eventJSON) write(w http.ResponseWriter) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, err := w.Write(append(bytes.TrimSpace(b), '\n'))
	return err
}

func attemptToAPI(a webhooks.Attempt) gen.WebhookAttempt {
	return gen.WebhookAttempt{
		Id: a.ID, Object: gen.WebhookAttemptObjectWebhookAttempt, EventId: a.EventID, WebhookEndpointId: a.EndpointID,
		Outcome: gen.WebhookAttemptOutcome(a.Outcome), StatusCode: a.StatusCode, Error: a.Error,
		DurationMs: int(a.Duration.Milliseconds()), AttemptedAt: a.AttemptedAt.UTC(),
	}
}
