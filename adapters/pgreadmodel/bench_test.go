package pgreadmodel_test

import (
	"context"
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

func benchRebuild(b *testing.B, events []projections.Event, h projections.History, names []string) {
	p := testPool(b)
	var elapsed time.Duration
	for range b.N {
		db, err := pgreadmodel.Open(context.Background(), p, pgreadmodel.Options{Schema: freshSchema(b, p), History: h})
		if err != nil {
			b.Fatal(err)
		}
		runtime.GC()
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
	}
	b.ReportMetric(float64(len(events)*b.N)/elapsed.Seconds(), "events/s")
}
