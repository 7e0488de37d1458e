package server

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/prima-dining/partner-api/gen"
	"github.com/prima-dining/partner-api/internal/booking"
	"github.com/prima-dining/partner-api/internal/locale"
	"github.com/prima-dining/partner-api/internal/webhooks"
	"github.com/prima-dining/partner-api/payments"
)

// Handlers decode the request, call booking/, and map a success to the typed response
// the spec declares. Every error is returned as is: handleError maps it (problemFor) to
// its status and code and writes the one error format, so no handler writes an error
// answer of its own.

// ListVenues implements gen.StrictServerInterface.
func (s *Server) ListVenues(ctx context.Context, req gen.ListVenuesRequestObject) (gen.ListVenuesResponseObject, error) {
	p := req.Params
	venues, more, err := s.deps.Reservations.ListVenues(ctx, partner(ctx),
		booking.VenueFilter{City: deref(p.City), Cuisine: deref(p.Cuisine), Query: deref(p.Q)},
		page(p.Limit, p.StartingAfter))
	if err != nil {
		return nil, err
	}
	out := gen.VenueList{Object: gen.VenueListObjectList, HasMore: more, Data: make([]gen.Venue, 0, len(venues))}
	for _, v := range venues {
		out.Data = append(out.Data, venueToAPI(v, locale.For(ctx, "")))
	}
	return gen.ListVenues200JSONResponse{Body: out}, nil
}

// GetVenue implements gen.StrictServerInterface.
func (s *Server) GetVenue(ctx context.Context, req gen.GetVenueRequestObject) (gen.GetVenueResponseObject, error) {
	v, memo, err := s.deps.Reservations.GetVenueWithMemo(ctx, partner(ctx), req.VenueId)
	if err != nil {
		return nil, err
	}
	return venueAnswer(v, memo, locale.Pick("", locale.AcceptLanguage(ctx)))
}

// SearchAvailability implements gen.StrictServerInterface.
func (s *Server) SearchAvailability(ctx context.Context, req gen.SearchAvailabilityRequestObject) (gen.SearchAvailabilityResponseObject, error) {
	p := req.Params
	q := booking.SlotQuery{
		LocalDate:   p.Date.Format("2006-01-02"),
		PartySize:   p.PartySize,
		VenueID:     deref(p.VenueId),
		City:        deref(p.City),
		Cuisine:     deref(p.Cuisine),
		TimeFrom:    deref(p.TimeFrom),
		TimeTo:      deref(p.TimeTo),
		SeatingArea: deref(p.SeatingArea),
		Type:        string(deref(p.Type)),
	}
	found, err := s.deps.Reservations.Search(ctx, partner(ctx), q, page(p.Limit, p.StartingAfter))
	if err != nil {
		return nil, err
	}
	return searchAnswer(found, locale.Pick("", locale.AcceptLanguage(ctx)))
}

// GetAvailabilityCalendar implements gen.StrictServerInterface.
func (s *Server) GetAvailabilityCalendar(ctx context.Context, req gen.GetAvailabilityCalendarRequestObject) (gen.GetAvailabilityCalendarResponseObject, error) {
	p := req.Params
	q := booking.CalendarQuery{From: p.From.Time, To: p.To.Time}
	q.PartySize = p.PartySize
	q.VenueID, q.City = deref(p.VenueId), deref(p.City)
	q.TimeFrom, q.TimeTo = deref(p.TimeFrom), deref(p.TimeTo)
	q.Type = string(deref(p.Type))
	days, err := s.deps.Reservations.Calendar(ctx, partner(ctx), q)
	if err != nil {
		return nil, err
	}
	out := gen.AvailabilityCalendar{Object: gen.AvailabilityCalendarObjectAvailabilityCalendar, Data: make([]gen.AvailabilityCalendarDay, 0, len(days))}
	for _, d := range days {
		out.Data = append(out.Data, calendarDayToAPI(d))
	}
	return gen.GetAvailabilityCalendar200JSONResponse{Body: out}, nil
}

// LookupSlots implements gen.StrictServerInterface.
func (s *Server) LookupSlots(ctx context.Context, req gen.LookupSlotsRequestObject) (gen.LookupSlotsResponseObject, error) {
	standings, err := s.deps.Reservations.Lookup(ctx, partner(ctx), req.Body.PartySize, req.Body.SlotIds)
	if err != nil {
		return nil, err
	}
	out := gen.SlotLookupList{Object: gen.SlotLookupListObjectList, Data: make([]gen.SlotLookup, 0, len(standings))}
	for _, st := range standings {
		out.Data = append(out.Data, slotLookupToAPI(st, locale.For(ctx, "")))
	}
	return gen.LookupSlots200JSONResponse{Body: out}, nil
}

