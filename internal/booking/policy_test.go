package booking

import (
	"testing"
	"time"
)

func TestRefundFollowsTheCancellationPolicy(t *testing.T) {
	start := time.Date(2026, 12, 4, 19, 30, 0, 0, time.UTC)
	early := start.Add(-48 * time.Hour)
	late := start.Add(-2 * time.Hour)
	cases := []struct {
		name   string
		policy CancellationPolicy
		at     time.Time
		want   int64
	}{
		{"free window, percent fee", CancellationPolicy{FreeUntilHoursBefore: 24, FeeType: FeePercent, FeePercent: 50}, early, 10000},
		{"late, percent fee", CancellationPolicy{FreeUntilHoursBefore: 24, FeeType: FeePercent, FeePercent: 50}, late, 5000},
		{"late, fixed fee", CancellationPolicy{FreeUntilHoursBefore: 24, FeeType: FeeFixed, FeeAmount: 2500}, late, 7500},
		{"late, fixed fee above the amount", CancellationPolicy{FreeUntilHoursBefore: 24, FeeType: FeeFixed, FeeAmount: 20000}, late, 0},
		{"late, no fee", CancellationPolicy{FreeUntilHoursBefore: 24, FeeType: FeeNone}, late, 10000},
		{"exactly at the deadline is still free", CancellationPolicy{FreeUntilHoursBefore: 24, FeeType: FeePercent, FeePercent: 100}, start.Add(-24 * time.Hour), 10000},
	}
	for _, tc := range cases {
		if got := tc.policy.Refund(10000, start, tc.at); got != tc.want {
			t.Errorf("%s: refund %d, want %d", tc.name, got, tc.want)
		}
	}
}

func TestPolicySummaryInWords(t *testing.T) {
	for _, tc := range []struct {
		p    CancellationPolicy
		want string
	}{
		{CancellationPolicy{FeeType: FeeNone, FreeUntilHoursBefore: 24}, "Free cancellation at any time."},
		{CancellationPolicy{FeeType: FeePercent, FeePercent: 50, FreeUntilHoursBefore: 24}, "Free cancellation until 24 hours before the reservation; after that 50% of the prepaid amount is kept."},
		{CancellationPolicy{FeeType: FeeFixed, FeeAmount: 2500, FreeUntilHoursBefore: 48}, "Free cancellation until 48 hours before the reservation; after that a fee of 25.00 is kept from the prepaid amount."},
	} {
		if got := tc.p.Summary(); got != tc.want {
			t.Errorf("summary %q, want %q", got, tc.want)
		}
	}
}

func TestPriceTotal(t *testing.T) {
	if got := (Price{Amount: 7500, Per: PerCover}).Total(3); got != 22500 {
		t.Errorf("per cover: %d", got)
	}
	if got := (Price{Amount: 7500, Per: PerBooking}).Total(3); got != 7500 {
		t.Errorf("per booking: %d", got)
	}
}
