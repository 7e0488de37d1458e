package booking

import "github.com/prima-dining/partner-api/store"

// Payment policies (issue 18): what a booking of a slot asks of the guest's card. A prime
// slot is prepaid in full; a standard slot at a venue whose operator asks a deposit takes
// that deposit (per cover or per booking), captured at finalize like a prepayment and
// refunded per the cancellation policy; otherwise nothing is charged.

// PaymentPolicyType is the kind of payment policy.
type PaymentPolicyType string

// Payment policy types.
const (
	PolicyNone    PaymentPolicyType = "none"
	PolicyPrepay  PaymentPolicyType = "prepay"
	PolicyDeposit PaymentPolicyType = "deposit"
	// PolicyCardGuarantee: the guest's card is saved at the hold (a SetupIntent) and
	// charged a fee per cover or per booking off-session only on a no-show or a late
	// cancellation.
	PolicyCardGuarantee PaymentPolicyType = "card_guarantee"
)

// Fee statuses of a card-guaranteed booking.
const (
	FeePending = "pending" // due, being charged
	FeePaid    = "paid"
	FeeUnpaid  = "unpaid" // the off-session charge failed; the booking's outcome stands
)

// Fee reasons.
const (
	FeeReasonNoShow     = "no_show"
	FeeReasonLateCancel = "late_cancel"
)

// LineDeposit is the breakdown line of a deposit.
const LineDeposit = "deposit"

// Deposit is a deposit per cover or per booking, in minor units of the venue's currency.
// Per "" is no deposit.
type Deposit struct {
	Amount int64
	Per    PricePer
}

// Total is the deposit of a party of partySize.
func (d Deposit) Total(partySize int) int64 {
	if d.Per == PerCover {
		return d.Amount * int64(partySize)
	}
	return d.Amount
}

// PaymentPolicy is the payment policy that applies to a slot or a booking.
type PaymentPolicy struct {
	Type PaymentPolicyType
	// Deposit is the deposit asked, with PolicyDeposit, or the fee, with
	// PolicyCardGuarantee.
	Deposit  Deposit
	Currency string
}

// CardGuarantee is a booking's saved card and its fee (provider ids only).
type CardGuarantee struct {
	SetupIntentID string
	ClientSecret  string
	Status        string // the SetupIntent's
	FeeStatus     string // "" (none due), FeePending, FeePaid, FeeUnpaid
	FeeReason     string
	FeeAmount     int64
	FeeIntentID   string
	FeeDecline    string
}

// guaranteeOf is r's card guarantee, nil for another policy.
func guaranteeOf(r store.Reservation) *CardGuarantee {
	if r.PaymentPolicy != string(PolicyCardGuarantee) {
		return nil
	}
	g := &CardGuarantee{
		ClientSecret: r.SetupClientSecret, Status: r.SetupStatus, FeeStatus: r.FeeStatus,
		FeeReason: r.FeeReason, FeeAmount: r.FeeAmount, FeeDecline: r.FeeDeclineCode,
	}
	if r.SetupIntentID != nil {
		g.SetupIntentID = *r.SetupIntentID
	}
	if r.FeeIntentID != nil {
		g.FeeIntentID = *r.FeeIntentID
	}
	return g
}

// depositOfVenue is the deposit v asks on its standard slots.
func depositOfVenue(v store.Venue) Deposit {
	if v.DepositPer == "" || v.PaymentPolicy == string(PolicyCardGuarantee) {
		return Deposit{}
	}
	return Deposit{Amount: v.DepositAmount, Per: PricePer(v.DepositPer)}
}

// depositOf is the deposit the reservation r was booked with.
func depositOf(r store.Reservation) Deposit {
	if r.DepositPer == "" || r.PaymentPolicy == string(PolicyCardGuarantee) {
		return Deposit{}
	}
	return Deposit{Amount: r.DepositAmount, Per: PricePer(r.DepositPer)}
}

// slotDeposit is the deposit a hold of slot takes: the venue's, on a standard slot.
func slotDeposit(slot store.Slot) Deposit {
	if slot.Type == string(SlotPrime) {
		return Deposit{}
	}
	return depositOfVenue(slot.Venue)
}

// guaranteeOfVenue is the fee v's card guarantee charges (Per "": no card guarantee).
func guaranteeOfVenue(v store.Venue) Deposit {
	if v.PaymentPolicy != string(PolicyCardGuarantee) || v.DepositPer == "" {
		return Deposit{}
	}
	return Deposit{Amount: v.DepositAmount, Per: PricePer(v.DepositPer)}
}

// guaranteed reports whether a hold of slot saves the guest's card.
func guaranteed(slot store.Slot) bool {
	return slot.Type != string(SlotPrime) && guaranteeOfVenue(slot.Venue).Per != ""
}

// policyOfSlot is the payment policy that applies to a hold of slot.
func policyOfSlot(slot store.Slot) PaymentPolicy {
	switch {
	case slot.Type == string(SlotPrime):
		return PaymentPolicy{Type: PolicyPrepay, Currency: slotCurrency(slot)}
	case slotDeposit(slot).Per != "":
		return PaymentPolicy{Type: PolicyDeposit, Deposit: slotDeposit(slot), Currency: slot.Venue.Currency}
	case guaranteed(slot):
		return PaymentPolicy{Type: PolicyCardGuarantee, Deposit: guaranteeOfVenue(slot.Venue), Currency: slot.Venue.Currency}
	}
	return PaymentPolicy{Type: PolicyNone}
}

// policyOfReservation is the payment policy the reservation r was booked with.
func policyOfReservation(r store.Reservation) PaymentPolicy {
	switch {
	case r.SlotType == string(SlotPrime):
		return PaymentPolicy{Type: PolicyPrepay, Currency: reservationCurrency(r)}
	case r.PaymentPolicy == string(PolicyCardGuarantee):
		return PaymentPolicy{Type: PolicyCardGuarantee, Deposit: Deposit{Amount: r.DepositAmount, Per: PricePer(r.DepositPer)}, Currency: reservationCurrency(r)}
	case r.DepositPer != "":
		return PaymentPolicy{Type: PolicyDeposit, Deposit: depositOf(r), Currency: reservationCurrency(r)}
	}
	return PaymentPolicy{Type: PolicyNone}
}

func reservationCurrency(r store.Reservation) string {
	if r.PaymentCurrency != "" {
		return r.PaymentCurrency
	}
	return r.Venue.Currency
}

// slotCurrency is the currency a hold of slot pays in: its price's, or its venue's.
func slotCurrency(slot store.Slot) string {
	if slot.PriceCurrency != "" {
		return slot.PriceCurrency
	}
	return slot.Venue.Currency
}

// paid reports whether a hold of slot takes a payment (prepay or deposit).
func paid(slot store.Slot) bool {
	return slot.Type == string(SlotPrime) || slotDeposit(slot).Per != ""
}

// depositBreakdown is the one line of a deposit of a party of partySize.
func depositBreakdown(d Deposit, currency string, partySize int) Breakdown {
	line := BreakdownLine{Kind: LineDeposit, Amount: d.Total(partySize), Quantity: 1, UnitAmount: d.Amount}
	if d.Per == PerCover {
		line.Quantity = partySize
	}
	return Breakdown{Currency: currency, Lines: []BreakdownLine{line}, Total: line.Amount, Prepay: line.Amount}
}