// ListReservations implements gen.StrictServerInterface.
func (s *Server) ListReservations(ctx context.Context, req gen.ListReservationsRequestObject) (gen.ListReservationsResponseObject, error) {
	p := req.Params
	f := booking.ReservationFilter{
		Status:           string(deref(p.Status)),
		VenueID:          deref(p.VenueId),
		DateFrom:         dateString(p.DateFrom),
		DateTo:           dateString(p.DateTo),
		PartnerReference: deref(p.PartnerReference),
	}
	rs, more, err := s.deps.Reservations.List(ctx, partner(ctx), f, page(p.Limit, p.StartingAfter))
	if err != nil {
		return nil, err
	}
	out := gen.ReservationList{Object: gen.ReservationListObjectList, HasMore: more, Data: make([]gen.Reservation, 0, len(rs))}
	for _, r := range rs {
		out.Data = append(out.Data, reservationToAPI(r, locale.For(ctx, r.Guest.Language)))
	}
	return gen.ListReservations200JSONResponse{Body: out}, nil
}

// CreateReservation implements gen.StrictServerInterface.
func (s *Server) CreateReservation(ctx context.Context, req gen.CreateReservationRequestObject) (gen.CreateReservationResponseObject, error) {
	b := req.Body
	r, err := s.deps.Reservations.Hold(ctx, partner(ctx), booking.HoldRequest{
		SlotID:           b.SlotId,
		PartySize:        b.PartySize,
		Guest:            guestFromAPI(b.Guest),
		Answers:          deref(b.Answers),
		Notes:            deref(b.Notes),
		PartnerReference: deref(b.PartnerReference),
	})
	if err != nil {
		return nil, err
	}
	return gen.CreateReservation201JSONResponse{Body: reservationToAPI(r, locale.For(ctx, r.Guest.Language))}, nil
}

// GetReservation implements gen.StrictServerInterface.
func (s *Server) GetReservation(ctx context.Context, req gen.GetReservationRequestObject) (gen.GetReservationResponseObject, error) {
	r, err := s.deps.Reservations.Get(ctx, partner(ctx), req.ReservationId)
	if err != nil {
		return nil, err
	}
	return gen.GetReservation200JSONResponse{Body: reservationToAPI(r, locale.For(ctx, r.Guest.Language))}, nil
}

// UpdateReservation implements gen.StrictServerInterface.
func (s *Server) UpdateReservation(ctx context.Context, req gen.UpdateReservationRequestObject) (gen.UpdateReservationResponseObject, error) {
	r, err := s.deps.Changes.Modify(ctx, partner(ctx), req.ReservationId, changeRequestFromAPI(*req.Body))
	if err != nil {
		return nil, err
	}
	return gen.UpdateReservation200JSONResponse{Body: reservationToAPI(r, locale.For(ctx, r.Guest.Language))}, nil
}

// ListReservationEvents implements gen.StrictServerInterface.
func (s *Server) ListReservationEvents(ctx context.Context, req gen.ListReservationEventsRequestObject) (gen.ListReservationEventsResponseObject, error) {
	events, more, err := s.deps.Reservations.History(ctx, partner(ctx), req.ReservationId, page(req.Params.Limit, req.Params.StartingAfter))
	if err != nil {
		return nil, err
	}
	out := gen.ReservationEventList{Object: gen.ReservationEventListObjectList, HasMore: more, Data: make([]gen.ReservationEvent, 0, len(events))}
	for _, e := range events {
		out.Data = append(out.Data, historyEventToAPI(e))
	}
	return gen.ListReservationEvents200JSONResponse{Body: out}, nil
}

// ExtendReservation implements gen.StrictServerInterface.
func (s *Server) ExtendReservation(ctx context.Context, req gen.ExtendReservationRequestObject) (gen.ExtendReservationResponseObject, error) {
	r, err := s.deps.Reservations.Extend(ctx, partner(ctx), req.ReservationId)
	if err != nil {
		return nil, err
	}
	return gen.ExtendReservation200JSONResponse{Body: reservationToAPI(r, locale.For(ctx, r.Guest.Language))}, nil
}

