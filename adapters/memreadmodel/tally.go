package memreadmodel

import (
	"maps"
	"sync"

	"github.com/kinerja-ledger/kinerja/projections/reports"
)

// tallyHub is the reports' incremental read model (reports.Tally) over the
// directory, SKP and evaluation tables: their commits apply each changed
// row to it (under the table's write lock, so it moves with the rows),
// their resets turn it off, and the first report asked for builds it from
// every row, holding the three tables still meanwhile. Until then the
// hooks cost nothing (a start-up's rebuild pays nothing for it).
type tallyHub struct {
	t     reports.Tally
	build sync.Mutex // one build at a time

	dirLock, skpsLock, evalsLock *sync.RWMutex
	dir                          *directoryTables
	skps                         *skpsTables
	evals                        *evaluationsTables
}

// tally returns the Tally, built on the first call (and after a reset).
func (h *tallyHub) tally() *reports.Tally {
	if h.t.On() {
		return &h.t
	}
	h.build.Lock()
	defer h.build.Unlock()
	if h.t.On() {
		return &h.t
	}
	// Every hook of a commit runs under its table's write lock, which
	// these read locks exclude: no row changes between the rows read here
	// and the hooks that follow.
	h.dirLock.RLock()
	defer h.dirLock.RUnlock()
	h.skpsLock.RLock()
	defer h.skpsLock.RUnlock()
	h.evalsLock.RLock()
	defer h.evalsLock.RUnlock()
	h.t.Build(maps.Values(h.dir.emps), maps.Values(h.skps.rows), maps.Values(h.evals.rows))
	return &h.t
}

var (
	_ reports.Tallier = (*SKPsReader)(nil)
	_ reports.Tallier = (*EvaluationsReader)(nil)
)

// tallied is the Tally of the SKP and evaluation readers (the same one):
// the progress board and the distribution read their counts from it
// (O(units) at an agency's root).
type tallied struct{ hub *tallyHub }

// Tally implements reports.Tallier; nil when the reader keeps none.
func (r tallied) Tally() *reports.Tally {
	if r.hub == nil {
		return nil
	}
	return r.hub.tally()
}
