// Package scaleout holds the multi-process tests: several `prima serve` processes, built
// from cmd/prima, on one PostgreSQL schema behave like one server (scaleout_test.go), and
// are restarted one at a time behind Debian's haproxy without losing a request
// (haproxy_test.go). It has no code of its own.
package scaleout
