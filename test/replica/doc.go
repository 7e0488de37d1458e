// Package replica holds the read replica test: `prima serve`, built from cmd/prima, with
// PRIMA_DATABASE_URL and PRIMA_DATABASE_READ_URL (a real streaming replica, started by
// scripts/ci/replica.sh) runs the five calls and the lists, and partners read their
// writes. It has no code of its own; see replica_test.go.
package replica
