package booking

import "github.com/prima-dining/partner-api/store"

// Price breakdowns: the lines a prime booking's amount is made of. A slot's price is the
// subtotal (per cover or per booking); the venue's service charge is a rate of the
// subtotal; its tax is a rate of subtotal plus service, either exclusive (added to the
// total) or inclusive (already in it, shown for information). Amounts are minor units,
// each rounded half up once, and the lines that are not included always add up to the
// total, which is what the guest is charged.

// Charges are what a venue adds to, or includes in, its prices.
type Charges struct {
	ServiceChargeBps int  // service charge, basis points of the subtotal
	TaxBps           int  // tax, basis points of subtotal plus service charge
	TaxInclusive     bool // the tax is already in the prices
}

// MaxChargeBps bounds a service charge or tax rate (100 %).
const MaxChargeBps = 10000

// Kinds of breakdown lines.
const (
	LineSubtotal      = "subtotal"
	LineServiceCharge = "service_charge"
	LineTax           = "tax"
)

// BreakdownLine is one line of a price breakdown.
type BreakdownLine struct {
	Kind   string
	Amount int64
	// Quantity and UnitAmount say how a subtotal per cover is made (covers × price).
	Quantity   int
	UnitAmount int64
	// RateBps is the service charge's or the tax's rate.
	RateBps int
	// Included: already part of the lines above (an inclusive tax), not added again.
	Included bool
}

// Breakdown is the lines of a prime booking's price and their total.
type Breakdown struct {
	Currency string
	Lines    []BreakdownLine
	// Total is the sum of the lines that are not Included: the price of the booking.
	Total int64
	// Prepay is what is charged when the booking is finalized (prime: the total).
	Prepay int64
}

// rateOf is amount × bps / 10000, rounded half up.
func rateOf(amount int64, bps int) int64 {
	return (amount*int64(bps) + 5000) / 10000
}

// Breakdown is p's lines for a party of partySize.
func (p Price) Breakdown(partySize int) Breakdown {
	sub := BreakdownLine{Kind: LineSubtotal, Amount: p.Amount, Quantity: 1, UnitAmount: p.Amount}
	if p.Per == PerCover {
		sub.Quantity, sub.Amount = partySize, p.Amount*int64(partySize)
	}
	b := Breakdown{Currency: p.Currency, Lines: []BreakdownLine{sub}}
	base := sub.Amount
	if c := p.Charges; c.ServiceChargeBps > 0 {
		svc := rateOf(sub.Amount, c.ServiceChargeBps)
		b.Lines = append(b.Lines, BreakdownLine{Kind: LineServiceCharge, Amount: svc, RateBps: c.ServiceChargeBps})
		base += svc
	}
	b.Total = base
	if c := p.Charges; c.TaxBps > 0 {
		tax := BreakdownLine{Kind: LineTax, RateBps: c.TaxBps, Included: c.TaxInclusive}
		if c.TaxInclusive {
			// The part of base that is tax: base − base / (1 + rate), rounded half up.
			net := (base*10000*2 + int64(10000+c.TaxBps)) / (int64(10000+c.TaxBps) * 2)
			tax.Amount = base - net
		} else {
			tax.Amount = rateOf(base, c.TaxBps)
			b.Total += tax.Amount
		}
		b.Lines = append(b.Lines, tax)
	}
	b.Prepay = b.Total
	return b
}

// chargesOf is a venue's charges.
func chargesOf(v store.Venue) Charges {
	return Charges{ServiceChargeBps: v.ServiceChargeBps, TaxBps: v.TaxBps, TaxInclusive: v.TaxInclusive}
}

// priceOfSlot is a prime slot's price with its venue's charges.
func priceOfSlot(slot store.Slot) Price {
	return Price{Amount: slot.PriceAmount, Currency: slot.PriceCurrency, Per: PricePer(slot.PricePer), Charges: chargesOf(slot.Venue)}
}

// chargesFor is the charges a change of the reservation r into slot is priced with: a
// prime booking keeps the rates it was made with (none, if it was made before they were
// kept), so that a later change of the venue's rates never re-prices it; a standard one
// becoming prime takes the venue's current rates, as a new hold would.
func chargesFor(r store.Reservation, slot store.Slot) Charges {
	switch {
	case r.SlotType != string(SlotPrime):
		return chargesOf(slot.Venue)
	case r.PricePer == "":
		return Charges{}
	}
	return Charges{ServiceChargeBps: r.ServiceChargeBps, TaxBps: r.TaxBps, TaxInclusive: r.TaxInclusive}
}

// bookedPrice copies slot's price and the charges c onto the reservation r, which is now
// booked in slot (none for a standard slot).
func bookedPrice(r *store.Reservation, slot store.Slot, c Charges) {
	r.PriceAmount, r.PricePer, r.ServiceChargeBps, r.TaxBps, r.TaxInclusive = 0, "", 0, 0, false
	if slot.Type == string(SlotPrime) {
		r.DepositAmount, r.DepositPer = 0, "" // prepaid in full: no deposit
		r.PriceAmount, r.PricePer = slot.PriceAmount, slot.PricePer
		r.ServiceChargeBps, r.TaxBps, r.TaxInclusive = c.ServiceChargeBps, c.TaxBps, c.TaxInclusive
	}
}

// breakdownOf is the reservation row's breakdown: nil for a standard booking; one line
// of its payment's amount for a prime one booked before breakdowns were kept.
func breakdownOf(r store.Reservation) *Breakdown {
	if r.SlotType != string(SlotPrime) {
		if depositOf(r).Per == "" {
			return nil
		}
		b := depositBreakdown(depositOf(r), reservationCurrency(r), r.PartySize)
		return &b
	}
	if r.PricePer == "" {
		if r.PaymentAmount == 0 {
			return nil
		}
		b := Price{Amount: r.PaymentAmount, Currency: r.PaymentCurrency, Per: PerBooking}.Breakdown(r.PartySize)
		return &b
	}
	currency := r.PaymentCurrency
	if currency == "" {
		currency = r.Venue.Currency
	}
	b := Price{
		Amount: r.PriceAmount, Currency: currency, Per: PricePer(r.PricePer),
		Charges: Charges{ServiceChargeBps: r.ServiceChargeBps, TaxBps: r.TaxBps, TaxInclusive: r.TaxInclusive},
	}.Breakdown(r.PartySize)
	return &b
}
