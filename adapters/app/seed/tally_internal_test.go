package seed

import (
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/distribution"
	"github.com/kinerja-ledger/kinerja/domain/policy"
	"github.com/kinerja-ledger/kinerja/domain/rating"
)

// naiveCounts is the count of u's population as it was made before the
// tally: every person looked at for every unit.
func (r *runner) naiveCounts(u *unit) distribution.Counts {
	c := distribution.Counts{}
	for _, p := range r.ag.people {
		res := &r.results[p.idx]
		if !res.rated {
			continue
		}
		in := false
		if r.svc.Distribution.Policy.DistributionPopulation == policy.AppraiserInUnit {
			in = r.ag.people[p.appraiser].unit == u.idx
		} else {
			for x := p.unit; x >= 0 && !in; x = r.ag.units[x].parent {
				in = x == u.idx
			}
		}
		if in {
			c[res.annual.Predikat]++
		}
	}
	return c
}

// TestTallyCountsEachUnitsPopulation: the one-pass tally of the units'
// annual predikat gives every unit the counts of a look at every person
// (the unit and those below it, or, under AppraiserInUnit, the staff of
// appraisers in the unit), under both definitions of the population.
func TestTallyCountsEachUnitsPopulation(t *testing.T) {
	preds := []rating.Predikat{rating.SangatBaik, rating.Baik, rating.Baik, rating.ButuhPerbaikan, rating.SangatKurang}
	for _, pop := range []policy.Population{policy.UnitAndSubunits, policy.AppraiserInUnit} {
		pol := policy.Default()
		pol.DistributionPopulation = pop
		h := &domain.Handler{Log: &countingLog{streams: map[string][]domain.Stored{}, loads: map[string]int{}}, Now: func() time.Time { return testNow }}
		r := newRunner(Config{Employees: 600, Seed: 3, Year: 2025}.withDefaults(pol), NewServices(h, pol))
		for i, p := range r.ag.people {
			if i%7 == 3 || p.appraiser < 0 {
				continue
			}
			r.results[i].rated = true
			r.results[i].annual.Predikat = preds[i%len(preds)]
		}
		nonEmpty := 0
		for _, u := range r.ag.units {
			want := r.naiveCounts(u)
			if diff := cmp.Diff(want, r.counts(u)); diff != "" {
				t.Fatalf("population %q, unit %s: (-look at everyone +tally)\n%s", pol.DistributionPopulation, u.id, diff)
			}
			if len(want) > 0 {
				nonEmpty++
			}
		}
		if nonEmpty < 2 {
			t.Fatalf("population %q: %d units with a population: the test compares nothing", pol.DistributionPopulation, nonEmpty)
		}
	}
}

// BenchmarkUnitCounts measures the counts of every unit's population at
// SEED_BENCH_EMPLOYEES (default 20,000): "naive" looks at every person
// for every unit (as before the tally), "tally" counts in one pass.
//
//	SEED_BENCH_EMPLOYEES=100000 go test -run '^$' -bench UnitCounts -benchtime 1x ./adapters/app/seed/
func BenchmarkUnitCounts(b *testing.B) {
	n := 20_000
	if v, err := strconv.Atoi(os.Getenv("SEED_BENCH_EMPLOYEES")); err == nil && v > 0 {
		n = v
	}
	pol := policy.Default()
	h := &domain.Handler{Log: &countingLog{streams: map[string][]domain.Stored{}, loads: map[string]int{}}, Now: func() time.Time { return testNow }}
	r := newRunner(Config{Employees: n, Seed: 1, Year: 2025}.withDefaults(pol), NewServices(h, pol))
	for i, p := range r.ag.people {
		if p.appraiser >= 0 {
			r.results[i].rated = true
			r.results[i].annual.Predikat = rating.Baik
		}
	}
	b.Logf("%d employees, %d units", len(r.ag.people), len(r.ag.units))
	b.Run("naive", func(b *testing.B) {
		for b.Loop() {
			for _, u := range r.ag.units {
				r.naiveCounts(u)
			}
		}
	})
	b.Run("tally", func(b *testing.B) {
		for b.Loop() {
			r.tallyOnce = sync.Once{}
			for _, u := range r.ag.units {
				r.counts(u)
			}
		}
	})
}
