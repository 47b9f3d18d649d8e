package pgreadmodel

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections"
	"github.com/kinerja-ledger/kinerja/projections/scores"
)

type scoresProjector struct{ p *scores.Projection }

func (p *scoresProjector) forget() { p.p.Reset() }

func (p *scoresProjector) begin(_ pgx.Tx, n names) stager {
	return &scoresStage{p: p.p, n: n, rows: map[[2]string]scores.Entry{}}
}

type scoresStage struct {
	p    *scores.Projection
	n    names
	rows map[[2]string]scores.Entry
}

var _ scores.Store = (*scoresStage)(nil)

func (s *scoresStage) load(context.Context, []projections.Event) error { return nil }

func (s *scoresStage) apply(ctx context.Context, ev projections.Event) error {
	return s.p.Apply(ctx, s, ev)
}

func (s *scoresStage) PutEntry(_ context.Context, e scores.Entry) error {
	s.rows[[2]string{e.SKPID, e.EventID}] = e
	return nil
}

var scoreColumns = []column{{"skp_id", "text", ""}, {"event_id", "text", ""}, {"nip", "text", ""}, {"unit_id", "text", ""},
	{"period", "text", ""}, {"period_key", "text", ""}, {"revision", "int8", ""}, {"position", "int8", ""}, {"doc", "text", "jsonb"}}

func (s *scoresStage) flush(b *pgx.Batch) error {
	if len(s.rows) == 0 {
		return nil
	}
	var skp, event, nip, unit, period, key []string
	var doc []jsonDoc
	var rev, pos []int64
	for _, e := range s.rows {
		d, err := marshalDoc(e.ScoreEntry)
		if err != nil {
			return err
		}
		skp, event, nip, unit, period, key, doc = append(skp, e.SKPID), append(event, e.EventID), append(nip, e.NIP), append(unit, e.UnitID),
			append(period, e.Period), append(key, scores.PeriodKey(e.Period)), append(doc, d)
		rev, pos = append(rev, int64(e.Revision)), append(pos, int64(e.Position))
	}
	b.Queue(insertSQL(s.n.t("score_entries"), scoreColumns, "skp_id", "event_id"), skp, event, nip, unit, period, key, rev, pos, doc)
	return nil
}

// ScoresReader is the query side of the score history in PostgreSQL: a
// scores.Reader.
type ScoresReader struct{ db *DB }

var _ scores.Reader = (*ScoresReader)(nil)

func (r *ScoresReader) query(ctx context.Context, q string, args ...any) ([]scores.Entry, error) {
	rows, err := r.db.pool.Query(ctx, `SELECT skp_id, nip, unit_id, position, doc FROM `+r.db.names.t("score_entries")+` `+q, args...)
	if err != nil {
		return nil, fmt.Errorf("pgreadmodel: scores: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (scores.Entry, error) {
		var e scores.Entry
		var pos int64
		var doc []byte
		if err := r.Scan(&e.SKPID, &e.NIP, &e.UnitID, &pos, &doc); err != nil {
			return e, err
		}
		e.Position = eventstore.Position(pos)
		return e, unmarshalDoc(doc, &e.ScoreEntry)
	})
	if err != nil {
		return nil, fmt.Errorf("pgreadmodel: scores: %w", err)
	}
	if out == nil {
		out = []scores.Entry{}
	}
	return out, nil
}

// ForSKP implements scores.Reader, in the order of the domain's
// ScoreHistory (scores.Less).
func (r *ScoresReader) ForSKP(ctx context.Context, skpID string) ([]scores.Entry, error) {
	return r.query(ctx, `WHERE skp_id = $1 ORDER BY period_key, revision`, skpID)
}

// ForEmployee implements scores.Reader, in the global order (position).
func (r *ScoresReader) ForEmployee(ctx context.Context, nip string) ([]scores.Entry, error) {
	return r.query(ctx, `WHERE nip = $1 ORDER BY position`, nip)
}
