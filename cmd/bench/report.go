package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// searches is the latency of the searches of a run of the search mix (its reads),
// without its holds and cancels: what a partner's search waits.
func searches(x Result) Latency {
	if x.Reads != nil {
		return *x.Reads
	}
	return Latency{Ops: x.Ops, P50ms: x.P50ms, P99ms: x.P99ms}
}

func targets(r *Report) []Target {
	api, ceiling := searches(r.Search), searches(r.SearchCeiling)
	p99x := ratio(api.P99ms, api.P50ms)
	ceilingP99x := ratio(ceiling.P99ms, ceiling.P50ms)
	overhead := ratio(r.Overhead.PerSecond, r.OverheadBare.PerSecond)
	t := []Target{
		{Name: "search throughput / SQL ceiling", Value: r.SearchRatio, Goal: ">= 0.70", Met: r.SearchRatio >= 0.70},
		{Name: "search p99 / p50", Value: p99x, Goal: fmt.Sprintf("<= ceiling's %.2f", ceilingP99x), Met: p99x > 0 && p99x <= ceilingP99x},
		{Name: "authenticated GET / bare Echo", Value: overhead, Goal: ">= 0.50", Met: overhead >= 0.50},
		{Name: "booking flows / direct writes", Value: r.BookingRatio, Goal: ">= 0.85", Met: r.BookingRatio >= 0.85},
		{Name: fmt.Sprintf("search p50 at %d / at %d venues", r.Venues, r.SmallVenues), Value: r.GrowthP50Ratio, Goal: "<= 1.30", Met: r.GrowthP50Ratio > 0 && r.GrowthP50Ratio <= 1.3},
		{Name: "31-day city calendar p50 / one day's search p50", Value: r.CalendarP50Ratio, Goal: "<= 1.50", Met: r.CalendarP50Ratio > 0 && r.CalendarP50Ratio <= 1.5},
		{Name: "contention: exactly the tables succeed", Value: float64(r.Contention.Created), Goal: fmt.Sprintf("== %d, rest 409", r.Contention.Tables), Met: r.Contention.OK},
		{Name: "revocation reaches another process, p99 ms", Value: r.Revocation.P99ms, Goal: "<= 1000, none missed", Met: r.Revocation.Tries > 0 && r.Revocation.Missed == 0 && r.Revocation.P99ms <= 1000},
	}
	if r.HugeVenues > 0 {
		t = append(t, Target{Name: fmt.Sprintf("search p50 at %d / at %d venues", r.HugeVenues, r.Venues), Value: r.GrowthHugeP50Ratio, Goal: "<= 1.30", Met: r.GrowthHugeP50Ratio > 0 && r.GrowthHugeP50Ratio <= 1.3})
	}
	if r.Limit.Shared != "" {
		t = append(t, Target{Name: fmt.Sprintf("one partner's limit over %d processes", r.Limit.Processes), Value: r.Limit.Ratio, Goal: "1.0 ± 0.1", Met: r.Limit.Ratio >= 0.9 && r.Limit.Ratio <= 1.1})
	}
	return t
}

func yes(b bool) string {
	if b {
		return "met"
	}
	return "MISSED"
}

