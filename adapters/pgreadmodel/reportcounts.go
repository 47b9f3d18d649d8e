package pgreadmodel

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/kinerja-ledger/kinerja/domain/period"
	"github.com/kinerja-ledger/kinerja/domain/skp"
	"github.com/kinerja-ledger/kinerja/projections/directory"
	"github.com/kinerja-ledger/kinerja/projections/reports"
	"github.com/kinerja-ledger/kinerja/projections/skps"
)

// The reports' counts computed where the rows are (issue 15, branch
// pgtally). The progress board's SKP counts are read from skp_counts, kept
// by the skps projection (CountForYear); its employees and missing
// employees, and the distribution's predikat counts, cross two
// projections (directory and skps; evaluations and skps), each with its
// own checkpoint and transaction, so no one transaction could keep them
// exactly: they are aggregated in one statement each (one snapshot of both
// tables), which returns counts and the missing NIPs, not every row.

// oneShot runs the board's statement as the unnamed statement (its
// description cached): PostgreSQL plans each execution for its units, as
// it plans a statement sent once. A statement prepared and cached (pgx's
// default) is planned for its parameters five times, then, when the
// generic plan's cost looks no worse, once for any units: estimated for a
// handful of units, the generic board probes skp_coverage's key once per
// employee in a nested loop, where at a province's root a hash of the
// coverage is the plan (884 ms against 500 ms in EXPLAIN ANALYZE at
// 100,000 employees with plan_cache_mode = force_generic_plan; measured
// through pgx, 195–203 ms of PostgreSQL CPU a board against 120–125 ms,
// benchmarks). The price is one planning a board, every board's: a small
// unit's, whose generic plan would be as good, is planned each execution
// too. A server or role with plan_cache_mode = force_generic_plan cancels
// the effect (the unnamed statement then gets the generic plan as well).
// The distribution's statement is left prepared: planned each time it
// cost more (146–153 ms against 130–143 ms, the same runs).
const oneShot = pgx.QueryExecModeCacheDescribe

var (
	_ reports.BoardCounter      = (*SKPsReader)(nil)
	_ reports.PopulationCounter = (*EvaluationsReader)(nil)
)

