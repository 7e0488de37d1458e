//go:build unix

package server_test

import (
	"syscall"
	"testing"
)

// processCPU is the CPU time the process has used so far (user and system), in
// nanoseconds.
func processCPU(b *testing.B) int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
