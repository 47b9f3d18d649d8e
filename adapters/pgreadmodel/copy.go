package pgreadmodel

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// copyIn writes rows with COPY … FROM STDIN (FORMAT binary), encoding the
// rows itself. pgx's CopyFrom plans the encoding of every value of every
// row through its type map (measured: a fifth of a rebuild's client CPU,
// most of it planning); the values a stager copies are a handful of Go
// types with fixed column types, whose binary form is a few bytes each.
// Texts are escaped as every text parameter of this package is (text.go);
// the server checks each value as it would any COPY (CHECK constraints,
// keys).
func copyIn(ctx context.Context, tx pgx.Tx, table string, c copyRows) error {
	var buf bytes.Buffer
	buf.Grow(c.n * 256)
	buf.WriteString("PGCOPY\n\xff\r\n\x00")
	buf.Write([]byte{0, 0, 0, 0, 0, 0, 0, 0}) // flags, header extension length
	var scratch [8]byte
	for i := range c.n {
		vals, err := c.row(i)
		if err != nil {
			return err
		}
		if len(vals) != len(c.cols) {
			return fmt.Errorf("copy into %s: row %d has %d values for %d columns", table, i, len(vals), len(c.cols))
		}
		buf.Write(binary.BigEndian.AppendUint16(scratch[:0], uint16(len(vals))))
		for j, v := range vals {
			if err := appendCopyValue(&buf, v); err != nil {
				return fmt.Errorf("copy into %s: row %d, column %s: %w", table, i, c.cols[j], err)
			}
		}
	}
	buf.Write([]byte{0xff, 0xff}) // end of data
	cols := make([]string, len(c.cols))
	for i, col := range c.cols {
		cols[i] = pgx.Identifier{col}.Sanitize()
	}
	sql := `COPY ` + table + ` (` + strings.Join(cols, ", ") + `) FROM STDIN (FORMAT binary)`
	tag, err := tx.Conn().PgConn().CopyFrom(ctx, &buf, sql)
	if err != nil {
		return err
	}
	if tag.RowsAffected() != int64(c.n) {
		return fmt.Errorf("copy into %s: %d rows copied, %d sent", table, tag.RowsAffected(), c.n)
	}
	return nil
}

// pgEpochMicros is 2000-01-01 00:00:00 UTC, PostgreSQL's timestamp epoch,
// in microseconds since the Unix epoch.
const pgEpochMicros = 946_684_800_000_000

// appendCopyValue appends one field of a binary COPY row: its length and
// its binary form. The column types are the stagers' (int8, int4, int2, bool,
// text, uuid, bytea, timestamptz).
func appendCopyValue(buf *bytes.Buffer, v any) error {
	var b [12]byte
	switch v := v.(type) {
	case int64:
		binary.BigEndian.PutUint32(b[:], 8)
		binary.BigEndian.PutUint64(b[4:], uint64(v))
		buf.Write(b[:12])
	case int32:
		binary.BigEndian.PutUint32(b[:], 4)
		binary.BigEndian.PutUint32(b[4:], uint32(v))
		buf.Write(b[:8])
	case int16:
		binary.BigEndian.PutUint32(b[:], 2)
		binary.BigEndian.PutUint16(b[4:], uint16(v))
		buf.Write(b[:6])
	case bool:
		binary.BigEndian.PutUint32(b[:], 1)
		b[4] = 0
		if v {
			b[4] = 1
		}
		buf.Write(b[:5])
	case string:
		// The package's one escape for text (see text.go), as the codec
		// it registers applies to every text parameter: NUL and invalid
		// UTF-8 are stored escaped, everything else as it is.
		v = escapeText(v)
		if len(v) > math.MaxInt32 {
			return fmt.Errorf("text of %d bytes", len(v))
		}
		binary.BigEndian.PutUint32(b[:], uint32(len(v)))
		buf.Write(b[:4])
		buf.WriteString(v)
	case []byte:
		if v == nil {
			binary.BigEndian.PutUint32(b[:], math.MaxUint32) // -1: NULL
			buf.Write(b[:4])
			return nil
		}
		if len(v) > math.MaxInt32 {
			return fmt.Errorf("bytea of %d bytes", len(v))
		}
		binary.BigEndian.PutUint32(b[:], uint32(len(v)))
		buf.Write(b[:4])
		buf.Write(v)
	case uuid.UUID:
		binary.BigEndian.PutUint32(b[:], 16)
		buf.Write(b[:4])
		buf.Write(v[:])
	case time.Time:
		binary.BigEndian.PutUint32(b[:], 8)
		binary.BigEndian.PutUint64(b[4:], uint64(v.UnixMicro()-pgEpochMicros))
		buf.Write(b[:12])
	default:
		return fmt.Errorf("no binary COPY encoding for %T", v)
	}
	return nil
}
