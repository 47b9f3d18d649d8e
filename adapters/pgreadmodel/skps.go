package pgreadmodel

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kinerja-ledger/kinerja/domain/skp"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections"
	"github.com/kinerja-ledger/kinerja/projections/skps"
)

type skpsProjector struct{ p *skps.Projection }

func (p *skpsProjector) forget() { p.p.Reset() }

func (p *skpsProjector) begin(_ pgx.Tx, n names) stager {
	return &skpsStage{p: p.p, n: n, rows: map[string]skps.Summary{}}
}

type skpsStage struct {
	p    *skps.Projection
	n    names
	rows map[string]skps.Summary
}

var _ skps.Store = (*skpsStage)(nil)

func (s *skpsStage) load(context.Context, []projections.Event) error { return nil }

func (s *skpsStage) apply(ctx context.Context, ev projections.Event) error {
	return s.p.Apply(ctx, s, ev)
}

func (s *skpsStage) PutSummary(_ context.Context, sum skps.Summary) error {
	s.rows[sum.ID] = sum
	return nil
}

var skpsColumns = []column{{"id", "text", ""}, {"nip", "text", ""}, {"name", "text", ""}, {"unit_id", "text", ""},
	{"year", "int4", ""}, {"sequence", "int4", ""}, {"status", "text", ""}, {"version", "int4", ""}, {"late", "bool", ""},
	{"appraiser_nip", "text", ""}, {"appraiser_superior_nip", "text", ""}, {"drafted_on_behalf", "bool", ""},
	{"revision", "int8", ""}, {"position", "int8", ""}, {"drafted_at", "timestamptz", ""}, {"updated_at", "timestamptz", ""},
	{"recorded_at", "timestamptz", ""}}

func (s *skpsStage) flush(b *pgx.Batch) error {
	if len(s.rows) == 0 {
		return nil
	}
	n := len(s.rows)
	var (
		id, nip, name, unit, status, appr, sup = make([]string, 0, n), make([]string, 0, n), make([]string, 0, n), make([]string, 0, n), make([]string, 0, n), make([]string, 0, n), make([]string, 0, n)
		year, seq, version                     = make([]int32, 0, n), make([]int32, 0, n), make([]int32, 0, n)
		late, behalf                           = make([]bool, 0, n), make([]bool, 0, n)
		rev, pos                               = make([]int64, 0, n), make([]int64, 0, n)
		drafted, updated, recorded             = make([]time.Time, 0, n), make([]time.Time, 0, n), make([]time.Time, 0, n)
	)
	for _, r := range s.rows {
		id, nip, name, unit, status, appr, sup = append(id, r.ID), append(nip, r.NIP), append(name, r.Name), append(unit, r.UnitID),
			append(status, r.Status), append(appr, r.AppraiserNIP), append(sup, r.AppraiserSuperiorNIP)
		year, seq, version = append(year, int32(r.Year)), append(seq, int32(r.Sequence)), append(version, int32(r.Version))
		late, behalf = append(late, r.Late), append(behalf, r.DraftedOnBehalf)
		rev, pos = append(rev, int64(r.Revision)), append(pos, int64(r.Position))
		drafted, updated, recorded = append(drafted, r.DraftedAt), append(updated, r.UpdatedAt), append(recorded, r.RecordedAt)
	}
	// The counts move with the rows, in the same transaction: one statement
	// nets the old rows of these SKPs against the new ones and writes only
	// the counts that change, before the rows are replaced (migration 0005).
	b.Queue(countsSQL(s.n), id, unit, year, status, late)
	b.Queue(coverageSQL(s.n), id, nip, year, status, string(skp.StatusCancelled))
	b.Queue(insertSQL(s.n.t("skps"), skpsColumns, "id"), id, nip, name, unit, year, seq, status, version, late, appr, sup, behalf,
		rev, pos, drafted, updated, recorded)
	return nil
}

