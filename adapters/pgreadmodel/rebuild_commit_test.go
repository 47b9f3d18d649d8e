package pgreadmodel_test

import (
	"context"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/kinerja-ledger/kinerja/adapters/pgreadmodel"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections"
	"github.com/kinerja-ledger/kinerja/projections/readmodeltest"
	"github.com/kinerja-ledger/kinerja/projections/skps"
)

// TestRebuildCommitsAsynchronouslyOnlyBeforeTheSwap: a rebuild's Sink
// commits its batches with synchronous_commit = off, the live Sinks (whose
// commits are acknowledged as durable) with it on, before the swap and
// after it. The setting is read inside each transaction (the Fence runs in
// every Apply's).
func TestRebuildCommitsAsynchronouslyOnlyBeforeTheSwap(t *testing.T) {
	ctx := context.Background()
	store := seededStore(t, 8)
	evs := readmodeltest.Events(t, store)
	p := testPool(t)
	var mu sync.Mutex
	seen := map[string]int{}
	db, err := pgreadmodel.Open(ctx, p, pgreadmodel.Options{Schema: freshSchema(t, p), History: projections.StoreHistory{Store: store},
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
	readmodeltest.ProjectInto(t, db.Sink(skps.Name), evs, 100)
	if seen["on"] == 0 || seen["off"] != 0 {
		t.Fatalf("the live Sink's transactions: synchronous_commit %v, want on only", seen)
	}
	clear(seen)
	rb, err := db.StartRebuild(ctx, skps.Name)
	if err != nil {
		t.Fatal(err)
	}
	readmodeltest.ProjectInto(t, rb.Sink(), evs, 100)
	if seen["off"] == 0 || seen["on"] != 0 {
		t.Fatalf("the rebuild's transactions: synchronous_commit %v, want off only", seen)
	}
	if err := rb.Swap(ctx); err != nil {
		t.Fatal(err)
	}
	// The live Sink goes on committing synchronously after the swap.
	clear(seen)
	readmodeltest.ProjectInto(t, db.Sink(skps.Name), evs, 100)
	var cp eventstore.Position
	if cp, err = db.Sink(skps.Name).Checkpoint(ctx); err != nil || cp == 0 {
		t.Fatalf("live checkpoint after the swap %d, %v", cp, err)
	}
	if seen["off"] != 0 {
		t.Errorf("the live Sink after the swap: synchronous_commit %v, want on only", seen)
	}
}
