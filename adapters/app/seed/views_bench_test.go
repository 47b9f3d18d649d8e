package seed_test

import (
	"context"
	"strings"
	"testing"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections"
	"github.com/kinerja-ledger/kinerja/projections/calibration"
	"github.com/kinerja-ledger/kinerja/projections/consequences"
)

// BenchmarkConsequenceAndCalibrationViews measures what the application
// layer does when the store's head has moved and a consequences or
// calibration report is asked for: one read of the unit, employee and SKP
// streams, decoded, folded into the publications and the calibration
// collector, and both reports of the year computed (docs/benchmarks.md §11).
func BenchmarkConsequenceAndCalibrationViews(b *testing.B) {
	e, _ := run(b, config(2000))
	ctx := context.Background()
	tables := consequences.DefaultTables()
	var events int
	b.ResetTimer()
	for b.Loop() {
		fold := consequences.Fold(tables)
		states := map[string]*consequences.State{}
		var pubs []consequences.Publication
		cal := calibration.NewCollector()
		events = 0
		for ev, err := range e.store.ReadAll(ctx, eventstore.ReadAllOptions{Filter: calibration.Filter()}) {
			if err != nil {
				b.Fatal(err)
			}
			pe, err := projections.Decode(ev)
			if err != nil {
				b.Fatal(err)
			}
			events++
			cal.Add(pe)
			if strings.HasPrefix(ev.Stream, domain.SKPStreamPrefix) {
				st := fold(states[ev.Stream], pe)
				states[ev.Stream] = st
				pubs = append(pubs, st.Published()...)
			}
		}
		reg := consequences.BuildRegister(pubs, "2025", "", nil)
		rep := cal.Report("2025", calibration.Options{})
		if len(reg.Current) == 0 || len(rep.Appraisers) == 0 {
			b.Fatal("empty views")
		}
	}
	b.ReportMetric(float64(events), "events")
}