// countsSQL returns the statement that moves skp_counts from the stored
// rows of the SKPs $1 to their new (unit $2, year $3, status $4, late $5),
// run before the rows are written: the old rows count −1, the new +1, and
// only the (unit, year, status) whose net n or late is not 0 are upserted,
// so a batch that leaves an SKP in its count (a revision, an edit) writes
// no count row, and every count row it does write is locked once, in key
// order (two writers that share counts, agency groups, lock them in one
// order: no deadlock between them). It was two statements, a "−" before
// the rows were written and a "+" after, which updated each touched row
// twice even when nothing changed and locked the second statement's rows
// while holding the first's. The ids are joined as a relation, not
// matched with = ANY: with a stale plan (a table that grew since it was
// analyzed, as a rebuild's does) a sequential scan then costs a hash join
// over the table, not every row compared with every id (measured: 2.9 s
// of PostgreSQL CPU for 20,000 rows written, against 0.4 s).
func countsSQL(n names) string {
	c := n.t("skp_counts")
	return `WITH k AS (SELECT * FROM unnest($1::text[], $2::text[], $3::int4[], $4::text[], $5::bool[]) AS k(id, unit_id, year, status, late)),
	d AS (
		SELECT s.unit_id, s.year, s.status, -1 AS n, CASE WHEN s.late THEN -1 ELSE 0 END AS late
		FROM k JOIN ` + n.t("skps") + ` s ON s.id = k.id
		UNION ALL
		SELECT unit_id, year, status, 1, CASE WHEN late THEN 1 ELSE 0 END FROM k)
	INSERT INTO ` + c + ` AS c (unit_id, year, status, n, late)
	SELECT unit_id, year, status, sum(n), sum(late) FROM d
	GROUP BY unit_id, year, status HAVING sum(n) <> 0 OR sum(late) <> 0
	ORDER BY unit_id, year, status
	ON CONFLICT (unit_id, year, status) DO UPDATE SET n = c.n + excluded.n, late = c.late + excluded.late`
}

// coverageSQL returns the statement that moves skp_coverage from the
// stored rows of the SKPs $1 to their new (NIP $2, year $3, status $4),
// $5 being CANCELLED, run before the rows are written as countsSQL is: an
// SKP that is not cancelled counts 1 for its (year, NIP), and only the
// (year, NIP) whose net count is not 0 are upserted, in key order
// (migration 0006).
func coverageSQL(n names) string {
	c := n.t("skp_coverage")
	return `WITH k AS (SELECT * FROM unnest($1::text[], $2::text[], $3::int4[], $4::text[]) AS k(id, nip, year, status)),
	d AS (
		SELECT s.year, s.nip, -1 AS n
		FROM k JOIN ` + n.t("skps") + ` s ON s.id = k.id WHERE s.status <> $5
		UNION ALL
		SELECT year, nip, 1 FROM k WHERE status <> $5)
	INSERT INTO ` + c + ` AS c (year, nip, n)
	SELECT year, nip COLLATE "C", sum(n) FROM d
	GROUP BY year, nip COLLATE "C" HAVING sum(n) <> 0
	ORDER BY year, nip COLLATE "C"
	ON CONFLICT (year, nip) DO UPDATE SET n = c.n + excluded.n`
}

const summaryCols = `id, nip, name, unit_id, year, sequence, status, version, late, appraiser_nip, appraiser_superior_nip,
	drafted_on_behalf, revision, position, drafted_at, updated_at, recorded_at`

func scanSummary(r pgx.Row) (skps.Summary, error) {
	var s skps.Summary
	var year, seq, version int32
	var rev, pos int64
	err := r.Scan(&s.ID, &s.NIP, &s.Name, &s.UnitID, &year, &seq, &s.Status, &version, &s.Late, &s.AppraiserNIP, &s.AppraiserSuperiorNIP,
		&s.DraftedOnBehalf, &rev, &pos, &s.DraftedAt, &s.UpdatedAt, &s.RecordedAt)
	s.Year, s.Sequence, s.Version, s.Revision, s.Position = int(year), int(seq), int(version), uint64(rev), eventstore.Position(pos)
	s.DraftedAt, s.UpdatedAt, s.RecordedAt = s.DraftedAt.UTC(), s.UpdatedAt.UTC(), s.RecordedAt.UTC()
	return s, err
}

// SKPsReader is the query side of the SKP summaries in PostgreSQL: an
// skps.Reader.
type SKPsReader struct{ db *DB }

var _ skps.Reader = (*SKPsReader)(nil)

// Get implements skps.Reader.
func (r *SKPsReader) Get(ctx context.Context, id string) (skps.Summary, error) {
	s, err := scanSummary(r.db.pool.QueryRow(ctx, `SELECT `+summaryCols+` FROM `+r.db.names.t("skps")+` WHERE id = $1`, id))
	if errNoRows(err) {
		return skps.Summary{}, fmt.Errorf("%w: %s", skps.ErrNotFound, id)
	}
	if err != nil {
		return skps.Summary{}, fmt.Errorf("pgreadmodel: skp %s: %w", id, err)
	}
	return s, nil
}

