package pgreadmodel

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// copyIn writes rows with COPY … FROM STDIN (FORMAT binary), encoding the
// rows itself. pgx's CopyFrom plans the encoding of every value of every
// row through its type map (measured: a fifth of a rebuild's client CPU,
// most of it planning); the values a stager copies are a handful of Go
// types with fixed column types, whose binary form is a few bytes each,
// written by the typed methods of copyRow (no value boxed in an interface,
// no row slice per row), into a buffer reused from one COPY to the next.
// Texts are escaped as every text parameter of this package is (text.go);
// the server checks each value as it would any COPY (CHECK constraints,
// keys).
//
// The buffer goes back to the pool only after a COPY that succeeded: when
// CopyFrom fails (the connection was terminated, the context ended), pgx
// can return while its goroutine still reads from the buffer, and a reuse
// would race with that read (seen under -race in TestPostgresBackendsTerminated).
func copyIn(ctx context.Context, tx pgx.Tx, table string, c copyRows) (err error) {
	buf := copyBuffers.Get().(*bytes.Buffer)
	defer func() {
		if err == nil && buf.Cap() <= 64<<20 {
			buf.Reset()
			copyBuffers.Put(buf)
		}
	}()
	buf.Grow(c.n * 256)
	buf.WriteString("PGCOPY\n\xff\r\n\x00")
	buf.Write([]byte{0, 0, 0, 0, 0, 0, 0, 0}) // flags, header extension length
	w := copyRow{buf: buf}
	for i := range c.n {
		buf.Write(binary.BigEndian.AppendUint16(w.scratch[:0], uint16(len(c.cols))))
		w.fields, w.err = 0, nil
		if err := c.row(i, &w); err != nil {
			return err
		}
		if w.err != nil {
			return fmt.Errorf("copy into %s: row %d, column %d: %w", table, i, w.fields, w.err)
		}
		if w.fields != len(c.cols) {
			return fmt.Errorf("copy into %s: row %d has %d values for %d columns", table, i, w.fields, len(c.cols))
		}
	}
	buf.Write([]byte{0xff, 0xff}) // end of data
	cols := make([]string, len(c.cols))
	for i, col := range c.cols {
		cols[i] = pgx.Identifier{col}.Sanitize()
	}
	sql := `COPY ` + table + ` (` + strings.Join(cols, ", ") + `) FROM STDIN (FORMAT binary)`
	tag, err := tx.Conn().PgConn().CopyFrom(ctx, buf, sql)
	if err != nil {
		return err
	}
	if tag.RowsAffected() != int64(c.n) {
		return fmt.Errorf("copy into %s: %d rows copied, %d sent", table, tag.RowsAffected(), c.n)
	}
	return nil
}

// copyBuffers are the COPY buffers, reused.
var copyBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// copyRow writes the fields of one binary COPY row: each its length and
// its binary form. The column types are the stagers' (int8, int4, int2,
// bool, text, uuid, bytea, timestamptz). The first error is kept, and the
// row's fields counted, for copyIn to check.
type copyRow struct {
	buf     *bytes.Buffer
	fields  int
	err     error
	scratch [12]byte
}

func (w *copyRow) int64(v int64) {
	binary.BigEndian.PutUint32(w.scratch[:], 8)
	binary.BigEndian.PutUint64(w.scratch[4:], uint64(v))
	w.buf.Write(w.scratch[:12])
	w.fields++
}

func (w *copyRow) int32(v int32) {
	binary.BigEndian.PutUint32(w.scratch[:], 4)
	binary.BigEndian.PutUint32(w.scratch[4:], uint32(v))
	w.buf.Write(w.scratch[:8])
	w.fields++
}

func (w *copyRow) int16(v int16) {
	binary.BigEndian.PutUint32(w.scratch[:], 2)
	binary.BigEndian.PutUint16(w.scratch[4:], uint16(v))
	w.buf.Write(w.scratch[:6])
	w.fields++
}

func (w *copyRow) bool(v bool) {
	binary.BigEndian.PutUint32(w.scratch[:], 1)
	w.scratch[4] = 0
	if v {
		w.scratch[4] = 1
	}
	w.buf.Write(w.scratch[:5])
	w.fields++
}

// text writes v as the package's one escape for text (see text.go) makes
// it, as the codec it registers does for every text parameter: NUL and
// invalid UTF-8 are stored escaped, everything else as it is.
func (w *copyRow) text(v string) {
	v = escapeText(v)
	if len(v) > math.MaxInt32 {
		w.fail(fmt.Errorf("text of %d bytes", len(v)))
		return
	}
	binary.BigEndian.PutUint32(w.scratch[:], uint32(len(v)))
	w.buf.Write(w.scratch[:4])
	w.buf.WriteString(v)
	w.fields++
}

// bytea writes v, nil as NULL.
func (w *copyRow) bytea(v []byte) {
	if v == nil {
		binary.BigEndian.PutUint32(w.scratch[:], math.MaxUint32) // -1: NULL
		w.buf.Write(w.scratch[:4])
		w.fields++
		return
	}
	if len(v) > math.MaxInt32 {
		w.fail(fmt.Errorf("bytea of %d bytes", len(v)))
		return
	}
	binary.BigEndian.PutUint32(w.scratch[:], uint32(len(v)))
	w.buf.Write(w.scratch[:4])
	w.buf.Write(v)
	w.fields++
}

func (w *copyRow) uuid(v uuid.UUID) {
	binary.BigEndian.PutUint32(w.scratch[:], 16)
	w.buf.Write(w.scratch[:4])
	w.buf.Write(v[:])
	w.fields++
}

func (w *copyRow) time(v time.Time) { w.int64(v.UnixMicro() - pgEpochMicros) }

func (w *copyRow) fail(err error) {
	if w.err == nil {
		w.err = err
	}
	w.fields++
}

// pgEpochMicros is 2000-01-01 00:00:00 UTC, PostgreSQL's timestamp epoch,
// in microseconds since the Unix epoch.
const pgEpochMicros = 946_684_800_000_000

// appendCopyValue appends one field of a binary COPY row, of one of the
// types copyRow writes (for a value whose type is known only at run time).
func appendCopyValue(buf *bytes.Buffer, v any) error {
	w := copyRow{buf: buf}
	switch v := v.(type) {
	case int64:
		w.int64(v)
	case int32:
		w.int32(v)
	case int16:
		w.int16(v)
	case bool:
		w.bool(v)
	case string:
		w.text(v)
	case []byte:
		w.bytea(v)
	case uuid.UUID:
		w.uuid(v)
	case time.Time:
		w.time(v)
	default:
		return fmt.Errorf("no binary COPY encoding for %T", v)
	}
	return w.err
}
