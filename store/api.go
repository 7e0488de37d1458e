package store

// This file is the contract between store/ and its callers (booking/, access/,
// idempotency/, cmd/). Bodies marked TODO are being written; signatures are fixed.

import (
	"errors"
	"log/slog"
	"time"
)

// Errors callers branch on.
var (
	// ErrNotFound: no such row, or not visible to the caller.
	ErrNotFound = errors.New("store: not found")
	// ErrConflict: a unique constraint refused the write.
	ErrConflict = errors.New("store: conflict")
)

// Config says which database to open.
type Config struct {
	// URL is a PostgreSQL URL (postgres://…) or a SQLite path ("sqlite:./data/prima.db",
	// "sqlite::memory:", or a bare file path). Empty means sqlite:./data/prima.db.
	URL string
	// MaxOpenConns is the PostgreSQL pool's size (the replica's too); 0 means
	// DefaultMaxOpenConns().
	MaxOpenConns int

	// ReadURL names a PostgreSQL streaming replica of URL (a hot standby) that serves
	// the reads callers route to it with (*DB).Read; empty means every read goes to the
	// primary. It needs a PostgreSQL URL; with SQLite Open refuses it. See replica.go.
	ReadURL string
	// ReadWait bounds how long a read waits for the replica to replay the writes it must
	// see before the primary serves it instead; 0 means DefaultReadWait.
	ReadWait time.Duration
	// ReadMaxLag is the replica lag past which every read goes to the primary, so that
	// no read routed to the replica is older than about this; 0 means DefaultReadMaxLag.
	ReadMaxLag time.Duration
	// Logger receives the replica's state changes (unreachable, back); nil means
	// slog.Default().
	Logger *slog.Logger
}

// Scope is what a partner may see: its id, and whether it may sell every venue (otherwise
// only the venues granted in partner_venues).
type Scope struct {
	PartnerID string
	AllVenues bool
}

// VenueFilter narrows ListVenues. Empty fields do not filter. City and Cuisine match
// case-insensitively and exactly; Query matches a substring of the name, case-insensitively.
type VenueFilter struct {
	City, Cuisine, Query string
}

// SlotQuery narrows SearchSlots. Only open slots with StartsAt > Now and
// TablesTaken < Tables and PartySizeMin <= PartySize <= PartySizeMax are returned.
type SlotQuery struct {
	LocalDate   string // required, YYYY-MM-DD
	PartySize   int    // required
	VenueID     string
	City        string // case-insensitive exact
	Cuisine     string // case-insensitive exact
	TimeFrom    string // HH:MM inclusive, compared to local_time
	TimeTo      string // HH:MM inclusive
	SeatingArea string
	Type        string // standard | prime | ''
	Now         time.Time
}

// ReservationFilter narrows ListReservations. Empty fields do not filter.
type ReservationFilter struct {
	Status           string
	VenueID          string
	DateFrom, DateTo string // local_date bounds, inclusive
	PartnerReference string
	// OperatorID keeps only reservations at the venues this operator manages.
	OperatorID string
}

// Page is a keyset page request: at most Limit rows after the row whose id is
// StartingAfter (in the list's own order). An unknown StartingAfter yields ErrNotFound.
type Page struct {
	Limit         int
	StartingAfter string
}
