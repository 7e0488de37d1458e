package server

import (
	"context"
	"strings"
	"time"

	openapi_types "github.com/oapi-codegen/runtime/types"

	"github.com/prima-dining/partner-api/gen"
	"github.com/prima-dining/partner-api/internal/access"
	"github.com/prima-dining/partner-api/internal/booking"
	"github.com/prima-dining/partner-api/internal/inventory"
	"github.com/prima-dining/partner-api/internal/locale"
)

// The venue side (/v1/operator/…, tag Operator): handlers for operator tokens. The
// contract middleware has already refused partner tokens (tokenKindProblem); each
// handler passes the operator to inventory/ or booking/, which see only its venues.

// operatorPathPrefix starts every operator operation's path.
const operatorPathPrefix = "/v1/operator/"

// tokenKindProblem refuses a token of the wrong kind for the operation at path: an
// operator token may call only /v1/operator/… operations, a partner token none of them.
func tokenKindProblem(path string, who access.Principal) *Problem {
	operatorPath := strings.HasPrefix(path, operatorPathPrefix)
	switch {
	case operatorPath && who.Kind != access.KindOperator:
		return newProblem(CodeTokenKindInvalid, "This is a venue operator operation; partner tokens cannot call it.", "")
	case !operatorPath && who.Kind == access.KindOperator:
		return newProblem(CodeTokenKindInvalid, "Operator tokens can call only /v1/operator/… operations.", "")
	}
	return nil
}

// operator is the caller as inventory/ knows it.
func operator(ctx context.Context) inventory.Operator {
	p := principal(ctx)
	return inventory.Operator{ID: p.OperatorID, TokenID: p.TokenID}
}

// errInventoryOff answers the inventory operations of a server built without Deps.Inventory.
var errInventoryOff = newProblem(CodeRouteNotFound, "The venue operator API is not enabled on this server.", "")

func (s *Server) inventory() (*inventory.Service, error) {
	if s.deps.Inventory == nil {
		return nil, errInventoryOff
	}
	return s.deps.Inventory, nil
}

// ListOperatorVenues implements gen.StrictServerInterface.
func (s *Server) ListOperatorVenues(ctx context.Context, req gen.ListOperatorVenuesRequestObject) (gen.ListOperatorVenuesResponseObject, error) {
	inv, err := s.inventory()
	if err != nil {
		return nil, err
	}
	vs, more, err := inv.ListVenues(ctx, operator(ctx), page(req.Params.Limit, req.Params.StartingAfter))
	if err != nil {
		return nil, err
	}
	out := gen.OperatorVenueList{Object: gen.OperatorVenueListObjectList, HasMore: more, Data: make([]gen.OperatorVenue, 0, len(vs))}
	for _, v := range vs {
		out.Data = append(out.Data, operatorVenueToAPI(v))
	}
	return gen.ListOperatorVenues200JSONResponse{Body: out}, nil
}

// CreateOperatorVenue implements gen.StrictServerInterface.
func (s *Server) CreateOperatorVenue(ctx context.Context, req gen.CreateOperatorVenueRequestObject) (gen.CreateOperatorVenueResponseObject, error) {
	inv, err := s.inventory()
	if err != nil {
		return nil, err
	}
	b := req.Body
	c := inventory.VenueChange{
		Name: &b.Name, Description: b.Description, City: &b.City, Cuisine: &b.Cuisine,
		TimeZone: &b.TimeZone, Currency: &b.Currency, SeatingAreas: b.SeatingAreas,
		Address:       addressFromAPI(&b.Address),
		Cancellation:  cancellationFromAPI(&b.CancellationPolicy),
		Charges:       chargesFromAPI(b.Charges),
		Deposit:       depositFromAPI(b.PaymentPolicy),
		CardGuarantee: cardGuaranteeFromAPI(b.PaymentPolicy),
		Platform:      platformFromAPI(b.Platform),
		Questions:     questionsFromAPI(b.Questions),
	}
	if b.ModificationPolicy != nil {
		c.ModifyUntilHours = &b.ModificationPolicy.AllowedUntilHoursBefore
	}
	v, err := inv.CreateVenue(ctx, operator(ctx), c)
	if err != nil {
		return nil, err
	}
	return gen.CreateOperatorVenue201JSONResponse{Body: operatorVenueToAPI(v)}, nil
}

