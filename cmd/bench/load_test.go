package main

import (
	"context"
	"testing"
	"time"
)

func ms(v ...int) []time.Duration {
	out := make([]time.Duration, len(v))
	for i, x := range v {
		out[i] = time.Duration(x) * time.Millisecond
	}
	return out
}

// A mix's reads and writes are reported apart, and merging two halves of a run keeps
// them apart.
func TestResultSplitsReadsFromWrites(t *testing.T) {
	a := Result{Ops: 5, lat: ms(1, 2, 2, 3, 40), writeLat: ms(2, 40)}
	a.split()
	if a.Reads == nil || a.Writes == nil || a.Reads.Ops != 3 || a.Writes.Ops != 2 {
		t.Fatalf("split: reads %+v writes %+v", a.Reads, a.Writes)
	}
	if a.Reads.P99ms != 3 || a.Writes.P99ms != 40 || a.Reads.P50ms != 2 {
		t.Fatalf("split percentiles: reads %+v writes %+v", *a.Reads, *a.Writes)
	}
	b := Result{Ops: 3, lat: ms(1, 1, 50), writeLat: ms(50)}
	b.split()
	m := merge(a, b)
	if m.Reads.Ops != 5 || m.Writes.Ops != 3 || m.Writes.P99ms != 50 || m.Reads.P99ms != 3 {
		t.Fatalf("merged: reads %+v writes %+v", *m.Reads, *m.Writes)
	}
	if plain := (Result{Ops: 2, lat: ms(1, 2)}); func() bool { plain.split(); return plain.Reads != nil }() {
		t.Fatal("a run without writes has no split")
	}
}

// run counts an operation as a write when it calls markWrite with the context it got.
func TestRunCountsMarkedWrites(t *testing.T) {
	op := mixed(func(context.Context, int, int) error { return nil },
		func(context.Context, int, int) error { return nil })
	r := run(context.Background(), "mix", 2, time.Minute, 100, op)
	if r.Ops != 100 || r.Writes == nil || r.Writes.Ops != 100/writeEvery || r.Reads.Ops != 100-100/writeEvery {
		t.Fatalf("ops %d, writes %+v, reads %+v", r.Ops, r.Writes, r.Reads)
	}
}
