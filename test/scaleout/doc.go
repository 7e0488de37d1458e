// Package scaleout holds the multi-process test: several `prima serve` processes, built
// from cmd/prima, on one PostgreSQL schema behave like one server. It has no code of its
// own; see scaleout_test.go.
package scaleout
