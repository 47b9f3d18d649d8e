package pgstore

import (
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/kinerja-ledger/kinerja/adapters/internal/cpusample"
	"github.com/kinerja-ledger/kinerja/eventstore"
)

// BenchmarkBatchEncoding prices, in the Go process alone (no database),
// encoding a group commit's parameters: pgx's type map over insertArgs (what
// main did) against encodeBatch (wire.go), for batches of 1, 5 and 16
// single-event appends of the benchmark's shape (≈ 300-byte payload,
// signed), in wall and in the process's CPU time (cpu-ns/op). No database, so the machine's load shows less than in the append
// benchmarks.
//
//	go test -run '^$' -bench BatchEncoding -benchmem ./adapters/pgstore/
func BenchmarkBatchEncoding(b *testing.B) {
	// appendBatch's parameter types, as PostgreSQL describes them.
	oids := []uint32{1009, 1016, 1016, 1016, 2951, 1007, 1185, 1009, 1009, 1009, 1009, 1009, 1009, 1001, 1001, 1009, 1001, 1184}
	sd := &pgconn.StatementDescription{Name: "bench", ParamOIDs: oids}
	payload := make([]byte, 300)
	for i := range payload {
		payload[i] = 'x'
	}
	for _, n := range []int{1, 5, 16} {
		reqs := make([]*request, n)
		for i := range reqs {
			e := ev("")
			e.Data = payload
			var h eventstore.Hash
			h[0] = byte(i)
			reqs[i] = &request{stream: fmt.Sprintf("bench-%d", i), expected: int64(i), events: []eventstore.EventData{e},
				hashes: []eventstore.Hash{h}, sig: eventstore.WriterSignature{KeyID: "kinerja-writer-0123456789abcdef", Sig: make([]byte, 64)}}
		}
		s := &Store{}
		b.Run(fmt.Sprintf("appends=%d/pgx", n), func(b *testing.B) {
			m := pgtype.NewMap()
			var eqb pgx.ExtendedQueryBuilder
			cpu0 := cpusample.Self()
			for b.Loop() {
				args := s.insertArgs(reqs, "")
				if err := eqb.Build(m, sd, append(args[:17], args[18])); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric((cpusample.Self()-cpu0)*1e9/float64(b.N), "cpu-ns/op")
		})
		b.Run(fmt.Sprintf("appends=%d/wire", n), func(b *testing.B) {
			cpu0 := cpusample.Self()
			for b.Loop() {
				encodeBatch(reqs, s.recordedAt())
			}
			b.ReportMetric((cpusample.Self()-cpu0)*1e9/float64(b.N), "cpu-ns/op")
		})
	}
}
