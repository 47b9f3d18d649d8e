package deadlinestore_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/kinerja-ledger/kinerja/adapters/deadlinestore"
	"github.com/kinerja-ledger/kinerja/domain/policy"
	"github.com/kinerja-ledger/kinerja/eventstore"
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

// BenchmarkDueBolt measures the scheduler's tick read: Due over a store of
// KINERJA_BENCH_ITEMS items (100,000 unless set: 25,000 SKPs of 4 items,
// a province's order), 50 of them due.
func BenchmarkDueBolt(b *testing.B) {
	n := 100_000
	if s := os.Getenv("KINERJA_BENCH_ITEMS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil {
			b.Fatal(err)
		}
		n = v
	}
	ctx := context.Background()
	st, err := deadlinestore.OpenBolt(filepath.Join(b.TempDir(), "d.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	now := time.Date(2026, 4, 10, 9, 0, 0, 0, time.UTC)
	for lo := 0; lo < n/4; lo += 5000 {
		err := st.Update(ctx, eventstore.Position(lo+1), func(s deadlines.Store) error {
			for i := lo; i < min(lo+5000, n/4); i++ {
				skp := fmt.Sprintf("skp-%06d", i)
				var items []deadlines.Item
				for q := range 4 {
					at := now.Add(time.Duration(24*(30+q)) * time.Hour)
					if i%500 == 0 && q == 0 {
						at = now.Add(-time.Duration(i) * time.Second)
					}
					items = append(items, deadlines.Item{Key: fmt.Sprintf("RATE_PERIOD/%s/Q%d", skp, q+1), Kind: deadlines.RatePeriod, SKPID: skp,
						NIP: "nip-" + skp, Name: "Pegawai " + skp, UnitID: "DINKES", Year: 2026, Period: fmt.Sprintf("Q%d", q+1),
						Recipient: "nip-" + skp, RecipientRole: "APPRAISER", From: at.Add(-72 * time.Hour), Due: at.Add(24 * time.Hour), FireAt: at})
				}
				if err := s.ReplaceItems(ctx, skp, items); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		due, err := st.Due(ctx, now, 100)
		if err != nil || len(due) != n/4/500 {
			b.Fatalf("Due = %d items, %v", len(due), err)
		}
	}
}
