package booking

import (
	"fmt"
	"sync"
	"time"
)

// Summary says the policy in words, for guests.
func (p CancellationPolicy) Summary() string {
	free := "Free cancellation"
	if p.FeeType == FeeNone || p.FeeType == "" {
		return free + " at any time."
	}
	if p.FreeUntilHoursBefore > 0 {
		free = fmt.Sprintf("Free cancellation until %d hours before the reservation", p.FreeUntilHoursBefore)
	}
	switch p.FeeType {
	case FeePercent:
		return fmt.Sprintf("%s; after that %d%% of the prepaid amount is kept.", free, p.FeePercent)
	case FeeFixed:
		return fmt.Sprintf("%s; after that a fee of %s is kept from the prepaid amount.", free, minorUnits(p.FeeAmount))
	}
	return free + "."
}

// Refund is how much of a captured amount cancelling at `at` gives back, for a booking
// that starts at startsAt.
func (p CancellationPolicy) Refund(captured int64, startsAt, at time.Time) int64 {
	if captured <= 0 {
		return 0
	}
	if !at.After(startsAt.Add(-time.Duration(p.FreeUntilHoursBefore) * time.Hour)) {
		return captured
	}
	switch p.FeeType {
	case FeePercent:
		return captured - captured*int64(p.FeePercent)/100
	case FeeFixed:
		return max(captured-p.FeeAmount, 0)
	}
	return captured
}

func minorUnits(amount int64) string {
	return fmt.Sprintf("%d.%02d", amount/100, amount%100)
}

var locations sync.Map // time zone name → *time.Location

// Location is the venue's time zone; UTC when the name is unknown.
func (v VenueSummary) Location() *time.Location { return location(v.TimeZone) }

func location(name string) *time.Location {
	if loc, ok := locations.Load(name); ok {
		return loc.(*time.Location)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		loc = time.UTC
	}
	locations.Store(name, loc)
	return loc
}
