package deadlinestore_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"github.com/kinerja-ledger/kinerja/adapters/deadlinestore"
	"github.com/kinerja-ledger/kinerja/domain/policy"
	"github.com/kinerja-ledger/kinerja/projections"
	"github.com/kinerja-ledger/kinerja/projections/deadlines"
	"github.com/kinerja-ledger/kinerja/projections/readmodeltest"
)

var (
	synthOnce sync.Once
	synth     []projections.Event
	synthHist projections.History
)

// syntheticLedger is the read models' benchmark ledger
// (readmodeltest.Synthetic) of KINERJA_BENCH_EVENTS events, or 200,000.
func syntheticLedger(b *testing.B) ([]projections.Event, projections.History) {
	synthOnce.Do(func() {
		n := 200_000
		if s := os.Getenv("KINERJA_BENCH_EVENTS"); s != "" {
			v, err := strconv.Atoi(s)
			if err != nil {
				b.Fatal(err)
			}
			n = v
		}
		synth = readmodeltest.Synthetic(n)
		synthHist = readmodeltest.NewSyntheticHistory(synth)
	})
	return synth, synthHist
}

// BenchmarkCatchUpBolt measures the process manager's catch-up from the
// first event: every SKP event of the synthetic ledger applied to a fresh
// bbolt state in batches of 2,000 (the embedded start-up's batch), the
// items recomputed from the domain's view of each SKP.
func BenchmarkCatchUpBolt(b *testing.B) {
	events, hist := syntheticLedger(b)
	f := deadlines.Filter()
	var mine []projections.Event
	for _, ev := range events {
		if f.Match(ev.Stream, ev.Type) {
			mine = append(mine, ev)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		st, err := deadlinestore.OpenBolt(filepath.Join(b.TempDir(), "d.db"))
		if err != nil {
			b.Fatal(err)
		}
		sink := deadlines.NewSink(st, deadlines.NewProjection(hist, 0, deadlines.DefaultSettings(policy.Default())))
		b.StartTimer()
		for i := 0; i < len(mine); i += 2000 {
			if err := sink.Apply(context.Background(), mine[i:min(i+2000, len(mine))]...); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		st.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(len(mine))*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
