package memreadmodel

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/kinerja-ledger/kinerja/projections/directory"
	"github.com/kinerja-ledger/kinerja/projections/reports"
)

type periodKey struct{ unit, period string }

// directoryTables hold the directory: units, employees (indexed by unit)
// and justifications.
type directoryTables struct {
	units  map[string]directory.Unit
	emps   map[string]directory.Employee
	byUnit map[string]map[string]bool // unit → NIPs
	keys   map[string]string          // NIP → directory.FoldName of the name
	just   map[periodKey]directory.Justification
	tally  *reports.Tally // the reports' counts, kept with the rows
}

func newDirectoryTables() *directoryTables {
	t := &directoryTables{}
	t.reset()
	return t
}

func (t *directoryTables) reset() {
	t.units = map[string]directory.Unit{}
	t.emps = map[string]directory.Employee{}
	t.byUnit = map[string]map[string]bool{}
	t.keys = map[string]string{}
	t.just = map[periodKey]directory.Justification{}
	t.tally.Reset()
}

// directoryTx stages a batch's writes; reads see them before the tables.
type directoryTx struct {
	t     *directoryTables
	units map[string]directory.Unit
	emps  map[string]directory.Employee
	just  map[periodKey]directory.Justification
}

var _ directory.Store = (*directoryTx)(nil)

func (t *directoryTables) begin() *directoryTx {
	return &directoryTx{t: t, units: map[string]directory.Unit{}, emps: map[string]directory.Employee{}, just: map[periodKey]directory.Justification{}}
}

func (t *directoryTables) commit(tx *directoryTx) {
	maps.Copy(t.units, tx.units)
	for nip, e := range tx.emps {
		if old, ok := t.emps[nip]; ok && old.UnitID != e.UnitID {
			delete(t.byUnit[old.UnitID], nip)
		}
		if t.byUnit[e.UnitID] == nil {
			t.byUnit[e.UnitID] = map[string]bool{}
		}
		t.byUnit[e.UnitID][nip] = true
		t.emps[nip] = e
		t.keys[nip] = directory.FoldName(e.Name)
		t.tally.Employee(e)
	}
	maps.Copy(t.just, tx.just)
}

func (tx *directoryTx) Unit(_ context.Context, id string) (directory.Unit, error) {
	if u, ok := tx.units[id]; ok {
		return u, nil
	}
	if u, ok := tx.t.units[id]; ok {
		return u, nil
	}
	return directory.Unit{}, fmt.Errorf("%w: unit %s", directory.ErrNotFound, id)
}

func (tx *directoryTx) Employee(_ context.Context, nip string) (directory.Employee, error) {
	if e, ok := tx.emps[nip]; ok {
		return e, nil
	}
	if e, ok := tx.t.emps[nip]; ok {
		return e, nil
	}
	return directory.Employee{}, fmt.Errorf("%w: employee %s", directory.ErrNotFound, nip)
}

func (tx *directoryTx) PutUnit(_ context.Context, u directory.Unit) error {
	tx.units[u.ID] = u
	return nil
}

func (tx *directoryTx) PutEmployee(_ context.Context, e directory.Employee) error {
	tx.emps[e.NIP] = e
	return nil
}

func (tx *directoryTx) PutJustification(_ context.Context, j directory.Justification) error {
	tx.just[periodKey{j.UnitID, j.Period}] = j
	return nil
}

// DirectoryReader is the query side of the in-memory directory: a
// directory.Reader and directory.JustificationReader. Safe for concurrent
// use.
type DirectoryReader struct {
	lock *sync.RWMutex
	t    *directoryTables
}

var (
	_ directory.Reader              = (*DirectoryReader)(nil)
	_ directory.JustificationReader = (*DirectoryReader)(nil)
)

func cloneUnit(u directory.Unit) directory.Unit {
	u.Performance = maps.Clone(u.Performance)
	return u
}

// Unit implements directory.Reader.
func (r *DirectoryReader) Unit(_ context.Context, id string) (directory.Unit, error) {
	r.lock.RLock()
	defer r.lock.RUnlock()
	u, ok := r.t.units[id]
	if !ok {
		return directory.Unit{}, fmt.Errorf("%w: unit %s", directory.ErrNotFound, id)
	}
	return cloneUnit(u), nil
}

