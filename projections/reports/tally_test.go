package reports

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"reflect"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/kinerja-ledger/kinerja/domain/distribution"
	"github.com/kinerja-ledger/kinerja/domain/policy"
	"github.com/kinerja-ledger/kinerja/projections/directory"
	"github.com/kinerja-ledger/kinerja/projections/evaluations"
	"github.com/kinerja-ledger/kinerja/projections/skps"
)

// rowModel is a read model of plain rows: the reference the full
// computation reads.
type rowModel struct {
	directory.Reader // the methods the reports do not call
	units            []directory.Unit
	emps             map[string]directory.Employee
	sums             map[string]skps.Summary
	evals            map[[2]string]evaluations.Evaluation
}

func (m *rowModel) Units(context.Context) ([]directory.Unit, error) {
	return slices.Clone(m.units), nil
}
func (m *rowModel) Unit(_ context.Context, id string) (directory.Unit, error) {
	for _, u := range m.units {
		if u.ID == id {
			return u, nil
		}
	}
	return directory.Unit{}, directory.ErrNotFound
}
func (m *rowModel) Subtree(_ context.Context, id string) ([]string, error) {
	return directory.SubtreeOf(m.units, id)
}
func (m *rowModel) EmployeesIn(_ context.Context, units []string) ([]directory.Employee, error) {
	var out []directory.Employee
	for _, e := range m.emps {
		if slices.Contains(units, e.UnitID) {
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b directory.Employee) int { return cmpStr(a.NIP, b.NIP) })
	return out, nil
}

