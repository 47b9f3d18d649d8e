package memreadmodel

import (
	"context"
	"slices"
	"strings"
	"sync"

	"github.com/kinerja-ledger/kinerja/projections/evaluations"
	"github.com/kinerja-ledger/kinerja/projections/reports"
	"github.com/kinerja-ledger/kinerja/projections/scores"
)

type evalKey struct{ skp, period string }

// evaluationsTables hold one row per SKP and period, indexed by period and
// by SKP (keys never change).
type evaluationsTables struct {
	rows     map[evalKey]evaluations.Evaluation
	byPeriod map[string][]evalKey
	bySKP    map[string][]evalKey
	tally    *reports.Tally // the reports' counts, kept with the rows
}

func newEvaluationsTables() *evaluationsTables {
	t := &evaluationsTables{}
	t.reset()
	return t
}

func (t *evaluationsTables) reset() {
	t.rows = map[evalKey]evaluations.Evaluation{}
	t.byPeriod = map[string][]evalKey{}
	t.bySKP = map[string][]evalKey{}
	t.tally.Reset()
}

type evaluationsTx struct {
	rows map[evalKey]evaluations.Evaluation
}

var _ evaluations.Store = (*evaluationsTx)(nil)

func (t *evaluationsTables) begin() *evaluationsTx {
	return &evaluationsTx{rows: map[evalKey]evaluations.Evaluation{}}
}

func (t *evaluationsTables) commit(tx *evaluationsTx) {
	for k, e := range tx.rows {
		if _, ok := t.rows[k]; !ok {
			t.byPeriod[k.period] = append(t.byPeriod[k.period], k)
			t.bySKP[k.skp] = append(t.bySKP[k.skp], k)
		}
		t.rows[k] = e
		t.tally.Evaluation(e)
	}
}

func (tx *evaluationsTx) PutEvaluation(_ context.Context, e evaluations.Evaluation) error {
	tx.rows[evalKey{e.SKPID, e.Period}] = e
	return nil
}

// EvaluationsReader is the query side of the in-memory evaluations: an
// evaluations.Reader. Safe for concurrent use.
type EvaluationsReader struct {
	lock *sync.RWMutex
	t    *evaluationsTables
	tallied
}

var _ evaluations.Reader = (*EvaluationsReader)(nil)

// ForPeriod implements evaluations.Reader. The rows are ordered by SKP id.
func (r *EvaluationsReader) ForPeriod(_ context.Context, units []string, period string) ([]evaluations.Evaluation, error) {
	in := make(map[string]bool, len(units))
	for _, u := range units {
		in[u] = true
	}
	r.lock.RLock()
	defer r.lock.RUnlock()
	// Sort the keys, then copy the rows once (see SKPsReader.ForYear).
	var keys []evalKey
	for _, k := range r.t.byPeriod[period] {
		if in[r.t.rows[k].UnitID] {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b evalKey) int { return strings.Compare(a.skp, b.skp) })
	out := make([]evaluations.Evaluation, len(keys))
	for i, k := range keys {
		out[i] = r.t.rows[k]
	}
	return out, nil
}

// ForSKP implements evaluations.Reader. The rows are ordered by period in
// calendar order, the annual period last (scores.PeriodKey).
func (r *EvaluationsReader) ForSKP(_ context.Context, skpID string) ([]evaluations.Evaluation, error) {
	r.lock.RLock()
	defer r.lock.RUnlock()
	out := []evaluations.Evaluation{}
	for _, k := range r.t.bySKP[skpID] {
		out = append(out, r.t.rows[k])
	}
	slices.SortFunc(out, func(a, b evaluations.Evaluation) int {
		return strings.Compare(scores.PeriodKey(a.Period), scores.PeriodKey(b.Period))
	})
	return out, nil
}