// GetOperatorVenue implements gen.StrictServerInterface.
func (s *Server) GetOperatorVenue(ctx context.Context, req gen.GetOperatorVenueRequestObject) (gen.GetOperatorVenueResponseObject, error) {
	inv, err := s.inventory()
	if err != nil {
		return nil, err
	}
	v, err := inv.GetVenue(ctx, operator(ctx), req.VenueId)
	if err != nil {
		return nil, err
	}
	return gen.GetOperatorVenue200JSONResponse{Body: operatorVenueToAPI(v)}, nil
}

// UpdateOperatorVenue implements gen.StrictServerInterface.
func (s *Server) UpdateOperatorVenue(ctx context.Context, req gen.UpdateOperatorVenueRequestObject) (gen.UpdateOperatorVenueResponseObject, error) {
	inv, err := s.inventory()
	if err != nil {
		return nil, err
	}
	b := req.Body
	c := inventory.VenueChange{
		Name: b.Name, Description: b.Description, City: b.City, Cuisine: b.Cuisine,
		TimeZone: b.TimeZone, Currency: b.Currency, Address: addressFromAPI(b.Address),
		Cancellation: cancellationFromAPI(b.CancellationPolicy), Platform: platformFromAPI(b.Platform),
		Charges:       chargesFromAPI(b.Charges),
		Deposit:       depositFromAPI(b.PaymentPolicy),
		CardGuarantee: cardGuaranteeFromAPI(b.PaymentPolicy),
		Questions:     questionsFromAPI(b.Questions),
	}
	if b.SeatingAreas != nil {
		c.SeatingAreas = *b.SeatingAreas
	}
	if b.ModificationPolicy != nil {
		c.ModifyUntilHours = &b.ModificationPolicy.AllowedUntilHoursBefore
	}
	v, err := inv.UpdateVenue(ctx, operator(ctx), req.VenueId, c)
	if err != nil {
		return nil, err
	}
	return gen.UpdateOperatorVenue200JSONResponse{Body: operatorVenueToAPI(v)}, nil
}

// ListSchedules implements gen.StrictServerInterface.
func (s *Server) ListSchedules(ctx context.Context, req gen.ListSchedulesRequestObject) (gen.ListSchedulesResponseObject, error) {
	inv, err := s.inventory()
	if err != nil {
		return nil, err
	}
	list, err := inv.ListSchedules(ctx, operator(ctx), req.VenueId)
	if err != nil {
		return nil, err
	}
	out := gen.ScheduleList{Object: gen.ScheduleListObjectList, Data: make([]gen.Schedule, 0, len(list))}
	for _, sch := range list {
		out.Data = append(out.Data, scheduleToAPI(sch))
	}
	return gen.ListSchedules200JSONResponse{Body: out}, nil
}

// CreateSchedule implements gen.StrictServerInterface.
func (s *Server) CreateSchedule(ctx context.Context, req gen.CreateScheduleRequestObject) (gen.CreateScheduleResponseObject, error) {
	inv, err := s.inventory()
	if err != nil {
		return nil, err
	}
	b := req.Body
	in := inventory.ScheduleInput{
		Days:      make([]string, 0, len(b.Days)),
		Times:     b.Times,
		SlotShape: shapeFromAPI(b.DurationMinutes, b.PartySizeMin, b.PartySizeMax, b.SeatingArea, b.Type, b.Price, b.Tables),
		ValidFrom: dateString(b.ValidFrom), ValidUntil: dateString(b.ValidUntil), HorizonDays: deref(b.HorizonDays),
	}
	for _, d := range b.Days {
		in.Days = append(in.Days, string(d))
	}
	sch, err := inv.AddSchedule(ctx, operator(ctx), req.VenueId, in)
	if err != nil {
		return nil, err
	}
	return gen.CreateSchedule201JSONResponse{Body: scheduleToAPI(sch)}, nil
}

