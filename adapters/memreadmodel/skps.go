package memreadmodel

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/kinerja-ledger/kinerja/domain/skp"
	"github.com/kinerja-ledger/kinerja/projections/reports"
	"github.com/kinerja-ledger/kinerja/projections/skps"
)

type unitYear struct {
	unit string
	year int
}

// skpsTables hold one summary per SKP, the ids of each unit and year, and
// a sorted list of ids that readers rebuild lazily when SKPs were added
// (an SKP's unit, year and id never change).
type skpsTables struct {
	rows       map[string]skps.Summary
	byUnitYear map[unitYear][]string
	version    uint64 // bumped when an id is added (under the write lock)
	sorted     atomic.Pointer[sortedIDs]
	tally      *reports.Tally // the reports' counts, kept with the rows
}

type sortedIDs struct {
	version uint64
	ids     []string
}

func newSKPsTables() *skpsTables {
	t := &skpsTables{}
	t.reset()
	return t
}

func (t *skpsTables) reset() {
	t.rows = map[string]skps.Summary{}
	t.byUnitYear = map[unitYear][]string{}
	t.version++
	t.sorted.Store(nil)
	t.tally.Reset()
}

type skpsTx struct {
	rows map[string]skps.Summary
}

var _ skps.Store = (*skpsTx)(nil)

func (t *skpsTables) begin() *skpsTx { return &skpsTx{rows: map[string]skps.Summary{}} }

func (t *skpsTables) commit(tx *skpsTx) {
	for id, s := range tx.rows {
		if _, ok := t.rows[id]; !ok {
			k := unitYear{s.UnitID, s.Year}
			t.byUnitYear[k] = append(t.byUnitYear[k], id)
			t.version++
		}
		t.rows[id] = s
		t.tally.SKP(s)
	}
}

func (tx *skpsTx) PutSummary(_ context.Context, s skps.Summary) error {
	tx.rows[s.ID] = s
	return nil
}

// SKPsReader is the query side of the in-memory SKP summaries: an
// skps.Reader. Safe for concurrent use.
type SKPsReader struct {
	lock *sync.RWMutex
	t    *skpsTables
	tallied
}

var _ skps.Reader = (*SKPsReader)(nil)

// Get implements skps.Reader.
func (r *SKPsReader) Get(_ context.Context, id string) (skps.Summary, error) {
	r.lock.RLock()
	defer r.lock.RUnlock()
	s, ok := r.t.rows[id]
	if !ok {
		return skps.Summary{}, fmt.Errorf("%w: %s", skps.ErrNotFound, id)
	}
	return s, nil
}

// ids returns every id in order; the caller holds the read lock.
func (r *SKPsReader) ids() []string {
	if s := r.t.sorted.Load(); s != nil && s.version == r.t.version {
		return s.ids
	}
	ids := make([]string, 0, len(r.t.rows))
	for id := range r.t.rows {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	r.t.sorted.Store(&sortedIDs{version: r.t.version, ids: ids})
	return ids
}

// List implements skps.Reader. A cursor that was not issued by List is
// skps.ErrBadCursor.
func (r *SKPsReader) List(_ context.Context, q skps.Query) ([]skps.Summary, string, error) {
	after, err := skps.DecodeCursor(q.Cursor)
	if err != nil {
		return nil, "", err
	}
	limit := skps.PageLimit(q.Limit)
	r.lock.RLock()
	defer r.lock.RUnlock()
	ids := r.ids()
	i := 0
	if after != "" {
		i = sort.SearchStrings(ids, after)
		if i < len(ids) && ids[i] == after {
			i++
		}
	}
	out := []skps.Summary{}
	for ; i < len(ids); i++ {
		s := r.t.rows[ids[i]]
		if !q.Match(s) {
			continue
		}
		if len(out) == limit {
			return out, skps.EncodeCursor(out[len(out)-1].ID), nil
		}
		out = append(out, s)
	}
	return out, "", nil
}

// ForYear implements skps.Reader. The SKPs are ordered by id.
func (r *SKPsReader) ForYear(_ context.Context, units []string, year int) ([]skps.Summary, error) {
	r.lock.RLock()
	defer r.lock.RUnlock()
	// Sort the ids, then copy the rows once: sorting the (large) rows
	// themselves cost more than the rest of a report.
	var ids []string
	seen := map[string]bool{}
	for _, u := range units {
		if seen[u] {
			continue
		}
		seen[u] = true
		ids = append(ids, r.t.byUnitYear[unitYear{u, year}]...)
	}
	slices.Sort(ids)
	out := make([]skps.Summary, len(ids))
	for i, id := range ids {
		out[i] = r.t.rows[id]
	}
	return out, nil
}

var _ skps.Counter = (*SKPsReader)(nil)

// CountForYear implements skps.Counter.
func (r *SKPsReader) CountForYear(_ context.Context, units []string, year int) ([]skps.UnitYearCount, error) {
	r.lock.RLock()
	defer r.lock.RUnlock()
	out := []skps.UnitYearCount{}
	seen := map[string]bool{}
	for _, u := range units {
		if seen[u] {
			continue
		}
		seen[u] = true
		at := map[string]int{} // status → index in out
		for _, id := range r.t.byUnitYear[unitYear{u, year}] {
			s := r.t.rows[id]
			i, ok := at[s.Status]
			if !ok {
				i = len(out)
				at[s.Status] = i
				out = append(out, skps.UnitYearCount{UnitID: u, Status: s.Status})
			}
			out[i].N++
			if s.Late {
				out[i].Late++
			}
		}
	}
	return out, nil
}

// CoveredForYear implements skps.Counter.
func (r *SKPsReader) CoveredForYear(_ context.Context, year int) ([]string, error) {
	r.lock.RLock()
	defer r.lock.RUnlock()
	seen := map[string]bool{}
	out := []string{}
	for k, ids := range r.t.byUnitYear {
		if k.year != year {
			continue
		}
		for _, id := range ids {
			s := r.t.rows[id]
			if s.Status != string(skp.StatusCancelled) && !seen[s.NIP] {
				seen[s.NIP] = true
				out = append(out, s.NIP)
			}
		}
	}
	return out, nil
}
