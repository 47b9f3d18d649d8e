package pgstore

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"time"
)

// The group commit's statement (appendBatch) is sent through pgconn with
// its parameters encoded here, in PostgreSQL's binary format, instead of
// through pgx's type map. pgx encodes an array element by element through
// an interface (boxing every string and []byte, a map look-up per element),
// which cost ≈ 10 % of the store's Go CPU at 16 writers (docs/benchmarks.md);
// here each array is a header and the elements' bytes, written into one
// buffer. Same statement, same parameter types (declared by its casts), same
// server-side work.

// PostgreSQL type OIDs of the elements of appendBatch's parameters.
const (
	oidInt4        = 23
	oidInt8        = 20
	oidText        = 25
	oidBytea       = 17
	oidUUID        = 2950
	oidTimestamptz = 1184
)

// appendBatchParams is the number of appendBatch's parameters.
const appendBatchParams = 18

// binaryFormats are format codes: binary for every parameter and result
// column.
var binaryFormats = [appendBatchParams]int16{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}

// microsecFromUnixEpochToY2K is PostgreSQL's epoch (2000-01-01 UTC) in Unix
// microseconds.
const microsecFromUnixEpochToY2K = 946_684_800 * 1_000_000

// stmtName is the name appendBatch is prepared under on a connection: the
// digest of its text, so that stores of different schemas sharing a pool
// never collide.
func stmtName(sql string) string {
	d := sha256.Sum256([]byte(sql))
	return "kinerja_append_" + hex.EncodeToString(d[:12])
}

// insertWire runs appendBatch over reqs (sorted by stream, one request per
// stream, at most maxPerTransaction rows) on a pooled connection, its
// parameters encoded by encodeBatch and its RETURNING rows decoded by
// decodeCounts. It returns ok=false, having done nothing, when the
// connection carries a pgx tracer (the caller then uses pgx, so that tracing
// still sees the statement).
func (s *Store) insertWire(ctx context.Context, reqs []*request) (counts map[string]streamCount, ok bool, err error) {
	c, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, true, err
	}
	defer c.Release()
	conn := c.Conn()
	if conn.Config().Tracer != nil {
		return nil, false, nil
	}
	// Idempotent per connection: a map look-up once prepared.
	if _, err := conn.Prepare(ctx, s.appendBatchName, s.q.appendBatch); err != nil {
		return nil, true, err
	}
	params := encodeBatch(reqs, s.recordedAt())
	rr := conn.PgConn().ExecPrepared(ctx, s.appendBatchName, params, binaryFormats[:], binaryFormats[:3])
	counts = make(map[string]streamCount, len(reqs))
	var decodeErr error
	for rr.NextRow() {
		if decodeErr == nil {
			decodeErr = decodeCount(rr.Values(), counts)
		}
	}
	// In autocommit the statement commits after its last row: only the
	// result's error, after the rows, tells whether it did.
	if _, err := rr.Close(); err != nil {
		return nil, true, err
	}
	if decodeErr != nil {
		return nil, true, decodeErr
	}
	return counts, true, nil
}

// decodeCount adds one RETURNING row (stream text, position int8,
// recorded_at timestamptz; binary format) to counts, as collectCounts does.
func decodeCount(vals [][]byte, counts map[string]streamCount) error {
	if len(vals) != 3 || len(vals[1]) != 8 || len(vals[2]) != 8 {
		return fmt.Errorf("pgstore: unexpected row of the append statement: %d columns", len(vals))
	}
	stream := string(vals[0])
	pos := int64(binary.BigEndian.Uint64(vals[1]))
	us := int64(binary.BigEndian.Uint64(vals[2]))
	if us == math.MaxInt64 || us == math.MinInt64 {
		return fmt.Errorf("pgstore: the append statement returned an infinite recorded_at")
	}
	recorded := time.Unix(microsecFromUnixEpochToY2K/1_000_000+us/1_000_000,
		(microsecFromUnixEpochToY2K%1_000_000*1_000)+(us%1_000_000*1_000)).UTC()
	c := counts[stream]
	c.n++
	c.last = max(c.last, pos)
	c.recorded = recorded
	counts[stream] = c
	return nil
}

// encodeBatch returns appendBatch's parameters for reqs in binary format:
// the arrays of insertArgs (same order, same values) and recorded_at (nil:
// NULL). The values share one buffer.
func encodeBatch(reqs []*request, recordedAt *time.Time) [][]byte {
	rows, size := 0, 0
	for _, r := range reqs {
		rows += len(r.events)
		size += len(r.stream) + 16
		for j := range r.events {
			e := &r.events[j]
			size += len(e.Type) + len(e.Actor.ID) + len(e.Actor.Role) + len(e.CorrelationID) +
				len(e.CausationID) + len(e.Reason) + len(e.Data) + 32 + 15*4 + 8 + 8 + 16 + 4 + 8
		}
		size += len(r.sig.KeyID) + len(r.sig.Sig)
	}
	size += appendBatchParams*20 + 8
	w := wireBuf{buf: make([]byte, 0, size)}
	params := make([][]byte, appendBatchParams)

	// $1 stream, $2 expected: one element per request.
	w.array(oidText, len(reqs))
	for _, r := range reqs {
		w.str(r.stream)
	}
	params[0] = w.take()
	w.array(oidInt8, len(reqs))
	for _, r := range reqs {
		w.int64(r.expected)
	}
	params[1] = w.take()

	// One element per event, ordered as the requests.
	perEvent := func(oid uint32, elem func(i int, r *request, j int)) []byte {
		w.array(oid, rows)
		for i, r := range reqs {
			for j := range r.events {
				elem(i, r, j)
			}
		}
		return w.take()
	}
	params[2] = perEvent(oidInt8, func(i int, _ *request, _ int) { w.int64(int64(i + 1)) })
	for c := range rowColumns {
		params[3+c] = perEvent(rowOIDs[c], func(_ int, r *request, j int) { w.rowValue(c, r, j) })
	}
	if recordedAt != nil {
		w.scalarTime(*recordedAt)
		params[17] = w.take()
	}
	return params
}