// ListOperatorSlots implements gen.StrictServerInterface.
func (s *Server) ListOperatorSlots(ctx context.Context, req gen.ListOperatorSlotsRequestObject) (gen.ListOperatorSlotsResponseObject, error) {
	inv, err := s.inventory()
	if err != nil {
		return nil, err
	}
	p := req.Params
	f := inventory.SlotFilter{DateFrom: dateString(p.DateFrom), DateTo: dateString(p.DateTo), Status: string(deref(p.Status))}
	slots, more, err := inv.ListSlots(ctx, operator(ctx), req.VenueId, f, page(p.Limit, p.StartingAfter))
	if err != nil {
		return nil, err
	}
	out := gen.OperatorSlotList{Object: gen.OperatorSlotListObjectList, HasMore: more, Data: make([]gen.OperatorSlot, 0, len(slots))}
	for _, sl := range slots {
		out.Data = append(out.Data, operatorSlotToAPI(sl))
	}
	return gen.ListOperatorSlots200JSONResponse{Body: out}, nil
}

// CreateOperatorSlot implements gen.StrictServerInterface.
func (s *Server) CreateOperatorSlot(ctx context.Context, req gen.CreateOperatorSlotRequestObject) (gen.CreateOperatorSlotResponseObject, error) {
	inv, err := s.inventory()
	if err != nil {
		return nil, err
	}
	b := req.Body
	sl, err := inv.AddSlot(ctx, operator(ctx), req.VenueId, inventory.SlotInput{
		LocalDate: b.LocalDate.Format(time.DateOnly), LocalTime: b.LocalTime,
		SlotShape:     shapeFromAPI(b.DurationMinutes, b.PartySizeMin, b.PartySizeMax, b.SeatingArea, b.Type, b.Price, b.Tables),
		PaymentPolicy: slotPolicyFromAPI(b.PaymentPolicy),
	})
	if err != nil {
		return nil, err
	}
	return gen.CreateOperatorSlot201JSONResponse{Body: operatorSlotToAPI(sl)}, nil
}

// UpdateOperatorSlot implements gen.StrictServerInterface.
func (s *Server) UpdateOperatorSlot(ctx context.Context, req gen.UpdateOperatorSlotRequestObject) (gen.UpdateOperatorSlotResponseObject, error) {
	inv, err := s.inventory()
	if err != nil {
		return nil, err
	}
	c := inventory.SlotChange{Tables: req.Body.Tables, PaymentPolicy: slotPolicyFromAPI(req.Body.PaymentPolicy)}
	if req.Body.Status != nil {
		st := string(*req.Body.Status)
		c.Status = &st
	}
	sl, err := inv.UpdateSlot(ctx, operator(ctx), req.SlotId, c)
	if err != nil {
		return nil, err
	}
	return gen.UpdateOperatorSlot200JSONResponse{Body: operatorSlotToAPI(sl)}, nil
}

// ListAllocations implements gen.StrictServerInterface.
func (s *Server) ListAllocations(ctx context.Context, req gen.ListAllocationsRequestObject) (gen.ListAllocationsResponseObject, error) {
	inv, err := s.inventory()
	if err != nil {
		return nil, err
	}
	list, err := inv.ListAllocations(ctx, operator(ctx), req.SlotId)
	if err != nil {
		return nil, err
	}
	out := gen.AllocationList{Object: gen.AllocationListObjectList, Data: make([]gen.Allocation, 0, len(list))}
	for _, a := range list {
		out.Data = append(out.Data, allocationToAPI(a))
	}
	return gen.ListAllocations200JSONResponse{Body: out}, nil
}

