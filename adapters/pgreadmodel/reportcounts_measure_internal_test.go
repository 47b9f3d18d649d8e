package pgreadmodel

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kinerja-ledger/kinerja/domain/distribution"
	"github.com/kinerja-ledger/kinerja/domain/policy"
	"github.com/kinerja-ledger/kinerja/projections/evaluations"
	"github.com/kinerja-ledger/kinerja/projections/reports"
	"github.com/kinerja-ledger/kinerja/projections/skps"
)

// mainSKPs is the SKP reader as main answered the progress board: the
// aggregate over every SKP row of the units (skps.Counter), every covered
// NIP of the year, and no BoardCounter.
type mainSKPs struct{ r *SKPsReader }

func (m mainSKPs) Get(ctx context.Context, id string) (skps.Summary, error) { return m.r.Get(ctx, id) }
func (m mainSKPs) List(ctx context.Context, q skps.Query) ([]skps.Summary, string, error) {
	return m.r.List(ctx, q)
}
func (m mainSKPs) ForYear(ctx context.Context, units []string, year int) ([]skps.Summary, error) {
	return m.r.ForYear(ctx, units, year)
}
func (m mainSKPs) CoveredForYear(ctx context.Context, year int) ([]string, error) {
	return m.r.CoveredForYear(ctx, year)
}
func (m mainSKPs) CountForYear(ctx context.Context, units []string, year int) ([]skps.UnitYearCount, error) {
	rows, err := m.r.db.pool.Query(ctx, `SELECT unit_id, status, count(*), count(*) FILTER (WHERE late) FROM `+m.r.db.names.t("skps")+
		` WHERE unit_id = ANY($1) AND year = $2 GROUP BY unit_id, status`, units, int32(year))
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (skps.UnitYearCount, error) {
		var c skps.UnitYearCount
		var n, late int64
		err := r.Scan(&c.UnitID, &c.Status, &n, &late)
		c.N, c.Late = int(n), int(late)
		return c, err
	})
}

