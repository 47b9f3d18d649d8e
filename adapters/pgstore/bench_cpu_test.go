package pgstore_test

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kinerja-ledger/kinerja/adapters/internal/cpusample"
	"github.com/kinerja-ledger/kinerja/adapters/pgstore"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/eventstore/storetest"
)

// BenchmarkAppendCPU is BenchmarkAppend's workload at 16 writers, signed as
// kinerjad and `kinerjactl bench store` sign, priced in CPU: the
// benchmark process's own (getrusage: the writers, the store, pgx) and that
// of the PostgreSQL backends serving the store's pool (/proc/PID/stat,
// found by application_name; Linux, the database on this machine), per
// event. CPU time is what the machine's load distorts least; compare it
// with pgbench's (docs/bench/append_ratio.sh).
//
//	KINERJA_TEST_POSTGRES_URL=... go test -run '^$' -bench AppendCPU -benchtime 32000x ./adapters/pgstore/
func BenchmarkAppendCPU(b *testing.B) {
	for _, tc := range []struct {
		name string
		opts pgstore.Options
	}{
		{"writers=16", pgstore.Options{}},
		{"writers=16/committers=1", pgstore.Options{Committers: 1}},
		{"writers=16/committers=2/start=4", pgstore.Options{Committers: 2, BatchStart: 4}},
		{"writers=16/committers=4/start=8", pgstore.Options{Committers: 4, BatchStart: 8}},
		{"writers=16/committers=2/start=8", pgstore.Options{Committers: 2, BatchStart: 8}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			url, schema := splitLocation(newLocation(b))
			app := "kinerja_bench_" + schema
			sep := "?"
			if strings.ContainsRune(url, '?') {
				sep = "&"
			}
			signer := storetest.WriterKey()
			opts := tc.opts
			opts.Schema, opts.Signer, opts.Keyring = schema, signer, eventstore.NewKeyring(signer.Public())
			ctx := context.Background()
			s, err := pgstore.Connect(ctx, url+sep+"application_name="+app, opts)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			admin, err := pgxpool.New(ctx, url)
			if err != nil {
				b.Fatal(err)
			}
			defer admin.Close()
			cpu0, self0 := backendCPU(b, admin, app), cpusample.Self()
			stats0 := s.Stats()
			runAppendLoad(b, s, 16)
			pg, self := backendCPU(b, admin, app)-cpu0, cpusample.Self()-self0
			st := s.Stats()
			if n := st.Events - stats0.Events; n > 0 {
				b.ReportMetric(pg*1e6/float64(n), "pg-cpu-µs/event")
				b.ReportMetric(self*1e6/float64(n), "go-cpu-µs/event")
				b.ReportMetric(float64(st.Appends-stats0.Appends)/float64(st.Statements-stats0.Statements), "appends/stmt")
			}
		})
	}
}

// backendCPU is cpusample.Backends, failing the benchmark on an error.
func backendCPU(b *testing.B, admin *pgxpool.Pool, app string) float64 {
	b.Helper()
	cpu, err := cpusample.Backends(context.Background(), admin, app)
	if err != nil {
		b.Fatal(err)
	}
	return cpu
}
