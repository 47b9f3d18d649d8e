package pgreadmodel

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kinerja-ledger/kinerja/projections"
	"github.com/kinerja-ledger/kinerja/projections/objections"
)

type objectionsProjector struct{ p *objections.Projection }

func (p *objectionsProjector) forget() { p.p.Reset() }

func (p *objectionsProjector) begin(_ pgx.Tx, n names) stager {
	return &objectionsStage{p: p.p, n: n, rows: map[string]objections.Objection{}}
}

type objectionsStage struct {
	p    *objections.Projection
	n    names
	rows map[string]objections.Objection
}

var _ objections.Store = (*objectionsStage)(nil)

func (s *objectionsStage) load(context.Context, []projections.Event) error { return nil }

func (s *objectionsStage) apply(ctx context.Context, ev projections.Event) error {
	return s.p.Apply(ctx, s, ev)
}

func (s *objectionsStage) PutObjection(_ context.Context, o objections.Objection) error {
	s.rows[o.ID] = o
	return nil
}

var objectionColumns = []column{{"id", "text", ""}, {"skp_id", "text", ""}, {"unit_id", "text", ""}, {"status", "text", ""},
	{"filed_at", "timestamptz", ""}, {"doc", "text", "jsonb"}}

func (s *objectionsStage) flush(b *pgx.Batch) error {
	if len(s.rows) == 0 {
		return nil
	}
	var id, skp, unit, status []string
	var doc []jsonDoc
	var filed []time.Time
	for _, o := range s.rows {
		d, err := marshalDoc(o)
		if err != nil {
			return err
		}
		id, skp, unit, status, doc = append(id, o.ID), append(skp, o.SKPID), append(unit, o.UnitID), append(status, o.Status), append(doc, d)
		filed = append(filed, o.FiledAt)
	}
	b.Queue(insertSQL(s.n.t("objections"), objectionColumns, "id"), id, skp, unit, status, filed, doc)
	return nil
}

// ObjectionsReader is the query side of the objection register in
// PostgreSQL: an objections.Reader.
type ObjectionsReader struct{ db *DB }

var _ objections.Reader = (*ObjectionsReader)(nil)

// List implements objections.Reader (objections.Query.Match, ordered by
// objections.Less). The overdue filter is applied in Go, with the
// nanosecond clock of the query, as in memory.
func (r *ObjectionsReader) List(ctx context.Context, q objections.Query) ([]objections.Objection, error) {
	out := []objections.Objection{}
	if q.Units != nil && len(q.Units) == 0 {
		return out, nil
	}
	var where []string
	var args []any
	arg := func(cond string, v any) {
		args = append(args, v)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	if q.Units != nil {
		arg("unit_id = ANY($%d)", q.Units)
	}
	if q.Status != "" {
		arg("status = $%d", q.Status)
	}
	if q.SKPID != "" {
		arg("skp_id = $%d", q.SKPID)
	}
	if q.Overdue != nil && *q.Overdue {
		where = append(where, "status = 'OPEN'")
	}
	sql := `SELECT doc FROM ` + r.db.names.t("objections")
	if len(where) > 0 {
		sql += ` WHERE ` + strings.Join(where, " AND ")
	}
	rows, err := r.db.pool.Query(ctx, sql+` ORDER BY filed_at, id`, args...)
	if err != nil {
		return nil, fmt.Errorf("pgreadmodel: objections: %w", err)
	}
	got, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (objections.Objection, error) {
		var doc []byte
		var o objections.Objection
		if err := r.Scan(&doc); err != nil {
			return o, err
		}
		return o, unmarshalDoc(doc, &o)
	})
	if err != nil {
		return nil, fmt.Errorf("pgreadmodel: objections: %w", err)
	}
	for _, o := range got {
		if q.Match(o) {
			out = append(out, o)
		}
	}
	return out, nil
}
