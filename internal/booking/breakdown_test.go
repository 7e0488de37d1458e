package booking

import (
	"math/rand"
	"reflect"
	"testing"
	"testing/quick"
)

// breakdownCase is one random venue configuration and booking.
type breakdownCase struct {
	Price Price
	Party int
}

// Generate makes prices up to 10,000.00 per cover or per booking, parties of 1 to 20,
// and service charges and taxes from 0 to 100 %, inclusive or exclusive; a quarter of
// the rates are 0, as most venues have no service charge.
func (breakdownCase) Generate(r *rand.Rand, _ int) reflect.Value {
	rate := func() int {
		if r.Intn(4) == 0 {
			return 0
		}
		return r.Intn(MaxChargeBps + 1)
	}
	c := breakdownCase{
		Price: Price{
			Amount: r.Int63n(1_000_000) + 1, Currency: "usd", Per: []PricePer{PerCover, PerBooking}[r.Intn(2)],
			Charges: Charges{ServiceChargeBps: rate(), TaxBps: rate(), TaxInclusive: r.Intn(2) == 0},
		},
		Party: r.Intn(20) + 1,
	}
	return reflect.ValueOf(c)
}

// The lines of a breakdown add up to its total for 1,000 random venue configurations:
// the lines not included sum to the total, which is what Total charges and the prepay
// amount; the subtotal is the price per cover times the covers (or per booking); the
// service charge and tax are their rate of their base within half a minor unit; an
// inclusive tax is part of, and never more than, the subtotal plus service charge.
func TestBreakdownLinesAddUpToTheTotal(t *testing.T) {
	check := func(c breakdownCase) bool {
		b := c.Price.Breakdown(c.Party)
		var sum, base int64
		for _, l := range b.Lines {
			if l.Amount < 0 {
				t.Logf("negative line %+v", l)
				return false
			}
			if !l.Included {
				sum += l.Amount
			}
			switch l.Kind {
			case LineSubtotal:
				want := c.Price.Amount
				if c.Price.Per == PerCover {
					want *= int64(c.Party)
				}
				if l.Amount != want || l.Amount != l.UnitAmount*int64(l.Quantity) {
					t.Logf("subtotal %+v, want %d", l, want)
					return false
				}
				base = l.Amount
			case LineServiceCharge:
				if !within(l.Amount*10000, base*int64(l.RateBps), 5000) {
					t.Logf("service charge %+v of %d", l, base)
					return false
				}
				base += l.Amount
			case LineTax:
				if l.Included {
					net := base - l.Amount
					if l.Amount > base || !within(net*int64(10000+l.RateBps), base*10000, int64(10000+l.RateBps)) {
						t.Logf("inclusive tax %+v of %d", l, base)
						return false
					}
				} else if !within(l.Amount*10000, base*int64(l.RateBps), 5000) {
					t.Logf("exclusive tax %+v of %d", l, base)
					return false
				}
			}
		}
		if sum != b.Total || b.Total != c.Price.Total(c.Party) || b.Prepay != b.Total || b.Total < b.Lines[0].Amount {
			t.Logf("%+v: lines add up to %d, total %d, Total() %d, prepay %d", c, sum, b.Total, c.Price.Total(c.Party), b.Prepay)
			return false
		}
		return true
	}
	if err := quick.Check(check, &quick.Config{MaxCount: 1000, Rand: rand.New(rand.NewSource(18))}); err != nil {
		t.Fatal(err)
	}
}

// within reports whether a and b differ by at most tolerance.
func within(a, b, tolerance int64) bool {
	d := a - b
	return d <= tolerance && d >= -tolerance
}

func TestBreakdownExamples(t *testing.T) {
	cases := []struct {
		name  string
		price Price
		party int
		lines []int64
		total int64
	}{
		{"no charges", Price{Amount: 7500, Per: PerCover}, 2, []int64{15000}, 15000},
		{"service and exclusive tax", Price{Amount: 10000, Per: PerBooking, Charges: Charges{ServiceChargeBps: 1250, TaxBps: 800}}, 4, []int64{10000, 1250, 900}, 12150},
		{"inclusive tax", Price{Amount: 6000, Per: PerCover, Charges: Charges{TaxBps: 2000, TaxInclusive: true}}, 2, []int64{12000, 2000}, 12000},
		{"rounding half up", Price{Amount: 333, Per: PerCover, Charges: Charges{ServiceChargeBps: 1500}}, 1, []int64{333, 50}, 383},
	}
	for _, tc := range cases {
		b := tc.price.Breakdown(tc.party)
		var got []int64
		for _, l := range b.Lines {
			got = append(got, l.Amount)
		}
		if len(got) != len(tc.lines) || b.Total != tc.total {
			t.Errorf("%s: lines %v total %d, want %v total %d", tc.name, got, b.Total, tc.lines, tc.total)
			continue
		}
		for i := range got {
			if got[i] != tc.lines[i] {
				t.Errorf("%s: lines %v, want %v", tc.name, got, tc.lines)
			}
		}
	}
}