func cmpStr(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// skpRows is the SKP reader of a rowModel (ForYear; Progress pages
// through List when the reader is no skps.Counter).
type skpRows struct {
	skps.Reader
	m *rowModel
}

func (r skpRows) ForYear(_ context.Context, units []string, year int) ([]skps.Summary, error) {
	var out []skps.Summary
	for _, s := range r.m.sums {
		if s.Year == year && slices.Contains(units, s.UnitID) {
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(a, b skps.Summary) int { return cmpStr(a.ID, b.ID) })
	return out, nil
}

func (r skpRows) List(ctx context.Context, q skps.Query) ([]skps.Summary, string, error) {
	var out []skps.Summary
	for _, s := range r.m.sums {
		if s.Year == q.Year {
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(a, b skps.Summary) int { return cmpStr(a.ID, b.ID) })
	return out, "", nil
}

type evalRows struct {
	evaluations.Reader
	m *rowModel
}

func (r evalRows) ForPeriod(_ context.Context, units []string, per string) ([]evaluations.Evaluation, error) {
	var out []evaluations.Evaluation
	for _, e := range r.m.evals {
		if e.Period == per && slices.Contains(units, e.UnitID) {
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b evaluations.Evaluation) int { return cmpStr(a.SKPID, b.SKPID) })
	return out, nil
}

// talliedSKPs and talliedEvals are the same readers keeping a Tally.
type talliedSKPs struct {
	skpRows
	t *Tally
}

func (r talliedSKPs) Tally() *Tally { return r.t }

type talliedEvals struct {
	evalRows
	t *Tally
}

func (r talliedEvals) Tally() *Tally { return r.t }

// TestTallyEqualsTheFullComputation applies random sequences of row
// changes — employees registered and transferred between units and
// agencies, SKPs drafted, moving through their states, cancelled (and
// rows arriving before or after their SKP's), evaluations rated,
// corrected, their predikat withdrawn, two SKPs of one employee in a
// year — to a read model of rows and to a Tally kept from the same
// changes, and after every change holds the progress board and the
// distribution from the Tally equal to the full computation, for every
// unit, year and period. A Tally built from the rows at any point equals
// the one kept since.
func TestTallyEqualsTheFullComputation(t *testing.T) {
	ctx := context.Background()
	units := []directory.Unit{
		{ID: "A", Name: "A", ParentID: "ROOT"}, {ID: "A1", Name: "A1", ParentID: "A"}, {ID: "A2", Name: "A2", ParentID: "A"},
		{ID: "B", Name: "B", ParentID: "ROOT"}, {ID: "B1", Name: "B1", ParentID: "B"},
		{ID: "OTHER", Name: "another agency"}, {ID: "O1", Name: "O1", ParentID: "OTHER"},
		{ID: "ROOT", Name: "root", Performance: map[string]string{"2026": "BAIK", "2026-Q1": "ISTIMEWA"}},
	}
	ids := []string{"ROOT", "A", "A1", "A2", "B", "B1", "OTHER", "O1"}
	years := []int{2025, 2026}
	periods := []string{"2026", "2026-Q1", "2025"}
	predikats := []string{"", "SANGAT_BAIK", "BAIK", "BUTUH_PERBAIKAN", "KURANG_MISCONDUCT", "SANGAT_KURANG"}
	for seed := range uint64(12) {
		rng := rand.New(rand.NewPCG(seed, 15))
		m := &rowModel{units: units, emps: map[string]directory.Employee{}, sums: map[string]skps.Summary{}, evals: map[[2]string]evaluations.Evaluation{}}
		tl := &Tally{}
		full := DistributionInput{Directory: m, SKPs: skpRows{m: m}, Evaluations: evalRows{m: m}, Policy: policy.Default(), Pattern: distribution.SE3_2023}
		inc := full
		inc.SKPs, inc.Evaluations = talliedSKPs{skpRows{m: m}, tl}, talliedEvals{evalRows{m: m}, tl}
		// The Tally is built from the rows after a few changes (the first
		// report), then kept by the hooks.
		buildAt := rng.IntN(20)
		nip := func() string { return fmt.Sprintf("N%02d", rng.IntN(14)) }
		pick := func(xs []string) string { return xs[rng.IntN(len(xs))] }
		// An SKP's employee, unit and year never change, and its
		// evaluations are of its unit (the projections derive both from
		// the SKP's stream): fixed per SKP id.
		type owner struct {
			nip, unit string
			year      int
		}
		owners := map[string]owner{}
		for i := range 26 {
			owners[fmt.Sprintf("S%02d", i)] = owner{nip(), pick(ids), years[rng.IntN(2)]}
		}
		for step := range 160 {
			if step == buildAt {
				tl.Build(maps.Values(m.emps), maps.Values(m.sums), maps.Values(m.evals))
			}
			var what string
			switch op := rng.IntN(10); {
			case op < 2: // register or transfer an employee (to any unit: another agency's too)
				e := directory.Employee{NIP: nip(), UnitID: pick(ids)}
				m.emps[e.NIP] = e
				tl.Employee(e)
				what = "employee " + e.NIP + " in " + e.UnitID
			case op < 5: // draft an SKP, or change one's state
				id := fmt.Sprintf("S%02d", rng.IntN(24))
				s, ok := m.sums[id]
				if !ok {
					o := owners[id]
					s = skps.Summary{ID: id, NIP: o.nip, UnitID: o.unit, Year: o.year}
				}
				s.Status = pick(Statuses())
				s.Late = rng.IntN(3) == 0
				m.sums[id] = s
				tl.SKP(s)
				what = fmt.Sprintf("skp %s %s %s %d %s late=%v", id, s.NIP, s.UnitID, s.Year, s.Status, s.Late)
			default: // rate, correct or withdraw an evaluation (of an SKP, or one not projected yet)
				skpID := fmt.Sprintf("S%02d", rng.IntN(26))
				per := pick(periods)
				e, ok := m.evals[[2]string{skpID, per}]
				if !ok {
					o := owners[skpID]
					e = evaluations.Evaluation{SKPID: skpID, Period: per, NIP: o.nip, UnitID: o.unit}
				}
				e.Predikat = pick(predikats)
				e.RatedAt = time.Date(2026, 1, 1+rng.IntN(4), 0, 0, 0, 0, time.UTC)
				m.evals[[2]string{skpID, per}] = e
				tl.Evaluation(e)
				what = fmt.Sprintf("evaluation %s %s %s %s %s", skpID, per, e.NIP, e.UnitID, e.Predikat)
			}
			if step < buildAt {
				continue
			}
			for _, u := range ids {
				for _, y := range years {
					want, err := Progress(ctx, m, full.SKPs, u, y)
					if err != nil {
						t.Fatal(err)
					}
					got, err := Progress(ctx, m, inc.SKPs, u, y)
					if err != nil {
						t.Fatal(err)
					}
					if !reflect.DeepEqual(got, want) {
						t.Fatalf("seed %d step %d (%s): progress %s %d from the Tally\n%+v\nwant\n%+v", seed, step, what, u, y, got, want)
					}
				}
				for _, p := range periods {
					want, err := Distribution(ctx, full, u, p)
					if err != nil {
						t.Fatal(err)
					}
					got, err := Distribution(ctx, inc, u, p)
					if err != nil {
						t.Fatal(err)
					}
					if !reflect.DeepEqual(got, want) {
						t.Fatalf("seed %d step %d (%s): distribution %s %s from the Tally\n%+v\nwant\n%+v", seed, step, what, u, p, got, want)
					}
				}
			}
			if step%40 == 39 {
				fresh := &Tally{}
				fresh.Build(maps.Values(m.emps), maps.Values(m.sums), maps.Values(m.evals))
				for _, y := range years { // the years kept by the one kept
					fresh.progress(nil, y, nil)
				}
				tl.mu.Lock()
				same := reflect.DeepEqual(fresh.counted(), tl.counted())
				tl.mu.Unlock()
				if !same {
					t.Fatalf("seed %d step %d: a Tally built from the rows differs from the one kept", seed, step)
				}
			}
		}
	}
}

// counted is what a Tally counts, without what it keeps to get there
// (emptied maps it leaves behind are not compared).
func (t *Tally) counted() any {
	type out struct {
		EmpCount map[string]int
		Skp      map[string]map[string]int
		Late     map[string]int
		Covered  map[yearNIP]int
		Missing  map[string]int
		Dist     map[unitPeriod]map[string]int
		Multi    map[string]int
	}
	o := out{EmpCount: t.empCount, Skp: map[string]map[string]int{}, Late: map[string]int{}, Covered: t.covered, Missing: map[string]int{},
		Dist: t.dist, Multi: map[string]int{}}
	for k, c := range t.skpCounts {
		key := fmt.Sprint(k)
		for st, n := range c.byStatus {
			if n != 0 {
				if o.Skp[key] == nil {
					o.Skp[key] = map[string]int{}
				}
				o.Skp[key][st] = n
			}
		}
		if c.late != 0 {
			o.Late[key] = c.late
		}
	}
	for y, us := range t.missing {
		for u, nips := range us {
			if len(nips) > 0 {
				o.Missing[fmt.Sprint(y, u)] = len(nips)
			}
		}
	}
	for p, nips := range t.multi {
		if len(nips) > 0 {
			o.Multi[p] = len(nips)
		}
	}
	return o
}

// TestTallyKeepsTheMissingOfAFewYears: a reader asking for the boards of
// every year the API accepts (2000-2100) leaves the Tally with the missing
// employees of the last tallyYearsKept years only (it kept a set over every
// employee for each, and visited each on every change: review finding),
// and a board of a year let go, asked for again after changes, is computed
// again and equals the full computation.
func TestTallyKeepsTheMissingOfAFewYears(t *testing.T) {
	ctx := context.Background()
	units := []directory.Unit{{ID: "ROOT", Name: "root"}, {ID: "A", Name: "A", ParentID: "ROOT"}}
	m := &rowModel{units: units, emps: map[string]directory.Employee{}, sums: map[string]skps.Summary{}, evals: map[[2]string]evaluations.Evaluation{}}
	for i := range 6 {
		e := directory.Employee{NIP: fmt.Sprintf("N%d", i), UnitID: []string{"ROOT", "A"}[i%2]}
		m.emps[e.NIP] = e
	}
	for i, y := range []int{2000, 2026, 2100} {
		s := skps.Summary{ID: fmt.Sprintf("S%d", i), NIP: fmt.Sprintf("N%d", i), UnitID: m.emps[fmt.Sprintf("N%d", i)].UnitID, Year: y, Status: "ESTABLISHED"}
		m.sums[s.ID] = s
	}
	tl := &Tally{}
	tl.Build(maps.Values(m.emps), maps.Values(m.sums), maps.Values(m.evals))
	full, inc := skpRows{m: m}, talliedSKPs{skpRows{m: m}, tl}
	same := func(y int) {
		t.Helper()
		want, err := Progress(ctx, m, full, "ROOT", y)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Progress(ctx, m, inc, "ROOT", y)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("progress %d from the Tally\n%+v\nwant\n%+v", y, got, want)
		}
	}
	for y := 2000; y <= 2100; y++ {
		same(y)
	}
	same(2098) // asked again: the latest, 2097 the least lately
	tl.mu.Lock()
	kept := slices.Sorted(maps.Keys(tl.missing))
	tl.mu.Unlock()
	if want := []int{2098, 2099, 2100}; len(kept) != tallyYearsKept || !slices.Equal(kept[1:], want) || kept[0] != 2097 {
		t.Fatalf("after boards of 101 years the Tally keeps the missing of %d years (%v), want the %d asked for last: 2097 %v", len(kept), kept, tallyYearsKept, want)
	}
	// Changes while 2000 is not kept: its board computed again is right.
	m.emps["N1"] = directory.Employee{NIP: "N1", UnitID: "ROOT"}
	tl.Employee(m.emps["N1"])
	s := skps.Summary{ID: "S9", NIP: "N3", UnitID: "A", Year: 2000, Status: "DRAFT"}
	m.sums[s.ID] = s
	tl.SKP(s)
	same(2000)
	same(2100)
}

// TestTallyOffIsTheFullComputation: a Tally that was never built (or was
// reset) answers nothing, and the reports compute in full.
func TestTallyOffIsTheFullComputation(t *testing.T) {
	tl := &Tally{}
	tl.SKP(skps.Summary{ID: "S", NIP: "N", UnitID: "A", Year: 2026, Status: "DRAFT"})
	if ok := tl.progress([]string{"A"}, 2026, func(string, int, int, map[string]int, map[string]struct{}) {}); ok || tl.On() {
		t.Fatal("a Tally never built answered")
	}
	tl.Build(maps.Values(map[int]directory.Employee{}), maps.Values(map[int]skps.Summary{}), maps.Values(map[int]evaluations.Evaluation{}))
	tl.Reset()
	if _, _, ok := tl.population([]string{"A"}, "2026"); ok {
		t.Fatal("a reset Tally answered")
	}
}

// BenchmarkReportsFromTheTallyAtAProvince prices the progress board and the
// distribution at the root of a province-sized tree read from a Tally: 100,000
// employees in 10,000 units (five levels), an SKP each (one in ten still a
// draft, one in fifty cancelled), an annual evaluation each (one in a
// hundred employees with a second, moved during the year). The directory is
// rows in memory (what the in-memory read model's Units and Subtree copy is
// not counted):
//
//	go test -run '^$' -bench ReportsFromTheTally -benchmem ./projections/reports
func BenchmarkReportsFromTheTallyAtAProvince(b *testing.B) {
	const nUnits, nEmps = 10000, 100000
	m := &rowModel{emps: map[string]directory.Employee{}, sums: map[string]skps.Summary{}, evals: map[[2]string]evaluations.Evaluation{}}
	m.units = append(m.units, directory.Unit{ID: "U00000", Name: "province", Performance: map[string]string{"2026": "BAIK"}})
	for i := 1; i < nUnits; i++ {
		m.units = append(m.units, directory.Unit{ID: fmt.Sprintf("U%05d", i), Name: "unit", ParentID: fmt.Sprintf("U%05d", (i-1)/10)})
	}
	preds := []string{"SANGAT_BAIK", "BAIK", "BAIK", "BAIK", "BUTUH_PERBAIKAN"}
	for i := range nEmps {
		nip := fmt.Sprintf("N%06d", i)
		unit := fmt.Sprintf("U%05d", i%nUnits)
		m.emps[nip] = directory.Employee{NIP: nip, UnitID: unit}
		st := "ESTABLISHED"
		switch {
		case i%50 == 0:
			st = "CANCELLED"
		case i%10 == 0:
			st = "DRAFT"
		}
		id := fmt.Sprintf("S%06d", i)
		m.sums[id] = skps.Summary{ID: id, NIP: nip, UnitID: unit, Year: 2026, Status: st, Late: i%7 == 0}
		m.evals[[2]string{id, "2026"}] = evaluations.Evaluation{SKPID: id, NIP: nip, UnitID: unit, Period: "2026", Predikat: preds[i%5],
			RatedAt: time.Date(2026, 12, 1+i%20, 0, 0, 0, 0, time.UTC)}
		if i%100 == 1 {
			id2 := id + "b"
			other := fmt.Sprintf("U%05d", (i+1)%nUnits)
			m.sums[id2] = skps.Summary{ID: id2, NIP: nip, UnitID: other, Year: 2026, Status: "ESTABLISHED"}
			m.evals[[2]string{id2, "2026"}] = evaluations.Evaluation{SKPID: id2, NIP: nip, UnitID: other, Period: "2026", Predikat: preds[(i+1)%5],
				RatedAt: time.Date(2026, 12, 2+i%20, 0, 0, 0, 0, time.UTC)}
		}
	}
	tl := &Tally{}
	tl.Build(maps.Values(m.emps), maps.Values(m.sums), maps.Values(m.evals))
	in := DistributionInput{Directory: m, SKPs: talliedSKPs{skpRows{m: m}, tl}, Evaluations: talliedEvals{evalRows{m: m}, tl},
		Policy: policy.Default(), Pattern: distribution.SE3_2023}
	ctx := context.Background()
	b.Run("progress", func(b *testing.B) {
		c0 := cpuSeconds()
		for b.Loop() {
			if _, err := Progress(ctx, m, in.SKPs, "U00000", 2026); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric((cpuSeconds()-c0)*1000/float64(b.N), "cpu-ms/op")
	})
	b.Run("distribution", func(b *testing.B) {
		c0 := cpuSeconds()
		for b.Loop() {
			if _, err := Distribution(ctx, in, "U00000", "2026"); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric((cpuSeconds()-c0)*1000/float64(b.N), "cpu-ms/op")
	})
	b.Run("write", func(b *testing.B) { // one SKP's change applied to the Tally
		s := m.sums["S000003"]
		for i := 0; b.Loop(); i++ {
			s.Status = []string{"ESTABLISHED", "CANCELLED"}[i%2]
			tl.SKP(s)
		}
	})
}

// cpuSeconds is the process's CPU time (user and system), which the load
// of a shared machine does not inflate as it does wall time.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}