// FinalizeReservation implements gen.StrictServerInterface.
func (s *Server) FinalizeReservation(ctx context.Context, req gen.FinalizeReservationRequestObject) (gen.FinalizeReservationResponseObject, error) {
	r, err := s.deps.Reservations.Finalize(ctx, partner(ctx), req.ReservationId)
	if err != nil {
		return nil, err
	}
	return gen.FinalizeReservation200JSONResponse{Body: reservationToAPI(r, locale.For(ctx, r.Guest.Language))}, nil
}

// CancelReservation implements gen.StrictServerInterface.
func (s *Server) CancelReservation(ctx context.Context, req gen.CancelReservationRequestObject) (gen.CancelReservationResponseObject, error) {
	reason := ""
	if req.Body != nil && req.Body.Reason != nil {
		reason = string(*req.Body.Reason)
	}
	r, err := s.deps.Reservations.Cancel(ctx, partner(ctx), req.ReservationId, reason)
	if err != nil {
		return nil, err
	}
	return gen.CancelReservation200JSONResponse{Body: reservationToAPI(r, locale.For(ctx, r.Guest.Language))}, nil
}

// AdvanceSandboxReservation implements gen.StrictServerInterface.
func (s *Server) AdvanceSandboxReservation(ctx context.Context, req gen.AdvanceSandboxReservationRequestObject) (gen.AdvanceSandboxReservationResponseObject, error) {
	r, err := s.deps.Payments.AdvanceSandboxClock(ctx, partner(ctx), req.ReservationId, string(req.Body.To))
	if err != nil {
		return nil, err
	}
	return gen.AdvanceSandboxReservation200JSONResponse{Body: reservationToAPI(r, locale.For(ctx, r.Guest.Language))}, nil
}

// ConfirmSandboxPaymentIntent implements gen.StrictServerInterface.
func (s *Server) ConfirmSandboxPaymentIntent(ctx context.Context, req gen.ConfirmSandboxPaymentIntentRequestObject) (gen.ConfirmSandboxPaymentIntentResponseObject, error) {
	method := payments.TestCardVisa
	if b := req.Body; b != nil {
		switch {
		case b.Outcome != nil:
			method = map[gen.ConfirmPaymentIntentRequestOutcome]string{
				gen.ConfirmPaymentIntentRequestOutcomeSucceeded:      payments.TestCardVisa,
				gen.ConfirmPaymentIntentRequestOutcomeDeclined:       payments.TestCardChargeDeclined,
				gen.ConfirmPaymentIntentRequestOutcomeRequiresAction: payments.TestCardAuthenticationRequired,
			}[*b.Outcome]
		case b.PaymentMethod != nil:
			method = string(*b.PaymentMethod)
		}
	}
	in, err := s.deps.Payments.ConfirmSandboxPayment(ctx, partner(ctx), req.PaymentIntentId, method)
	if err != nil {
		return nil, err
	}
	return gen.ConfirmSandboxPaymentIntent200JSONResponse{Body: intentToAPI(in)}, nil
}

// ConfirmSandboxSetupIntent implements gen.StrictServerInterface.
func (s *Server) ConfirmSandboxSetupIntent(ctx context.Context, req gen.ConfirmSandboxSetupIntentRequestObject) (gen.ConfirmSandboxSetupIntentResponseObject, error) {
	outcome, method := booking.SetupOutcomeSucceeded, payments.TestCardVisa
	if b := req.Body; b != nil {
		if b.Outcome != nil {
			outcome = string(*b.Outcome)
		}
		if b.PaymentMethod != nil {
			method = string(*b.PaymentMethod)
		}
	}
	si, err := s.deps.Payments.ConfirmSandboxSetup(ctx, partner(ctx), req.SetupIntentId, outcome, method)
	if err != nil {
		return nil, err
	}
	return gen.ConfirmSandboxSetupIntent200JSONResponse{Body: gen.SetupIntent{
		Id: si.ID, Object: gen.SetupIntentObjectSetupIntent, Status: gen.SetupIntentStatus(si.Status),
		PaymentMethod: optional(si.PaymentMethod),
	}}, nil
}

// GetOpenAPIJSON implements gen.StrictServerInterface.
func (s *Server) GetOpenAPIJSON(ctx context.Context, _ gen.GetOpenAPIJSONRequestObject) (gen.GetOpenAPIJSONResponseObject, error) {
	doc, err := s.servedSpec(ctx, s.specJSON)
	if err != nil {
		return nil, err
	}
	return rawJSON(doc), nil
}

// GetOperatorOpenAPIJSON implements gen.StrictServerInterface.
func (s *Server) GetOperatorOpenAPIJSON(ctx context.Context, _ gen.GetOperatorOpenAPIJSONRequestObject) (gen.GetOperatorOpenAPIJSONResponseObject, error) {
	doc, err := s.servedSpec(ctx, s.operatorJSON)
	if err != nil {
		return nil, err
	}
	return rawJSON(doc), nil
}

