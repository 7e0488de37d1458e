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

// depositOf is the deposit the reservation r was booked with.
func depositOf(r store.Reservation) Deposit {
	if r.DepositPer == "" || r.PaymentPolicy == string(PolicyCardGuarantee) {
		return Deposit{}
	}
	return Deposit{Amount: r.DepositAmount, Per: PricePer(r.DepositPer)}
}

// standardPolicyOf is the policy a hold of the standard slot takes, with the deposit or
// fee it prices: the slot's own, when its venue's operator set one (migration 00028),
// else the venue's default.
func standardPolicyOf(slot store.Slot) (PaymentPolicyType, Deposit) {
	if slot.PaymentPolicy != "" {
		t := PaymentPolicyType(slot.PaymentPolicy)
		if t == PolicyNone || slot.PaymentPolicyPer == "" {
			return PolicyNone, Deposit{}
		}
		return t, Deposit{Amount: slot.PaymentPolicyAmount, Per: PricePer(slot.PaymentPolicyPer)}
	}
	v := slot.Venue
	d := Deposit{Amount: v.DepositAmount, Per: PricePer(v.DepositPer)}
	switch {
	case v.DepositPer == "":
		return PolicyNone, Deposit{}
	case v.PaymentPolicy == string(PolicyCardGuarantee):
		return PolicyCardGuarantee, d
	}
	return PolicyDeposit, d
}

// slotDeposit is the deposit a hold of slot takes (Per "": none): a standard slot's,
// its own or its venue's.
func slotDeposit(slot store.Slot) Deposit {
	if slot.Type == string(SlotPrime) {
		return Deposit{}
	}
	if t, d := standardPolicyOf(slot); t == PolicyDeposit {
		return d
	}
	return Deposit{}
}

// slotGuarantee is the fee a card-guaranteed hold of slot charges on a no-show or a late
// cancellation (Per "": no card guarantee).
func slotGuarantee(slot store.Slot) Deposit {
	if slot.Type == string(SlotPrime) {
		return Deposit{}
	}
	if t, d := standardPolicyOf(slot); t == PolicyCardGuarantee {
		return d
	}
	return Deposit{}
}

// guaranteed reports whether a hold of slot saves the guest's card.
func guaranteed(slot store.Slot) bool {
	return slotGuarantee(slot).Per != ""
}

// policyOfSlot is the payment policy that applies to a hold of slot.
func policyOfSlot(slot store.Slot) PaymentPolicy {
	switch {
	case slot.Type == string(SlotPrime):
		return PaymentPolicy{Type: PolicyPrepay, Currency: slotCurrency(slot)}
	case slotDeposit(slot).Per != "":
		return PaymentPolicy{Type: PolicyDeposit, Deposit: slotDeposit(slot), Currency: slot.Venue.Currency}
	case guaranteed(slot):
		return PaymentPolicy{Type: PolicyCardGuarantee, Deposit: slotGuarantee(slot), Currency: slot.Venue.Currency}
	}
	return PaymentPolicy{Type: PolicyNone}
}

// SlotPaymentPolicy is the payment policy a hold of the slot r takes, and whether it is
// the slot's own (true) or its venue's default.
func SlotPaymentPolicy(r store.Slot) (PaymentPolicy, bool) {
	return policyOfSlot(r), r.Type != string(SlotPrime) && r.PaymentPolicy != ""
}

// SlotPolicyInput is a slot's own payment policy as its operator sets it: Type
// "venue_default" removes it; "none", "deposit" or "card_guarantee" (the last two with
// Amount per Per) overrides the venue's.
type SlotPolicyInput struct {
	Type   string
	Amount *int64
	Per    string
}

// PolicyVenueDefault is the SlotPolicyInput type that removes a slot's own policy.
const PolicyVenueDefault = "venue_default"

// CheckSlotPolicy checks in against a slot of type slotType and returns the columns it
// stores (policy "" follows the venue). Bad input is a ParamError naming the field.
func CheckSlotPolicy(in SlotPolicyInput, slotType SlotType) (policy string, amount int64, per string, err error) {
	if in.Type == PolicyVenueDefault {
		if in.Amount != nil || in.Per != "" {
			return "", 0, "", &ParamError{Param: "payment_policy.amount", Message: "venue_default takes no amount or per."}
		}
		return "", 0, "", nil
	}
	if slotType == SlotPrime {
		return "", 0, "", &ParamError{Param: "payment_policy.type", Message: "A prime slot is prepaid: its payment policy can only be venue_default."}
	}
	switch PaymentPolicyType(in.Type) {
	case PolicyNone:
		if in.Amount != nil || in.Per != "" {
			return "", 0, "", &ParamError{Param: "payment_policy.amount", Message: "A payment policy of none takes no amount or per."}
		}
		return string(PolicyNone), 0, "", nil
	case PolicyDeposit, PolicyCardGuarantee:
		switch {
		case in.Amount == nil || *in.Amount <= 0:
			return "", 0, "", &ParamError{Param: "payment_policy.amount", Message: "A deposit or card guarantee needs an amount above 0, in minor units."}
		case in.Per != string(PerCover) && in.Per != string(PerBooking):
			return "", 0, "", &ParamError{Param: "payment_policy.per", Message: "payment_policy.per must be cover or booking."}
		}
		return in.Type, *in.Amount, in.Per, nil
	}
	return "", 0, "", &ParamError{Param: "payment_policy.type", Message: "payment_policy.type must be venue_default, none, deposit or card_guarantee."}
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
