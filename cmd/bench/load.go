package main

import (
	"cmp"
	"context"
	"slices"
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
	// Runs is how many timed runs were merged into this result (interleaved: 2).
	Runs int `json:"runs,omitempty"`
	// Reads and Writes split a mix's latencies (see mixed): its searches, and its
	// holds with their cancels. Both are empty for a run of one kind of operation.
	Reads  *Latency `json:"reads,omitempty"`
	Writes *Latency `json:"writes,omitempty"`

	lat []time.Duration // sorted: what merge needs to work out the percentiles again
	// writeLat are the latencies of the operations that marked themselves writes
	// (markWrite), sorted; lat holds them too.
	writeLat []time.Duration
}

// Latency is the latency of one kind of operation of a mixed run.
type Latency struct {
	Ops   int     `json:"ops"`
	P50ms float64 `json:"p50_ms"`
	P99ms float64 `json:"p99_ms"`
}

type writeMark struct{}

// markWrite counts the operation that calls it, with ctx as run gave it, as a write:
// run reports the latencies of writes and of the other operations (reads) apart, as
// well as together.
func markWrite(ctx context.Context) {
	if p, ok := ctx.Value(writeMark{}).(*bool); ok {
		*p = true
	}
}

// split fills r.Reads and r.Writes from r.lat and r.writeLat when the run had writes.
func (r *Result) split() {
	if len(r.writeLat) == 0 {
		return
	}
	reads := make([]time.Duration, 0, len(r.lat)-len(r.writeLat))
	w := 0
	for _, d := range r.lat { // both sorted: the reads are lat less writeLat
		if w < len(r.writeLat) && d == r.writeLat[w] {
			w++
			continue
		}
		reads = append(reads, d)
	}
	r.Reads = &Latency{Ops: len(reads), P50ms: quantile(reads, 0.50), P99ms: quantile(reads, 0.99)}
	r.Writes = &Latency{Ops: len(r.writeLat), P50ms: quantile(r.writeLat, 0.50), P99ms: quantile(r.writeLat, 0.99)}
}

// merge is the result of runs a and b of the same operation taken together: their
// operations over their summed time, percentiles over all their latencies, CPU per
// operation weighted by each run's operations.
func merge(a, b Result) Result {
	lat := make([]time.Duration, 0, len(a.lat)+len(b.lat))
	lat = append(append(lat, a.lat...), b.lat...)
	slices.Sort(lat)
	writes := append(slices.Clone(a.writeLat), b.writeLat...)
	slices.Sort(writes)
	r := Result{Name: a.Name, Concurrency: a.Concurrency, Ops: a.Ops + b.Ops, Errors: a.Errors + b.Errors,
		Seconds: a.Seconds + b.Seconds, FirstError: cmp.Or(a.FirstError, b.FirstError), Runs: max(a.Runs, 1) + max(b.Runs, 1), lat: lat, writeLat: writes}
	r.split()
	if r.Seconds > 0 {
		r.PerSecond = float64(r.Ops) / r.Seconds
	}
	r.P50ms, r.P99ms = quantile(lat, 0.50), quantile(lat, 0.99)
	if n := float64(r.Ops); n > 0 {
		wa, wb := float64(a.Ops)/n, float64(b.Ops)/n
		r.CPU = CPU{
			ServerMsPerOp:   a.CPU.ServerMsPerOp*wa + b.CPU.ServerMsPerOp*wb,
			ClientMsPerOp:   a.CPU.ClientMsPerOp*wa + b.CPU.ClientMsPerOp*wb,
			PostgresMsPerOp: a.CPU.PostgresMsPerOp*wa + b.CPU.PostgresMsPerOp*wb,
			KernelMsPerOp:   a.CPU.KernelMsPerOp*wa + b.CPU.KernelMsPerOp*wb,
			OtherMsPerOp:    a.CPU.OtherMsPerOp*wa + b.CPU.OtherMsPerOp*wb,
		}
	}
	return r
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
		writeLat []time.Duration
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
			var mine, myWrites []time.Duration
			bad := 0
			var firstBad error
			var write bool
			opCtx := context.WithValue(ctx, writeMark{}, &write)
			for time.Now().Before(deadline) && ctx.Err() == nil {
				seq := int(next.Add(1)) - 1
				if seq >= maxOps {
					break
				}
				write = false
				t0 := time.Now()
				if err := op(opCtx, w, seq); err != nil {
					bad++
					if firstBad == nil {
						firstBad = err
					}
					continue
				}
				d := time.Since(t0)
				mine = append(mine, d)
				if write {
					myWrites = append(myWrites, d)
				}
			}
			mu.Lock()
			lat = append(lat, mine...)
			writeLat = append(writeLat, myWrites...)
			errs += bad
			if firstBad != nil && firstErr == "" {
				firstErr = firstBad.Error()
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	slices.Sort(lat)
	slices.Sort(writeLat)
	r := Result{Name: name, Concurrency: conc, Ops: len(lat), Errors: errs, Seconds: elapsed, FirstError: firstErr, lat: lat, writeLat: writeLat}
	r.split()
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
