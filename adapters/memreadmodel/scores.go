package memreadmodel

import (
	"cmp"
	"context"
	"slices"
	"sync"

	"github.com/kinerja-ledger/kinerja/projections/scores"
)

type scoreKey struct{ skp, event string }

// scoresTables hold every score entry, indexed by SKP and by employee.
type scoresTables struct {
	rows  map[scoreKey]scores.Entry
	bySKP map[string][]scoreKey
	byNIP map[string][]scoreKey
}

func newScoresTables() *scoresTables {
	t := &scoresTables{}
	t.reset()
	return t
}

func (t *scoresTables) reset() {
	t.rows = map[scoreKey]scores.Entry{}
	t.bySKP = map[string][]scoreKey{}
	t.byNIP = map[string][]scoreKey{}
}

type scoresTx struct {
	rows map[scoreKey]scores.Entry
}

var _ scores.Store = (*scoresTx)(nil)

func (t *scoresTables) begin() *scoresTx { return &scoresTx{rows: map[scoreKey]scores.Entry{}} }

func (t *scoresTables) commit(tx *scoresTx) {
	for k, e := range tx.rows {
		if _, ok := t.rows[k]; !ok {
			t.bySKP[k.skp] = append(t.bySKP[k.skp], k)
			t.byNIP[e.NIP] = append(t.byNIP[e.NIP], k)
		}
		t.rows[k] = e
	}
}

func (tx *scoresTx) PutEntry(_ context.Context, e scores.Entry) error {
	tx.rows[scoreKey{e.SKPID, e.EventID}] = e
	return nil
}

// ScoresReader is the query side of the in-memory score history: a
// scores.Reader. Safe for concurrent use.
type ScoresReader struct {
	lock *sync.RWMutex
	t    *scoresTables
}

var _ scores.Reader = (*ScoresReader)(nil)

// ForSKP implements scores.Reader, in the order of the domain's
// ScoreHistory (scores.Less).
func (r *ScoresReader) ForSKP(_ context.Context, skpID string) ([]scores.Entry, error) {
	r.lock.RLock()
	defer r.lock.RUnlock()
	out := []scores.Entry{}
	for _, k := range r.t.bySKP[skpID] {
		out = append(out, r.t.rows[k])
	}
	slices.SortFunc(out, func(a, b scores.Entry) int {
		if scores.Less(a, b) {
			return -1
		}
		if scores.Less(b, a) {
			return 1
		}
		return 0
	})
	return out, nil
}

// ForEmployee implements scores.Reader, in the global order (position).
func (r *ScoresReader) ForEmployee(_ context.Context, nip string) ([]scores.Entry, error) {
	r.lock.RLock()
	defer r.lock.RUnlock()
	out := []scores.Entry{}
	for _, k := range r.t.byNIP[nip] {
		out = append(out, r.t.rows[k])
	}
	slices.SortFunc(out, func(a, b scores.Entry) int { return cmp.Compare(a.Position, b.Position) })
	return out, nil
}
