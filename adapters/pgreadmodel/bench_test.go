package pgreadmodel_test

import (
	"context"
	"fmt"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"os"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/kinerja-ledger/kinerja/adapters/pgreadmodel"
	"github.com/kinerja-ledger/kinerja/projections"
	"github.com/kinerja-ledger/kinerja/projections/readmodeltest"
)

var (
	synthOnce sync.Once
	synth     []projections.Event
	synthHist projections.History
)

// syntheticEvents is the synthetic ledger: KINERJA_BENCH_EVENTS events,
// or 200,000.
func syntheticEvents(b *testing.B) ([]projections.Event, projections.History) {
	synthOnce.Do(func() {
		n := 200_000
		if s := os.Getenv("KINERJA_BENCH_EVENTS"); s != "" {
			var err error
			if n, err = strconv.Atoi(s); err != nil {
				b.Fatal(err)
			}
		}
		synth = readmodeltest.Synthetic(n)
		synthHist = readmodeltest.NewSyntheticHistory(synth)
	})
	return synth, synthHist
}

// BenchmarkRebuild measures rebuilding the read models into PostgreSQL
// from a synthetic ledger (events decoded, as the runner hands them over),
// in batches of 5,000 events per Apply (one transaction each, as a
// rebuild's CatchUp does), into a freshly migrated schema. "all" runs the
// seven Sinks concurrently, one goroutine each; the others one projection
// alone. events/s counts ledger events.
//
//	KINERJA_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test?sslmode=disable \
//	KINERJA_BENCH_EVENTS=1000000 go test -run '^$' -bench Rebuild -benchtime 1x -timeout 60m ./adapters/pgreadmodel/
func BenchmarkRebuild(b *testing.B) {
	events, h := syntheticEvents(b)
	b.Run("all", func(b *testing.B) { benchRebuild(b, events, h, pgreadmodel.Names()) })
	for _, name := range pgreadmodel.Names() {
		b.Run(name, func(b *testing.B) { benchRebuild(b, events, h, []string{name}) })
	}
}

// BenchmarkRebuildSwap measures what `kinerjactl projections rebuild`
// runs, for all seven projections at once ("all") and for each alone:
// StartRebuild (fresh tables),
// the rebuild Sinks applying the synthetic ledger in batches of 5,000 (one
// goroutine each, as in BenchmarkRebuild), then Swap, which builds the
// deferred indexes and swaps the tables in. The clock runs from
// StartRebuild to the last Swap; events/s counts ledger events.
//
//	KINERJA_TEST_POSTGRES_URL=… KINERJA_BENCH_EVENTS=1000000 \
//	  go test -run '^$' -bench RebuildSwap/all -benchtime 1x -timeout 60m ./adapters/pgreadmodel/
func BenchmarkRebuildSwap(b *testing.B) {
	events, h := syntheticEvents(b)
	b.Run("all", func(b *testing.B) { benchRebuildSwap(b, events, h, pgreadmodel.Names()) })
	for _, name := range pgreadmodel.Names() {
		b.Run(name, func(b *testing.B) { benchRebuildSwap(b, events, h, []string{name}) })
	}
}

func benchRebuildSwap(b *testing.B, events []projections.Event, h projections.History, names []string) {
	p := testPool(b)
	var elapsed time.Duration
	cpu := &cpuMeter{}
	for range b.N {
		db, err := pgreadmodel.Open(context.Background(), p, pgreadmodel.Options{Schema: freshSchema(b, p), History: h})
		if err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		cpu.start(b, p)
		start := time.Now()
		var wg sync.WaitGroup
		for _, name := range names {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ctx := context.Background()
				rb, err := db.StartRebuild(ctx, name)
				if err != nil {
					b.Error(err)
					return
				}
				s := rb.Sink()
				f := s.Filter()
				batch := make([]projections.Event, 0, 5000)
				for _, ev := range events {
					if !f.Match(ev.Stream, ev.Type) {
						continue
					}
					if batch = append(batch, ev); len(batch) == cap(batch) {
						if err := s.Apply(ctx, batch...); err != nil {
							b.Error(err)
							return
						}
						batch = batch[:0]
					}
				}
				if err := s.Apply(ctx, batch...); err != nil {
					b.Error(err)
					return
				}
				if err := rb.Swap(ctx); err != nil {
					b.Error(err)
				}
			}()
		}
		wg.Wait()
		elapsed += time.Since(start)
		cpu.stop(b, p)
	}
	b.ReportMetric(float64(len(events)*b.N)/elapsed.Seconds(), "events/s")
	cpu.report(b)
}