// GetOpenAPIYAML implements gen.StrictServerInterface.
func (s *Server) GetOpenAPIYAML(context.Context, gen.GetOpenAPIYAMLRequestObject) (gen.GetOpenAPIYAMLResponseObject, error) {
	return gen.GetOpenAPIYAML200ApplicationyamlResponse{Body: bytes.NewReader(s.specYAML), ContentLength: int64(len(s.specYAML))}, nil
}

// GetHealth implements gen.StrictServerInterface.
func (s *Server) GetHealth(context.Context, gen.GetHealthRequestObject) (gen.GetHealthResponseObject, error) {
	return gen.GetHealth200JSONResponse{Status: gen.HealthStatusOk}, nil
}

// stopping reports whether the process has begun to shut down (Deps.Stopping).
func (s *Server) stopping() bool {
	select {
	case <-s.deps.Stopping:
		return true
	default:
		return false
	}
}

// GetReadiness implements gen.StrictServerInterface.
func (s *Server) GetReadiness(ctx context.Context, _ gen.GetReadinessRequestObject) (gen.GetReadinessResponseObject, error) {
	var out gen.Readiness
	out.Status = gen.ReadinessStatusOk
	out.Checks.Database, out.Checks.Migrations = "ok", "ok"
	if err := s.deps.Database.Ping(ctx); err != nil {
		out.Status = gen.ReadinessStatusUnavailable
		out.Checks.Database = "unreachable"
		out.Checks.Migrations = "unknown"
		s.log.WarnContext(ctx, "readiness: database", "error", err)
		return gen.GetReadiness503JSONResponse(out), nil
	}
	current, latest, err := s.deps.Database.MigrationStatus(ctx)
	switch {
	case err != nil:
		out.Status = gen.ReadinessStatusUnavailable
		out.Checks.Migrations = "unknown"
		s.log.WarnContext(ctx, "readiness: migrations", "error", err)
	case current != latest:
		out.Status = gen.ReadinessStatusUnavailable
		out.Checks.Migrations = fmt.Sprintf("at version %d of %d; run 'prima migrate'", current, latest)
	}
	if s.stopping() {
		// The checks still say how the database is; the status tells the load balancer
		// to send nothing new.
		out.Status = gen.ReadinessStatusStopping
	}
	if out.Status != gen.ReadinessStatusOk {
		return gen.GetReadiness503JSONResponse(out), nil
	}
	return gen.GetReadiness200JSONResponse(out), nil
}

// GetCancellationQuote implements gen.StrictServerInterface.
func (s *Server) GetCancellationQuote(ctx context.Context, req gen.GetCancellationQuoteRequestObject) (gen.GetCancellationQuoteResponseObject, error) {
	q, err := s.deps.Reservations.Quote(ctx, partner(ctx), req.ReservationId)
	if err != nil {
		return nil, err
	}
	return gen.GetCancellationQuote200JSONResponse{Body: quoteToAPI(q, locale.For(ctx, q.Reservation.Guest.Language))}, nil
}

// ReceiveStripeWebhook implements gen.StrictServerInterface. The signature covers the
// exact bytes Stripe sent, so the handler verifies the raw body, not the decoded one.
func (s *Server) ReceiveStripeWebhook(ctx context.Context, req gen.ReceiveStripeWebhookRequestObject) (gen.ReceiveStripeWebhookResponseObject, error) {
	raw := stateOf(ctx).rawBody
	duplicate, err := s.deps.Payments.HandleStripeWebhook(ctx, raw, req.Params.StripeSignature)
	if err != nil {
		return nil, err // 400 for a bad signature; a 500 makes Stripe deliver the event again
	}
	return gen.ReceiveStripeWebhook200JSONResponse{Received: true, Duplicate: &duplicate}, nil
}

// CreateWebhookEndpoint implements gen.StrictServerInterface.
func (s *Server) CreateWebhookEndpoint(ctx context.Context, req gen.CreateWebhookEndpointRequestObject) (gen.CreateWebhookEndpointResponseObject, error) {
	ep, err := s.deps.WebhookEndpoints.Create(ctx, partner(ctx).ID, req.Body.Url, eventNames(req.Body.Events))
	if err != nil {
		return nil, err
	}
	return gen.CreateWebhookEndpoint201JSONResponse{Body: endpointToAPI(ep)}, nil
}

