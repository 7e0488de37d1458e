package booking

import (
	"fmt"
	"sync"
	"time"

	"golang.org/x/text/message"

	"github.com/prima-dining/partner-api/internal/locale"
)

// Summary says the policy in words, for guests, in English.
func (p CancellationPolicy) Summary() string { return p.SummaryIn(locale.English) }

// SummaryIn says the policy in words, for guests, in pr's language (locale.Printer).
func (p CancellationPolicy) SummaryIn(pr *message.Printer) string {
	return locale.Memo(pr, p, func() string { return p.summaryIn(pr) })
}

func (p CancellationPolicy) summaryIn(pr *message.Printer) string {
	if p.FeeType == FeeNone || p.FeeType == "" {
		return pr.Sprintf("Free cancellation at any time.")
	}
	free := pr.Sprintf("Free cancellation")
	if p.FreeUntilHoursBefore > 0 {
		free = pr.Sprintf("Free cancellation until %d hours before the reservation", p.FreeUntilHoursBefore)
	}
	switch p.FeeType {
	case FeePercent:
		return pr.Sprintf("%s; after that %d%% of the prepaid amount is kept.", free, p.FeePercent)
	case FeeFixed:
		return pr.Sprintf("%s; after that a fee of %s is kept from the prepaid amount.", free, minorUnits(p.FeeAmount))
	}
	return pr.Sprintf("%s.", free)
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
