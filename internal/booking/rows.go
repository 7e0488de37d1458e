package booking

import (
	"encoding/json"
	"strings"

	"github.com/prima-dining/partner-api/payments"
	"github.com/prima-dining/partner-api/store"
)

// Mapping between table rows (store) and domain types (this package).

// VenueFromRow maps a venue row to the domain type (inventory builds on it too).
func VenueFromRow(r store.Venue) Venue {
	var areas []string
	if r.SeatingAreas != "" {
		areas = strings.Split(r.SeatingAreas, ",")
	}
	return Venue{
		ID:            r.ID,
		Name:          r.Name,
		Description:   r.Description,
		Address:       Address{Line1: r.AddressLine1, City: r.City, PostalCode: r.PostalCode, Country: r.Country},
		City:          r.City,
		Cuisine:       r.Cuisine,
		TimeZone:      r.TimeZone,
		Currency:      r.Currency,
		SeatingAreas:  areas,
		Policy:        policyFromVenue(r),
		Modification:  ModificationPolicy{AllowedUntilHoursBefore: r.PolicyModifyUntilHours},
		Charges:       chargesOf(r),
		Deposit:       Deposit{Amount: r.DepositAmount, Per: PricePer(r.DepositPer)},
		CardGuarantee: r.PaymentPolicy == string(PolicyCardGuarantee),
		Questions:     QuestionsFromJSON(r.Questions),
		CreatedAt:     r.CreatedAt,
	}
}

func policyFromVenue(r store.Venue) CancellationPolicy {
	return CancellationPolicy{
		FreeUntilHoursBefore: r.PolicyFreeHours,
		FeeType:              FeeType(r.PolicyFeeType),
		FeePercent:           r.PolicyFeePercent,
		FeeAmount:            r.PolicyFeeAmount,
	}
}

func summaryFromRow(r store.Venue) VenueSummary {
	return VenueSummary{ID: r.ID, Name: r.Name, City: r.City, Cuisine: r.Cuisine, TimeZone: r.TimeZone, Currency: r.Currency}
}

func slotFromRow(r store.Slot) Slot {
	s := Slot{
		ID:              r.ID,
		Venue:           summaryFromRow(r.Venue),
		StartsAt:        r.StartsAt.UTC(),
		LocalDate:       r.LocalDate,
		LocalTime:       r.LocalTime,
		DurationMinutes: r.DurationMinutes,
		PartySizeMin:    r.PartySizeMin,
		PartySizeMax:    r.PartySizeMax,
		SeatingArea:     r.SeatingArea,
		Type:            SlotType(r.Type),
		Tables:          r.Tables,
		TablesTaken:     r.TablesTaken,
		TablesReserved:  r.TablesReserved,
		Policy:          policyFromVenue(r.Venue),
	}
	for _, q := range QuestionsFromJSON(r.Venue.Questions) {
		if q.AskedFor(s.Type) {
			s.Questions = append(s.Questions, q)
		}
	}
	if s.Type == SlotPrime {
		p := priceOfSlot(r)
		s.Price = &p
	}
	s.PaymentPolicy = policyOfSlot(r)
	return s
}

func slotsFromRows(rows []store.Slot) []Slot {
	out := make([]Slot, 0, len(rows))
	for _, r := range rows {
		out = append(out, slotFromRow(r))
	}
	return out
}

