package reports

import (
	"iter"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kinerja-ledger/kinerja/domain/period"
	"github.com/kinerja-ledger/kinerja/domain/skp"
	"github.com/kinerja-ledger/kinerja/projections/directory"
	"github.com/kinerja-ledger/kinerja/projections/evaluations"
	"github.com/kinerja-ledger/kinerja/projections/skps"
)

// Tally is the incremental read model of the progress board and the
// distribution: per unit, its employees; per unit and year, its SKPs by
// status and the late ones, and (for the few years whose boards were asked
// for last, tallyYearsKept) its employees without an SKP of the year; per
// unit and period, the predikat counts of the employees whose one
// evaluation in effect is there. A read
// model keeps it up to date as its rows change (Employee, SKP, Evaluation,
// under the read model's own write lock, so the Tally moves with the rows
// it counts), and Progress and Distribution read it when their readers
// offer one (Tallier): a report at a province's root then costs O(units)
// (plus the missing NIPs it lists), not O(employees + SKPs + evaluations).
//
// It answers exactly what the full computation does over the same rows
// (TestTallyEqualsTheFullComputation holds the two equal after every change
// of a random sequence). It keeps a compact copy of what it counts (unit,
// year, status, NIP of each SKP; unit, NIP, predikat and rating time of
// each evaluation), so that a change is applied from the old row's
// contribution, never by a scan.
//
// A Tally starts off: the hooks do nothing until Build fills it from the
// read model's rows (the first report asked for), so a start-up's rebuild
// pays nothing for it; Reset turns it off again. Safe for concurrent use.
type Tally struct {
	mu sync.Mutex
	on atomic.Bool // changed under mu; read without it by the hooks of a Tally that is off

	emps     map[string]string // NIP → unit
	empCount map[string]int    // unit → employees

	skps      map[string]tallySKP
	skpCounts map[unitYear]*yearCounts
	covered   map[yearNIP]int // SKPs of the year, not cancelled, of the NIP (any unit)
	// missing[year][unit] are the unit's employees without an SKP of year
	// that is not cancelled: kept for the tallyYearsKept years whose
	// boards were asked for last (missingYears, the latest last).
	missing      map[int]map[string]map[string]struct{}
	missingYears []int

	evals    map[evalKey]*tallyEval
	skpEvals map[string][]evalKey // SKP id → its evaluations
	years    map[string]int       // period → its year (0 when it does not parse)
	// cands[period, NIP] are the NIP's evaluations of the period that count
	// (rated, of an SKP that is not cancelled), by SKP id. A NIP with one
	// is counted in dist at its unit; one with more is in multi and
	// decided when a report is read (the latest rated within the subtree).
	cands map[periodNIP][]evalKey
	dist  map[unitPeriod]map[string]int
	multi map[string]map[string]struct{} // period → NIPs with more than one
}

type unitYear struct {
	unit string
	year int
}

type yearNIP struct {
	year int
	nip  string
}

type evalKey struct{ skp, period string }

type periodNIP struct{ period, nip string }

type unitPeriod struct{ unit, period string }

type yearCounts struct {
	byStatus map[string]int
	late     int // of the SKPs that are not cancelled
}

type tallySKP struct {
	nip, unit, status string
	year              int
	late              bool
}

type tallyEval struct {
	nip, unit, predikat string
	rated               time.Time
	counts              bool // it is in cands (counted)
}

// Tallier is a reader that keeps a Tally of its rows: the read model's
// SKP and evaluation readers (adapters/memreadmodel). Tally returns it
// filled (building it on the first call), or nil when it has none.
type Tallier interface {
	Tally() *Tally
}

// On reports whether the Tally is filled and kept.
func (t *Tally) On() bool { return t.on.Load() }

// Reset empties the Tally and turns it off (a read model calls it when its
// tables are emptied or loaded); on a nil Tally it does nothing.
func (t *Tally) Reset() {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.clear()
	t.on.Store(false)
}

func (t *Tally) clear() {
	t.emps, t.empCount = map[string]string{}, map[string]int{}
	t.skps, t.skpCounts, t.covered = map[string]tallySKP{}, map[unitYear]*yearCounts{}, map[yearNIP]int{}
	t.missing, t.missingYears = map[int]map[string]map[string]struct{}{}, nil
	t.evals, t.skpEvals, t.years = map[evalKey]*tallyEval{}, map[string][]evalKey{}, map[string]int{}
	t.cands, t.dist, t.multi = map[periodNIP][]evalKey{}, map[unitPeriod]map[string]int{}, map[string]map[string]struct{}{}
}

// Build fills the Tally from every row of the read models and turns it on.
// The caller holds the read models still (their locks) meanwhile, so that
// no row changes between the rows given here and the hooks that follow.
func (t *Tally) Build(emps iter.Seq[directory.Employee], sums iter.Seq[skps.Summary], evals iter.Seq[evaluations.Evaluation]) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.clear()
	for e := range emps {
		t.employee(e)
	}
	for s := range sums {
		t.skp(s)
	}
	for e := range evals {
		t.evaluation(e)
	}
	t.on.Store(true)
}