// backendCPU is the CPU time of the PostgreSQL backends whose
// application_name is app (this machine's server).
func backendCPU(t *testing.T, p *pgxpool.Pool, app string) time.Duration {
	rows, err := p.Query(context.Background(), `SELECT pid FROM pg_stat_activity WHERE application_name = $1`, app)
	if err != nil {
		t.Fatal(err)
	}
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		t.Fatal(err)
	}
	var ticks int64
	for _, pid := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		f := strings.Fields(string(b)[strings.LastIndexByte(string(b), ')')+2:])
		var u, s int64
		fmt.Sscan(f[11], &u)
		fmt.Sscan(f[12], &s)
		ticks += u + s
	}
	return time.Duration(ticks) * 10 * time.Millisecond // CLK_TCK 100
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestReportCountsMeasure (KINERJA_PGTALLY_MEASURE=1): 20,000 employees in
// 2,000 units (a tree of ten children a unit, five levels), an SKP of 2025
// each (1 % each DRAFT, SUBMITTED, CANCELLED; one in ten late) and an
// annual evaluation each, written through the projections' flush in
// batches of 500; the write cost of the SKP batches with and without the
// counts' two statements; then the progress board and the distribution at
// the root, main's way and the branch's, in alternated rounds; and the
// plans of their queries.
func TestReportCountsMeasure(t *testing.T) {
	mode := os.Getenv("KINERJA_PGTALLY_MEASURE")
	if mode != "1" && mode != "writes" {
		t.Skip("KINERJA_PGTALLY_MEASURE=1 runs it (=writes: the write cost only)")
	}
	ctx := context.Background()
	db, _ := internalDB(t)
	cfg, err := pgxpool.ParseConfig(os.Getenv("KINERJA_TEST_POSTGRES_URL"))
	if err != nil {
		t.Fatal(err)
	}
	const app = "pgtally_measure"
	cfg.ConnConfig.RuntimeParams["application_name"] = app
	cfg.MaxConns = 4
	p, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	db, err = Open(ctx, p, Options{Schema: db.opts.Schema})
	if err != nil {
		t.Fatal(err)
	}
	const nUnits, nEmps, batch = 2000, 20000, 500
	if _, err := p.Exec(ctx, `INSERT INTO `+db.names.t("units")+` (registered_at, id, name, parent_id)
		SELECT now(), 'U'||i, 'Unit '||i, CASE WHEN i = 0 THEN '' ELSE 'U'||((i-1)/10) END FROM generate_series(0, $1-1) i`, nUnits); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Exec(ctx, `INSERT INTO `+db.names.t("employees")+` (nip, name, asn_type, unit_id, position_kind, position_title)
		SELECT lpad(i::text, 18, '0'), 'E'||i, 'PNS', 'U'||(i % $2), 'PELAKSANA', 'x' FROM generate_series(0, $1-1) i`, nEmps, nUnits); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2025, 1, 20, 0, 0, 0, 0, time.UTC)
	status := func(i int) string {
		switch i % 100 {
		case 1:
			return "DRAFT"
		case 2:
			return "SUBMITTED"
		case 3:
			return "CANCELLED"
		}
		return "ESTABLISHED"
	}
	preds := []string{"SANGAT_BAIK", "BAIK", "BAIK", "BAIK", "BUTUH_PERBAIKAN", "KURANG"}
	// write cost: the SKP rows written into emptied tables, then the same
	// rows again (a revision: no count moves), by main's flush (the upsert
	// alone), the counts' first form (a "−" and a "+" statement around the
	// upsert), the net statement (countsSQL) alone, and the net statement
	// with the coverage's (coverageSQL, migration 0006: the flush as it
	// is), alternated.
	for round := range 2 {
		for _, how := range []string{"main", "two statements", "net", "net and coverage"} {
			if _, err := p.Exec(ctx, `TRUNCATE `+db.names.t("skps")+`, `+db.names.t("skp_counts")+`, `+db.names.t("skp_coverage")); err != nil {
				t.Fatal(err)
			}
			for _, pass := range []string{"new rows", "rewritten"} {
				c0, s0, w0 := backendCPU(t, p, app), selfCPU(), time.Now()
				for lo := 0; lo < nEmps; lo += batch {
					ss := &skpsStage{n: db.names, rows: map[string]skps.Summary{}}
					for i := lo; i < lo+batch; i++ {
						id := fmt.Sprintf("skp-%018d-2025", i)
						ss.rows[id] = skps.Summary{ID: id, NIP: fmt.Sprintf("%018d", i), UnitID: fmt.Sprintf("U%d", i%nUnits), Year: 2025,
							Status: status(i), Late: i%10 == 0, DraftedAt: at, UpdatedAt: at, RecordedAt: at}
					}
					b := &pgx.Batch{}
					if err := ss.flush(b); err != nil {
						t.Fatal(err)
					}
					upsert := b.QueuedQueries[len(b.QueuedQueries)-1]
					switch how {
					case "main":
						b.QueuedQueries = b.QueuedQueries[len(b.QueuedQueries)-1:]
					case "net":
						b.QueuedQueries = append(b.QueuedQueries[:1], upsert)
					case "two statements":
						ids := upsert.Arguments[0]
						b.QueuedQueries = nil
						b.Queue(twoStatementCountsSQL(db.names, "-"), ids)
						b.QueuedQueries = append(b.QueuedQueries, upsert)
						b.Queue(twoStatementCountsSQL(db.names, "+"), ids)
					}
					tx, err := p.Begin(ctx)
					if err != nil {
						t.Fatal(err)
					}
					if err := tx.SendBatch(ctx, b).Close(); err != nil {
						t.Fatal(err)
					}
					if err := tx.Commit(ctx); err != nil {
						t.Fatal(err)
					}
				}
				t.Logf("write round %d, %s, %s: %d SKP rows in %v wall, PostgreSQL CPU %v, test process CPU %v (load %s)", round, how, pass, nEmps,
					time.Since(w0).Round(time.Millisecond), backendCPU(t, p, app)-c0, (selfCPU() - s0).Round(time.Millisecond), load())
			}
			if how == "net and coverage" {
				checkCountsTable(t, p, db.names, how)
			}
		}
	}
	if mode == "writes" {
		return
	}
	// 400 employees more, without an SKP: the missing.
	if _, err := p.Exec(ctx, `INSERT INTO `+db.names.t("employees")+` (nip, name, asn_type, unit_id, position_kind, position_title)
		SELECT lpad((i + 1000000)::text, 18, '0'), 'N'||i, 'PNS', 'U'||(i % $1), 'PELAKSANA', 'x' FROM generate_series(0, 399) i`, nUnits); err != nil {
		t.Fatal(err)
	}
	for lo := 0; lo < nEmps; lo += batch {
		es := &evaluationsStage{n: db.names, rows: map[[2]string]evaluations.Evaluation{}}
		for i := lo; i < lo+batch; i++ {
			id := fmt.Sprintf("skp-%018d-2025", i)
			es.rows[[2]string{id, "2025"}] = evaluations.Evaluation{SKPID: id, Period: "2025", NIP: fmt.Sprintf("%018d", i), UnitID: fmt.Sprintf("U%d", i%nUnits),
				Year: 2025, Predikat: preds[i%len(preds)], RatedAt: at.Add(time.Duration(i) * time.Second)}
		}
		b := &pgx.Batch{}
		if err := es.flush(b); err != nil {
			t.Fatal(err)
		}
		if err := p.SendBatch(ctx, b).Close(); err != nil {
			t.Fatal(err)
		}
	}
	for _, tb := range []string{"units", "employees", "skps", "skp_counts", "evaluations"} {
		if _, err := p.Exec(ctx, `ANALYZE `+db.names.t(tb)); err != nil {
			t.Fatal(err)
		}
	}
	in := func(sr skps.Reader, er evaluations.Reader) reports.DistributionInput {
		return reports.DistributionInput{Directory: db.Directory(), SKPs: sr, Evaluations: er, Policy: policy.Default(), Pattern: distribution.SE3_2023}
	}
	sides := []struct {
		name string
		sr   skps.Reader
		er   evaluations.Reader
	}{{"main", mainSKPs{db.SKPs()}, fullEvals{db.Evaluations()}}, {"branch", db.SKPs(), db.Evaluations()}}
	var answers [2][2]string
	const n = 40
	for round := range 2 {
		for si, side := range sides {
			for ri, rep := range []string{"progress", "distribution"} {
				var walls []time.Duration
				c0, s0 := backendCPU(t, p, app), selfCPU()
				for range n {
					w0 := time.Now()
					var got any
					var err error
					if rep == "progress" {
						got, err = reports.Progress(ctx, db.Directory(), side.sr, "U0", 2025)
					} else {
						got, err = reports.Distribution(ctx, in(side.sr, side.er), "U0", "2025")
					}
					if err != nil {
						t.Fatal(err)
					}
					walls = append(walls, time.Since(w0))
					answers[si][ri] = fmt.Sprintf("%+v", got)
				}
				slices.Sort(walls)
				t.Logf("round %d %-6s %-12s: wall p50 %v p95 %v max %v; per report: test process CPU %v, PostgreSQL CPU %v (load %s)", round, side.name, rep,
					walls[n/2].Round(time.Microsecond*100), walls[n*95/100].Round(time.Microsecond*100), walls[n-1].Round(time.Microsecond*100),
					((selfCPU() - s0) / n).Round(time.Microsecond*100), ((backendCPU(t, p, app) - c0) / n).Round(time.Microsecond*100), load())
			}
		}
	}
	if answers[0] != answers[1] {
		t.Errorf("main's and the branch's answers differ")
	}
	units, _ := db.Directory().Subtree(ctx, "U0")
	explain := func(what, q string, args ...any) {
		rows, err := p.Query(ctx, `EXPLAIN (ANALYZE, BUFFERS) `+q, args...)
		if err != nil {
			t.Fatal(err)
		}
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("EXPLAIN ANALYZE %s:\n%s", what, strings.Join(lines, "\n"))
	}
	sk, em, ev, sc := db.names.t("skps"), db.names.t("employees"), db.names.t("evaluations"), db.names.t("skp_counts")
	explain("main: SKP aggregate", `SELECT unit_id, status, count(*), count(*) FILTER (WHERE late) FROM `+sk+` WHERE unit_id = ANY($1) AND year = $2 GROUP BY unit_id, status`, units, int32(2025))
	explain("main: covered NIPs", `SELECT DISTINCT nip FROM `+sk+` WHERE year = $1 AND status <> $2`, int32(2025), "CANCELLED")
	explain("main: employees of the subtree", `SELECT `+employeeCols+` FROM `+em+` WHERE unit_id = ANY($1) ORDER BY nip`, units)
	explain("main: evaluations of the subtree", `SELECT `+evaluationCols+` FROM `+ev+` WHERE period = $1 AND unit_id = ANY($2) ORDER BY skp_id`, "2025", units)
	explain("main: SKPs of the subtree", `SELECT `+summaryCols+` FROM `+sk+` WHERE unit_id = ANY($1) AND year = $2 ORDER BY id`, units, int32(2025))
	explain("branch: skp_counts", `SELECT unit_id, status, n, late FROM `+sc+` WHERE unit_id = ANY($1) AND year = $2 AND n <> 0`, units, int32(2025))
	explain("branch: employees and missing", boardSQL(db.names), units, int32(2025), "CANCELLED")
	explain("branch: population counts", populationSQL(db.names), "2025", units, int32(2025), "CANCELLED")
}

func load() string {
	b, _ := os.ReadFile("/proc/loadavg")
	return strings.Join(strings.Fields(string(b))[:3], " ")
}

// twoStatementCountsSQL is the counts' first form, for the write cost's
// comparison: sign "-" before the upsert subtracts the stored rows of the
// SKPs $1, "+" after it adds the new ones.
func twoStatementCountsSQL(n names, sign string) string {
	return `INSERT INTO ` + n.t("skp_counts") + ` AS c (unit_id, year, status, n, late)
	SELECT s.unit_id, s.year, s.status, ` + sign + `count(*), ` + sign + `count(*) FILTER (WHERE s.late)
	FROM unnest($1::text[]) AS k(id) JOIN ` + n.t("skps") + ` s ON s.id = k.id
	GROUP BY s.unit_id, s.year, s.status ORDER BY s.unit_id, s.year, s.status
	ON CONFLICT (unit_id, year, status) DO UPDATE SET n = c.n + excluded.n, late = c.late + excluded.late`
}