// Children implements directory.Reader.
func (r *DirectoryReader) Children(_ context.Context, id string) ([]directory.Unit, error) {
	r.lock.RLock()
	defer r.lock.RUnlock()
	out := []directory.Unit{}
	for _, u := range r.t.units {
		if u.ParentID == id && id != "" {
			out = append(out, cloneUnit(u))
		}
	}
	slices.SortFunc(out, func(a, b directory.Unit) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// Roots returns the IDs of the root units, the agencies (instansi) of the
// deployment, by ID.
func (r *DirectoryReader) Roots(_ context.Context) ([]string, error) {
	r.lock.RLock()
	defer r.lock.RUnlock()
	out := []string{}
	for _, u := range r.t.units {
		if u.ParentID == "" {
			out = append(out, u.ID)
		}
	}
	slices.Sort(out)
	return out, nil
}

// Subtree implements directory.Reader.
func (r *DirectoryReader) Subtree(ctx context.Context, id string) ([]string, error) {
	units, err := r.Units(ctx)
	if err != nil {
		return nil, err
	}
	return directory.SubtreeOf(units, id)
}

// Units implements directory.Reader.
func (r *DirectoryReader) Units(context.Context) ([]directory.Unit, error) {
	r.lock.RLock()
	defer r.lock.RUnlock()
	out := make([]directory.Unit, 0, len(r.t.units))
	for _, u := range r.t.units {
		out = append(out, cloneUnit(u))
	}
	slices.SortFunc(out, func(a, b directory.Unit) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// Employee implements directory.Reader.
func (r *DirectoryReader) Employee(_ context.Context, nip string) (directory.Employee, error) {
	r.lock.RLock()
	defer r.lock.RUnlock()
	e, ok := r.t.emps[nip]
	if !ok {
		return directory.Employee{}, fmt.Errorf("%w: employee %s", directory.ErrNotFound, nip)
	}
	return e, nil
}

// EmployeesIn implements directory.Reader.
func (r *DirectoryReader) EmployeesIn(_ context.Context, units []string) ([]directory.Employee, error) {
	r.lock.RLock()
	defer r.lock.RUnlock()
	out := []directory.Employee{}
	seen := map[string]bool{}
	for _, u := range units {
		if seen[u] {
			continue
		}
		seen[u] = true
		for nip := range r.t.byUnit[u] {
			out = append(out, r.t.emps[nip])
		}
	}
	slices.SortFunc(out, func(a, b directory.Employee) int { return strings.Compare(a.NIP, b.NIP) })
	return out, nil
}

// Justification implements directory.JustificationReader.
func (r *DirectoryReader) Justification(_ context.Context, unit, period string) (directory.Justification, bool, error) {
	r.lock.RLock()
	defer r.lock.RUnlock()
	j, ok := r.t.just[periodKey{unit, period}]
	if ok {
		j.Counts = maps.Clone(j.Counts)
		j.Violations = slices.Clone(j.Violations)
	}
	return j, ok, nil
}

var _ directory.Searcher = (*DirectoryReader)(nil)

// Search implements directory.Searcher by scanning every employee (an
// agency has thousands, not millions) with the folded names kept at commit.
func (r *DirectoryReader) Search(_ context.Context, q directory.SearchQuery) ([]directory.Employee, string, error) {
	key, nip, err := directory.ParseSearchCursor(q.Cursor)
	if err != nil {
		return nil, "", err
	}
	type hit struct{ key, nip string }
	match := q.Matcher()
	var hits []hit
	r.lock.RLock()
	defer r.lock.RUnlock()
	for n, e := range r.t.emps {
		k := r.t.keys[n]
		if !match(e, k) {
			continue
		}
		if q.Cursor != "" {
			if c := strings.Compare(k, key); c < 0 || c == 0 && n <= nip {
				continue
			}
		}
		hits = append(hits, hit{k, n})
	}
	slices.SortFunc(hits, func(a, b hit) int {
		if c := strings.Compare(a.key, b.key); c != 0 {
			return c
		}
		return strings.Compare(a.nip, b.nip)
	})
	limit := q.SearchLimit()
	out, next := make([]directory.Employee, 0, min(len(hits), limit)), ""
	for _, h := range hits[:min(len(hits), limit)] {
		out = append(out, r.t.emps[h.nip])
	}
	if len(hits) > limit {
		next = directory.SearchCursor(out[limit-1])
	}
	return out, next, nil
}