// CreateAllocation implements gen.StrictServerInterface.
func (s *Server) CreateAllocation(ctx context.Context, req gen.CreateAllocationRequestObject) (gen.CreateAllocationResponseObject, error) {
	inv, err := s.inventory()
	if err != nil {
		return nil, err
	}
	b := req.Body
	a, err := inv.Allocate(ctx, operator(ctx), req.SlotId, inventory.AllocationInput{
		PartnerID: b.PartnerId, Tables: b.Tables, ReleaseHoursBefore: b.ReleaseHoursBefore,
	})
	if err != nil {
		return nil, err
	}
	return gen.CreateAllocation201JSONResponse{Body: allocationToAPI(a)}, nil
}

func allocationToAPI(a inventory.Allocation) gen.Allocation {
	return gen.Allocation{
		Id: a.ID, Object: gen.AllocationObjectAllocation, SlotId: a.SlotID, PartnerId: a.PartnerID,
		Tables: a.Tables, TablesTaken: a.TablesTaken, ReleaseAt: a.ReleaseAt, Released: a.Released, CreatedAt: a.CreatedAt,
	}
}

// ListClosures implements gen.StrictServerInterface.
func (s *Server) ListClosures(ctx context.Context, req gen.ListClosuresRequestObject) (gen.ListClosuresResponseObject, error) {
	inv, err := s.inventory()
	if err != nil {
		return nil, err
	}
	list, err := inv.ListClosures(ctx, operator(ctx), req.VenueId)
	if err != nil {
		return nil, err
	}
	out := gen.ClosureList{Object: gen.ClosureListObjectList, Data: make([]gen.Closure, 0, len(list))}
	for _, c := range list {
		out.Data = append(out.Data, closureToAPI(c))
	}
	return gen.ListClosures200JSONResponse{Body: out}, nil
}

// CreateClosure implements gen.StrictServerInterface.
func (s *Server) CreateClosure(ctx context.Context, req gen.CreateClosureRequestObject) (gen.CreateClosureResponseObject, error) {
	inv, err := s.inventory()
	if err != nil {
		return nil, err
	}
	b := req.Body
	c, err := inv.AddClosure(ctx, operator(ctx), req.VenueId, inventory.ClosureInput{
		DateFrom: b.DateFrom.Format(time.DateOnly), DateTo: b.DateTo.Format(time.DateOnly),
		TimeFrom: deref(b.TimeFrom), TimeTo: deref(b.TimeTo), Reason: deref(b.Reason),
	})
	if err != nil {
		return nil, err
	}
	return gen.CreateClosure201JSONResponse{Body: closureToAPI(c)}, nil
}

// ListOperatorReservations implements gen.StrictServerInterface.
func (s *Server) ListOperatorReservations(ctx context.Context, req gen.ListOperatorReservationsRequestObject) (gen.ListOperatorReservationsResponseObject, error) {
	p := req.Params
	f := booking.ReservationFilter{
		Status: string(deref(p.Status)), VenueID: deref(p.VenueId),
		DateFrom: dateString(p.DateFrom), DateTo: dateString(p.DateTo),
	}
	rs, more, err := s.deps.VenueReservations.List(ctx, operator(ctx).ID, f, page(p.Limit, p.StartingAfter))
	if err != nil {
		return nil, err
	}
	out := gen.OperatorReservationList{Object: gen.OperatorReservationListObjectList, HasMore: more, Data: make([]gen.OperatorReservation, 0, len(rs))}
	for _, r := range rs {
		out.Data = append(out.Data, operatorReservationToAPI(r))
	}
	return gen.ListOperatorReservations200JSONResponse{Body: out}, nil
}

// GetOperatorReservation implements gen.StrictServerInterface.
func (s *Server) GetOperatorReservation(ctx context.Context, req gen.GetOperatorReservationRequestObject) (gen.GetOperatorReservationResponseObject, error) {
	r, err := s.deps.VenueReservations.Get(ctx, operator(ctx).ID, req.ReservationId)
	if err != nil {
		return nil, err
	}
	return gen.GetOperatorReservation200JSONResponse{Body: operatorReservationToAPI(r)}, nil
}

