package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

type fakeSQLiteError int

func (e fakeSQLiteError) Error() string { return fmt.Sprintf("sqlite error %d", int(e)) }
func (e fakeSQLiteError) Code() int     { return int(e) }

func TestUnavailableTellsOutagesFromRefusals(t *testing.T) {
	opErr := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	cases := []struct {
		name string
		err  error
		want bool
	}{
		{"connection refused", fmt.Errorf("dial: %w", opErr), true},
		{"terminated by administrator (57P01)", &pgconn.PgError{Code: "57P01"}, true},
		{"crash shutdown (57P02)", &pgconn.PgError{Code: "57P02"}, true},
		{"cannot connect now (57P03)", &pgconn.PgError{Code: "57P03"}, true},
		{"connection failure (08006)", &pgconn.PgError{Code: "08006"}, true},
		{"too many connections (53300)", &pgconn.PgError{Code: "53300"}, true},
		{"conn closed", fmt.Errorf("x: %w", pgconn.ErrConnClosed), true},
		{"bad conn", driver.ErrBadConn, true},
		{"conn done", sql.ErrConnDone, true},
		{"EOF", io.EOF, true},
		{"unexpected EOF", fmt.Errorf("read: %w", io.ErrUnexpectedEOF), true},
		{"reset", syscall.ECONNRESET, true},
		{"pool wait timed out", context.DeadlineExceeded, true},
		{"sqlite busy", fakeSQLiteError(5), true},
		{"sqlite busy snapshot (extended)", fakeSQLiteError(5 | 2<<8), true},
		{"sqlite locked", fakeSQLiteError(6), true},
		{"caller cancelled", context.Canceled, false},
		{"unique violation", &pgconn.PgError{Code: "23505"}, false},
		{"serialization failure", &pgconn.PgError{Code: "40001"}, false},
		{"syntax error", &pgconn.PgError{Code: "42601"}, false},
		{"sqlite constraint", fakeSQLiteError(2067), false},
		{"not found", ErrNotFound, false},
		{"anything else", errors.New("boom"), false},
		{"nil", nil, false},
	}
	for _, c := range cases {
		if got := unavailable(c.err); got != c.want {
			t.Errorf("%s: unavailable = %v, want %v", c.name, got, c.want)
		}
		if c.want {
			if err := wrap("op", c.err); !errors.Is(err, ErrUnavailable) || !errors.Is(err, c.err) {
				t.Errorf("%s: wrap = %v, want ErrUnavailable wrapping the cause", c.name, err)
			}
		} else if c.err != nil && errors.Is(wrap("op", c.err), ErrUnavailable) {
			t.Errorf("%s: wrap says unavailable", c.name)
		}
	}
}
