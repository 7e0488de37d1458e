//go:build !unix

package server_test

import "testing"

// processCPU is -1: the process's CPU time is read on Unix only.
func processCPU(*testing.B) int64 { return -1 }
