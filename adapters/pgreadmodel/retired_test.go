package pgreadmodel_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

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

// TestDropRetiredComparesEveryTable: a retired generation is dropped only
// when every retired table (but the frontiers) equals the live one on
// every column. Generation 1's agency log assigns an entry to another
// agency (its global entries are the live ones); generation 2's entry
// shows another reason under the same leaf hash; generation 3 lacks its
// entries table; each is kept. An operator's copy that merely looks
// retired (audit_entries_backup__retired_g4) is not a retired table and
// is left alone; generation 4 itself is dropped. DropRetired runs while
// another transaction holds the audit checkpoint row (as the live Sink's
// Apply and a Swap do): it does not wait for it.
func TestDropRetiredComparesEveryTable(t *testing.T) {
	ctx := context.Background()
	store := seededStore(t, 8)
	evs := readmodeltest.Events(t, store)
	db := openDB(t, projections.StoreHistory{Store: store})
	readmodeltest.Project(t, backend(db), evs, 50)
	for range 4 {
		rb, err := db.StartRebuild(ctx, audit.Name)
		if err != nil {
			t.Fatal(err)
		}
		if err := rb.Run(ctx, store, 40); err != nil {
			t.Fatal(err)
		}
	}
	p := testPool(t)
	tbl := func(name string) string { return pgx.Identifier{db.Schema(), name}.Sanitize() }
	// Changes the append-only triggers forbid (a superuser's bypass).
	tamper := func(sql string) {
		t.Helper()
		tx, err := p.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback(ctx)
		if _, err := tx.Exec(ctx, "SET LOCAL session_replication_role = replica"); err != nil {
			t.Fatal(err)
		}
		tag, err := tx.Exec(ctx, sql)
		if err != nil || tag.RowsAffected() != 1 {
			t.Fatalf("%s: %v rows, %v", sql, tag.RowsAffected(), err)
		}
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
	}
	tamper(`UPDATE ` + tbl("audit_agency_entries__retired_g1") + ` SET agency = agency || '-other'
		WHERE seq = (SELECT min(seq) FROM ` + tbl("audit_agency_entries__retired_g1") + `)`)
	tamper(`UPDATE ` + tbl("audit_entries__retired_g2") + ` SET reason = reason || ' (edited)'
		WHERE seq = (SELECT min(seq) FROM ` + tbl("audit_entries__retired_g2") + `)`)
	if _, err := p.Exec(ctx, `DROP TABLE `+tbl("audit_entries__retired_g3")); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Exec(ctx, `CREATE TABLE `+tbl("audit_entries_backup__retired_g4")+` AS TABLE `+tbl("audit_entries__retired_g4")); err != nil {
		t.Fatal(err)
	}
	// The audit checkpoint row, held FOR UPDATE meanwhile.
	holder, err := p.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Rollback(ctx)
	if _, err := holder.Exec(ctx, `SELECT 1 FROM `+tbl("checkpoints")+` WHERE projection = $1 FOR UPDATE`, audit.Name); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	dropped, err := db.DropRetired(ctx)
	if el := time.Since(start); el > 3*time.Second {
		t.Errorf("DropRetired took %v beside a holder of the audit checkpoint row", el)
	}
	var re *pgreadmodel.RetiredError
	if !errors.As(err, &re) || re.Generation != 1 || re.Table != "audit_agency_entries__retired_g1" || re.Unmatched != 1 {
		t.Errorf("DropRetired: err %v, want a RetiredError for generation 1's audit_agency_entries with 1 row", err)
	}
	if !slices.Equal(dropped, []int{4}) {
		t.Errorf("DropRetired dropped %v, want [4]", dropped)
	}
	if gens, _ := db.RetiredGenerations(ctx); !slices.Equal(gens, []int{1, 2, 3}) {
		t.Errorf("retired generations after the drop %v; want [1 2 3]", gens)
	}
	count := func(like string) int {
		var n int
		if err := p.QueryRow(ctx, `SELECT count(*) FROM pg_tables WHERE schemaname = $1 AND tablename LIKE $2`, db.Schema(), like).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for like, want := range map[string]int{"%retired_g1": 9, "%retired_g2": 9, "%retired_g3": 8, "audit_entries_backup__retired_g4": 1, "%\\_\\_retired\\_g4": 1} {
		if n := count(like); n != want {
			t.Errorf("%d tables like %s, want %d", n, like, want)
		}
	}
	if err := holder.Rollback(ctx); err != nil {
		t.Fatal(err)
	}

	// While a rebuild of the trail is in progress, nothing is dropped.
	if _, err := p.Exec(ctx, `DROP TABLE `+tbl("audit_entries_backup__retired_g4")); err != nil {
		t.Fatal(err)
	}
	for _, g := range []int{1, 2} {
		for _, tb := range pgreadmodel.Tables(audit.Name) {
			if _, err := p.Exec(ctx, `DROP TABLE `+tbl(fmt.Sprintf("%s__retired_g%d", tb, g))); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Generation 3 is made whole again: a copy of the live entries.
	if _, err := p.Exec(ctx, `CREATE TABLE `+tbl("audit_entries__retired_g3")+` AS TABLE `+tbl("audit_entries")); err != nil {
		t.Fatal(err)
	}
	rb, err := db.StartRebuild(ctx, audit.Name)
	if err != nil {
		t.Fatal(err)
	}
	if dropped, err := db.DropRetired(ctx); !errors.Is(err, pgreadmodel.ErrAuditRebuilding) || len(dropped) != 0 {
		t.Errorf("DropRetired during a rebuild: dropped %v, err %v; want ErrAuditRebuilding", dropped, err)
	}
	if err := rb.Run(ctx, store, 40); err != nil {
		t.Fatal(err)
	}
	if dropped, err := db.DropRetired(ctx); err != nil || !slices.Equal(dropped, []int{3, 5}) {
		t.Errorf("DropRetired after the swap: dropped %v, err %v; want [3 5]", dropped, err)
	}
}
