package pgreadmodel_test

import (
	"context"
	"os"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kinerja-ledger/kinerja/adapters/pgreadmodel"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections"
	"github.com/kinerja-ledger/kinerja/projections/audit"
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

// TestSwapCommitsSynchronously: Swap's transaction commits with
// synchronous_commit = on even where the sessions' default is off (the
// rebuild's asynchronous commits are durable only through the swap's
// flush). The setting is read inside the swap's transaction, just before
// its commit.
func TestSwapCommitsSynchronously(t *testing.T) {
	ctx := context.Background()
	store := seededStore(t, 8)
	evs := readmodeltest.Events(t, store)
	schema := freshSchema(t, testPool(t))
	cfg, err := pgxpool.ParseConfig(os.Getenv("KINERJA_TEST_POSTGRES_URL"))
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 4
	cfg.ConnConfig.RuntimeParams["synchronous_commit"] = "off"
	p, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	db, err := pgreadmodel.Open(ctx, p, pgreadmodel.Options{Schema: schema, History: projections.StoreHistory{Store: store}})
	if err != nil {
		t.Fatal(err)
	}
	readmodeltest.ProjectInto(t, db.Sink(audit.Name), evs, 100)
	var seen []string
	pgreadmodel.SetSwapBeforeCommit(func(ctx context.Context, tx pgx.Tx) error {
		var v string
		err := tx.QueryRow(ctx, `SHOW synchronous_commit`).Scan(&v)
		seen = append(seen, v)
		return err
	})
	defer pgreadmodel.SetSwapBeforeCommit(nil)
	rb, err := db.StartRebuild(ctx, audit.Name)
	if err != nil {
		t.Fatal(err)
	}
	if err := rb.Run(ctx, store, 100); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 1 || seen[0] != "on" {
		t.Errorf("synchronous_commit in the swap's transaction %v, want [on]", seen)
	}
}