func reservationFromRow(r store.Reservation) Reservation {
	out := Reservation{
		ID:              r.ID,
		PartnerID:       r.PartnerID,
		TokenID:         r.TokenID,
		SlotID:          r.SlotID,
		Venue:           summaryFromRow(r.Venue),
		StartsAt:        r.StartsAt.UTC(),
		LocalDate:       r.LocalDate,
		DurationMinutes: r.DurationMinutes,
		SeatingArea:     r.SeatingArea,
		Type:            SlotType(r.SlotType),
		PartySize:       r.PartySize,
		Guest: Guest{
			FirstName: r.GuestFirstName, LastName: r.GuestLastName, Email: r.GuestEmail, Phone: r.GuestPhone,
			Language: r.GuestLanguage, LoyaltyNumber: r.GuestLoyaltyNumber, RoomNumber: r.GuestRoomNumber,
			MarketingConsent: r.GuestMarketingConsent, Reference: r.GuestReference,
		},
		Answers:          AnswersFromJSON(r.Answers),
		Notes:            r.Notes,
		PartnerReference: r.PartnerReference,
		Status:           Status(r.Status),
		Policy: CancellationPolicy{
			FreeUntilHoursBefore: r.PolicyFreeHours,
			FeeType:              FeeType(r.PolicyFeeType),
			FeePercent:           r.PolicyFeePercent,
			FeeAmount:            r.PolicyFeeAmount,
		},
		VenueSync: VenueSync{
			Status:    r.VenueSyncStatus,
			Reference: r.VenueSyncReference,
			Attempts:  r.VenueSyncAttempts,
			LastError: r.VenueSyncError,
			SyncedAt:  r.VenueSyncedAt,
		},
		Breakdown:     breakdownOf(r),
		PaymentPolicy: policyOfReservation(r),
		Guarantee:     guaranteeOf(r),
		CancelReason:  r.CancelReason,
		CreatedAt:     r.CreatedAt.UTC(),
		UpdatedAt:     r.UpdatedAt.UTC(),
		ConfirmedAt:   r.ConfirmedAt,
		CancelledAt:   r.CancelledAt,
	}
	if out.VenueSync.Status == "" {
		out.VenueSync.Status = SyncNotApplicable
	}
	if r.ExpiresAt != nil {
		out.ExpiresAt = r.ExpiresAt.UTC()
	}
	if r.HoldMaxAt != nil {
		out.HoldMaxAt = r.HoldMaxAt.UTC()
	}
	if r.ConfirmationCode != nil {
		out.ConfirmationCode = *r.ConfirmationCode
	}
	if r.PaymentIntentID != nil {
		out.Payment = &Payment{
			Provider:       r.PaymentProvider,
			IntentID:       *r.PaymentIntentID,
			ClientSecret:   r.PaymentClientSecret,
			Amount:         r.PaymentAmount,
			Currency:       r.PaymentCurrency,
			Status:         payments.IntentStatus(r.PaymentStatus),
			AmountCaptured: r.PaymentAmountCaptured,
			AmountRefunded: r.PaymentAmountRefunded,
			RefundPending:  r.PaymentRefundDue,
			DeclineCode:    r.PaymentDeclineCode,
		}
	}
	out.Modification = ModificationPolicy{AllowedUntilHoursBefore: r.PolicyModifyUntilHours}
	out.Payments, out.PendingChange = paymentsFromRow(r, out.Payment)
	return out
}

// paymentsFromRow lists every payment of r, oldest first: replaced hold payments, the
// hold's current one, then the changes'. It also returns the pending change, if any.
func paymentsFromRow(r store.Reservation, current *Payment) ([]PaymentRecord, *PendingChange) {
	var booked, changes []PaymentRecord
	var pending *PendingChange
	for _, p := range r.Payments {
		rec := paymentRecordFromRow(p)
		if rec.Purpose == PurposeHold {
			booked = append(booked, rec)
			continue
		}
		changes = append(changes, rec)
		if r.PendingPaymentID != nil && *r.PendingPaymentID == p.ID && p.ChangeExpiresAt != nil {
			pending = &PendingChange{Requested: changeRequestFromRow(p), Payment: rec, ExpiresAt: p.ChangeExpiresAt.UTC()}
		}
	}
	out := make([]PaymentRecord, 0, len(booked)+len(changes)+1)
	out = append(out, booked...)
	if current != nil {
		out = append(out, PaymentRecord{Purpose: PurposeHold, Payment: *current})
	}
	return append(out, changes...), pending
}

func paymentRecordFromRow(p store.ReservationPayment) PaymentRecord {
	purpose := PurposeHold
	if p.ChangeRequest != "" {
		purpose = PurposeChange
	}
	return PaymentRecord{Purpose: purpose, Payment: Payment{
		Provider:       p.Provider,
		IntentID:       p.IntentID,
		ClientSecret:   p.ClientSecret,
		Amount:         p.Amount,
		Currency:       p.Currency,
		Status:         payments.IntentStatus(p.Status),
		AmountCaptured: p.AmountCaptured,
		AmountRefunded: p.AmountRefunded,
		RefundPending:  p.RefundDue,
		DeclineCode:    p.DeclineCode,
	}}
}

// changeRequestFromRow decodes the change a payment pays for; the JSON was written by
// requestChange, so a decoding error leaves an empty request rather than failing a read.
func changeRequestFromRow(p store.ReservationPayment) ChangeRequest {
	var req ChangeRequest
	_ = json.Unmarshal([]byte(p.ChangeRequest), &req)
	return req
}

func reservationsFromRows(rows []store.Reservation) []Reservation {
	out := make([]Reservation, 0, len(rows))
	for _, r := range rows {
		out = append(out, reservationFromRow(r))
	}
	return out
}

// applyIntent copies what the gateway says of an intent onto the row.
func applyIntent(r *store.Reservation, provider string, in payments.Intent) {
	id := in.ID
	r.PaymentProvider = provider
	r.PaymentIntentID = &id
	if in.ClientSecret != "" {
		r.PaymentClientSecret = in.ClientSecret
	}
	r.PaymentAmount = in.Amount
	r.PaymentCurrency = in.Currency
	r.PaymentStatus = string(in.Status)
	r.PaymentAmountCaptured = max(r.PaymentAmountCaptured, in.AmountCaptured)
	refunded := max(r.PaymentAmountRefunded, in.AmountRefunded)
	// A refund the provider now reports is no longer pending.
	r.PaymentRefundDue = max(0, r.PaymentRefundDue-(refunded-r.PaymentAmountRefunded))
	r.PaymentAmountRefunded = refunded
	r.PaymentDeclineCode = in.DeclineCode
}