// ListWebhookEndpoints implements gen.StrictServerInterface.
func (s *Server) ListWebhookEndpoints(ctx context.Context, _ gen.ListWebhookEndpointsRequestObject) (gen.ListWebhookEndpointsResponseObject, error) {
	eps, err := s.deps.WebhookEndpoints.List(ctx, partner(ctx).ID)
	if err != nil {
		return nil, err
	}
	out := gen.WebhookEndpointList{Object: gen.WebhookEndpointListObjectList, Data: make([]gen.WebhookEndpoint, 0, len(eps))}
	for _, ep := range eps {
		out.Data = append(out.Data, endpointToAPI(ep))
	}
	return gen.ListWebhookEndpoints200JSONResponse{Body: out}, nil
}

// DeleteWebhookEndpoint implements gen.StrictServerInterface.
func (s *Server) DeleteWebhookEndpoint(ctx context.Context, req gen.DeleteWebhookEndpointRequestObject) (gen.DeleteWebhookEndpointResponseObject, error) {
	if err := s.deps.WebhookEndpoints.Delete(ctx, partner(ctx).ID, req.WebhookEndpointId); err != nil {
		return nil, err
	}
	return gen.DeleteWebhookEndpoint200JSONResponse{Body: gen.DeletedObject{Id: req.WebhookEndpointId, Object: "webhook_endpoint", Deleted: true}}, nil
}

// GetWebhookEndpoint implements gen.StrictServerInterface.
func (s *Server) GetWebhookEndpoint(ctx context.Context, req gen.GetWebhookEndpointRequestObject) (gen.GetWebhookEndpointResponseObject, error) {
	ep, err := s.deps.WebhookEndpoints.Get(ctx, partner(ctx).ID, req.WebhookEndpointId)
	if err != nil {
		return nil, err
	}
	return gen.GetWebhookEndpoint200JSONResponse{Body: endpointToAPI(ep)}, nil
}

// UpdateWebhookEndpoint implements gen.StrictServerInterface.
func (s *Server) UpdateWebhookEndpoint(ctx context.Context, req gen.UpdateWebhookEndpointRequestObject) (gen.UpdateWebhookEndpointResponseObject, error) {
	b := req.Body
	c := webhooks.EndpointChange{URL: b.Url}
	if b.Events != nil {
		c.Events = eventNames(*b.Events)
	}
	if b.Status != nil {
		status := string(*b.Status)
		c.Status = &status
	}
	ep, err := s.deps.WebhookEndpoints.Update(ctx, partner(ctx).ID, req.WebhookEndpointId, c)
	if err != nil {
		return nil, err
	}
	return gen.UpdateWebhookEndpoint200JSONResponse{Body: endpointToAPI(ep)}, nil
}

// PingWebhookEndpoint implements gen.StrictServerInterface.
func (s *Server) PingWebhookEndpoint(ctx context.Context, req gen.PingWebhookEndpointRequestObject) (gen.PingWebhookEndpointResponseObject, error) {
	a, err := s.deps.WebhookEndpoints.Ping(ctx, partner(ctx).ID, req.WebhookEndpointId)
	if err != nil {
		return nil, err
	}
	return gen.PingWebhookEndpoint200JSONResponse{Body: attemptToAPI(a)}, nil
}

// RotateWebhookEndpointSecret implements gen.StrictServerInterface.
func (s *Server) RotateWebhookEndpointSecret(ctx context.Context, req gen.RotateWebhookEndpointSecretRequestObject) (gen.RotateWebhookEndpointSecretResponseObject, error) {
	overlap := webhooks.DefaultSecretOverlap
	if req.Body != nil && req.Body.OverlapSeconds != nil {
		overlap = time.Duration(*req.Body.OverlapSeconds) * time.Second
	}
	ep, err := s.deps.WebhookEndpoints.RotateSecret(ctx, partner(ctx).ID, req.WebhookEndpointId, overlap)
	if err != nil {
		return nil, err
	}
	return gen.RotateWebhookEndpointSecret200JSONResponse{Body: endpointToAPI(ep)}, nil
}

// SyncReservation implements gen.StrictServerInterface.
func (s *Server) SyncReservation(ctx context.Context, req gen.SyncReservationRequestObject) (gen.SyncReservationResponseObject, error) {
	r, err := s.deps.Reservations.ResyncVenue(ctx, partner(ctx), req.ReservationId)
	if err != nil {
		return nil, err
	}
	return gen.SyncReservation200JSONResponse{Body: reservationToAPI(r, locale.For(ctx, r.Guest.Language))}, nil
}
