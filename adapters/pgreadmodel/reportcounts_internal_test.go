package pgreadmodel

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kinerja-ledger/kinerja/domain/distribution"
	"github.com/kinerja-ledger/kinerja/domain/period"
	"github.com/kinerja-ledger/kinerja/domain/policy"
	"github.com/kinerja-ledger/kinerja/projections/evaluations"
	"github.com/kinerja-ledger/kinerja/projections/reports"
	"github.com/kinerja-ledger/kinerja/projections/skps"
)

// internalDB opens a migrated schema of its own on
// KINERJA_TEST_POSTGRES_URL (skipped without it, failed under
// KINERJA_REQUIRE_INTEGRATION=1).
func internalDB(t *testing.T) (*DB, *pgxpool.Pool) {
	t.Helper()
	url := os.Getenv("KINERJA_TEST_POSTGRES_URL")
	if url == "" {
		if os.Getenv("KINERJA_REQUIRE_INTEGRATION") == "1" {
			t.Fatal("KINERJA_TEST_POSTGRES_URL is not set and KINERJA_REQUIRE_INTEGRATION=1")
		}
		t.Skip("KINERJA_TEST_POSTGRES_URL is not set")
	}
	ctx := context.Background()
	p, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	schema := fmt.Sprintf("rm_counts_%d", os.Getpid())
	if _, err := p.Exec(ctx, `DROP SCHEMA IF EXISTS `+schema+` CASCADE`); err != nil {
		t.Fatal(err)
	}
	if _, err := Migrate(ctx, p, schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Exec(context.Background(), `DROP SCHEMA IF EXISTS `+schema+` CASCADE`) })
	db, err := Open(ctx, p, Options{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	return db, p
}

// full hides the readers' own counting (skps.Counter, reports.BoardCounter,
// reports.PopulationCounter): the reports over it are the full
// computation.
type fullSKPs struct{ skps.Reader }
type fullEvals struct{ evaluations.Reader }

// TestReportCountsEqualTheFullComputation: random changes of SKP rows
// (moved to another unit or agency, another year, cancelled and restored,
// late corrected), of employees (moved between units and agencies) and of
// evaluations (re-rated, corrected, a second SKP's), written through the
// projections' own flush in one transaction per batch: after each batch
// skp_counts equals the aggregate of the SKP rows, and the progress board
// and the distribution of each agency and unit equal the full computation,
// with nothing of the other agency in them.
func TestReportCountsEqualTheFullComputation(t *testing.T) {
	ctx := context.Background()
	db, p := internalDB(t)
	rng := rand.New(rand.NewPCG(15, 2026))
	// Two agencies, A and B, of three units each.
	units := []string{"A", "A1", "A2", "B", "B1", "B2"}
	parent := map[string]string{"A1": "A", "A2": "A1", "B1": "B", "B2": "B"}
	for _, u := range units {
		if _, err := p.Exec(ctx, `INSERT INTO `+db.names.t("units")+` (registered_at, id, name, parent_id) VALUES (now(), $1, $1, $2)`, u, parent[u]); err != nil {
			t.Fatal(err)
		}
	}
	agencyOf := func(u string) string { return u[:1] }
	nips := make([]string, 24)
	for i := range nips {
		nips[i] = fmt.Sprintf("1990010120150310%02d", i)
		if _, err := p.Exec(ctx, `INSERT INTO `+db.names.t("employees")+` (nip, name, asn_type, unit_id, position_kind, position_title)
			VALUES ($1, $1, 'PNS', $2, 'PELAKSANA', 'x')`, nips[i], units[rng.IntN(len(units))]); err != nil {
			t.Fatal(err)
		}
	}
	statuses := reports.Statuses()
	years := []int{2025, 2026}
	periods := []string{"2026", "2026-Q1"}
	preds := []string{"", "SANGAT_BAIK", "BAIK", "BUTUH_PERBAIKAN", "KURANG", "SANGAT_KURANG"}
	ids := make([]string, 40)
	for i := range ids {
		ids[i] = fmt.Sprintf("SKP-%02d", i)
	}
	base := time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)
	full := reports.DistributionInput{Directory: db.Directory(), SKPs: fullSKPs{db.SKPs()}, Evaluations: fullEvals{db.Evaluations()}, Policy: policy.Default(), Pattern: distribution.SE3_2023}
	fast := reports.DistributionInput{Directory: db.Directory(), SKPs: db.SKPs(), Evaluations: db.Evaluations(), Policy: policy.Default(), Pattern: distribution.SE3_2023}
	for round := range 20 {
		tx, err := p.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		b := &pgx.Batch{}
		ss := &skpsStage{n: db.names, rows: map[string]skps.Summary{}}
		es := &evaluationsStage{n: db.names, rows: map[[2]string]evaluations.Evaluation{}}
		for range 1 + rng.IntN(12) {
			id := ids[rng.IntN(len(ids))]
			ss.rows[id] = skps.Summary{ID: id, NIP: nips[rng.IntN(len(nips))], UnitID: units[rng.IntN(len(units))], Year: years[rng.IntN(2)],
				Status: statuses[rng.IntN(len(statuses))], Late: rng.IntN(3) == 0, DraftedAt: base, UpdatedAt: base, RecordedAt: base}
		}
		for range rng.IntN(10) {
			id := ids[rng.IntN(len(ids))]
			per := periods[rng.IntN(2)]
			es.rows[[2]string{id, per}] = evaluations.Evaluation{SKPID: id, Period: per, NIP: nips[rng.IntN(len(nips))], UnitID: units[rng.IntN(len(units))],
				Year: 2026, Predikat: preds[rng.IntN(len(preds))], RatedAt: base.Add(time.Duration(rng.IntN(4)) * time.Hour)}
		}
		if err := ss.flush(b); err != nil {
			t.Fatal(err)
		}
		if err := es.flush(b); err != nil {
			t.Fatal(err)
		}
		for range rng.IntN(3) { // a transfer, within or across agencies
			b.Queue(`UPDATE `+db.names.t("employees")+` SET unit_id = $2 WHERE nip = $1`, nips[rng.IntN(len(nips))], units[rng.IntN(len(units))])
		}
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		checkCountsTable(t, p, db.names, fmt.Sprintf("round %d", round))
		for _, u := range []string{"A", "A1", "B"} { // the roots, and a unit within
			for _, y := range years {
				want, err := reports.Progress(ctx, db.Directory(), fullSKPs{db.SKPs()}, u, y)
				if err != nil {
					t.Fatal(err)
				}
				got, err := reports.Progress(ctx, db.Directory(), db.SKPs(), u, y)
				if err != nil {
					t.Fatal(err)
				}
				if d := cmp.Diff(want, got); d != "" {
					t.Fatalf("round %d: progress of %s, %d: counted in the database (+) differs from the full computation (-):\n%s", round, u, y, d)
				}
				for _, row := range got.Units {
					if agencyOf(row.UnitID) != agencyOf(u) {
						t.Fatalf("round %d: progress of %s lists %s", round, u, row.UnitID)
					}
					for _, n := range row.MissingNIPs {
						var at string
						if err := p.QueryRow(ctx, `SELECT unit_id FROM `+db.names.t("employees")+` WHERE nip = $1`, n).Scan(&at); err != nil || agencyOf(at) != agencyOf(u) {
							t.Fatalf("round %d: progress of %s lists %s of unit %s (%v)", round, u, n, at, err)
						}
					}
				}
			}
			for _, per := range periods {
				want, err := reports.Distribution(ctx, full, u, per)
				if err != nil {
					t.Fatal(err)
				}
				got, err := reports.Distribution(ctx, fast, u, per)
				if err != nil {
					t.Fatal(err)
				}
				if d := cmp.Diff(want, got); d != "" {
					t.Fatalf("round %d: distribution of %s, %s: counted in the database (+) differs from the full computation (-):\n%s", round, u, per, d)
				}
			}
		}
	}
	// Another database's readers are not counted with: the full
	// computation answers (ok = false).
	other, _ := internalDB2(t, p)
	if _, ok, err := db.SKPs().EmployeesAndMissing(ctx, other.Directory(), []string{"A"}, 2026); ok || err != nil {
		t.Errorf("EmployeesAndMissing with another schema's directory: ok = %v, %v", ok, err)
	}
	if _, ok, err := db.Evaluations().PopulationCounts(ctx, other.SKPs(), []string{"A"}, mustPeriod(t, "2026")); ok || err != nil {
		t.Errorf("PopulationCounts with another schema's SKPs: ok = %v, %v", ok, err)
	}
}

