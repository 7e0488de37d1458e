package main

import (
	"context"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Result is one measured run: how many operations succeeded, how fast, and their latency.
type Result struct {
	Name        string  `json:"name"`
	Concurrency int     `json:"concurrency"`
	Ops         int     `json:"ops"`
	Errors      int     `json:"errors"`
	Seconds     float64 `json:"seconds"`
	PerSecond   float64 `json:"per_second"`
	P50ms       float64 `json:"p50_ms"`
	P99ms       float64 `json:"p99_ms"`
	FirstError  string  `json:"first_error,omitempty"`
	CPU         CPU     `json:"cpu"`
}

// run calls op from conc workers until d has passed or max operations have started
// (whichever comes first), and measures each call. op gets its worker number and a
// sequence number unique across workers.
func run(ctx context.Context, name string, conc int, d time.Duration, maxOps int, op func(ctx context.Context, worker, seq int) error) Result {
	ctx, cancel := context.WithTimeout(ctx, d+30*time.Second)
	defer cancel()
	var (
		next     atomic.Int64
		mu       sync.Mutex
		lat      []time.Duration
		errs     int
		firstErr string
		wg       sync.WaitGroup
	)
	deadline := time.Now().Add(d)
	start := time.Now()
	for w := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			bad := 0
			var firstBad error
			for time.Now().Before(deadline) && ctx.Err() == nil {
				seq := int(next.Add(1)) - 1
				if seq >= maxOps {
					break
				}
				t0 := time.Now()
				if err := op(ctx, w, seq); err != nil {
					bad++
					if firstBad == nil {
						firstBad = err
					}
					continue
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, mine...)
			errs += bad
			if firstBad != nil && firstErr == "" {
				firstErr = firstBad.Error()
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	r := Result{Name: name, Concurrency: conc, Ops: len(lat), Errors: errs, Seconds: elapsed, FirstError: firstErr}
	if elapsed > 0 {
		r.PerSecond = float64(len(lat)) / elapsed
	}
	r.P50ms = quantile(lat, 0.50)
	r.P99ms = quantile(lat, 0.99)
	return r
}

func quantile(sorted []time.Duration, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted)-1) + 0.5)
	return float64(sorted[i].Microseconds()) / 1000
}
