package booking

import (
	"context"
	"maps"
	"slices"
	"strings"
	"time"
)

// MaxSettlementDays bounds a settlement report's date range.
const MaxSettlementDays = 366

// SettlementAmounts is money of one currency, in minor units, by kind. A new kind of
// payment record (a fee, a payout adjustment) is one more field here and one more case
// in recordAmounts; lines and totals sum every field.
type SettlementAmounts struct {
	Captured int64 // taken from the guest's card
	Refunded int64 // given back to the guest
	Fees     int64 // PRIMA's fees (none are recorded on payments yet)
}

// Net is what the partner is settled: captured less refunds and fees.
func (a SettlementAmounts) Net() int64 { return a.Captured - a.Refunded - a.Fees }

func (a SettlementAmounts) add(b SettlementAmounts) SettlementAmounts {
	return SettlementAmounts{Captured: a.Captured + b.Captured, Refunded: a.Refunded + b.Refunded, Fees: a.Fees + b.Fees}
}

func (a SettlementAmounts) zero() bool { return a == SettlementAmounts{} }

// recordAmounts is what one payment record of a reservation counts in its settlement.
func recordAmounts(p PaymentRecord) SettlementAmounts {
	return SettlementAmounts{Captured: p.AmountCaptured, Refunded: p.AmountRefunded}
}

// SettlementLine is one reservation's money in one currency.
type SettlementLine struct {
	ReservationID    string
	Status           Status
	VenueID          string
	LocalDate        string
	PartnerReference string
	Currency         string
	SettlementAmounts
}

// SettlementTotal is the sum of a report's lines of one currency.
type SettlementTotal struct {
	Currency     string
	Reservations int
	SettlementAmounts
}

// SettlementReport is a page of a settlement report's lines and the totals of all of
// its lines, every page alike.
type SettlementReport struct {
	From, To string // venue-local dates, inclusive
	Lines    []SettlementLine
	HasMore  bool
	Totals   []SettlementTotal // by currency, in alphabetical order
}

// settlementScan is how many reservations each read of a report takes.
const settlementScan = 100

// Settlement reports the money of p's reservations on venue-local dates from to to
// (inclusive; at most MaxSettlementDays): one line per reservation and currency with
// any money (captured, refunded or fees), newest reservation first, paged by
// reservation id, and the totals per currency of every line of the range. Totals are
// the sums of the payments the reservations show (Reservation.Payments) and of their
// card guarantees' fees charged.
func (s *Reservations) Settlement(ctx context.Context, p Partner, from, to string, page Page) (SettlementReport, error) {
	f, errFrom := time.Parse(time.DateOnly, from)
	t, errTo := time.Parse(time.DateOnly, to)
	switch {
	case errFrom != nil:
		return SettlementReport{}, &ParamError{Param: "from", Message: "from is a date, YYYY-MM-DD."}
	case errTo != nil:
		return SettlementReport{}, &ParamError{Param: "to", Message: "to is a date, YYYY-MM-DD."}
	case t.Before(f):
		return SettlementReport{}, &ParamError{Param: "to", Message: "to must not be before from."}
	case t.Sub(f) >= MaxSettlementDays*24*time.Hour:
		return SettlementReport{}, &ParamError{Param: "to", Message: "A report covers at most 366 days."}
	}
	out := SettlementReport{From: from, To: to}
	var lines []SettlementLine
	totals := map[string]*SettlementTotal{}
	cursor := ""
	for {
		rs, more, err := s.List(ctx, p, ReservationFilter{DateFrom: from, DateTo: to}, Page{Limit: settlementScan, StartingAfter: cursor})
		if err != nil {
			return SettlementReport{}, err
		}
		for _, r := range rs {
			for _, l := range settlementLines(r) {
				lines = append(lines, l)
				tot := totals[l.Currency]
				if tot == nil {
					tot = &SettlementTotal{Currency: l.Currency}
					totals[l.Currency] = tot
				}
				tot.Reservations++
				tot.SettlementAmounts = tot.add(l.SettlementAmounts)
			}
			cursor = r.ID
		}
		if !more || len(rs) == 0 {
			break
		}
	}
	for _, c := range slices.Sorted(maps.Keys(totals)) {
		out.Totals = append(out.Totals, *totals[c])
	}
	start := 0
	if page.StartingAfter != "" {
		i := slices.IndexFunc(lines, func(l SettlementLine) bool { return l.ReservationID == page.StartingAfter })
		if i < 0 {
			return SettlementReport{}, &NotFoundError{Kind: "reservation in this report", ID: page.StartingAfter, Param: "starting_after"}
		}
		// Past every line of that reservation (one per currency).
		for start = i; start < len(lines) && lines[start].ReservationID == page.StartingAfter; start++ {
		}
	}
	limit := page.Limit
	if limit <= 0 {
		limit = 20
	}
	end := min(start+limit, len(lines))
	// A reservation's lines stay on one page.
	for end < len(lines) && end > start && lines[end].ReservationID == lines[end-1].ReservationID {
		end++
	}
	out.Lines, out.HasMore = lines[start:end], end < len(lines)
	return out, nil
}

// settlementLines is a reservation's money, one line per currency, none without money.
func settlementLines(r Reservation) []SettlementLine {
	byCurrency := map[string]SettlementAmounts{}
	var order []string
	for _, p := range r.Payments {
		if _, seen := byCurrency[p.Currency]; !seen {
			order = append(order, p.Currency)
		}
		byCurrency[p.Currency] = byCurrency[p.Currency].add(recordAmounts(p))
	}
	// A card guarantee's fee, once charged (a no-show, a late cancellation), is money
	// taken from the guest too; the reservation shows it on its card_guarantee.
	if g := r.Guarantee; g != nil && g.FeeStatus == FeePaid && g.FeeAmount > 0 {
		c := strings.ToLower(r.PaymentPolicy.Currency)
		if _, seen := byCurrency[c]; !seen {
			order = append(order, c)
		}
		byCurrency[c] = byCurrency[c].add(SettlementAmounts{Captured: g.FeeAmount})
	}
	var out []SettlementLine
	for _, c := range order {
		a := byCurrency[c]
		if a.zero() {
			continue
		}
		out = append(out, SettlementLine{
			ReservationID: r.ID, Status: r.Status, VenueID: r.Venue.ID, LocalDate: r.LocalDate,
			PartnerReference: r.PartnerReference, Currency: c, SettlementAmounts: a,
		})
	}
	return out
}