// printTable writes the results as a Markdown table (it reads as text and pastes into
// the README).
func printTable(w io.Writer, r *Report) {
	fmt.Fprintf(w, "\nPRIMA Partner API benchmark, %s, %s, %d CPUs, PostgreSQL %s\n", r.StartedAt.Format("2006-01-02 15:04 MST"), r.GoVersion, r.CPUs, r.Postgres)
	fmt.Fprintf(w, "catalogue: %d venues × %d days = %d slots (seeded in %.1fs); concurrency %d, loopback\n", r.Venues, r.Days, r.Slots, r.SeedSeconds, r.Search.Concurrency)
	fmt.Fprintf(w, "search mix: %d distinct searches, Zipf popularity (%d of them in the first 100,000 draws), every %dth operation a hold and its cancel; %.0f %% of the API's searches answered from its cache (%.0f answers kept after, server heap %.0f MB)\n\n", r.Mix, r.Drawn, r.WriteEvery, 100*r.SearchCacheHits, r.SearchCacheEntries, r.ServerHeapMB)
	tw := tabwriter.NewWriter(w, 0, 4, 1, ' ', 0)
	row := func(cols ...string) { fmt.Fprintln(tw, "| "+strings.Join(cols, "\t| ")+"\t|") }
	row("measure", "API", "ceiling", "ratio", "errors")
	row("---", "---", "---", "---", "---")
	res := func(x Result, unit string) string {
		return fmt.Sprintf("%.0f %s, p50 %.2f ms, p99 %.2f ms", x.PerSecond, unit, x.P50ms, x.P99ms)
	}
	row("search GET /v1/availability vs same SQL via pgx", res(r.Search, "req/s"), res(r.SearchCeiling, "q/s"), fmt.Sprintf("%.2f", r.SearchRatio), fmt.Sprintf("%d / %d", r.Search.Errors, r.SearchCeiling.Errors))
	lat := func(x *Latency) string {
		if x == nil {
			return ""
		}
		return fmt.Sprintf("%d, p50 %.2f ms, p99 %.2f ms", x.Ops, x.P50ms, x.P99ms)
	}
	if r.Search.Reads != nil {
		row("  of which the searches", lat(r.Search.Reads), lat(r.SearchCeiling.Reads), fmt.Sprintf("p99/p50 %.1f / %.1f", ratio(r.Search.Reads.P99ms, r.Search.Reads.P50ms), ratio(searches(r.SearchCeiling).P99ms, searches(r.SearchCeiling).P50ms)), "")
		row("  of which the writes (hold + cancel)", lat(r.Search.Writes), lat(r.SearchCeiling.Writes), "", "")
	}
	row("search vs token lookup + same SQL via pgx", res(r.Search, "req/s"), res(r.SearchCeilingAuth, "q/s"), fmt.Sprintf("%.2f", r.SearchRatioAuth), fmt.Sprintf("%d / %d", r.Search.Errors, r.SearchCeilingAuth.Errors))
	row("booking hold+finalize vs same writes via pgx", res(r.Booking, "flows/s"), res(r.BookingCeiling, "flows/s"), fmt.Sprintf("%.2f", r.BookingRatio), fmt.Sprintf("%d / %d", r.Booking.Errors, r.BookingCeiling.Errors))
	c := r.Contention
	row(fmt.Sprintf("contention: %d holds, one %d-table slot, %d processes", c.Attempts, c.Tables, c.Processes),
		fmt.Sprintf("%d × 201, %d × 409 slot_unavailable, other %d", c.Created, c.Unavailable, c.Attempts-c.Created-c.Unavailable),
		fmt.Sprintf("db: tables_taken %d, live rows %d", c.TablesTaken, c.LiveRows), yes(c.OK), fmt.Sprintf("%.2fs", c.Seconds))
	row("calendar GET /v1/availability/calendar (31 days, a city) vs one day's search, reads only", res(r.Calendar, "req/s"), res(r.SearchReads, "req/s"), fmt.Sprintf("p50 × %.2f", r.CalendarP50Ratio), fmt.Sprintf("%d / %d", r.Calendar.Errors, r.SearchReads.Errors))
	row(fmt.Sprintf("growth: search at %d vs %d venues", r.SmallVenues, r.Venues), res(r.GrowthSmall, "req/s"), res(r.GrowthLarge, "req/s"), fmt.Sprintf("p50 × %.2f", r.GrowthP50Ratio), fmt.Sprintf("%d / %d", r.GrowthSmall.Errors, r.GrowthLarge.Errors))
	if r.HugeVenues > 0 {
		row(fmt.Sprintf("growth: search at %d vs %d venues, %d-day mix", r.HugeVenues, r.Venues, r.HugeDays), res(r.GrowthHuge, "req/s"), res(r.GrowthHugeBase, "req/s"), fmt.Sprintf("p50 × %.2f", r.GrowthHugeP50Ratio), fmt.Sprintf("%d / %d", r.GrowthHuge.Errors, r.GrowthHugeBase.Errors))
	}
	prop := func(p Propagation) string {
		return fmt.Sprintf("p50 %.1f ms, p99 %.1f ms, max %.1f ms over %d", p.P50ms, p.P99ms, p.MaxMs, p.Tries)
	}
	row("revocation: revoked, until another process refuses", prop(r.Revocation), "", "", fmt.Sprintf("%d missed", r.Revocation.Missed))
	row("freshness: held on one process, until another's search drops it", prop(r.Freshness), "", "", fmt.Sprintf("%d missed", r.Freshness.Missed))
	shared := "each process its own"
	if r.Limit.Shared != "" {
		shared = "shared through " + r.Limit.Shared
	}
	row(fmt.Sprintf("limit %.0f/s over %d processes (%s)", r.Limit.PerSecond, r.Limit.Processes, shared),
		fmt.Sprintf("%d let through, %d × 429, other %d in %.1fs", r.Limit.Accepted, r.Limit.Refused, r.Limit.Other, r.Limit.Seconds), "",
		fmt.Sprintf("× %.2f", r.Limit.Ratio), "")
	row("overhead: auth GET /v1/venues/{id} vs bare Echo", res(r.Overhead, "req/s"), res(r.OverheadBare, "req/s"), fmt.Sprintf("%.2f", ratio(r.Overhead.PerSecond, r.OverheadBare.PerSecond)), fmt.Sprintf("%d / %d", r.Overhead.Errors, r.OverheadBare.Errors))
	_ = tw.Flush()
	fmt.Fprintln(w)
	for _, t := range r.Targets {
		fmt.Fprintf(w, "target %-45s %8.3f  goal %-16s %s\n", t.Name, t.Value, t.Goal, yes(t.Met))
	}
	fmt.Fprintf(w, "\nwaits for a database connection in the server (its pool of the primary): search mix %.0f (%.1f ms in all), booking %.0f (%.1f ms in all)\n",
		r.SearchPoolWaits.Count, 1000*r.SearchPoolWaits.Seconds, r.BookingPoolWaits.Count, 1000*r.BookingPoolWaits.Seconds)
	fmt.Fprintln(w, "\nCPU per operation (ms): server process / client process / PostgreSQL / kernel interrupts (loopback packets) / the rest")
	for _, x := range []Result{r.Search, r.SearchCeiling, r.SearchCeilingAuth, r.SearchReads, r.Calendar, r.Booking, r.BookingCeiling, r.Overhead, r.OverheadBare} {
		fmt.Fprintf(w, "  %-28s %6.3f / %6.3f / %6.3f / %6.3f / %6.3f\n", x.Name, x.CPU.ServerMsPerOp, x.CPU.ClientMsPerOp, x.CPU.PostgresMsPerOp, x.CPU.KernelMsPerOp, x.CPU.OtherMsPerOp)
	}
	for _, x := range []Result{r.Search, r.SearchCeiling, r.SearchReads, r.Calendar, r.Booking, r.BookingCeiling, r.GrowthSmall, r.Overhead, r.OverheadBare} {
		if x.FirstError != "" {
			fmt.Fprintf(w, "first error of %s: %s\n", x.Name, x.FirstError)
		}
	}
	for k, v := range c.Other {
		fmt.Fprintf(w, "contention: unexpected answer %q × %d\n", k, v)
	}
}
