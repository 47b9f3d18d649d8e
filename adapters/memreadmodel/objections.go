package memreadmodel

import (
	"context"
	"maps"
	"slices"
	"sync"

	"github.com/kinerja-ledger/kinerja/projections/objections"
)

// objectionsTables hold one row per objection.
type objectionsTables struct {
	rows map[string]objections.Objection
}

func newObjectionsTables() *objectionsTables {
	return &objectionsTables{rows: map[string]objections.Objection{}}
}

func (t *objectionsTables) reset() { t.rows = map[string]objections.Objection{} }

type objectionsTx struct {
	rows map[string]objections.Objection
}

var _ objections.Store = (*objectionsTx)(nil)

func (t *objectionsTables) begin() *objectionsTx {
	return &objectionsTx{rows: map[string]objections.Objection{}}
}

func (t *objectionsTables) commit(tx *objectionsTx) { maps.Copy(t.rows, tx.rows) }

func (tx *objectionsTx) PutObjection(_ context.Context, o objections.Objection) error {
	tx.rows[o.ID] = o
	return nil
}

// ObjectionsReader is the query side of the in-memory objection register:
// an objections.Reader. Safe for concurrent use.
type ObjectionsReader struct {
	lock *sync.RWMutex
	t    *objectionsTables
}

var _ objections.Reader = (*ObjectionsReader)(nil)

// List implements objections.Reader (objections.Query.Match, ordered by
// objections.Less).
func (r *ObjectionsReader) List(_ context.Context, q objections.Query) ([]objections.Objection, error) {
	r.lock.RLock()
	defer r.lock.RUnlock()
	out := []objections.Objection{}
	for _, o := range r.t.rows {
		if q.Match(o) {
			o.ExplanationsRequested = slices.Clone(o.ExplanationsRequested)
			o.ExplanationsGiven = slices.Clone(o.ExplanationsGiven)
			out = append(out, o)
		}
	}
	slices.SortFunc(out, func(a, b objections.Objection) int {
		if objections.Less(a, b) {
			return -1
		}
		if objections.Less(b, a) {
			return 1
		}
		return 0
	})
	return out, nil
}
