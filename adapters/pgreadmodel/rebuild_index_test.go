package pgreadmodel_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/kinerja-ledger/kinerja/adapters/pgreadmodel"
	"github.com/kinerja-ledger/kinerja/projections"
	"github.com/kinerja-ledger/kinerja/projections/readmodeltest"
)

// indexDefs returns the definitions of table's indexes in schema, without
// their names (pg_get_indexdef from " USING "), sorted; secondary only
// keeps those that are neither unique nor a constraint's.
func indexDefs(t *testing.T, schema, table string, secondaryOnly bool) []string {
	t.Helper()
	rows, err := testPool(t).Query(context.Background(), `SELECT substr(pg_get_indexdef(i.indexrelid), strpos(pg_get_indexdef(i.indexrelid), ' USING ') + 1),
			i.indisunique OR EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
		FROM pg_index i WHERE i.indrelid = $1::regclass`, pgx.Identifier{schema, table}.Sanitize())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for rows.Next() {
		var def string
		var unique bool
		if err := rows.Scan(&def, &unique); err != nil {
			t.Fatal(err)
		}
		if !unique || !secondaryOnly {
			out = append(out, def)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// appendOnly are the tables a Sink only appends to, whose keys a rebuild
// defers to its swap too.
var appendOnly = map[string]bool{"audit_entries": true, "audit_nodes": true, "audit_agency_entries": true, "audit_agency_nodes": true, "timeline_items": true}

// TestRebuildDefersSecondaryIndexes: a rebuild's fresh tables keep their
// primary keys and unique constraints but not their secondary indexes
// while they fill, and the tables a Sink only appends to not even their
// keys; Swap builds those, so that the tables it swaps in carry exactly
// the indexes of a freshly migrated schema, and the rebuilt projection
// answers like one that never rebuilt.
func TestRebuildDefersSecondaryIndexes(t *testing.T) {
	ctx := context.Background()
	j := readmodeltest.RunJourney(t, openStore)
	evs := readmodeltest.Events(t, j.Store)
	h := projections.StoreHistory{Store: j.Store}
	db, ref := openDB(t, h), openDB(t, h)
	readmodeltest.Project(t, backend(ref), evs, 100)

	for _, name := range pgreadmodel.Names() {
		rb, err := db.StartRebuild(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		suffix := fmt.Sprintf("__g%d", rb.Generation())
		for _, table := range pgreadmodel.Tables(name) {
			if got := indexDefs(t, db.Schema(), table+suffix, true); len(got) > 0 {
				t.Errorf("%s%s while rebuilding has the secondary indexes %q, want none", table, suffix, got)
			}
			want := indexDefs(t, ref.Schema(), table, false)
			var keys []string
			for _, d := range want {
				if !slices.Contains(indexDefs(t, ref.Schema(), table, true), d) && !appendOnly[table] {
					keys = append(keys, d)
				}
			}
			if got := indexDefs(t, db.Schema(), table+suffix, false); !slices.Equal(got, keys) {
				t.Errorf("%s%s while rebuilding has the indexes %q, want its keys %q", table, suffix, got, keys)
			}
		}
		readmodeltest.ProjectInto(t, rb.Sink(), evs, 50)
		if err := rb.Swap(ctx); err != nil {
			t.Fatal(err)
		}
		for _, table := range pgreadmodel.Tables(name) {
			want, got := indexDefs(t, ref.Schema(), table, false), indexDefs(t, db.Schema(), table, false)
			if !slices.Equal(got, want) {
				t.Errorf("%s after the swap has the indexes %q, want %q", table, got, want)
			}
		}
	}
	readmodeltest.Project(t, backend(db), evs, 100)
	readmodeltest.SameSnapshot(t, "rebuilt with deferred indexes", readmodeltest.Take(t, backend(ref)), readmodeltest.Take(t, backend(db)))
}

// TestRebuildRefusesADuplicateAtTheKeyBuild: the keys of an append-only
// table, deferred while a rebuild fills it, are built by Swap before it
// swaps; a duplicate row (as a Sink that appended an event twice would
// leave) fails that build, and with it the swap: the live tables stay
// live, and the rebuild can be aborted.
func TestRebuildRefusesADuplicateAtTheKeyBuild(t *testing.T) {
	ctx := context.Background()
	j := readmodeltest.RunJourney(t, openStore)
	evs := readmodeltest.Events(t, j.Store)
	h := projections.StoreHistory{Store: j.Store}
	for _, c := range []struct{ projection, table string }{{"timeline", "timeline_items"}, {"audit", "audit_entries"}, {"audit", "audit_agency_entries"}} {
		db := openDB(t, h)
		readmodeltest.Project(t, backend(db), evs, 100)
		rb, err := db.StartRebuild(ctx, c.projection)
		if err != nil {
			t.Fatal(err)
		}
		readmodeltest.ProjectInto(t, rb.Sink(), evs, 50)
		rebuilt := pgx.Identifier{db.Schema(), fmt.Sprintf("%s__g%d", c.table, rb.Generation())}.Sanitize()
		if _, err := testPool(t).Exec(ctx, `INSERT INTO `+rebuilt+` SELECT * FROM `+rebuilt+` LIMIT 1`); err != nil {
			t.Fatalf("%s: a duplicate row while rebuilding: %v (its keys were not deferred)", c.table, err)
		}
		err = rb.Swap(ctx)
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "23505" {
			t.Fatalf("%s: Swap with a duplicate row = %v, want a unique violation", c.table, err)
		}
		if rb.Swapped() {
			t.Fatalf("%s: swapped in with a duplicate row", c.table)
		}
		st, err := db.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range st {
			if s.Projection == c.projection && s.Generation != 1 {
				t.Errorf("%s: generation %d live after the refused swap, want 1", c.projection, s.Generation)
			}
		}
		if err := rb.Abort(ctx); err != nil {
			t.Fatal(err)
		}
	}
}
