package server

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	openapi_types "github.com/oapi-codegen/runtime/types"
	"golang.org/x/text/message"

	"github.com/prima-dining/partner-api/gen"
	"github.com/prima-dining/partner-api/internal/booking"
	"github.com/prima-dining/partner-api/internal/locale"
	"github.com/prima-dining/partner-api/internal/webhooks"
	"github.com/prima-dining/partner-api/payments"
)

// Mapping between API types (gen) and domain types (booking). Times leave in the venue's
// own UTC offset, so a partner can show them without a time-zone library.

func policyToAPI(p booking.CancellationPolicy, pr *message.Printer) gen.CancellationPolicy {
	out := gen.CancellationPolicy{
		FreeUntilHoursBefore: p.FreeUntilHoursBefore,
		FeeType:              gen.CancellationPolicyFeeType(p.FeeType),
		Summary:              p.SummaryIn(pr),
	}
	if out.FeeType == "" {
		out.FeeType = gen.CancellationPolicyFeeTypeNone
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

func venueToAPI(v booking.Venue, pr *message.Printer) gen.Venue {
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
		CancellationPolicy: policyToAPI(v.Policy, pr),
		ModificationPolicy: modificationToAPI(v.Modification, pr),
		Questions:          questionsToAPI(v.Questions),
	}
}

// questionsToAPI is always a list ([] for none), so that partners see there is none.
func questionsToAPI(qs []booking.Question) *[]gen.BookingQuestion {
	out := make([]gen.BookingQuestion, 0, len(qs))
	for _, q := range qs {
		types := []gen.SlotType{gen.SlotTypeStandard, gen.SlotTypePrime}
		if len(q.SlotTypes) > 0 {
			types = types[:0]
			for _, t := range q.SlotTypes {
				types = append(types, gen.SlotType(t))
			}
		}
		opts := q.Options
		if opts == nil {
			opts = []string{}
		}
		out = append(out, gen.BookingQuestion{
			Id: q.ID, Kind: gen.BookingQuestionKind(q.Kind), Type: gen.BookingQuestionType(q.Type),
			Label: q.Label, Required: q.Required, Options: opts, SlotTypes: types,
		})
	}
	return &out
}

func answersToAPI(a booking.Answers) *map[string]any {
	out := map[string]any(a)
	if out == nil {
		out = map[string]any{}
	}
	return &out
}

func modificationToAPI(m booking.ModificationPolicy, pr *message.Printer) gen.ModificationPolicy {
	summary := locale.Memo(pr, m, func() string {
		switch h := m.AllowedUntilHoursBefore; {
		case h == 1:
			return pr.Sprintf("Changes are accepted until 1 hour before the reservation.")
		case h > 1:
			return pr.Sprintf("Changes are accepted until %d hours before the reservation.", h)
		}
		return pr.Sprintf("Changes are accepted until the reservation starts.")
	})
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
	if c.Answers != nil {
		a := c.Answers
		out.Answers = &a
	}
	if g := c.Guest; g != nil {
		out.Guest = &gen.RequestedGuestChange{
			FirstName: g.FirstName, LastName: g.LastName, Phone: g.Phone, Language: g.Language,
			LoyaltyNumber: g.LoyaltyNumber, RoomNumber: g.RoomNumber, MarketingConsent: g.MarketingConsent, Reference: g.Reference,
		}
		if g.Email != nil {
			e := openapi_types.Email(*g.Email)
			out.Guest.Email = &e
		}
	}
	return out
}

func changeRequestFromAPI(b gen.UpdateReservationRequest) booking.ChangeRequest {
	out := booking.ChangeRequest{SlotID: b.SlotId, PartySize: b.PartySize, Notes: b.Notes, PartnerReference: b.PartnerReference}
	if b.Answers != nil {
		out.Answers = *b.Answers
	}
	if g := b.Guest; g != nil {
		out.Guest = &booking.GuestChange{
			FirstName: g.FirstName, LastName: g.LastName, Phone: g.Phone, Language: g.Language,
			LoyaltyNumber: g.LoyaltyNumber, RoomNumber: g.RoomNumber, MarketingConsent: g.MarketingConsent, Reference: g.Reference,
		}
		if g.Email != nil {
			e := string(*g.Email)
			out.Guest.Email = &e
		}
	}
	return out
}

func guestFromAPI(g gen.Guest) booking.Guest {
	return booking.Guest{
		FirstName: g.FirstName, LastName: g.LastName, Email: string(g.Email), Phone: g.Phone,
		Language: deref(g.Language), LoyaltyNumber: deref(g.LoyaltyNumber), RoomNumber: deref(g.RoomNumber),
		MarketingConsent: deref(g.MarketingConsent), Reference: deref(g.Reference),
	}
}

func guestToAPI(g booking.Guest) gen.GuestDetails {
	return gen.GuestDetails{
		FirstName: g.FirstName, LastName: g.LastName, Email: openapi_types.Email(g.Email), Phone: g.Phone,
		Language: optional(g.Language), LoyaltyNumber: optional(g.LoyaltyNumber), RoomNumber: optional(g.RoomNumber),
		MarketingConsent: g.MarketingConsent, Reference: optional(g.Reference),
	}
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

// AvailabilityEventJSON is the body of an availability.updated delivery
// (booking.Config.RenderAvailability). Events are sent to every subscribed partner at
// once, in English.
func AvailabilityEventJSON(id string, createdAt time.Time, c booking.AvailabilityChange) ([]byte, error) {
	var ev gen.AvailabilityUpdatedEvent
	ev.Id = id
	ev.Object = gen.AvailabilityUpdatedEventObjectEvent
	ev.Type = gen.EventType(webhooks.EventAvailabilityUpdated)
	ev.CreatedAt = createdAt.UTC()
	slot := slotToAPI(c.Slot, locale.English)
	slot.TablesLeft = c.TablesLeft
	ev.Data.Object = gen.AvailabilityUpdate{
		Object:     gen.AvailabilityUpdateObjectAvailabilityUpdate,
		SlotId:     c.Slot.ID,
		VenueId:    c.Slot.Venue.ID,
		Bookable:   c.Bookable,
		TablesLeft: c.TablesLeft,
		ChangedAt:  c.ChangedAt.UTC(),
		Slot:       slot,
	}
	return json.Marshal(ev)
}

func slotToAPI(s booking.Slot, pr *message.Printer) gen.Slot {
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
		CancellationPolicy: policyToAPI(s.Policy, pr),
		PaymentPolicy:      paymentPolicyToAPI(s.PaymentPolicy, pr),
		Questions:          questionsToAPI(s.Questions),
	}
	if s.Price != nil {
		out.Price = &gen.Price{
			Amount:   s.Price.Amount,
			Currency: s.Price.Currency,
			Per:      gen.PricePer(s.Price.Per),
			Summary:  priceSummary(*s.Price, pr),
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

func slotLookupToAPI(st booking.SlotStanding, pr *message.Printer) gen.SlotLookup {
	out := gen.SlotLookup{SlotId: st.SlotID, Status: gen.SlotLookupStatus(st.Status), TablesLeft: st.TablesLeft}
	if st.Price != nil {
		out.Price = &gen.Price{
			Amount:   st.Price.Amount,
			Currency: st.Price.Currency,
			Per:      gen.PricePer(st.Price.Per),
			Summary:  priceSummary(*st.Price, pr),
		}
	}
	return out
}

func priceSummary(p booking.Price, pr *message.Printer) string {
	return locale.Memo(pr, p, func() string { return priceInWords(p, pr) })
}

func priceInWords(p booking.Price, pr *message.Printer) string {
	if p.Per == booking.PerCover {
		return pr.Sprintf("%s %s per guest", strings.ToUpper(p.Currency), money(p.Amount)) + chargesInWords(p.Charges, pr)
	}
	return pr.Sprintf("%s %s per booking", strings.ToUpper(p.Currency), money(p.Amount)) + chargesInWords(p.Charges, pr)
}

// chargesInWords is the venue's charges on a price, in words, so the summary says what the
// guest pays: ", plus 12.5% service charge, 10% tax included".
func chargesInWords(c booking.Charges, pr *message.Printer) string {
	var out string
	if c.ServiceChargeBps > 0 {
		out += pr.Sprintf(", plus %s service charge", percent(c.ServiceChargeBps))
	}
	switch {
	case c.TaxBps > 0 && c.TaxInclusive:
		out += pr.Sprintf(", %s tax included", percent(c.TaxBps))
	case c.TaxBps > 0:
		out += pr.Sprintf(", plus %s tax", percent(c.TaxBps))
	}
	return out
}

// percent writes basis points as a percentage: 1250 → "12.5%".
func percent(bps int) string {
	return strconv.FormatFloat(float64(bps)/100, 'f', -1, 64) + "%"
}

// reservationToAPI maps r; pr writes its summaries (locale.For the guest's language).
func reservationToAPI(r booking.Reservation, pr *message.Printer) gen.Reservation {
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
		Guest:              guestToAPI(r.Guest),
		Answers:            answersToAPI(r.Answers),
		Notes:              optional(r.Notes),
		PartnerReference:   optional(r.PartnerReference),
		ConfirmationCode:   optional(r.ConfirmationCode),
		CancellationPolicy: policyToAPI(r.Policy, pr),
		ModificationPolicy: modificationToAPI(r.Modification, pr),
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
	out.PriceBreakdown = breakdownToAPI(r.Breakdown)
	out.PaymentPolicy = paymentPolicyToAPI(r.PaymentPolicy, pr)
	out.CardGuarantee = guaranteeToAPI(r.Guarantee)
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

func quoteToAPI(q booking.Quote, pr *message.Printer) gen.CancellationQuote {
	out := gen.CancellationQuote{
		Object:         gen.CancellationQuoteObjectCancellationQuote,
		ReservationId:  q.Reservation.ID,
		Status:         gen.ReservationStatus(q.Reservation.Status),
		Cancellable:    q.Cancellable,
		Currency:       q.Currency,
		RefundAmount:   q.Refund,
		FeeAmount:      q.Fee,
		PriceBreakdown: breakdownToAPI(q.Reservation.Breakdown),
		PaymentPolicy:  paymentPolicyToAPI(q.Reservation.PaymentPolicy, pr),
	}
	if !q.FreeUntil.IsZero() {
		t := q.FreeUntil.In(q.Reservation.Venue.Location())
		out.FreeUntil = &t
	}
	cur := strings.ToUpper(q.Currency)
	switch {
	case !q.Cancellable:
		out.Summary = pr.Sprintf("A reservation that is %s cannot be cancelled.", q.Reservation.Status)
	case q.Reservation.Status == booking.StatusHeld:
		out.Summary = pr.Sprintf("Cancelling now releases the hold; nothing was charged.")
	case q.Refund == 0 && q.Fee == 0:
		out.Summary = pr.Sprintf("Cancelling now is free.")
	case q.Fee == 0:
		out.Summary = pr.Sprintf("Cancelling now refunds %s %s in full.", cur, money(q.Refund))
	default:
		out.Summary = pr.Sprintf("Cancelling now refunds %s %s and keeps %s %s.", cur, money(q.Refund), cur, money(q.Fee))
	}
	return out
}

// paymentPolicyToAPI is a payment policy in fields and in words (the words made once
// per language and policy: every slot of a search page carries one).
func paymentPolicyToAPI(p booking.PaymentPolicy, pr *message.Printer) *gen.PaymentPolicy {
	out := &gen.PaymentPolicy{
		Type:    gen.PaymentPolicyType(p.Type),
		Summary: locale.Memo(pr, p, func() string { return paymentPolicyInWords(p, pr) }),
	}
	switch p.Type {
	case booking.PolicyPrepay:
		out.Currency = optional(p.Currency)
	case booking.PolicyDeposit, booking.PolicyCardGuarantee:
		out.Currency = optional(p.Currency)
		out.Amount = &p.Deposit.Amount
		per := gen.PaymentPolicyPer(p.Deposit.Per)
		out.Per = &per
	default:
		out.Type = gen.PaymentPolicyTypeNone
	}
	return out
}

// paymentPolicyInWords is what a payment policy asks of the guest, in pr's language.
func paymentPolicyInWords(p booking.PaymentPolicy, pr *message.Printer) string {
	cur, amount, perCover := strings.ToUpper(p.Currency), money(p.Deposit.Amount), p.Deposit.Per == booking.PerCover
	switch {
	case p.Type == booking.PolicyPrepay:
		return pr.Sprintf("The full price is charged when the booking is confirmed.")
	case p.Type == booking.PolicyDeposit && perCover:
		return pr.Sprintf("A deposit of %s %s per guest is charged when the booking is confirmed and credited against the bill.", cur, amount)
	case p.Type == booking.PolicyDeposit:
		return pr.Sprintf("A deposit of %s %s per booking is charged when the booking is confirmed and credited against the bill.", cur, amount)
	case p.Type == booking.PolicyCardGuarantee && perCover:
		return pr.Sprintf("A card guarantee: nothing is charged at booking; a no-show or a late cancellation costs %s %s per guest.", cur, amount)
	case p.Type == booking.PolicyCardGuarantee:
		return pr.Sprintf("A card guarantee: nothing is charged at booking; a no-show or a late cancellation costs %s %s per booking.", cur, amount)
	}
	return pr.Sprintf("Nothing is charged for this booking.")
}

// guaranteeToAPI is a card-guaranteed booking's saved card and fee; nil otherwise.
func guaranteeToAPI(g *booking.CardGuarantee) *gen.CardGuarantee {
	if g == nil {
		return nil
	}
	status := gen.CardGuaranteeFeeStatus(g.FeeStatus)
	if g.FeeStatus == "" {
		status = gen.CardGuaranteeFeeStatusNone
	}
	return &gen.CardGuarantee{
		SetupIntentId: g.SetupIntentID, ClientSecret: g.ClientSecret, Status: g.Status,
		FeeStatus: &status, FeeReason: optional(g.FeeReason), FeeAmount: &g.FeeAmount,
		FeePaymentIntentId: optional(g.FeeIntentID), FeeDeclineCode: optional(g.FeeDecline),
	}
}

// breakdownToAPI is a prime booking's price breakdown, each line with its words; nil
// for a standard booking.
func breakdownToAPI(b *booking.Breakdown) *gen.PriceBreakdown {
	if b == nil {
		return nil
	}
	cur := strings.ToUpper(b.Currency)
	out := &gen.PriceBreakdown{Currency: b.Currency, Total: b.Total, PrepayAmount: b.Prepay, Lines: make([]gen.PriceBreakdownLine, 0, len(b.Lines))}
	for _, l := range b.Lines {
		line := gen.PriceBreakdownLine{Type: gen.PriceBreakdownLineType(l.Kind), Amount: l.Amount, Included: l.Included}
		switch l.Kind {
		case booking.LineSubtotal:
			line.Quantity, line.UnitAmount = &l.Quantity, &l.UnitAmount
			line.Description = fmt.Sprintf("%d × %s %s", l.Quantity, cur, money(l.UnitAmount))
		case booking.LineDeposit:
			line.Quantity, line.UnitAmount = &l.Quantity, &l.UnitAmount
			line.Description = fmt.Sprintf("Deposit %d × %s %s", l.Quantity, cur, money(l.UnitAmount))
		case booking.LineServiceCharge:
			line.RateBps = &l.RateBps
			line.Description = "Service charge " + percent(l.RateBps)
		case booking.LineTax:
			line.RateBps = &l.RateBps
			line.Description = "Tax " + percent(l.RateBps)
			if l.Included {
				line.Description += " (included)"
			}
		}
		out.Lines = append(out.Lines, line)
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
	// The guest's language when PRIMA writes it, English otherwise.
	ev.Data.Object = reservationToAPI(r, locale.Printer(locale.Pick(r.Guest.Language, "")))
	return json.Marshal(ev)
}