// RecordReservationOutcome implements gen.StrictServerInterface.
func (s *Server) RecordReservationOutcome(ctx context.Context, req gen.RecordReservationOutcomeRequestObject) (gen.RecordReservationOutcomeResponseObject, error) {
	r, err := s.deps.VenueReservations.RecordOutcome(ctx, operator(ctx).ID, operator(ctx).TokenID, req.ReservationId, booking.Status(req.Body.Status))
	if err != nil {
		return nil, err
	}
	return gen.RecordReservationOutcome200JSONResponse{Body: operatorReservationToAPI(r)}, nil
}

// RefundOperatorReservation implements gen.StrictServerInterface.
func (s *Server) RefundOperatorReservation(ctx context.Context, req gen.RefundOperatorReservationRequestObject) (gen.RefundOperatorReservationResponseObject, error) {
	r, err := s.deps.VenueReservations.GoodwillRefund(ctx, operator(ctx).ID, operator(ctx).TokenID, req.ReservationId, req.Body.Amount, req.Body.Reason)
	if err != nil {
		return nil, err
	}
	return gen.RefundOperatorReservation200JSONResponse{Body: operatorReservationToAPI(r)}, nil
}

// Mapping between the operator API types (gen) and inventory's and booking's.

func addressFromAPI(a *gen.OperatorAddressInput) *inventory.AddressChange {
	if a == nil {
		return nil
	}
	return &inventory.AddressChange{Line1: a.Line1, PostalCode: deref(a.PostalCode), Country: deref(a.Country)}
}

func cancellationFromAPI(p *gen.OperatorCancellationPolicyInput) *booking.CancellationPolicy {
	if p == nil {
		return nil
	}
	return &booking.CancellationPolicy{
		FreeUntilHoursBefore: p.FreeUntilHoursBefore, FeeType: booking.FeeType(p.FeeType),
		FeePercent: deref(p.FeePercent), FeeAmount: deref(p.FeeAmount),
	}
}

func chargesFromAPI(c *gen.VenueChargesInput) *booking.Charges {
	if c == nil {
		return nil
	}
	return &booking.Charges{ServiceChargeBps: c.ServiceChargeBps, TaxBps: c.TaxBps, TaxInclusive: c.TaxInclusive}
}

// depositFromAPI is the venue's deposit (Per "": none); nil (unchanged) when not sent.
func depositFromAPI(p *gen.VenuePaymentPolicyInput) *booking.Deposit {
	switch {
	case p == nil:
		return nil
	case p.Type == gen.VenuePaymentPolicyInputTypeNone:
		return &booking.Deposit{}
	}
	// A card guarantee's fee is priced like a deposit; cardGuaranteeFromAPI says which.
	d := booking.Deposit{Amount: deref(p.Amount), Per: booking.PricePer(deref(p.Per))}
	if d.Per == "" {
		d.Per = "missing" // refused by inventory with param payment_policy.per
	}
	return &d
}

// cardGuaranteeFromAPI reports whether the venue's policy is a card guarantee.
func cardGuaranteeFromAPI(p *gen.VenuePaymentPolicyInput) bool {
	return p != nil && p.Type == gen.VenuePaymentPolicyInputTypeCardGuarantee
}

// questionsFromAPI is nil (unchanged) when the request has no questions.
func questionsFromAPI(in *[]gen.BookingQuestionInput) *[]booking.Question {
	if in == nil {
		return nil
	}
	out := make([]booking.Question, 0, len(*in))
	for _, q := range *in {
		bq := booking.Question{
			ID: q.Id, Kind: string(q.Kind), Type: string(deref(q.Type)), Label: deref(q.Label),
			Required: deref(q.Required), Options: deref(q.Options),
		}
		for _, t := range deref(q.SlotTypes) {
			bq.SlotTypes = append(bq.SlotTypes, booking.SlotType(t))
		}
		out = append(out, bq)
	}
	return &out
}

