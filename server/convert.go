package server

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	openapi_types "github.com/oapi-codegen/runtime/types"

	"github.com/prima-dining/partner-api/gen"
	"github.com/prima-dining/partner-api/internal/booking"
	"github.com/prima-dining/partner-api/internal/webhooks"
	"github.com/prima-dining/partner-api/payments"
)

// Mapping between API types (gen) and domain types (booking). Times leave in the venue's
// own UTC offset, so a partner can show them without a time-zone library.

func policyToAPI(p booking.CancellationPolicy) gen.CancellationPolicy {
	out := gen.CancellationPolicy{
		FreeUntilHoursBefore: p.FreeUntilHoursBefore,
		FeeType:              gen.CancellationPolicyFeeType(p.FeeType),
		Summary:              p.Summary(),
	}
	if out.FeeType == "" {
		out.FeeType = gen.None
	}
	switch p.FeeType {
	case booking.FeePercent:
		out.FeePercent = &p.FeePercent
	case booking.FeeFixed:
		out.FeeAmount = &p.FeeAmount
	}
	return out
}

func venueSummaryToAPI(v booking.VenueSummary) gen.VenueSummary {
	return gen.VenueSummary{Id: v.ID, Name: v.Name, City: v.City, Cuisine: v.Cuisine, TimeZone: v.TimeZone}
}

func venueToAPI(v booking.Venue) gen.Venue {
	areas := v.SeatingAreas
	if areas == nil {
		areas = []string{}
	}
	return gen.Venue{
		Id:                 v.ID,
		Object:             gen.VenueObjectVenue,
		Name:               v.Name,
		Description:        v.Description,
		Address:            gen.Address{Line1: v.Address.Line1, City: v.Address.City, PostalCode: v.Address.PostalCode, Country: v.Address.Country},
		City:               v.City,
		Cuisine:            v.Cuisine,
		TimeZone:           v.TimeZone,
		Currency:           v.Currency,
		SeatingAreas:       areas,
		CancellationPolicy: policyToAPI(v.Policy),
		ModificationPolicy: modificationToAPI(v.Modification),
	}
}

func modificationToAPI(m booking.ModificationPolicy) gen.ModificationPolicy {
	summary := "Changes are accepted until the reservation starts."
	switch h := m.AllowedUntilHoursBefore; {
	case h == 1:
		summary = "Changes are accepted until 1 hour before the reservation."
	case h > 1:
		summary = fmt.Sprintf("Changes are accepted until %d hours before the reservation.", h)
	}
	return gen.ModificationPolicy{AllowedUntilHoursBefore: m.AllowedUntilHoursBefore, Summary: summary}
}

func paymentRecordToAPI(p booking.PaymentRecord) gen.ReservationPayment {
	return gen.ReservationPayment{
		Purpose:             gen.ReservationPaymentPurpose(p.Purpose),
		Provider:            p.Provider,
		PaymentIntentId:     p.IntentID,
		ClientSecret:        p.ClientSecret,
		Amount:              p.Amount,
		Currency:            p.Currency,
		Status:              gen.PaymentIntentStatus(p.Status),
		AmountCaptured:      p.AmountCaptured,
		AmountRefunded:      p.AmountRefunded,
		AmountRefundPending: p.RefundPending,
		DeclineCode:         optional(p.DeclineCode),
	}
}

func changeRequestToAPI(c booking.ChangeRequest) gen.RequestedChange {
	out := gen.RequestedChange{SlotId: c.SlotID, PartySize: c.PartySize, Notes: c.Notes, PartnerReference: c.PartnerReference}
	if g := c.Guest; g != nil {
		out.Guest = &gen.RequestedGuestChange{FirstName: g.FirstName, LastName: g.LastName, Phone: g.Phone}
		if g.Email != nil {
			e := openapi_types.Email(*g.Email)
			out.Guest.Email = &e
		}
	}
	return out
}

func changeRequestFromAPI(b gen.UpdateReservationRequest) booking.ChangeRequest {
	out := booking.ChangeRequest{SlotID: b.SlotId, PartySize: b.PartySize, Notes: b.Notes, PartnerReference: b.PartnerReference}
	if g := b.Guest; g != nil {
		out.Guest = &booking.GuestChange{FirstName: g.FirstName, LastName: g.LastName, Phone: g.Phone}
		if g.Email != nil {
			e := string(*g.Email)
			out.Guest.Email = &e
		}
	}
	return out
}

func historyEventToAPI(e booking.HistoryEvent) gen.ReservationEvent {
	changes := make(map[string]gen.FieldChange, len(e.Changes))
	for field, c := range e.Changes {
		changes[field] = gen.FieldChange{From: optional(c.From), To: optional(c.To)}
	}
	return gen.ReservationEvent{
		Id:            e.ID,
		Object:        gen.ReservationEventObjectReservationEvent,
		ReservationId: e.ReservationID,
		Type:          gen.ReservationEventType(e.Type),
		TokenId:       optional(e.TokenID),
		Changes:       changes,
		CreatedAt:     e.CreatedAt,
	}
}

