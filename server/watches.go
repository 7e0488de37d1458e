package server

import (
	"context"
	"encoding/json"
	"time"

	openapi_types "github.com/oapi-codegen/runtime/types"

	"github.com/prima-dining/partner-api/gen"
	"github.com/prima-dining/partner-api/internal/booking"
)

// ListWatches implements gen.StrictServerInterface.
func (s *Server) ListWatches(ctx context.Context, req gen.ListWatchesRequestObject) (gen.ListWatchesResponseObject, error) {
	p := req.Params
	status := ""
	if p.Status != nil {
		status = string(*p.Status)
	}
	ws, more, err := s.deps.Watches.List(ctx, partner(ctx), status, page(p.Limit, p.StartingAfter))
	if err != nil {
		return nil, err
	}
	out := gen.WatchList{Object: gen.WatchListObjectList, HasMore: more, Data: make([]gen.Watch, 0, len(ws))}
	for _, w := range ws {
		out.Data = append(out.Data, watchToAPI(w))
	}
	return gen.ListWatches200JSONResponse{Body: out}, nil
}

// CreateWatch implements gen.StrictServerInterface.
func (s *Server) CreateWatch(ctx context.Context, req gen.CreateWatchRequestObject) (gen.CreateWatchResponseObject, error) {
	b := req.Body
	w, err := s.deps.Watches.Create(ctx, partner(ctx), booking.WatchRequest{
		VenueID:          deref(b.VenueId),
		City:             deref(b.City),
		Date:             b.Date.Format(time.DateOnly),
		TimeFrom:         b.TimeFrom,
		TimeTo:           b.TimeTo,
		PartySize:        b.PartySize,
		Type:             booking.SlotType(deref(b.Type)),
		Guest:            booking.Guest{FirstName: b.Guest.FirstName, LastName: b.Guest.LastName, Email: string(b.Guest.Email), Phone: b.Guest.Phone},
		Notes:            deref(b.Notes),
		PartnerReference: deref(b.PartnerReference),
		AutoHold:         deref(b.AutoHold),
	})
	if err != nil {
		return nil, err
	}
	return gen.CreateWatch201JSONResponse{Body: watchToAPI(w)}, nil
}

// GetWatch implements gen.StrictServerInterface.
func (s *Server) GetWatch(ctx context.Context, req gen.GetWatchRequestObject) (gen.GetWatchResponseObject, error) {
	w, err := s.deps.Watches.Get(ctx, partner(ctx), req.WatchId)
	if err != nil {
		return nil, err
	}
	return gen.GetWatch200JSONResponse{Body: watchToAPI(w)}, nil
}

// CancelWatch implements gen.StrictServerInterface.
func (s *Server) CancelWatch(ctx context.Context, req gen.CancelWatchRequestObject) (gen.CancelWatchResponseObject, error) {
	w, err := s.deps.Watches.Cancel(ctx, partner(ctx), req.WatchId)
	if err != nil {
		return nil, err
	}
	return gen.CancelWatch200JSONResponse{Body: watchToAPI(w)}, nil
}

// WatchEventJSON is the body of a watch.matched delivery (booking.Config.RenderWatch).
func WatchEventJSON(id, eventType string, createdAt time.Time, w booking.Watch) ([]byte, error) {
	var ev gen.WatchMatchedEvent
	ev.Id = id
	ev.Object = gen.WatchMatchedEventObjectEvent
	ev.Type = gen.EventType(eventType)
	ev.CreatedAt = createdAt.UTC()
	ev.Data.Object = watchToAPI(w)
	return json.Marshal(ev)
}

func watchToAPI(w booking.Watch) gen.Watch {
	date, _ := time.Parse(time.DateOnly, w.Date)
	return gen.Watch{
		Id:               w.ID,
		Object:           gen.WatchObjectWatch,
		Status:           gen.WatchStatus(w.Status),
		VenueId:          optional(w.VenueID),
		City:             optional(w.City),
		Date:             openapi_types.Date{Time: date},
		TimeFrom:         w.TimeFrom,
		TimeTo:           w.TimeTo,
		PartySize:        w.PartySize,
		Type:             optional(string(w.Type)),
		Guest:            gen.Guest{FirstName: w.Guest.FirstName, LastName: w.Guest.LastName, Email: openapi_types.Email(w.Guest.Email), Phone: w.Guest.Phone},
		Notes:            w.Notes,
		PartnerReference: w.PartnerReference,
		AutoHold:         w.AutoHold,
		SlotId:           optional(w.SlotID),
		ReservationId:    optional(w.ReservationID),
		ExpiresAt:        w.ExpiresAt.UTC(),
		MatchedAt:        utcPtr(w.MatchedAt),
		CancelledAt:      utcPtr(w.CancelledAt),
		CreatedAt:        w.CreatedAt.UTC(),
	}
}
