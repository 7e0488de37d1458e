package booking

import (
	"strings"

	"github.com/prima-dining/partner-api/payments"
	"github.com/prima-dining/partner-api/store"
)

// Mapping between table rows (store) and domain types (this package).

func venueFromRow(r store.Venue) Venue {
	var areas []string
	if r.SeatingAreas != "" {
		areas = strings.Split(r.SeatingAreas, ",")
	}
	return Venue{
		ID:           r.ID,
		Name:         r.Name,
		Description:  r.Description,
		Address:      Address{Line1: r.AddressLine1, City: r.City, PostalCode: r.PostalCode, Country: r.Country},
		City:         r.City,
		Cuisine:      r.Cuisine,
		TimeZone:     r.TimeZone,
		Currency:     r.Currency,
		SeatingAreas: areas,
		Policy:       policyFromVenue(r),
		CreatedAt:    r.CreatedAt,
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
	if s.Type == SlotPrime {
		s.Price = &Price{Amount: r.PriceAmount, Currency: r.PriceCurrency, Per: PricePer(r.PricePer)}
	}
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
		ID:               r.ID,
		PartnerID:        r.PartnerID,
		TokenID:          r.TokenID,
		SlotID:           r.SlotID,
		Venue:            summaryFromRow(r.Venue),
		StartsAt:         r.StartsAt.UTC(),
		LocalDate:        r.LocalDate,
		DurationMinutes:  r.DurationMinutes,
		SeatingArea:      r.SeatingArea,
		Type:             SlotType(r.SlotType),
		PartySize:        r.PartySize,
		Guest:            Guest{FirstName: r.GuestFirstName, LastName: r.GuestLastName, Email: r.GuestEmail, Phone: r.GuestPhone},
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
		CancelReason: r.CancelReason,
		CreatedAt:    r.CreatedAt.UTC(),
		UpdatedAt:    r.UpdatedAt.UTC(),
		ConfirmedAt:  r.ConfirmedAt,
		CancelledAt:  r.CancelledAt,
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
	return out
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
