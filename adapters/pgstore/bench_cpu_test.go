package pgstore_test

import (
	"bytes"
	"context"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

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
			cpu0, self0 := backendCPU(b, admin, app), selfCPU()
			stats0 := s.Stats()
			runAppendLoad(b, s, 16)
			pg, self := backendCPU(b, admin, app)-cpu0, selfCPU()-self0
			st := s.Stats()
			if n := st.Events - stats0.Events; n > 0 {
				b.ReportMetric(pg*1e6/float64(n), "pg-cpu-µs/event")
				b.ReportMetric(self*1e6/float64(n), "go-cpu-µs/event")
				b.ReportMetric(float64(st.Appends-stats0.Appends)/float64(st.Statements-stats0.Statements), "appends/stmt")
			}
		})
	}
}

// backendCPU is the CPU seconds (user + system) of the backends whose
// application_name is app. A backend that ended meanwhile is not counted:
// the store's pool keeps its connections for the run.
func backendCPU(b *testing.B, admin *pgxpool.Pool, app string) float64 {
	b.Helper()
	rows, err := admin.Query(context.Background(), "SELECT pid FROM pg_stat_activity WHERE application_name = $1", app)
	if err != nil {
		b.Fatal(err)
	}
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		b.Fatal(err)
	}
	var ticks float64
	for _, pid := range pids {
		raw, err := os.ReadFile("/proc/" + strconv.Itoa(int(pid)) + "/stat")
		if err != nil {
			continue
		}
		f := strings.Fields(string(raw[bytes.LastIndexByte(raw, ')')+2:]))
		u, _ := strconv.ParseFloat(f[11], 64)
		s, _ := strconv.ParseFloat(f[12], 64)
		ticks += u + s
	}
	return ticks / 100 // USER_HZ
}

func selfCPU() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}
