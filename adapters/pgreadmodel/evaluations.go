package pgreadmodel

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/kinerja-ledger/kinerja/projections"
	"github.com/kinerja-ledger/kinerja/projections/evaluations"
	"github.com/kinerja-ledger/kinerja/projections/scores"
)

type evaluationsProjector struct{ p *evaluations.Projection }

func (p *evaluationsProjector) forget() { p.p.Reset() }

func (p *evaluationsProjector) begin(_ pgx.Tx, n names) stager {
	return &evaluationsStage{p: p.p, n: n, rows: map[[2]string]evaluations.Evaluation{}}
}

type evaluationsStage struct {
	p    *evaluations.Projection
	n    names
	rows map[[2]string]evaluations.Evaluation
}

var _ evaluations.Store = (*evaluationsStage)(nil)

func (s *evaluationsStage) load(context.Context, []projections.Event) error { return nil }

func (s *evaluationsStage) apply(ctx context.Context, ev projections.Event) error {
	return s.p.Apply(ctx, s, ev)
}

func (s *evaluationsStage) PutEvaluation(_ context.Context, e evaluations.Evaluation) error {
	s.rows[[2]string{e.SKPID, e.Period}] = e
	return nil
}

var evaluationColumns = []column{{"skp_id", "text", ""}, {"period", "text", ""}, {"period_key", "text", ""}, {"nip", "text", ""},
	{"unit_id", "text", ""}, {"year", "int4", ""}, {"work_result", "text", ""}, {"behaviour", "text", ""}, {"predikat", "text", ""},
	{"status", "text", ""}, {"finality_recorded", "bool", ""}, {"delivered_at", "timestamptz", ""}, {"objection_deadline", "timestamptz", ""},
	{"appraiser_nip", "text", ""}, {"rated_at", "timestamptz", ""}, {"revision", "int8", ""}}

func (s *evaluationsStage) flush(b *pgx.Batch) error {
	if len(s.rows) == 0 {
		return nil
	}
	var skp, period, key, nip, unit, wr, bh, pred, status, appr []string
	var year []int32
	var final []bool
	var delivered, deadline []pgtype.Timestamptz
	var rated []time.Time
	var rev []int64
	for _, e := range s.rows {
		skp, period, key, nip, unit = append(skp, e.SKPID), append(period, e.Period), append(key, scores.PeriodKey(e.Period)), append(nip, e.NIP), append(unit, e.UnitID)
		wr, bh, pred, status, appr = append(wr, e.WorkResult), append(bh, e.Behaviour), append(pred, e.Predikat), append(status, e.Status), append(appr, e.AppraiserNIP)
		year, final = append(year, int32(e.Year)), append(final, e.FinalityRecorded)
		delivered, deadline = append(delivered, nullTime(e.DeliveredAt)), append(deadline, nullTime(e.ObjectionDeadline))
		rated, rev = append(rated, e.RatedAt), append(rev, int64(e.Revision))
	}
	b.Queue(insertSQL(s.n.t("evaluations"), evaluationColumns, "skp_id", "period"),
		skp, period, key, nip, unit, year, wr, bh, pred, status, final, delivered, deadline, appr, rated, rev)
	return nil
}

const evaluationCols = `skp_id, nip, unit_id, year, period, work_result, behaviour, predikat, status, finality_recorded,
	delivered_at, objection_deadline, appraiser_nip, rated_at, revision`

func scanEvaluation(r pgx.Row) (evaluations.Evaluation, error) {
	var e evaluations.Evaluation
	var year int32
	var rev int64
	var delivered, deadline pgtype.Timestamptz
	err := r.Scan(&e.SKPID, &e.NIP, &e.UnitID, &year, &e.Period, &e.WorkResult, &e.Behaviour, &e.Predikat, &e.Status, &e.FinalityRecorded,
		&delivered, &deadline, &e.AppraiserNIP, &e.RatedAt, &rev)
	e.Year, e.Revision, e.RatedAt = int(year), uint64(rev), e.RatedAt.UTC()
	e.DeliveredAt, e.ObjectionDeadline = timePtr(delivered), timePtr(deadline)
	return e, err
}

// EvaluationsReader is the query side of the evaluations in PostgreSQL: an
// evaluations.Reader.
type EvaluationsReader struct{ db *DB }

var _ evaluations.Reader = (*EvaluationsReader)(nil)

func (r *EvaluationsReader) query(ctx context.Context, q string, args ...any) ([]evaluations.Evaluation, error) {
	rows, err := r.db.pool.Query(ctx, `SELECT `+evaluationCols+` FROM `+r.db.names.t("evaluations")+` `+q, args...)
	if err != nil {
		return nil, fmt.Errorf("pgreadmodel: evaluations: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (evaluations.Evaluation, error) { return scanEvaluation(r) })
	if err != nil {
		return nil, fmt.Errorf("pgreadmodel: evaluations: %w", err)
	}
	if out == nil {
		out = []evaluations.Evaluation{}
	}
	return out, nil
}

// ForPeriod implements evaluations.Reader. The rows are ordered by SKP id.
func (r *EvaluationsReader) ForPeriod(ctx context.Context, units []string, period string) ([]evaluations.Evaluation, error) {
	if len(units) == 0 {
		return []evaluations.Evaluation{}, nil
	}
	return r.query(ctx, `WHERE period = $1 AND unit_id = ANY($2) ORDER BY skp_id`, period, units)
}

// ForSKP implements evaluations.Reader. The rows are ordered by period in
// calendar order, the annual period last (scores.PeriodKey).
func (r *EvaluationsReader) ForSKP(ctx context.Context, skpID string) ([]evaluations.Evaluation, error) {
	return r.query(ctx, `WHERE skp_id = $1 ORDER BY period_key`, skpID)
}
