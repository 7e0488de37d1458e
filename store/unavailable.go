package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"
)

// ErrUnavailable: the database could not be reached or did not answer in time
// (connection refused or terminated, the pool's wait for a connection timed out, the
// server shutting down, SQLite's lock still busy after busy_timeout). Nothing the
// caller asked for was done, or what was done was rolled back; the same call can
// succeed once the database is back, and the pool reconnects by itself.
var ErrUnavailable = errors.New("store: database unavailable")

// unavailable reports whether err says the database could not be reached, as opposed
// to a query the database refused.
func unavailable(err error) bool {
	if err == nil || errors.Is(err, ErrUnavailable) {
		return false
	}
	// The caller gave up (a client that went away): not the database's fault.
	if errors.Is(err, context.Canceled) {
		return false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case strings.HasPrefix(pe.Code, "08"): // connection exception
			return true
		case pe.Code == "57P01", pe.Code == "57P02", pe.Code == "57P03": // admin shutdown, crash shutdown, cannot connect now
			return true
		case pe.Code == "53300": // too many connections
			return true
		}
		return false
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	var sc sqliteCode
	switch {
	case errors.As(err, &ce), errors.As(err, &ne):
		return true
	case errors.Is(err, pgconn.ErrConnClosed), errors.Is(err, driver.ErrBadConn), errors.Is(err, sql.ErrConnDone):
		return true
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return true
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return true
	case errors.Is(err, context.DeadlineExceeded):
		// Waiting for a pooled connection, or for an answer, outlasted the caller's
		// deadline: to the caller the database is not there.
		return true
	case errors.As(err, &sc):
		switch sc.Code() & 0xff { // primary result code
		case sqliteBusy, sqliteLocked:
			return true
		}
	}
	return false
}

// SQLite primary result codes for a lock that busy_timeout did not outwait.
const (
	sqliteBusy   = 5
	sqliteLocked = 6
)

// markUnavailable wraps err with ErrUnavailable when the database could not be reached;
// any other error is returned as it is.
func markUnavailable(err error) error {
	if unavailable(err) {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return err
}

// registerUnavailable makes every GORM statement's error carry ErrUnavailable when the
// database could not be reached, so that a store method that hands a GORM error back
// unwrapped still lets callers tell an outage from a refusal. (Transact classifies
// BEGIN and COMMIT, which run outside these callbacks.)
func registerUnavailable(g *gorm.DB) error {
	mark := func(db *gorm.DB) {
		if db.Error != nil && unavailable(db.Error) {
			db.Error = markUnavailable(db.Error)
		}
	}
	cb := g.Callback()
	for _, err := range []error{
		cb.Create().Register("prima:unavailable", mark),
		cb.Query().Register("prima:unavailable", mark),
		cb.Update().Register("prima:unavailable", mark),
		cb.Delete().Register("prima:unavailable", mark),
		cb.Row().Register("prima:unavailable", mark),
		cb.Raw().Register("prima:unavailable", mark),
	} {
		if err != nil {
			return fmt.Errorf("store: register callbacks: %w", err)
		}
	}
	return nil
}