// checkCountsTable fails unless skp_counts (its non-zero rows) is the
// aggregate of the skps rows, and no count is negative.
func checkCountsTable(t *testing.T, p *pgxpool.Pool, n names, what string) {
	t.Helper()
	read := func(q string) map[string][2]int64 {
		rows, err := p.Query(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string][2]int64{}
		for rows.Next() {
			var u, s string
			var y int32
			var c, l int64
			if err := rows.Scan(&u, &y, &s, &c, &l); err != nil {
				t.Fatal(err)
			}
			if c < 0 || l < 0 || l > c {
				t.Errorf("%s: count (%s, %d, %s) = %d, late %d", what, u, y, s, c, l)
			}
			out[fmt.Sprintf("%s/%d/%s", u, y, s)] = [2]int64{c, l}
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return out
	}
	want := read(`SELECT unit_id, year, status, count(*), count(*) FILTER (WHERE late) FROM ` + n.t("skps") + ` GROUP BY 1, 2, 3`)
	got := read(`SELECT unit_id, year, status, n, late FROM ` + n.t("skp_counts") + ` WHERE n <> 0 OR late <> 0`)
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("%s: skp_counts (+) differs from the SKP rows' aggregate (-):\n%s", what, d)
	}
	checkCoverageTable(t, p, n, what)
}

