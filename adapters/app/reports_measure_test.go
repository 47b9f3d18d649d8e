package app_test

import (
	"context"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/kinerja-ledger/kinerja/adapters/app"
	"github.com/kinerja-ledger/kinerja/adapters/memreadmodel"
	"github.com/kinerja-ledger/kinerja/projections"
	"github.com/kinerja-ledger/kinerja/projections/directory"
	"github.com/kinerja-ledger/kinerja/projections/evaluations"
	"github.com/kinerja-ledger/kinerja/projections/readmodeltest"
	"github.com/kinerja-ledger/kinerja/projections/reports"
	"github.com/kinerja-ledger/kinerja/projections/skps"
)

// TestReportsComputeMeasure prices a computed (not kept) progress board and
// distribution at the root of the synthetic agency (readmodeltest.Synthetic:
// 62 events an employee under 40 units) of each size of
// KINERJA_REPORTS_EMPLOYEES (a comma-separated list), over the in-memory
// read models: the CPU of each of three computations in full (the readers
// without their Tally: what every reader of a report waited for after a
// write moved its projections), the Tally's build (the first report), and
// three computations from the Tally (what a reader waits for after a write
// now), the two answers checked equal. A measurement aid for
// docs/benchmarks.md:
//
//	KINERJA_REPORTS_EMPLOYEES=2000,20000 go test -count=1 -v -run TestReportsComputeMeasure ./adapters/app
func TestReportsComputeMeasure(t *testing.T) {
	sizes := app.MeasureEnv(t, "KINERJA_REPORTS_EMPLOYEES")
	ctx := context.Background()
	for _, s := range strings.Split(sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n <= 0 {
			t.Fatalf("KINERJA_REPORTS_EMPLOYEES: %q", s)
		}
		events := readmodeltest.Synthetic(n * 62)
		m := memreadmodel.New(memreadmodel.Options{History: readmodeltest.NewSyntheticHistory(events)})
		wall, cpu := app.Measure(func() {
			for _, name := range []string{directory.Name, skps.Name, evaluations.Name} {
				sink := m.Sink(name)
				f := sink.Filter()
				var batch []projections.Event
				for _, ev := range events {
					if f.Match(ev.Stream, ev.Type) {
						batch = append(batch, ev)
					}
				}
				if err := sink.Apply(ctx, batch...); err != nil {
					t.Fatal(err)
				}
			}
		})
		t.Logf("%d employees: %d events applied in %.1f s (CPU %.1f s)", n, len(events), wall.Seconds(), cpu)
		events = nil
		full, inc := tallyInputs(m)
		var p [2]reports.ProgressReport
		var d [2]reports.DistributionReport
		for i, in := range []reports.DistributionInput{full, inc} {
			how := "in full"
			if i == 1 {
				how = "from the Tally"
				h0 := liveHeap()
				wall, cpu := app.Measure(func() { m.SKPs().Tally() })
				t.Logf("%d employees: the Tally built in %.1f ms (CPU %.1f ms); live heap %.1f → %.1f MB", n, float64(wall.Microseconds())/1000, cpu*1000,
					h0, liveHeap())
			}
			for j := range 3 {
				pw, pc := app.Measure(func() {
					if p[i], err = reports.Progress(ctx, in.Directory, in.SKPs, "ROOT", 2026); err != nil {
						t.Fatal(err)
					}
				})
				dw, dc := app.Measure(func() {
					if d[i], err = reports.Distribution(ctx, in, "ROOT", "2026"); err != nil {
						t.Fatal(err)
					}
				})
				t.Logf("%d employees, %s, computation %d: progress CPU %.2f ms (wall %.2f; %d units, %d SKPs, %d employees); distribution CPU %.2f ms (wall %.2f; population %d)",
					n, how, j+1, pc*1000, float64(pw.Microseconds())/1000, len(p[i].Units), p[i].Total.SKPs, p[i].Total.Employees,
					dc*1000, float64(dw.Microseconds())/1000, d[i].Population)
			}
		}
		if !reflect.DeepEqual(p[0], p[1]) || !reflect.DeepEqual(d[0], d[1]) {
			t.Errorf("%d employees: the reports from the Tally differ from the full computation", n)
		}
	}
}

// liveHeap is the live heap in MB after a collection.
func liveHeap() float64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return float64(ms.HeapAlloc) / 1e6
}
