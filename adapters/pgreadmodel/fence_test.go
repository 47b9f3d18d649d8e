package pgreadmodel_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/kinerja-ledger/kinerja/adapters/pgreadmodel"
	"github.com/kinerja-ledger/kinerja/projections"
	"github.com/kinerja-ledger/kinerja/projections/readmodeltest"
)

// TestFenceRefusesTheCommit: once Options.Fence fails (a shared projector
// that lost its partition lock), no projection commits anything: every
// Apply errs, and the rows and checkpoints stay as they were.
func TestFenceRefusesTheCommit(t *testing.T) {
	ctx := context.Background()
	j := readmodeltest.RunJourney(t, openStore)
	evs := readmodeltest.Events(t, j.Store)
	p := testPool(t)
	var fenced atomic.Bool
	errLost := errors.New("lock lost")
	db, err := pgreadmodel.Open(ctx, p, pgreadmodel.Options{Schema: freshSchema(t, p), History: projections.StoreHistory{Store: j.Store},
		Fence: func(context.Context, pgx.Tx) error {
			if fenced.Load() {
				return errLost
			}
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	b := backend(db)
	half := len(evs) / 2
	readmodeltest.Project(t, b, evs[:half], 20)
	before := readmodeltest.Take(t, b)
	fenced.Store(true)
	for _, s := range db.Sinks() {
		if err := s.Apply(ctx, evs[half:]...); !errors.Is(err, errLost) {
			t.Errorf("%s: Apply while fenced: %v, want the fence's error", s.Name(), err)
		}
	}
	readmodeltest.SameSnapshot(t, "a fenced Apply", before, readmodeltest.Take(t, b))
}