// The columns an append writes for each event, in the order of
// appendBatch's per-event parameters $4…$17 and of the bulk COPY's
// columns (bulk.go): rowValue is the one encoder of an event row's values,
// for both.
const (
	colRevision = iota
	colEventID
	colSchemaVersion
	colOccurredAt
	colType
	colActorID
	colActorRole
	colCorrelationID
	colCausationID
	colReason
	colData
	colHash
	colWriterKeyID
	colWriterSig
	rowColumns
)

// rowOIDs are the types of the row columns, by column.
var rowOIDs = [rowColumns]uint32{oidInt8, oidUUID, oidInt4, oidTimestamptz, oidText, oidText, oidText,
	oidText, oidText, oidText, oidBytea, oidBytea, oidText, oidBytea}

// rowValue writes column c of event j of r as an element (length, then
// bytes): the same layout as a field of a binary COPY tuple.
func (w *wireBuf) rowValue(c int, r *request, j int) {
	e := &r.events[j]
	// The writer signature goes on the last event of an append only.
	signed := j == len(r.events)-1 && !r.sig.IsZero()
	switch c {
	case colRevision:
		w.int64(r.expected + 1 + int64(j))
	case colEventID:
		w.bin(e.ID[:])
	case colSchemaVersion:
		w.int32(int32(min(e.SchemaVersion, math.MaxInt32)))
	case colOccurredAt:
		w.time(e.OccurredAt)
	case colType:
		w.str(e.Type)
	case colActorID:
		w.str(e.Actor.ID)
	case colActorRole:
		w.str(e.Actor.Role)
	case colCorrelationID:
		w.str(e.CorrelationID)
	case colCausationID:
		w.str(e.CausationID)
	case colReason:
		w.str(e.Reason)
	case colData:
		// An empty payload is stored as empty bytes (NOT NULL), as insertArgs does.
		w.bin(e.Data)
	case colHash:
		w.bin(r.hashes[j][:])
	case colWriterKeyID:
		if signed {
			w.str(r.sig.KeyID)
		} else {
			w.str("")
		}
	case colWriterSig:
		if signed {
			w.bin(r.sig.Sig)
		} else {
			w.bin(nil)
		}
	}
}

// wireBuf writes values in PostgreSQL's binary format into one buffer;
// take returns what was written since the last take. The buffer is sized
// up front (encodeBatch), so the slices taken stay valid; if it must grow,
// earlier slices keep the old array, which is not written again.
type wireBuf struct {
	buf   []byte
	start int
}

// array writes the header of a one-dimensional array of n non-NULL
// elements of type oid.
func (w *wireBuf) array(oid uint32, n int) {
	w.buf = binary.BigEndian.AppendUint32(w.buf, 1) // dimensions
	w.buf = binary.BigEndian.AppendUint32(w.buf, 0) // no NULLs
	w.buf = binary.BigEndian.AppendUint32(w.buf, oid)
	w.buf = binary.BigEndian.AppendUint32(w.buf, uint32(n))
	w.buf = binary.BigEndian.AppendUint32(w.buf, 1) // lower bound
}

// str writes a text element: its length, then its bytes.
func (w *wireBuf) str(v string) {
	w.buf = binary.BigEndian.AppendUint32(w.buf, uint32(len(v)))
	w.buf = append(w.buf, v...)
}

// bin writes a bytea or uuid element: its length, then its bytes.
func (w *wireBuf) bin(v []byte) {
	w.buf = binary.BigEndian.AppendUint32(w.buf, uint32(len(v)))
	w.buf = append(w.buf, v...)
}

func (w *wireBuf) int64(v int64) {
	w.buf = binary.BigEndian.AppendUint32(w.buf, 8)
	w.buf = binary.BigEndian.AppendUint64(w.buf, uint64(v))
}

func (w *wireBuf) int32(v int32) {
	w.buf = binary.BigEndian.AppendUint32(w.buf, 4)
	w.buf = binary.BigEndian.AppendUint32(w.buf, uint32(v))
}

// time writes a timestamptz element: microseconds since 2000-01-01 UTC,
// sub-microseconds truncated, as pgx encodes a time.Time.
func (w *wireBuf) time(t time.Time) {
	w.buf = binary.BigEndian.AppendUint32(w.buf, 8)
	w.scalarTime(t)
}

// scalarTime writes a timestamptz value without an element length.
func (w *wireBuf) scalarTime(t time.Time) {
	us := t.Unix()*1_000_000 + int64(t.Nanosecond())/1_000 - microsecFromUnixEpochToY2K
	w.buf = binary.BigEndian.AppendUint64(w.buf, uint64(us))
}

func (w *wireBuf) take() []byte {
	v := w.buf[w.start:len(w.buf):len(w.buf)]
	w.start = len(w.buf)
	return v
}
