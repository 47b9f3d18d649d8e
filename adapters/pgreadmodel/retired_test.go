package pgreadmodel_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/kinerja-ledger/kinerja/adapters/pgreadmodel"
	"github.com/kinerja-ledger/kinerja/projections"
	"github.com/kinerja-ledger/kinerja/projections/audit"
	"github.com/kinerja-ledger/kinerja/projections/readmodeltest"
)

// TestDropRetired: three rebuilds of the audit trail leave generations 1–3
// retired; DropRetired drops those the live trail reproduces and keeps one
// that holds an entry the live trail does not (a RetiredError), and a
// retired table read by an open transaction is not dropped under it (the
// drop fails after lock_timeout, and the table is still there).
func TestDropRetired(t *testing.T) {
	ctx := context.Background()
	store := seededStore(t, 8)
	evs := readmodeltest.Events(t, store)
	db := openDB(t, projections.StoreHistory{Store: store})
	readmodeltest.Project(t, backend(db), evs, 50)
	for range 3 {
		rb, err := db.StartRebuild(ctx, audit.Name)
		if err != nil {
			t.Fatal(err)
		}
		if err := rb.Run(ctx, store, 40); err != nil {
			t.Fatal(err)
		}
	}
	gens, err := db.RetiredGenerations(ctx)
	if err != nil || !slices.Equal(gens, []int{1, 2, 3}) {
		t.Fatalf("retired generations %v, %v; want [1 2 3]", gens, err)
	}
	p := testPool(t)
	tbl := func(name string) string { return pgx.Identifier{db.Schema(), name}.Sanitize() }

	// Generation 2's trail says something the live one does not: an entry
	// past the live trail's end (inserts are what its triggers allow).
	if _, err := p.Exec(ctx, `INSERT INTO `+tbl("audit_entries__retired_g2")+`
		SELECT seq + 1000000, position + 1000000, revision, recorded_at, occurred_at, gen_random_uuid(), stream, type, actor_id, actor_role, reason, event_hash, leaf_hash
		FROM `+tbl("audit_entries__retired_g2")+` ORDER BY seq DESC LIMIT 1`); err != nil {
		t.Fatal(err)
	}
	// Generation 3 is read by an open transaction.
	reader, err := p.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Rollback(ctx)
	var n int64
	if err := reader.QueryRow(ctx, `SELECT count(*) FROM `+tbl("audit_entries__retired_g3")).Scan(&n); err != nil || n != int64(len(evs)) {
		t.Fatalf("retired generation 3 holds %d entries (%v), want %d", n, err, len(evs))
	}

	dropped, err := db.DropRetired(ctx)
	if err == nil || slices.Contains(dropped, 3) {
		t.Fatalf("DropRetired with generation 3 in use: dropped %v, err %v; want it kept and an error", dropped, err)
	}
	if err := reader.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	dropped, err = db.DropRetired(ctx)
	var re *pgreadmodel.RetiredError
	if !errors.As(err, &re) || re.Generation != 2 || re.Unmatched != 1 {
		t.Errorf("DropRetired: err %v, want a RetiredError for generation 2 with 1 entry", err)
	}
	if gens, _ := db.RetiredGenerations(ctx); !slices.Equal(gens, []int{2}) {
		t.Errorf("retired generations after the drops %v (dropped %v); want [2]", gens, dropped)
	}
	var tables int
	if err := p.QueryRow(ctx, `SELECT count(*) FROM pg_tables WHERE schemaname = $1 AND tablename LIKE '%retired_g2'`, db.Schema()).Scan(&tables); err != nil || tables != 9 {
		t.Errorf("generation 2 keeps %d tables (%v), want all 9", tables, err)
	}
	// The live trail is untouched, and still answers.
	if err := p.QueryRow(ctx, `SELECT count(*) FROM `+tbl("audit_entries")).Scan(&n); err != nil || n != int64(len(evs)) {
		t.Errorf("the live trail holds %d entries (%v), want %d", n, err, len(evs))
	}
}
