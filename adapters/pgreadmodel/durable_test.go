package pgreadmodel_test

import (
	"context"
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