func slotToAPI(s booking.Slot) gen.Slot {
	loc := s.Venue.Location()
	starts := s.StartsAt.In(loc)
	date, _ := time.Parse(time.DateOnly, s.LocalDate)
	out := gen.Slot{
		Id:                 s.ID,
		Object:             gen.SlotObjectSlot,
		Venue:              venueSummaryToAPI(s.Venue),
		StartsAt:           starts,
		EndsAt:             starts.Add(time.Duration(s.DurationMinutes) * time.Minute),
		LocalDate:          openapi_types.Date{Time: date},
		LocalTime:          s.LocalTime,
		DurationMinutes:    s.DurationMinutes,
		PartySizeMin:       s.PartySizeMin,
		PartySizeMax:       s.PartySizeMax,
		SeatingArea:        s.SeatingArea,
		Type:               gen.SlotType(s.Type),
		TablesLeft:         s.TablesLeft(),
		CancellationPolicy: policyToAPI(s.Policy),
	}
	if s.Price != nil {
		out.Price = &gen.Price{
			Amount:   s.Price.Amount,
			Currency: s.Price.Currency,
			Per:      gen.PricePer(s.Price.Per),
			Summary:  priceSummary(*s.Price),
		}
	}
	return out
}

func calendarDayToAPI(d booking.CalendarDay) gen.AvailabilityCalendarDay {
	date, _ := time.Parse(time.DateOnly, d.Date)
	out := gen.AvailabilityCalendarDay{
		Date:          openapi_types.Date{Time: date},
		Status:        gen.AvailabilityCalendarDayStatus(d.Status),
		BookableSlots: d.BookableSlots,
		FirstTime:     optional(d.FirstTime),
		LastTime:      optional(d.LastTime),
	}
	if next, err := time.Parse(time.DateOnly, d.NextAvailable); err == nil {
		out.NextAvailableDate = &openapi_types.Date{Time: next}
	}
	return out
}

func slotLookupToAPI(st booking.SlotStanding) gen.SlotLookup {
	out := gen.SlotLookup{SlotId: st.SlotID, Status: gen.SlotLookupStatus(st.Status), TablesLeft: st.TablesLeft}
	if st.Price != nil {
		out.Price = &gen.Price{
			Amount:   st.Price.Amount,
			Currency: st.Price.Currency,
			Per:      gen.PricePer(st.Price.Per),
			Summary:  priceSummary(*st.Price),
		}
	}
	return out
}

func priceSummary(p booking.Price) string {
	unit := "per booking"
	if p.Per == booking.PerCover {
		unit = "per guest"
	}
	return fmt.Sprintf("%s %s %s", strings.ToUpper(p.Currency), money(p.Amount), unit)
}

func reservationToAPI(r booking.Reservation) gen.Reservation {
	out := gen.Reservation{
		Id:     r.ID,
		Object: gen.ReservationObjectReservation,
		Status: gen.ReservationStatus(r.Status),
		SlotId: r.SlotID,
		Venue:  venueSummaryToAPI(r.Venue),
		// The venue's offset, like the slot it came from.
		StartsAt:           r.StartsAt.In(r.Venue.Location()),
		DurationMinutes:    r.DurationMinutes,
		SeatingArea:        r.SeatingArea,
		Type:               gen.SlotType(r.Type),
		PartySize:          r.PartySize,
		Guest:              gen.GuestDetails{FirstName: r.Guest.FirstName, LastName: r.Guest.LastName, Email: openapi_types.Email(r.Guest.Email), Phone: r.Guest.Phone},
		Notes:              optional(r.Notes),
		PartnerReference:   optional(r.PartnerReference),
		ConfirmationCode:   optional(r.ConfirmationCode),
		CancellationPolicy: policyToAPI(r.Policy),
		ModificationPolicy: modificationToAPI(r.Modification),
		Payments:           make([]gen.ReservationPayment, 0, len(r.Payments)),
		CreatedAt:          r.CreatedAt,
		UpdatedAt:          r.UpdatedAt,
		ConfirmedAt:        utc(r.ConfirmedAt),
		CancelledAt:        utc(r.CancelledAt),
	}
	if r.Status == booking.StatusHeld {
		out.ExpiresAt = utc(&r.ExpiresAt)
		out.HoldExpiresAtMax = utc(&r.HoldMaxAt)
	}
	out.VenueSync = gen.VenueSync{
		Status:            gen.VenueSyncStatus(r.VenueSync.Status),
		PlatformReference: optional(r.VenueSync.Reference),
		Attempts:          r.VenueSync.Attempts,
		LastError:         optional(r.VenueSync.LastError),
		SyncedAt:          utc(r.VenueSync.SyncedAt),
	}
	if p := r.Payment; p != nil {
		out.Payment = &gen.Payment{
			Provider:            gen.PaymentProvider(p.Provider),
			PaymentIntentId:     p.IntentID,
			ClientSecret:        p.ClientSecret,
			Amount:              p.Amount,
			Currency:            p.Currency,
			Status:              gen.PaymentIntentStatus(p.Status),
			AmountCaptured:      p.AmountCaptured,
			AmountRefunded:      p.AmountRefunded,
			AmountRefundPending: p.RefundPending,
			DeclineCode:         optional(p.DeclineCode),
		}
	}
	for _, p := range r.Payments {
		out.Payments = append(out.Payments, paymentRecordToAPI(p))
	}
	if c := r.PendingChange; c != nil {
		out.PendingChange = &gen.PendingChange{
			Requested: changeRequestToAPI(c.Requested),
			Payment:   paymentRecordToAPI(c.Payment),
			ExpiresAt: c.ExpiresAt,
		}
	}
	return out
}