// Employee applies an employee's row as it is now (new or changed).
func (t *Tally) Employee(e directory.Employee) { t.apply(func() { t.employee(e) }) }

// SKP applies an SKP summary as it is now.
func (t *Tally) SKP(s skps.Summary) { t.apply(func() { t.skp(s) }) }

// Evaluation applies an evaluation's row as it is now.
func (t *Tally) Evaluation(e evaluations.Evaluation) { t.apply(func() { t.evaluation(e) }) }

// apply runs change under the lock when the Tally is on. A nil Tally (a
// read model's table that keeps none) and one that is off cost nothing.
func (t *Tally) apply(change func()) {
	if t == nil || !t.on.Load() {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.on.Load() {
		change()
	}
}

func (t *Tally) employee(e directory.Employee) {
	old, known := t.emps[e.NIP]
	if known && old == e.UnitID {
		return
	}
	if known {
		if t.empCount[old]--; t.empCount[old] == 0 {
			delete(t.empCount, old)
		}
	}
	t.emps[e.NIP] = e.UnitID
	t.empCount[e.UnitID]++
	for y, units := range t.missing {
		if t.covered[yearNIP{y, e.NIP}] > 0 {
			continue
		}
		if known {
			delete(units[old], e.NIP)
		}
		addNIP(units, e.UnitID, e.NIP)
	}
}

func addNIP(units map[string]map[string]struct{}, unit, nip string) {
	if units[unit] == nil {
		units[unit] = map[string]struct{}{}
	}
	units[unit][nip] = struct{}{}
}

var cancelled = string(skp.StatusCancelled)

func (t *Tally) skp(s skps.Summary) {
	old, known := t.skps[s.ID]
	// The SKP's evaluations may count or not by its status: take them out
	// and count them again after.
	evs := t.skpEvals[s.ID]
	for _, k := range evs {
		t.uncount(k)
	}
	if known {
		c := t.skpCounts[unitYear{old.unit, old.year}]
		c.byStatus[old.status]--
		if old.late && old.status != cancelled {
			c.late--
		}
		if old.status != cancelled {
			t.cover(old.year, old.nip, -1)
		}
	}
	rec := tallySKP{nip: s.NIP, unit: s.UnitID, status: s.Status, year: s.Year, late: s.Late}
	t.skps[s.ID] = rec
	k := unitYear{rec.unit, rec.year}
	c := t.skpCounts[k]
	if c == nil {
		c = &yearCounts{byStatus: map[string]int{}}
		t.skpCounts[k] = c
	}
	c.byStatus[rec.status]++
	if rec.late && rec.status != cancelled {
		c.late++
	}
	if rec.status != cancelled {
		t.cover(rec.year, rec.nip, 1)
	}
	for _, k := range evs {
		t.count(k)
	}
}

// cover changes how many SKPs of year, not cancelled, nip has, and its
// place among the missing of the years kept.
func (t *Tally) cover(year int, nip string, d int) {
	k := yearNIP{year, nip}
	before := t.covered[k]
	after := before + d
	if after == 0 {
		delete(t.covered, k)
	} else {
		t.covered[k] = after
	}
	units, kept := t.missing[year]
	unit, emp := t.emps[nip]
	if !kept || !emp {
		return
	}
	switch {
	case before == 0 && after > 0:
		delete(units[unit], nip)
	case before > 0 && after == 0:
		addNIP(units, unit, nip)
	}
}

func (t *Tally) periodYear(per string) int {
	y, ok := t.years[per]
	if !ok {
		if p, err := period.Parse(per); err == nil {
			y = p.Year()
		}
		t.years[per] = y
	}
	return y
}

func (t *Tally) evaluation(e evaluations.Evaluation) {
	k := evalKey{e.SKPID, e.Period}
	rec := t.evals[k]
	if rec == nil {
		rec = &tallyEval{}
		t.evals[k] = rec
		t.skpEvals[e.SKPID] = append(t.skpEvals[e.SKPID], k)
	} else {
		t.uncount(k)
	}
	rec.nip, rec.unit, rec.predikat, rec.rated = e.NIP, e.UnitID, e.Predikat, e.RatedAt
	t.count(k)
}

// counts reports whether the evaluation k counts in its period's
// distribution: rated, and its SKP not cancelled. The SKP's status is the
// one the full computation finds (Population): the SKP of the
// evaluation's unit and the period's year, when the read model has it.
func (t *Tally) counts(k evalKey, e *tallyEval) bool {
	if e.predikat == "" {
		return false
	}
	s, ok := t.skps[k.skp]
	return !ok || s.unit != e.unit || s.year != t.periodYear(k.period) || s.status != cancelled
}

// count adds the evaluation k to its NIP's candidates when it counts.
func (t *Tally) count(k evalKey) {
	e := t.evals[k]
	if e.counts || !t.counts(k, e) {
		return
	}
	e.counts = true
	pn := periodNIP{k.period, e.nip}
	list := t.cands[pn]
	switch len(list) {
	case 0:
		t.distAdd(e.unit, k.period, e.predikat, 1)
	case 1:
		only := t.evals[list[0]]
		t.distAdd(only.unit, k.period, only.predikat, -1)
		if t.multi[k.period] == nil {
			t.multi[k.period] = map[string]struct{}{}
		}
		t.multi[k.period][e.nip] = struct{}{}
	}
	i, _ := slices.BinarySearchFunc(list, k, func(a, b evalKey) int { return strings.Compare(a.skp, b.skp) })
	t.cands[pn] = slices.Insert(list, i, k)
}

// uncount takes the evaluation k out of its NIP's candidates, if it is one.
func (t *Tally) uncount(k evalKey) {
	e := t.evals[k]
	if !e.counts {
		return
	}
	e.counts = false
	pn := periodNIP{k.period, e.nip}
	list := slices.DeleteFunc(t.cands[pn], func(x evalKey) bool { return x == k })
	switch len(list) {
	case 0:
		delete(t.cands, pn)
		t.distAdd(e.unit, k.period, e.predikat, -1)
		return
	case 1:
		only := t.evals[list[0]]
		t.distAdd(only.unit, k.period, only.predikat, 1)
		delete(t.multi[k.period], e.nip)
	}
	t.cands[pn] = list
}

func (t *Tally) distAdd(unit, per, predikat string, d int) {
	k := unitPeriod{unit, per}
	m := t.dist[k]
	if m == nil {
		m = map[string]int{}
		t.dist[k] = m
	}
	if m[predikat] += d; m[predikat] == 0 {
		delete(m, predikat)
	}
	if len(m) == 0 {
		delete(t.dist, k)
	}
}

// progress calls each with the counts of each of units for year (under
// the Tally's lock: each copies what it keeps), or returns false when the
// Tally is off.
func (t *Tally) progress(units []string, year int, each func(unit string, employees, late int, byStatus map[string]int, missing map[string]struct{})) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.on.Load() {
		return false
	}
	missing := t.missingOf(year)
	for _, u := range units {
		var byStatus map[string]int
		late := 0
		if c := t.skpCounts[unitYear{u, year}]; c != nil {
			byStatus, late = c.byStatus, c.late
		}
		each(u, t.empCount[u], late, byStatus, missing[u])
	}
	return true
}

