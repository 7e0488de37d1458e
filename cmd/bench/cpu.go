package main

import (
	"os"
	"strconv"
	"strings"
)

// clockTicks is USER_HZ, the unit of /proc CPU times (100 on Linux everywhere in practice).
const clockTicks = 100.0

// cpuSample is the CPU time used so far, in seconds: by the server process, by this
// process (the load generator or the pgx client), by the kernel's interrupt handlers (on
// loopback, mostly the receiving half of every packet, HTTP's and PostgreSQL's), and by
// the whole machine.
type cpuSample struct {
	server, self, kernel, total float64
}

// CPU says where the CPU time of a run went, per operation, in milliseconds: the server
// process, the client (this process), PostgreSQL's processes, the kernel's interrupt
// handlers, and the rest of the machine (Redis, the second server of some phases, other
// programs). Linux only; zero elsewhere.
//
// PostgreSQL's share counts the processes alive at the end of a run: for those that
// started during it (a pool growing to the run's concurrency), all their time. A backend
// that starts and exits inside a run is counted in Other.
type CPU struct {
	ServerMsPerOp   float64 `json:"server_ms_per_op"`
	ClientMsPerOp   float64 `json:"client_ms_per_op"`
	PostgresMsPerOp float64 `json:"postgres_ms_per_op"`
	KernelMsPerOp   float64 `json:"kernel_ms_per_op"`
	OtherMsPerOp    float64 `json:"other_ms_per_op"`
}

// procStat reads a /proc/<pid>/stat: the command name and the process's user + system
// CPU time in seconds, its threads' included.
func procStat(path string) (comm string, cpu float64) {
	b, err := os.ReadFile(path) //nolint:gosec // G304: a /proc path built from a pid
	if err != nil {
		return "", 0
	}
	s := string(b)
	// Fields after the command name, which is in parentheses and may contain spaces.
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || end < open {
		return "", 0
	}
	f := strings.Fields(s[end+1:])
	if len(f) < 13 {
		return "", 0
	}
	u, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return s[open+1 : end], (u + st) / clockTicks
}

func procCPU(path string) float64 {
	_, cpu := procStat(path)
	return cpu
}

// postgresCPU is the CPU time of every process named postgres: the postmaster, its
// backends and its background workers (the benchmark's PostgreSQL is on this machine).
func postgresCPU() map[string]float64 {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	out := make(map[string]float64)
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		if comm, cpu := procStat("/proc/" + e.Name() + "/stat"); comm == "postgres" {
			out[e.Name()] = cpu
		}
	}
	return out
}

// machineCPU is the machine's busy CPU time and, of it, the time in interrupt handlers
// (irq and softirq).
func machineCPU() (total, kernel float64) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	for i, v := range f[1:] {
		n, _ := strconv.ParseFloat(v, 64)
		switch i {
		case 3, 4: // idle, iowait
			continue
		case 5, 6: // irq, softirq
			kernel += n
		}
		total += n
	}
	return total / clockTicks, kernel / clockTicks
}

// cpuMark is a sample with PostgreSQL's processes one by one (pid to CPU seconds), so
// that the time of the processes that started between two samples is counted from their
// start.
type cpuMark struct {
	cpuSample
	pg map[string]float64
}

func sampleCPU(serverPID int) cpuMark {
	m := cpuMark{pg: postgresCPU()}
	m.self = procCPU("/proc/self/stat")
	m.total, m.kernel = machineCPU()
	if serverPID > 0 {
		m.server = procCPU("/proc/" + strconv.Itoa(serverPID) + "/stat")
	}
	return m
}

func cpuPerOp(before, after cpuMark, ops int) CPU {
	if ops == 0 {
		return CPU{}
	}
	n := float64(ops)
	server := after.server - before.server
	self := after.self - before.self
	pg := 0.0
	for pid, cpu := range after.pg {
		pg += cpu - before.pg[pid] // 0 for a process started since
	}
	kernel := after.kernel - before.kernel
	other := after.total - before.total - server - self - pg - kernel
	per := func(s float64) float64 { return max(s, 0) * 1000 / n }
	return CPU{ServerMsPerOp: per(server), ClientMsPerOp: per(self), PostgresMsPerOp: per(pg), KernelMsPerOp: per(kernel), OtherMsPerOp: per(other)}
}