func (r *SKPsReader) query(ctx context.Context, where []string, args []any, limit int) ([]skps.Summary, error) {
	q := `SELECT ` + summaryCols + ` FROM ` + r.db.names.t("skps")
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY id`
	if limit > 0 {
		q += fmt.Sprintf(` LIMIT %d`, limit)
	}
	rows, err := r.db.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("pgreadmodel: skps: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (skps.Summary, error) { return scanSummary(r) })
	if err != nil {
		return nil, fmt.Errorf("pgreadmodel: skps: %w", err)
	}
	if out == nil {
		out = []skps.Summary{}
	}
	return out, nil
}

// List implements skps.Reader (skps.Query.Match, in id order). A cursor
// that was not issued by List is skps.ErrBadCursor.
func (r *SKPsReader) List(ctx context.Context, q skps.Query) ([]skps.Summary, string, error) {
	after, err := skps.DecodeCursor(q.Cursor)
	if err != nil {
		return nil, "", err
	}
	limit := skps.PageLimit(q.Limit)
	var where []string
	var args []any
	arg := func(cond string, v any) {
		args = append(args, v)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	if after != "" {
		arg("id > $%d", after)
	}
	if q.NIP != "" {
		arg("nip = $%d", q.NIP)
	}
	if q.Year != 0 {
		arg("year = $%d", int32(q.Year))
	}
	if q.Status != "" {
		arg("status = $%d", q.Status)
	}
	switch {
	case q.Units != nil && len(q.Employees) > 0:
		args = append(args, q.Units, q.Employees)
		where = append(where, fmt.Sprintf("(unit_id = ANY($%d) OR nip = ANY($%d))", len(args)-1, len(args)))
	case q.Units != nil:
		arg("unit_id = ANY($%d)", q.Units)
	}
	if q.Party != "" {
		arg("(nip = $%[1]d OR appraiser_nip = $%[1]d OR appraiser_superior_nip = $%[1]d)", q.Party)
	}
	out, err := r.query(ctx, where, args, limit+1)
	if err != nil {
		return nil, "", err
	}
	if len(out) > limit {
		out = out[:limit]
		return out, skps.EncodeCursor(out[limit-1].ID), nil
	}
	return out, "", nil
}

// ForYear implements skps.Reader. The SKPs are ordered by id.
func (r *SKPsReader) ForYear(ctx context.Context, units []string, year int) ([]skps.Summary, error) {
	if len(units) == 0 {
		return []skps.Summary{}, nil
	}
	return r.query(ctx, []string{"unit_id = ANY($1)", "year = $2"}, []any{units, int32(year)}, 0)
}

var _ skps.Counter = (*SKPsReader)(nil)

// CountForYear implements skps.Counter: the rows of skp_counts (kept by
// the projection with the SKP rows, migration 0005) of the units and year,
// at most one per unit and status, where an aggregate over every SKP row of
// the units was read before.
func (r *SKPsReader) CountForYear(ctx context.Context, units []string, year int) ([]skps.UnitYearCount, error) {
	out := []skps.UnitYearCount{}
	if len(units) == 0 {
		return out, nil
	}
	rows, err := r.db.pool.Query(ctx, `SELECT unit_id, status, n, late FROM `+r.db.names.t("skp_counts")+
		` WHERE unit_id = ANY($1) AND year = $2 AND n <> 0`, units, int32(year))
	if err != nil {
		return nil, fmt.Errorf("pgreadmodel: skp counts: %w", err)
	}
	got, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (skps.UnitYearCount, error) {
		var c skps.UnitYearCount
		var n, late int64
		err := r.Scan(&c.UnitID, &c.Status, &n, &late)
		c.N, c.Late = int(n), int(late)
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("pgreadmodel: skp counts: %w", err)
	}
	return append(out, got...), nil
}

// CoveredForYear implements skps.Counter.
func (r *SKPsReader) CoveredForYear(ctx context.Context, year int) ([]string, error) {
	rows, err := r.db.pool.Query(ctx, `SELECT DISTINCT nip FROM `+r.db.names.t("skps")+` WHERE year = $1 AND status <> $2`, int32(year), string(skp.StatusCancelled))
	if err != nil {
		return nil, fmt.Errorf("pgreadmodel: skp coverage: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("pgreadmodel: skp coverage: %w", err)
	}
	if out == nil {
		out = []string{}
	}
	return out, nil
}
