package pgreadmodel_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/kinerja-ledger/kinerja/adapters/pgreadmodel"
	"github.com/kinerja-ledger/kinerja/projections"
	"github.com/kinerja-ledger/kinerja/projections/readmodeltest"
)

// TestApplyCommitsDurably: every transaction of a Sink (Apply, DeadLetter)
// waits for its WAL flush. The projection runner acknowledges a batch once
// Apply returns and never delivers it again, so a commit that a crash of
// PostgreSQL could take back (synchronous_commit = off) was an audit trail
// missing events: the defect docs/projections.md, "Acknowledged means
// durable", tells of. The setting is read inside the Sink's own
// transaction, through the fence hook.
func TestApplyCommitsDurably(t *testing.T) {
	ctx := context.Background()
	j := readmodeltest.RunJourney(t, openStore)
	evs := readmodeltest.Events(t, j.Store)
	p := testPool(t)
	var mu sync.Mutex
	seen := map[string]int{}
	db, err := pgreadmodel.Open(ctx, p, pgreadmodel.Options{Schema: freshSchema(t, p), History: projections.StoreHistory{Store: j.Store},
		Fence: func(ctx context.Context, tx pgx.Tx) error {
			var v string
			if err := tx.QueryRow(ctx, `SHOW synchronous_commit`).Scan(&v); err != nil {
				return err
			}
			mu.Lock()
			seen[v]++
			mu.Unlock()
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range db.Sinks() {
		if err := s.Apply(ctx, evs...); err != nil {
			t.Fatalf("%s: Apply: %v", s.Name(), err)
		}
		if err := s.DeadLetter(ctx, evs[len(evs)-1], nil); err != nil {
			t.Fatalf("%s: DeadLetter: %v", s.Name(), err)
		}
	}
	if len(seen) == 0 {
		t.Fatal("the fence never ran: the test checks nothing")
	}
	for v, n := range seen {
		if v == "off" {
			t.Errorf("%d Sink transactions committed with synchronous_commit = %s: a crash of PostgreSQL may take back what the runner acknowledged", n, v)
		}
	}
	t.Logf("synchronous_commit in the Sink's transactions: %v", seen)
}

// TestApplyRefusesACheckpointThatWentBack: when the stored checkpoint is
// found behind what the Sink committed (its commits were lost, the
// database restored from an older copy, or another process reset the
// projection), Apply and DeadLetter refuse with ErrCheckpointBehind and
// write nothing, instead of applying the batch after a hole the runner
// will never fill (it goes on from what it acknowledged in memory).
func TestApplyRefusesACheckpointThatWentBack(t *testing.T) {
	ctx := context.Background()
	j := readmodeltest.RunJourney(t, openStore)
	evs := readmodeltest.Events(t, j.Store)
	p := testPool(t)
	schema := freshSchema(t, p)
	db, err := pgreadmodel.Open(ctx, p, pgreadmodel.Options{Schema: schema, History: projections.StoreHistory{Store: j.Store}})
	if err != nil {
		t.Fatal(err)
	}
	half := len(evs) / 2
	for _, s := range db.Sinks() {
		if err := s.Apply(ctx, evs[:half]...); err != nil {
			t.Fatalf("%s: Apply: %v", s.Name(), err)
		}
	}
	// What a crash with asynchronous commit did: the checkpoint goes back.
	if _, err := p.Exec(ctx, `UPDATE `+pgx.Identifier{schema, "checkpoints"}.Sanitize()+` SET position = 0`); err != nil {
		t.Fatal(err)
	}
	for _, s := range db.Sinks() {
		if err := s.Apply(ctx, evs[half:]...); !errors.Is(err, pgreadmodel.ErrCheckpointBehind) {
			t.Errorf("%s: Apply after the checkpoint went back = %v, want ErrCheckpointBehind", s.Name(), err)
		}
		if err := s.DeadLetter(ctx, evs[len(evs)-1], nil); !errors.Is(err, pgreadmodel.ErrCheckpointBehind) {
			t.Errorf("%s: DeadLetter after the checkpoint went back = %v, want ErrCheckpointBehind", s.Name(), err)
		}
		if cp, err := s.Checkpoint(ctx); err != nil || cp != 0 {
			t.Errorf("%s: checkpoint after the refusals = %d, %v; want 0 (nothing written)", s.Name(), cp, err)
		}
	}
}