// tallyYearsKept is how many years' missing employees a Tally keeps: each
// is a set over every employee (tens of MB at a province), and every
// employee's or SKP's change visits each, while the API accepts any year
// 2000-2100 (a reader cycling through them kept a hundred sets).
const tallyYearsKept = 4

// missingOf returns the missing employees of year by unit: kept when its
// board was asked for lately (then it moves to the latest), else computed
// from every employee once and kept in the place of the year asked for
// least lately when tallyYearsKept are kept. Under t.mu.
func (t *Tally) missingOf(year int) map[string]map[string]struct{} {
	if missing := t.missing[year]; missing != nil {
		i := slices.Index(t.missingYears, year)
		t.missingYears = append(slices.Delete(t.missingYears, i, i+1), year)
		return missing
	}
	if len(t.missingYears) >= tallyYearsKept {
		delete(t.missing, t.missingYears[0])
		t.missingYears = slices.Delete(t.missingYears, 0, 1)
	}
	missing := map[string]map[string]struct{}{}
	for nip, unit := range t.emps {
		if t.covered[yearNIP{year, nip}] == 0 {
			addNIP(missing, unit, nip)
		}
	}
	t.missing[year] = missing
	t.missingYears = append(t.missingYears, year)
	return missing
}

// population returns the predikat counts of the distribution of units for
// per, as Population counts them (UNIT_AND_SUBUNITS), and their sum, or
// false when the Tally is off.
func (t *Tally) population(units []string, per string) (map[string]int, int, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.on.Load() {
		return nil, 0, false
	}
	in := make(map[string]bool, len(units))
	counts := map[string]int{}
	n := 0
	for _, u := range units {
		if in[u] {
			continue
		}
		in[u] = true
		for p, c := range t.dist[unitPeriod{u, per}] {
			counts[p] += c
			n += c
		}
	}
	// An employee with more than one evaluation that counts: the latest
	// rated of those within the units (the first by SKP id of equals).
	for nip := range t.multi[per] {
		var best *tallyEval
		for _, k := range t.cands[periodNIP{per, nip}] {
			e := t.evals[k]
			if in[e.unit] && (best == nil || e.rated.After(best.rated)) {
				best = e
			}
		}
		if best != nil {
			counts[best.predikat]++
			n++
		}
	}
	return counts, n, true
}
