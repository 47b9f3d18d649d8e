package app

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/kinerja-ledger/kinerja/eventstore"
)

// A dependency that is down is not the API's internal error: the client
// should repeat the request later (503 unavailable, with Retry-After), or
// an operator must free space (507 insufficient_storage). Either way the
// request wrote nothing: the stores write an append whole or not at all.
//
// The backends wrap eventstore.ErrUnavailable and ErrNoSpace where they
// recognise the cause; they do not all do yet, and the read models and the
// idempotency records fail through the same drivers, so faultOf also
// recognises the causes themselves, as the drivers and the kernel report
// them: PostgreSQL's connection, shutdown and disk-full errors (pgconn) and
// ENOSPC, EDQUOT, EROFS and EIO (syscall, as bbolt's writes return them).

// faultOf returns err marked with eventstore.ErrNoSpace or ErrUnavailable
// when it is such a failure of a dependency, or err as it is.
func faultOf(err error) error {
	if errors.Is(err, eventstore.ErrNoSpace) || errors.Is(err, eventstore.ErrUnavailable) {
		return err
	}
	var pe *pgconn.PgError
	var ce *pgconn.ConnectError
	var oe *net.OpError
	switch {
	case errors.As(err, &pe):
		switch c := pe.Code; {
		case c == "53100": // disk_full
			return fmt.Errorf("%w: %w", eventstore.ErrNoSpace, err)
		case strings.HasPrefix(c, "08"), // connection exceptions
			c == "57P01", c == "57P02", c == "57P03", // admin_shutdown, crash_shutdown, cannot_connect_now
			c == "53300", // too_many_connections
			c == "25006": // read_only_sql_transaction: a standby, during a failover
			return fmt.Errorf("%w: %w", eventstore.ErrUnavailable, err)
		}
		return err
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		return fmt.Errorf("%w: %w", eventstore.ErrNoSpace, err)
	case errors.As(err, &ce), errors.Is(err, pgconn.ErrConnClosed), errors.As(err, &oe),
		// A connection cut mid-answer (the server went away): pgconn
		// reports the short read as it is.
		errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.Is(err, syscall.EROFS), errors.Is(err, syscall.EIO), errors.Is(err, eventstore.ErrClosed):
		return fmt.Errorf("%w: %w", eventstore.ErrUnavailable, err)
	}
	return err
}
