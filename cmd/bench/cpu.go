package main

import (
	"os"
	"strconv"
	"strings"
)

// clockTicks is USER_HZ, the unit of /proc CPU times (100 on Linux everywhere in practice).
const clockTicks = 100.0

// cpuSample is the CPU time used so far, in seconds: by the server process, by this
// process (the load generator or the pgx client), and by the whole machine.
type cpuSample struct {
	server, self, total float64
}

// CPU says where the CPU time of a run went, per operation, in milliseconds: the server
// process, the client (this process), and everything else (PostgreSQL, mostly). Linux
// only; zero elsewhere.
type CPU struct {
	ServerMsPerOp float64 `json:"server_ms_per_op"`
	ClientMsPerOp float64 `json:"client_ms_per_op"`
	OtherMsPerOp  float64 `json:"other_ms_per_op"`
}

func procCPU(path string) float64 {
	b, err := os.ReadFile(path) //nolint:gosec // G304: a /proc path built from a pid
	if err != nil {
		return 0
	}
	s := string(b)
	// Fields after the command name, which is in parentheses and may contain spaces.
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (u + st) / clockTicks
}

func machineCPU() float64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	total := 0.0
	for i, v := range f[1:] {
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		n, _ := strconv.ParseFloat(v, 64)
		total += n
	}
	return total / clockTicks
}

func sampleCPU(serverPID int) cpuSample {
	s := cpuSample{self: procCPU("/proc/self/stat"), total: machineCPU()}
	if serverPID > 0 {
		s.server = procCPU("/proc/" + strconv.Itoa(serverPID) + "/stat")
	}
	return s
}

func cpuPerOp(before, after cpuSample, ops int) CPU {
	if ops == 0 {
		return CPU{}
	}
	n := float64(ops)
	server := after.server - before.server
	self := after.self - before.self
	other := after.total - before.total - server - self
	return CPU{ServerMsPerOp: server * 1000 / n, ClientMsPerOp: self * 1000 / n, OtherMsPerOp: max(other, 0) * 1000 / n}
}