func benchRebuild(b *testing.B, events []projections.Event, h projections.History, names []string) {
	p := testPool(b)
	var elapsed time.Duration
	cpu := &cpuMeter{}
	for range b.N {
		db, err := pgreadmodel.Open(context.Background(), p, pgreadmodel.Options{Schema: freshSchema(b, p), History: h})
		if err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		cpu.start(b, p)
		start := time.Now()
		var wg sync.WaitGroup
		for _, name := range names {
			s := db.Sink(name)
			wg.Add(1)
			go func() {
				defer wg.Done()
				f := s.Filter()
				batch := make([]projections.Event, 0, 5000)
				for _, ev := range events {
					if !f.Match(ev.Stream, ev.Type) {
						continue
					}
					if batch = append(batch, ev); len(batch) == cap(batch) {
						if err := s.Apply(context.Background(), batch...); err != nil {
							b.Error(err)
							return
						}
						batch = batch[:0]
					}
				}
				if err := s.Apply(context.Background(), batch...); err != nil {
					b.Error(err)
				}
			}()
		}
		wg.Wait()
		elapsed += time.Since(start)
		cpu.stop(b, p)
	}
	b.ReportMetric(float64(len(events)*b.N)/elapsed.Seconds(), "events/s")
	cpu.report(b)
}

// benchAppName is the application_name of the tests' connections.
const benchAppName = "pgreadmodel_test"

// cpuMeter measures the CPU time of a run on both sides: this process
// (getrusage) and the PostgreSQL server processes of the tests' pool
// (/proc/PID/stat, when the server runs on this machine). On a machine
// shared with other work the wall clock measures the load as much as the
// code; CPU time is what the code costs.
type cpuMeter struct {
	client0 time.Duration
	server0 map[int]time.Duration
	client  time.Duration
	server  time.Duration
	unread  bool // a server process's CPU could not be read
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// serverCPU returns the CPU time of each server process serving the pool
// (nil when they cannot be read).
func serverCPU(b *testing.B, p *pgxpool.Pool) map[int]time.Duration {
	rows, err := p.Query(context.Background(), `SELECT pid FROM pg_stat_activity WHERE application_name = $1`, benchAppName)
	if err != nil {
		b.Fatal(err)
	}
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		b.Fatal(err)
	}
	out := map[int]time.Duration{}
	for _, pid := range pids {
		raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return nil
		}
		// Fields after the command's closing parenthesis: utime and stime
		// are the 12th and 13th, in clock ticks (100 Hz on Linux).
		f := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+1:]))
		ut, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		out[int(pid)] = time.Duration(ut+st) * 10 * time.Millisecond
	}
	return out
}

func (m *cpuMeter) start(b *testing.B, p *pgxpool.Pool) {
	m.client0, m.server0 = processCPU(), serverCPU(b, p)
}

func (m *cpuMeter) stop(b *testing.B, p *pgxpool.Pool) {
	m.client += processCPU() - m.client0
	after := serverCPU(b, p)
	m.unread = m.unread || m.server0 == nil || after == nil
	for pid, t := range after {
		m.server += t - m.server0[pid]
	}
}

func (m *cpuMeter) report(b *testing.B) {
	b.ReportMetric(m.client.Seconds()/float64(b.N), "client-cpu-s")
	if !m.unread {
		b.ReportMetric(m.server.Seconds()/float64(b.N), "server-cpu-s")
	}
}
