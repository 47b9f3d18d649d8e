package main

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections"
)

// kinerja_projections_shared_history_mismatched_reads_total follows
// SharedHistory.MismatchedReads: 0 at first, one more for every offered
// read whose events and payloads differ in count (none for a read that
// matches, even an empty one).
func TestMismatchedReadsMetric(t *testing.T) {
	h := projections.NewSharedHistory(projections.StoreHistory{}, 0)
	reg := prometheus.NewRegistry()
	reg.MustRegister(mismatchedReadsMetric(h))
	const name = "kinerja_projections_shared_history_mismatched_reads_total"
	want := func(n float64) {
		t.Helper()
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() == name && mf.GetType().String() == "COUNTER" && len(mf.GetMetric()) == 1 {
				if got := mf.GetMetric()[0].GetCounter().GetValue(); got != n {
					t.Errorf("%s = %v, want %v", name, got, n)
				}
				return
			}
		}
		t.Errorf("no counter %s in %v", name, mfs)
	}
	want(0)
	ev := eventstore.Event{Stream: "employee-199001012015031001", Revision: 0}
	h.OfferRead(ev.Stream, []eventstore.Event{ev}, nil)
	want(1)
	h.OfferRead(ev.Stream, nil, []domain.Event{nil, nil})
	want(2)
	h.OfferRead(ev.Stream, nil, nil)
	want(2)
}
