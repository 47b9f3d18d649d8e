package app_test

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/kinerja-ledger/kinerja/adapters/boltstore"
	"github.com/kinerja-ledger/kinerja/adapters/eventlog"
	"github.com/kinerja-ledger/kinerja/adapters/memreadmodel"
	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/distribution"
	"github.com/kinerja-ledger/kinerja/domain/policy"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections"
	"github.com/kinerja-ledger/kinerja/projections/directory"
	"github.com/kinerja-ledger/kinerja/projections/evaluations"
	"github.com/kinerja-ledger/kinerja/projections/readmodeltest"
	"github.com/kinerja-ledger/kinerja/projections/reports"
	"github.com/kinerja-ledger/kinerja/projections/skps"
)

// plainSKPs and plainEvals are the in-memory readers without their Tally:
// the reports read them in full.
type plainSKPs struct{ skpsCounter }

type skpsCounter interface {
	skps.Reader
	skps.Counter
}

type plainEvals struct{ evaluations.Reader }

// tallyInputs returns the reports' inputs over m's rows read in full
// (the readers without their Tally) and from the Tally.
func tallyInputs(m *memreadmodel.Model) (full, inc reports.DistributionInput) {
	full = reports.DistributionInput{Directory: m.Directory(), SKPs: plainSKPs{m.SKPs()}, Evaluations: plainEvals{m.Evaluations()},
		Justifications: m.Directory(), Policy: policy.Default(), Pattern: distribution.SE3_2023}
	inc = full
	inc.SKPs, inc.Evaluations = m.SKPs(), m.Evaluations()
	return full, inc
}

// TestReportsFromTheTallyFollowTheEvents projects the read-model suite's
// journey (agencies, transfers, SKPs cancelled and drafted again,
// amendments, ratings revised, objections decided and withdrawn) event by
// event into the in-memory read models, the reports' Tally built at the
// first event and kept by the read models' commits, and after each event
// holds the progress board and the distribution from the Tally equal to
// the full computation over the same rows, for every unit, year and
// period of the journey; then the same after a Reset of the SKP read
// model and a replay in batches.
func TestReportsFromTheTallyFollowTheEvents(t *testing.T) {
	j := readmodeltest.RunJourney(t, func(tb testing.TB, now func() time.Time) (eventstore.Store, domain.EventLog) {
		s, err := boltstore.Open(filepath.Join(tb.TempDir(), "kinerja.db"), boltstore.Options{Now: now})
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { s.Close() })
		return s, eventlog.New(readmodeltest.LegacyStore(s))
	})
	events := readmodeltest.Events(t, j.Store)
	h := projections.StoreHistory{Store: j.Store}
	ctx := context.Background()

	// What to ask for: every unit, year and period the journey reaches.
	all := memreadmodel.New(memreadmodel.Options{History: h})
	for _, s := range all.Sinks() {
		readmodeltest.ProjectInto(t, s, events, 100)
	}
	units, err := all.Directory().Units(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var years []int
	var periods []string
	var sums []skps.Summary
	for q := (skps.Query{Limit: skps.MaxLimit}); ; {
		page, next, err := all.SKPs().List(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		sums = append(sums, page...)
		if next == "" {
			break
		}
		q.Cursor = next
	}
	for _, s := range sums {
		if !slices.Contains(years, s.Year) {
			years = append(years, s.Year)
		}
		evs, err := all.Evaluations().ForSKP(ctx, s.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			if !slices.Contains(periods, e.Period) {
				periods = append(periods, e.Period)
			}
		}
	}
	years = append(years, 2025) // a year without an SKP: every employee missing
	t.Logf("%d events; %d units, years %v, periods %v", len(events), len(units), years, periods)
	if len(units) < 3 || len(years) == 0 || len(periods) < 2 {
		t.Fatalf("the journey reached %d units, years %v, periods %v", len(units), years, periods)
	}

	m := memreadmodel.New(memreadmodel.Options{History: h})
	tl := m.SKPs().Tally()
	if tl == nil || !tl.On() || m.Evaluations().Tally() != tl {
		t.Fatal("the in-memory SKP and evaluation readers keep no common Tally")
	}
	full, inc := tallyInputs(m)
	compare := func(when string) {
		t.Helper()
		for _, u := range units {
			if _, err := m.Directory().Unit(ctx, u.ID); err != nil {
				continue // not registered yet
			}
			for _, y := range years {
				want, err := reports.Progress(ctx, m.Directory(), full.SKPs, u.ID, y)
				if err != nil {
					t.Fatal(err)
				}
				got, err := reports.Progress(ctx, m.Directory(), inc.SKPs, u.ID, y)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("%s: progress %s %d from the Tally\n%+v\nwant\n%+v", when, u.ID, y, got, want)
				}
			}
			for _, p := range periods {
				want, err := reports.Distribution(ctx, full, u.ID, p)
				if err != nil {
					t.Fatal(err)
				}
				got, err := reports.Distribution(ctx, inc, u.ID, p)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("%s: distribution %s %s from the Tally\n%+v\nwant\n%+v", when, u.ID, p, got, want)
				}
			}
		}
	}
	sinks := []projections.Sink{m.Sink(directory.Name), m.Sink(skps.Name), m.Sink(evaluations.Name)}
	for _, ev := range events {
		for _, s := range sinks {
			if err := s.Apply(ctx, ev); err != nil {
				t.Fatal(err)
			}
		}
		compare(ev.Type + " at " + ev.Stream)
	}
	if !tl.On() {
		t.Fatal("the Tally was turned off by the events")
	}
	// A reset read model turns the Tally off; the next report builds it
	// again from the rows, which a replay then fills in batches.
	if err := m.Sink(skps.Name).Reset(ctx); err != nil {
		t.Fatal(err)
	}
	if tl.On() {
		t.Fatal("a reset of the SKP read model left the Tally on")
	}
	compare("after the reset")
	readmodeltest.ProjectInto(t, m.Sink(skps.Name), events, 7)
	compare("after the replay")

	// Reports read from the Tally while the read models apply (for the
	// race detector: what a report reads of the Tally is its own copy).
	m = memreadmodel.New(memreadmodel.Options{History: h})
	_, inc = tallyInputs(m)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for _, ev := range events {
			for _, name := range []string{directory.Name, skps.Name, evaluations.Name} {
				if err := m.Sink(name).Apply(ctx, ev); err != nil {
					t.Error(err)
					return
				}
			}
		}
	}()
	for reading := true; reading; {
		select {
		case <-done:
			reading = false
		default:
		}
		for _, u := range units {
			if _, err := reports.Progress(ctx, m.Directory(), inc.SKPs, u.ID, years[0]); err != nil && !errors.Is(err, directory.ErrNotFound) {
				t.Fatal(err)
			}
			if _, err := reports.Distribution(ctx, inc, u.ID, periods[0]); err != nil && !errors.Is(err, directory.ErrNotFound) {
				t.Fatal(err)
			}
		}
	}
}