// checkCoverageTable fails unless skp_coverage (its non-zero rows) is the
// number of SKP rows that are not cancelled per (year, NIP), and no count
// is negative (migration 0006).
func checkCoverageTable(t *testing.T, p *pgxpool.Pool, n names, what string) {
	t.Helper()
	read := func(q string) map[string]int64 {
		rows, err := p.Query(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]int64{}
		for rows.Next() {
			var y int32
			var nip string
			var c int64
			if err := rows.Scan(&y, &nip, &c); err != nil {
				t.Fatal(err)
			}
			if c < 0 {
				t.Errorf("%s: coverage (%d, %s) = %d", what, y, nip, c)
			}
			out[fmt.Sprintf("%d/%s", y, nip)] = c
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return out
	}
	want := read(`SELECT year, nip, count(*) FROM ` + n.t("skps") + ` WHERE status <> 'CANCELLED' GROUP BY 1, 2`)
	got := read(`SELECT year, nip, n FROM ` + n.t("skp_coverage") + ` WHERE n <> 0`)
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("%s: skp_coverage (+) differs from the SKP rows not cancelled per (year, NIP) (-):\n%s", what, d)
	}
}

func internalDB2(t *testing.T, p *pgxpool.Pool) (*DB, string) {
	t.Helper()
	ctx := context.Background()
	schema := fmt.Sprintf("rm_counts_other_%d", os.Getpid())
	if _, err := p.Exec(ctx, `DROP SCHEMA IF EXISTS `+schema+` CASCADE`); err != nil {
		t.Fatal(err)
	}
	if _, err := Migrate(ctx, p, schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Exec(context.Background(), `DROP SCHEMA IF EXISTS `+schema+` CASCADE`) })
	db, err := Open(ctx, p, Options{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	return db, schema
}

func mustPeriod(t *testing.T, s string) period.Period {
	t.Helper()
	p, err := period.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