func platformToAPI(p inventory.Platform) gen.VenuePlatform {
	out := gen.VenuePlatform{Kind: gen.VenuePlatformKind(p.Kind), Url: optional(p.URL)}
	if p.Email != "" {
		e := openapi_types.Email(p.Email)
		out.Email = &e
	}
	return out
}

func platformFromAPI(p *gen.VenuePlatform) *inventory.Platform {
	if p == nil {
		return nil
	}
	return &inventory.Platform{Kind: string(p.Kind), URL: deref(p.Url), Email: string(deref(p.Email))}
}

// slotPolicyFromAPI is a slot's own payment policy as sent; nil when not sent.
func slotPolicyFromAPI(p *gen.SlotPaymentPolicyInput) *booking.SlotPolicyInput {
	if p == nil {
		return nil
	}
	return &booking.SlotPolicyInput{Type: string(p.Type), Amount: p.Amount, Per: string(deref(p.Per))}
}

func shapeFromAPI(duration, minP, maxP int, area string, typ gen.SlotType, price *gen.SlotPriceInput, tables int) inventory.SlotShape {
	sh := inventory.SlotShape{
		DurationMinutes: duration, PartySizeMin: minP, PartySizeMax: maxP,
		SeatingArea: area, Type: booking.SlotType(typ), Tables: tables,
	}
	if price != nil {
		sh.Price = &booking.Price{Amount: price.Amount, Per: booking.PricePer(price.Per)}
	}
	return sh
}

func operatorVenueToAPI(v inventory.Venue) gen.OperatorVenue {
	base := venueToAPI(v.Venue, locale.English)
	out := gen.OperatorVenue{
		Id: base.Id, Object: gen.OperatorVenueObjectVenue, Name: base.Name, Description: base.Description,
		Address: base.Address, City: base.City, Cuisine: base.Cuisine, TimeZone: base.TimeZone,
		Currency: base.Currency, SeatingAreas: base.SeatingAreas, CancellationPolicy: base.CancellationPolicy,
		ModificationPolicy:    modificationToAPI(v.Modification, locale.English),
		Platform:              platformToAPI(v.Platform),
		PlatformSigningSecret: optional(v.NewSigningSecret),
		Charges: &gen.VenueCharges{
			ServiceChargeBps: v.Charges.ServiceChargeBps, TaxBps: v.Charges.TaxBps, TaxInclusive: v.Charges.TaxInclusive,
		},
		PaymentPolicy: venuePaymentPolicyToAPI(v.Venue),
		Questions:     base.Questions,
		CreatedAt:     v.CreatedAt.UTC(),
	}
	return out
}

// venuePaymentPolicyToAPI is the payment policy of v's standard slots.
func venuePaymentPolicyToAPI(v booking.Venue) *gen.PaymentPolicy {
	p := booking.PaymentPolicy{Type: booking.PolicyNone}
	switch {
	case v.Deposit.Per != "" && v.CardGuarantee:
		p = booking.PaymentPolicy{Type: booking.PolicyCardGuarantee, Deposit: v.Deposit, Currency: v.Currency}
	case v.Deposit.Per != "":
		p = booking.PaymentPolicy{Type: booking.PolicyDeposit, Deposit: v.Deposit, Currency: v.Currency}
	}
	return paymentPolicyToAPI(p, locale.English)
}

func priceToAPI(p *booking.Price) *gen.Price {
	if p == nil {
		return nil
	}
	return &gen.Price{Amount: p.Amount, Currency: p.Currency, Per: gen.PricePer(p.Per), Summary: priceSummary(*p, locale.English)}
}

