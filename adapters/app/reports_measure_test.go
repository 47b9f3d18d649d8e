package app_test

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kinerja-ledger/kinerja/adapters/internal/cpusample"
	"github.com/kinerja-ledger/kinerja/adapters/memreadmodel"
	"github.com/kinerja-ledger/kinerja/domain/distribution"
	"github.com/kinerja-ledger/kinerja/domain/policy"
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
// read models: the CPU of each of three computations (cpusample.Self; the
// process does nothing else meanwhile). What every reader of a report waits
// for after a write moves its projections. A measurement aid for
// docs/benchmarks.md, skipped unless the variable is set:
//
//	KINERJA_REPORTS_EMPLOYEES=2000,20000 go test -count=1 -v -run TestReportsComputeMeasure ./adapters/app
func TestReportsComputeMeasure(t *testing.T) {
	sizes := os.Getenv("KINERJA_REPORTS_EMPLOYEES")
	if sizes == "" {
		t.Skip("KINERJA_REPORTS_EMPLOYEES is not set")
	}
	ctx := context.Background()
	for _, s := range strings.Split(sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n <= 0 {
			t.Fatalf("KINERJA_REPORTS_EMPLOYEES: %q", s)
		}
		events := readmodeltest.Synthetic(n * 62)
		m := memreadmodel.New(memreadmodel.Options{History: readmodeltest.NewSyntheticHistory(events)})
		c0, t0 := cpusample.Self(), time.Now()
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
		t.Logf("%d employees: %d events applied in %.1f s (CPU %.1f s)", n, len(events), time.Since(t0).Seconds(), cpusample.Self()-c0)
		events = nil
		in := reports.DistributionInput{Directory: m.Directory(), SKPs: m.SKPs(), Evaluations: m.Evaluations(), Justifications: m.Directory(),
			Policy: policy.Default(), Pattern: distribution.SE3_2023}
		for i := range 3 {
			c1, t1 := cpusample.Self(), time.Now()
			p, err := reports.Progress(ctx, m.Directory(), m.SKPs(), "ROOT", 2026)
			if err != nil {
				t.Fatal(err)
			}
			pc, pw := cpusample.Self()-c1, time.Since(t1)
			c1, t1 = cpusample.Self(), time.Now()
			d, err := reports.Distribution(ctx, in, "ROOT", "2026")
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%d employees, computation %d: progress CPU %.1f ms (wall %.1f; %d units, %d SKPs, %d employees); distribution CPU %.1f ms (wall %.1f; population %d)",
				n, i+1, (pc)*1000, float64(pw.Microseconds())/1000, len(p.Units), p.Total.SKPs, p.Total.Employees,
				(cpusample.Self()-c1)*1000, float64(time.Since(t1).Microseconds())/1000, d.Population)
		}
	}
}
