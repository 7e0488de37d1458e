package booking

import "testing"

// A card guarantee's fee, once charged, is money captured from the guest in the
// settlement; a fee due, unpaid or of another policy is not.
func TestSettlementCountsACardGuaranteesChargedFee(t *testing.T) {
	paid := Reservation{ID: "res_1", PaymentPolicy: PaymentPolicy{Type: PolicyCardGuarantee, Currency: "USD"},
		Guarantee: &CardGuarantee{FeeStatus: FeePaid, FeeAmount: 6000}}
	lines := settlementLines(paid)
	if len(lines) != 1 || lines[0].Currency != "usd" || lines[0].Captured != 6000 || lines[0].Net() != 6000 {
		t.Fatalf("a charged fee: %+v, want one usd line capturing 6000", lines)
	}
	for _, status := range []string{"", FeePending, FeeUnpaid} {
		r := paid
		r.Guarantee = &CardGuarantee{FeeStatus: status, FeeAmount: 6000}
		if lines := settlementLines(r); len(lines) != 0 {
			t.Fatalf("fee %q: %+v, want no money", status, lines)
		}
	}
}