// EmployeesAndMissing implements reports.BoardCounter: per unit of units
// with employees, their number and the NIPs (in order) of those without an
// SKP of year that is not cancelled, in any unit. ok is false when dir is
// not this database's DirectoryReader.
func (r *SKPsReader) EmployeesAndMissing(ctx context.Context, dir directory.Reader, units []string, year int) (map[string]reports.UnitEmployees, bool, error) {
	d, ok := dir.(*DirectoryReader)
	if !ok || d.db != r.db {
		return nil, false, nil
	}
	out := map[string]reports.UnitEmployees{}
	if len(units) == 0 {
		return out, true, nil
	}
	rows, err := r.db.pool.Query(ctx, boardSQL(r.db.names), oneShot, units, int32(year))
	if err != nil {
		return nil, false, fmt.Errorf("pgreadmodel: board employees: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var unit string
		var n int64
		var missing []string
		if err := rows.Scan(&unit, &n, &missing); err != nil {
			return nil, false, fmt.Errorf("pgreadmodel: board employees: %w", err)
		}
		u := out[unit]
		u.Employees += int(n)
		u.Missing = append(u.Missing, missing...)
		out[unit] = u
	}
	if err := rows.Err(); err != nil {
		return nil, false, fmt.Errorf("pgreadmodel: board employees: %w", err)
	}
	return out, true, nil
}

// boardSQL counts the employees of the units $1, and lists those without
// an SKP of year $2 that is not cancelled, per unit: those without a row
// of skp_coverage (year, NIP) with n > 0 (migration 0006, kept by the skps
// projection with the SKP rows). The subtree's employees are read once
// (e), and the statement answers two kinds of rows (one snapshot):
// (unit, employees, {}) for each unit with employees, from a hash
// aggregate that sorts nothing, and (unit, 0, missing NIPs in order) for
// each unit with missing employees, from an anti-join on the coverage's
// key, so that only the missing rows are sorted. The first form (pgtally)
// found the covered NIPs with a DISTINCT over the SKP rows (a scan of
// every SKP of every year and a hash of the covered NIPs) and sorted
// every employee of the subtree by unit for an array_agg(ORDER BY):
// benchmarks, "The progress board's coverage kept", has both measured.
// (The covered NIPs are not a NOT EXISTS in the aggregate's FILTER: for
// that one the planner estimated a cost in the millions and compiled it
// with JIT.)
func boardSQL(n names) string {
	return `WITH e AS MATERIALIZED (SELECT unit_id, nip FROM ` + n.t("employees") + ` WHERE unit_id = ANY($1))
		SELECT unit_id, count(*), '{}'::text[] COLLATE "C" FROM e GROUP BY unit_id
		UNION ALL
		SELECT e.unit_id, 0, array_agg(e.nip ORDER BY e.nip) FROM e
		WHERE NOT EXISTS (SELECT 1 FROM ` + n.t("skp_coverage") + ` c WHERE c.year = $2 AND c.nip = e.nip AND c.n > 0)
		GROUP BY e.unit_id`
}

// populationSQL counts the population of period $1 in the units $2 by
// predikat; $3 is the period's year, $4 CANCELLED. The NIPs are sorted
// for the DISTINCT ON in the "C" collation (bytes): evaluations.nip has
// the database's, whose comparisons call strcoll and whose sorts get no
// abbreviated keys (PostgreSQL uses them with libc collations only for
// "C"). A deterministic collation's equality is the bytes', so the
// employees kept, one per NIP, are the same.
func populationSQL(n names) string {
	return `WITH ev AS (
			SELECT skp_id, nip COLLATE "C" AS nip, unit_id, predikat, rated_at FROM ` + n.t("evaluations") + `
			WHERE period = $1 AND unit_id = ANY($2)),
		cancelled AS (
			SELECT s.id FROM ` + n.t("skps") + ` s
			WHERE s.unit_id IN (SELECT unit_id FROM ev) AND s.year = $3 AND s.status = $4)
		SELECT predikat, count(*) FROM (
			SELECT DISTINCT ON (nip) predikat FROM ev
			WHERE predikat <> '' AND skp_id NOT IN (SELECT id FROM cancelled)
			ORDER BY nip, rated_at DESC, skp_id) x
		GROUP BY predikat`
}

// PopulationCounts implements reports.PopulationCounter: the population
// of reports.Population (UNIT_AND_SUBUNITS) counted by predikat in one
// statement. Per NIP the evaluation of the period in units, rated, whose
// SKP is not cancelled (as found among the SKPs of the period's year in
// the units of those evaluations), the latest rated (the first by SKP id
// of equals, as Population keeps it). ok is false when sr is not this
// database's SKPsReader.
func (r *EvaluationsReader) PopulationCounts(ctx context.Context, sr skps.Reader, units []string, p period.Period) (map[string]int, bool, error) {
	s, ok := sr.(*SKPsReader)
	if !ok || s.db != r.db {
		return nil, false, nil
	}
	out := map[string]int{}
	if len(units) == 0 {
		return out, true, nil
	}
	rows, err := r.db.pool.Query(ctx, populationSQL(r.db.names), p.String(), units, int32(p.Year()), string(skp.StatusCancelled))
	if err != nil {
		return nil, false, fmt.Errorf("pgreadmodel: distribution counts: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var pred string
		var n int64
		if err := rows.Scan(&pred, &n); err != nil {
			return nil, false, fmt.Errorf("pgreadmodel: distribution counts: %w", err)
		}
		out[pred] = int(n)
	}
	if err := rows.Err(); err != nil {
		return nil, false, fmt.Errorf("pgreadmodel: distribution counts: %w", err)
	}
	return out, true, nil
}

// CountDrift is one (unit, year, status) whose row of skp_counts differs
// from the aggregate of the SKP rows: Want is the aggregate, Got the count.
type CountDrift struct {
	UnitID   string `json:"unit_id"`
	Year     int    `json:"year"`
	Status   string `json:"status"`
	WantN    int64  `json:"want_n"`
	WantLate int64  `json:"want_late"`
	GotN     int64  `json:"got_n"`
	GotLate  int64  `json:"got_late"`
}

// CheckCounts compares skp_counts with the GROUP BY of the SKP rows, in one
// snapshot, and returns the (unit, year, status) that differ (none: the
// counts are consistent). The projection keeps them in the rows'
// transaction, so they drift only when something writes skps rows without
// them: a build before migration 0005 left running after it
// (docs/operations.md), or a hand edit. kinerjactl projections check runs
// it; the repair is kinerjactl projections rebuild skps. It reads every
// SKP row: an operator's check, not a request's.
func (db *DB) CheckCounts(ctx context.Context) ([]CountDrift, error) {
	rows, err := db.pool.Query(ctx, `WITH a AS (
			SELECT unit_id, year, status, count(*) AS n, count(*) FILTER (WHERE late) AS late
			FROM `+db.names.t("skps")+` GROUP BY unit_id, year, status),
		c AS (SELECT unit_id, year, status, n, late FROM `+db.names.t("skp_counts")+` WHERE n <> 0 OR late <> 0)
		SELECT coalesce(a.unit_id, c.unit_id), coalesce(a.year, c.year), coalesce(a.status, c.status),
			coalesce(a.n, 0), coalesce(a.late, 0), coalesce(c.n, 0), coalesce(c.late, 0)
		FROM a FULL JOIN c ON (a.unit_id, a.year, a.status) = (c.unit_id, c.year, c.status)
		WHERE a.n IS DISTINCT FROM c.n OR a.late IS DISTINCT FROM c.late
		ORDER BY 1, 2, 3`)
	if err != nil {
		return nil, fmt.Errorf("pgreadmodel: check counts: %w", err)
	}
	defer rows.Close()
	out := []CountDrift{}
	for rows.Next() {
		var d CountDrift
		var year int32
		if err := rows.Scan(&d.UnitID, &year, &d.Status, &d.WantN, &d.WantLate, &d.GotN, &d.GotLate); err != nil {
			return nil, fmt.Errorf("pgreadmodel: check counts: %w", err)
		}
		d.Year = int(year)
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pgreadmodel: check counts: %w", err)
	}
	return out, nil
}

// CoverageDrift is one (year, NIP) whose row of skp_coverage differs from
// the number of its SKP rows that are not cancelled: Want is that number,
// Got the row's.
type CoverageDrift struct {
	Year int    `json:"year"`
	NIP  string `json:"nip"`
	Want int64  `json:"want_n"`
	Got  int64  `json:"got_n"`
}

// CheckCoverage compares skp_coverage with the count of the SKP rows that
// are not cancelled per (year, NIP), in one snapshot, and returns the
// (year, NIP) that differ (none: consistent). It drifts as skp_counts
// does, when something writes skps rows without it (a build before
// migration 0006 left running after it, a hand edit); kinerjactl
// projections check runs it, and the repair is kinerjactl projections
// rebuild skps. It reads every SKP row.
func (db *DB) CheckCoverage(ctx context.Context) ([]CoverageDrift, error) {
	rows, err := db.pool.Query(ctx, `WITH a AS (
			SELECT year, nip COLLATE "C" AS nip, count(*) AS n FROM `+db.names.t("skps")+`
			WHERE status <> $1 GROUP BY 1, 2),
		c AS (SELECT year, nip, n FROM `+db.names.t("skp_coverage")+` WHERE n <> 0)
		SELECT coalesce(a.year, c.year), coalesce(a.nip, c.nip), coalesce(a.n, 0), coalesce(c.n, 0)
		FROM a FULL JOIN c ON (a.year, a.nip) = (c.year, c.nip)
		WHERE a.n IS DISTINCT FROM c.n
		ORDER BY 1, 2`, string(skp.StatusCancelled))
	if err != nil {
		return nil, fmt.Errorf("pgreadmodel: check coverage: %w", err)
	}
	defer rows.Close()
	out := []CoverageDrift{}
	for rows.Next() {
		var d CoverageDrift
		var year int32
		if err := rows.Scan(&year, &d.NIP, &d.Want, &d.Got); err != nil {
			return nil, fmt.Errorf("pgreadmodel: check coverage: %w", err)
		}
		d.Year = int(year)
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pgreadmodel: check coverage: %w", err)
	}
	return out, nil
}
