package main

import (
	"math"
	"runtime"
	"testing"
)

// The CPU of a run is split between the server, the client, PostgreSQL's processes
// (those started during the run counted from their start, those gone by its end left
// to the rest), the kernel's interrupt handlers and the rest.
func TestCPUPerOpSplitsTheMachine(t *testing.T) {
	before := cpuMark{cpuSample: cpuSample{server: 10, self: 5, kernel: 1, total: 100},
		pg: map[string]float64{"100": 3, "101": 4, "102": 2}}
	after := cpuMark{cpuSample: cpuSample{server: 12, self: 6, kernel: 1.5, total: 110},
		// 100 ran 1 s, 101 exited, 102 ran 0.5 s, 200 started and ran 2 s.
		pg: map[string]float64{"100": 4, "102": 2.5, "200": 2}}
	got := cpuPerOp(before, after, 1000)
	want := CPU{ServerMsPerOp: 2, ClientMsPerOp: 1, PostgresMsPerOp: 3.5, KernelMsPerOp: 0.5, OtherMsPerOp: 3}
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"server", got.ServerMsPerOp, want.ServerMsPerOp},
		{"client", got.ClientMsPerOp, want.ClientMsPerOp},
		{"postgres", got.PostgresMsPerOp, want.PostgresMsPerOp},
		{"kernel", got.KernelMsPerOp, want.KernelMsPerOp},
		{"other", got.OtherMsPerOp, want.OtherMsPerOp},
	} {
		if math.Abs(c.got-c.want) > 1e-9 {
			t.Errorf("%s: %v ms an operation, want %v", c.name, c.got, c.want)
		}
	}
}

// On Linux, the sample reads this process and the machine from /proc.
func TestSampleCPUReadsProc(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("/proc is Linux's")
	}
	m := sampleCPU(0)
	if m.total <= 0 || m.kernel < 0 || m.kernel > m.total || m.pg == nil {
		t.Fatalf("sample %+v (postgres processes %d)", m.cpuSample, len(m.pg))
	}
	if comm, _ := procStat("/proc/self/stat"); comm == "" {
		t.Fatal("procStat read no command name from /proc/self/stat")
	}
}
