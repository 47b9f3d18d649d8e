package pgreadmodel_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kinerja-ledger/kinerja/projections"
	"github.com/kinerja-ledger/kinerja/projections/readmodeltest"
	"github.com/kinerja-ledger/kinerja/projections/skps"
)

// TestRebuildKeepsTheSKPCounts: skp_counts and skp_coverage are tables of
// the skps projection, so live projection (in small batches, each SKP
// written many times), a rebuild swapped in, and a Reset and replay each
// leave them the aggregates of the SKP rows (skp_coverage checked by
// CheckCoverage) (the journey has a cancelled SKP,
// a late one and SKPs through every state).
func TestRebuildKeepsTheSKPCounts(t *testing.T) {
	ctx := context.Background()
	j := readmodeltest.RunJourney(t, openStore)
	evs := readmodeltest.Events(t, j.Store)
	db := openDB(t, projections.StoreHistory{Store: j.Store})
	b := backend(db)
	readmodeltest.Project(t, b, evs, 7)
	p := testPool(t)
	check := func(what string) {
		t.Helper()
		read := func(q string) map[string][2]int64 {
			rows, err := p.Query(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			out := map[string][2]int64{}
			for rows.Next() {
				var u, s string
				var y int32
				var n, l int64
				if err := rows.Scan(&u, &y, &s, &n, &l); err != nil {
					t.Fatal(err)
				}
				out[fmt.Sprintf("%s/%d/%s", u, y, s)] = [2]int64{n, l}
			}
			return out
		}
		want := read(`SELECT unit_id, year, status, count(*), count(*) FILTER (WHERE late) FROM ` + db.Schema() + `.skps GROUP BY 1, 2, 3`)
		got := read(`SELECT unit_id, year, status, n, late FROM ` + db.Schema() + `.skp_counts WHERE n <> 0 OR late <> 0`)
		if len(want) == 0 {
			t.Fatalf("%s: no SKP rows", what)
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Fatalf("%s: skp_counts (+) differs from the SKP rows' aggregate (-):\n%s", what, d)
		}
		drift, err := db.CheckCoverage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(drift) != 0 {
			t.Fatalf("%s: skp_coverage differs from the SKP rows: %+v", what, drift)
		}
	}
	check("projected live")
	rb, err := db.StartRebuild(ctx, skps.Name)
	if err != nil {
		t.Fatal(err)
	}
	if err := rb.Run(ctx, j.Store, 11); err != nil {
		t.Fatal(err)
	}
	check("rebuilt and swapped")
	if err := db.Sink(skps.Name).Reset(ctx); err != nil {
		t.Fatal(err)
	}
	var n int64
	if err := p.QueryRow(ctx, `SELECT (SELECT count(*) FROM `+db.Schema()+`.skp_counts) + (SELECT count(*) FROM `+db.Schema()+`.skp_coverage)`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("skp_counts and skp_coverage after Reset: %d rows, %v", n, err)
	}
	readmodeltest.ProjectInto(t, db.Sink(skps.Name), evs, 50)
	check("reset and replayed")
}