func quoteToAPI(q booking.Quote) gen.CancellationQuote {
	out := gen.CancellationQuote{
		Object:        gen.CancellationQuoteObjectCancellationQuote,
		ReservationId: q.Reservation.ID,
		Status:        gen.ReservationStatus(q.Reservation.Status),
		Cancellable:   q.Cancellable,
		Currency:      q.Currency,
		RefundAmount:  q.Refund,
		FeeAmount:     q.Fee,
	}
	if !q.FreeUntil.IsZero() {
		t := q.FreeUntil.In(q.Reservation.Venue.Location())
		out.FreeUntil = &t
	}
	cur := strings.ToUpper(q.Currency)
	switch {
	case !q.Cancellable:
		out.Summary = fmt.Sprintf("A reservation that is %s cannot be cancelled.", q.Reservation.Status)
	case q.Reservation.Status == booking.StatusHeld:
		out.Summary = "Cancelling now releases the hold; nothing was charged."
	case q.Refund == 0 && q.Fee == 0:
		out.Summary = "Cancelling now is free."
	case q.Fee == 0:
		out.Summary = fmt.Sprintf("Cancelling now refunds %s %s in full.", cur, money(q.Refund))
	default:
		out.Summary = fmt.Sprintf("Cancelling now refunds %s %s and keeps %s %s.", cur, money(q.Refund), cur, money(q.Fee))
	}
	return out
}

func money(minor int64) string { return fmt.Sprintf("%d.%02d", minor/100, minor%100) }

func intentToAPI(in payments.Intent) gen.PaymentIntent {
	return gen.PaymentIntent{
		Id:            in.ID,
		Object:        gen.PaymentIntentObjectPaymentIntent,
		Amount:        in.Amount,
		Currency:      in.Currency,
		Status:        gen.PaymentIntentStatus(in.Status),
		CaptureMethod: gen.Manual,
	}
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func utc(t *time.Time) *time.Time {
	if t == nil || t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func page(limit *int, startingAfter *string) booking.Page {
	p := booking.Page{Limit: 20, StartingAfter: deref(startingAfter)}
	if limit != nil {
		p.Limit = *limit
	}
	return p
}

func dateString(d *openapi_types.Date) string {
	if d == nil {
		return ""
	}
	return d.Format(time.DateOnly)
}

func eventNames[E ~string](in []E) []string {
	out := make([]string, 0, len(in))
	for _, e := range in {
		out = append(out, string(e))
	}
	return out
}

func endpointToAPI(ep webhooks.Endpoint) gen.WebhookEndpoint {
	return gen.WebhookEndpoint{
		Id:        ep.ID,
		Object:    gen.WebhookEndpointObjectWebhookEndpoint,
		Url:       ep.URL,
		Events:    ep.Events,
		Status:    gen.WebhookEndpointStatus(ep.Status),
		Secret:    optional(ep.Secret),
		CreatedAt: ep.CreatedAt,

		PreviousSecretExpiresAt: ep.PreviousSecretExpiresAt,
	}
}

// EventJSON is the body of a webhook delivery: an Event envelope around the reservation
// as the API shows it. The outbox worker renders each message with it once, and sends
// the same bytes on every retry.
func EventJSON(id, eventType string, createdAt time.Time, r booking.Reservation) ([]byte, error) {
	var ev gen.Event
	ev.Id = id
	ev.Object = gen.EventObjectEvent
	ev.Type = gen.EventType(eventType)
	ev.CreatedAt = createdAt.UTC()
	ev.Data.Object = reservationToAPI(r)
	return json.Marshal(ev)
}
