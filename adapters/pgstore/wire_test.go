package pgstore

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kinerja-ledger/kinerja/eventstore"
)

// TestWireEncodingIsPgxs: the parameters encodeBatch writes for
// appendBatch are, as PostgreSQL reads them, exactly those pgx encodes from
// insertArgs: every column of several appends (signed and unsigned, an
// empty and a nil payload, sub-microsecond times, a schema version past
// int32), and recorded_at NULL or set.
func TestWireEncodingIsPgxs(t *testing.T) {
	url, schema := migrated(t)
	s := openOn(t, url, schema, Options{})
	mk := func(stream string, expected int64, n int, sig eventstore.WriterSignature) *request {
		r := &request{stream: stream, expected: expected, events: evs(n), sig: sig}
		for j := range r.events {
			r.events[j].OccurredAt = time.Date(2026, 3, 31, 10, 0, j, 123456789, time.FixedZone("WIB", 7*3600))
			var h eventstore.Hash
			h[0], h[31] = byte(j), byte(n)
			r.hashes = append(r.hashes, h)
		}
		return r
	}
	a := mk("skp-a", -1, 3, eventstore.WriterSignature{KeyID: "key-1", Sig: []byte{1, 2, 3}})
	a.events[0].Data = nil
	a.events[1].Data = []byte{}
	a.events[2].SchemaVersion = 1 << 40
	a.events[2].Reason = "ä — ünïcode"
	b := mk("skp-b", 6, 1, eventstore.WriterSignature{})
	reqs := []*request{a, b}

	// One column per parameter, as PostgreSQL reads it, in text.
	var cols []string
	for i, typ := range []string{"text[]", "bigint[]", "bigint[]", "bigint[]", "uuid[]", "int[]", "timestamptz[]", "text[]",
		"text[]", "text[]", "text[]", "text[]", "text[]", "bytea[]", "bytea[]", "text[]", "bytea[]", "timestamptz"} {
		cols = append(cols, "$"+strconv.Itoa(i+1)+"::"+typ+"::text")
	}
	probe := "SELECT " + strings.Join(cols, ", ")
	read := func(args []any, wire [][]byte) []*string {
		conn, err := s.pool.Acquire(tctx(t))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Release()
		if _, err := conn.Exec(tctx(t), "SET TIME ZONE 'UTC'"); err != nil {
			t.Fatal(err)
		}
		out := make([]*string, len(cols))
		if wire == nil {
			dst := make([]any, len(out))
			for i := range out {
				dst[i] = &out[i]
			}
			if err := conn.QueryRow(tctx(t), probe, args...).Scan(dst...); err != nil {
				t.Fatal(err)
			}
			return out
		}
		sd, err := conn.Conn().Prepare(tctx(t), "wire_probe", probe)
		if err != nil {
			t.Fatal(err)
		}
		res := conn.Conn().PgConn().ExecPrepared(tctx(t), sd.Name, wire, binaryFormats[:], nil).Read()
		if res.Err != nil {
			t.Fatal(res.Err)
		}
		for i, v := range res.Rows[0] {
			if v != nil {
				s := string(v)
				out[i] = &s
			}
		}
		return out
	}
	set := time.Date(2026, 4, 1, 8, 0, 0, 987654000, time.UTC)
	for _, recorded := range []*time.Time{nil, &set} {
		args := s.insertArgs(reqs, "")
		args = append(args[:17], args[18])
		args[17] = recorded
		want := read(args, nil)
		got := read(nil, encodeBatch(reqs, recorded))
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("recorded_at %v: wire parameters differ from pgx's (-pgx +wire):\n%s", recorded, diff)
		}
	}
}