func scheduleToAPI(s inventory.Schedule) gen.Schedule {
	out := gen.Schedule{
		Id: s.ID, Object: gen.ScheduleObjectSchedule, VenueId: s.VenueID,
		Days: make([]gen.Weekday, 0, len(s.Days)), Times: s.Times,
		DurationMinutes: s.DurationMinutes, PartySizeMin: s.PartySizeMin, PartySizeMax: s.PartySizeMax,
		SeatingArea: s.SeatingArea, Type: gen.SlotType(s.Type), Price: priceToAPI(s.Price), Tables: s.Tables,
		ValidFrom: date(s.ValidFrom), ValidUntil: datePtr(s.ValidUntil), HorizonDays: s.HorizonDays,
		GeneratedThrough: datePtr(s.GeneratedThrough), SlotsGenerated: s.SlotsGenerated, CreatedAt: s.CreatedAt.UTC(),
	}
	for _, d := range s.Days {
		out.Days = append(out.Days, gen.Weekday(d))
	}
	return out
}

func operatorSlotToAPI(s inventory.Slot) gen.OperatorSlot {
	starts := s.StartsAt
	if loc, err := time.LoadLocation(s.Venue.TimeZone); err == nil {
		starts = starts.In(loc)
	}
	out := gen.OperatorSlot{
		Id: s.ID, Object: gen.OperatorSlotObjectSlot, VenueId: s.VenueID, ScheduleId: optional(s.ScheduleID),
		StartsAt: starts, LocalDate: date(s.LocalDate), LocalTime: s.LocalTime,
		DurationMinutes: s.DurationMinutes, PartySizeMin: s.PartySizeMin, PartySizeMax: s.PartySizeMax,
		SeatingArea: s.SeatingArea, Type: gen.SlotType(s.Type), Price: priceToAPI(s.Price),
		Tables: s.Tables, TablesTaken: s.TablesTaken, TablesAllocated: s.TablesReserved,
		Status: gen.SlotStatus(s.Status), UpdatedAt: s.UpdatedAt.UTC(),
		PaymentPolicy: paymentPolicyToAPI(s.PaymentPolicy, locale.English),
	}
	out.PaymentPolicySource = (*gen.OperatorSlotPaymentPolicySource)(optional(s.PolicySource))
	return out
}

func closureToAPI(c inventory.Closure) gen.Closure {
	return gen.Closure{
		Id: c.ID, Object: gen.ClosureObjectClosure, VenueId: c.VenueID,
		DateFrom: date(c.DateFrom), DateTo: date(c.DateTo), TimeFrom: optional(c.TimeFrom), TimeTo: optional(c.TimeTo),
		Reason: c.Reason, SlotsWithdrawn: c.SlotsWithdrawn, ReservationsAffected: c.ReservationsAffected,
		CreatedAt: c.CreatedAt.UTC(),
	}
}

func operatorReservationToAPI(r booking.VenueReservation) gen.OperatorReservation {
	base := reservationToAPI(r.Reservation, locale.English)
	out := gen.OperatorReservation{
		Id: base.Id, Object: gen.OperatorReservationObjectReservation, Status: base.Status,
		SlotId: base.SlotId, Venue: base.Venue, StartsAt: base.StartsAt, LocalDate: date(r.LocalDate),
		DurationMinutes: base.DurationMinutes, SeatingArea: base.SeatingArea, Type: base.Type,
		PartySize: base.PartySize, Guest: base.Guest, Answers: base.Answers, Notes: base.Notes, ConfirmationCode: base.ConfirmationCode,
		VenueSync: base.VenueSync, CreatedAt: base.CreatedAt, UpdatedAt: base.UpdatedAt,
	}
	out.Partner.Id, out.Partner.Name = r.PartnerID, r.PartnerName
	if p := r.Payment; p != nil {
		out.Payment = &gen.OperatorPayment{
			Status: gen.PaymentIntentStatus(p.Status), Amount: p.Amount, Currency: p.Currency,
			AmountCaptured: p.AmountCaptured, AmountRefunded: p.AmountRefunded,
		}
	}
	return out
}

func date(s string) openapi_types.Date {
	t, _ := time.Parse(time.DateOnly, s)
	return openapi_types.Date{Time: t}
}

func datePtr(s string) *openapi_types.Date {
	if s == "" {
		return nil
	}
	d := date(s)
	return &d
}
