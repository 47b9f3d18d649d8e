package pgreadmodel

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections"
	"github.com/kinerja-ledger/kinerja/projections/timeline"
)

type timelineProjector struct{ p *timeline.Projection }

func (p *timelineProjector) forget() { p.p.Reset() }

func (p *timelineProjector) begin(_ pgx.Tx, n names) stager { return &timelineStage{p: p.p, n: n} }

type timelineStage struct {
	p     *timeline.Projection
	n     names
	items []timeline.Item
}

var _ timeline.Store = (*timelineStage)(nil)

func (s *timelineStage) load(_ context.Context, events []projections.Event) error {
	// About two items an event (one per employee it concerns): room for
	// them at once rather than by growing.
	s.items = make([]timeline.Item, 0, 2*len(events))
	return nil
}

func (s *timelineStage) apply(ctx context.Context, ev projections.Event) error {
	return s.p.Apply(ctx, s, ev)
}

func (s *timelineStage) AddItem(_ context.Context, it timeline.Item) error {
	s.items = append(s.items, it)
	return nil
}

var timelineColumns = []string{"nip", "position", "stream", "revision", "type", "role", "summary", "actor_id", "actor_role",
	"reason", "occurred_at", "recorded_at"}

// copies writes the items with COPY.
func (s *timelineStage) copies() []copyRows {
	if len(s.items) == 0 {
		return nil
	}
	return []copyRows{{table: "timeline_items", cols: timelineColumns, n: len(s.items), row: func(i int, w *copyRow) error {
		it := &s.items[i]
		w.text(it.NIP)
		w.int64(int64(it.Position))
		w.text(it.Stream)
		w.int64(int64(it.Revision))
		w.text(it.Type)
		w.text(it.Role)
		w.text(it.Summary)
		w.text(it.ActorID)
		w.text(it.ActorRole)
		w.text(it.Reason)
		w.time(it.OccurredAt)
		w.time(it.RecordedAt)
		return nil
	}}}
}

func (s *timelineStage) flush(*pgx.Batch) error { return nil }

// TimelineReader is the query side of the employee timeline in
// PostgreSQL: a timeline.Reader.
type TimelineReader struct{ db *DB }

var _ timeline.Reader = (*TimelineReader)(nil)

// ForEmployee implements timeline.Reader; limit ≤ 0 means
// timeline.DefaultLimit, and at most timeline.MaxLimit items come back.
func (r *TimelineReader) ForEmployee(ctx context.Context, nip string, before eventstore.Position, limit int) ([]timeline.Item, error) {
	limit = timeline.PageLimit(limit)
	q := `SELECT nip, position, stream, revision, type, role, summary, actor_id, actor_role, reason, occurred_at, recorded_at
		FROM ` + r.db.names.t("timeline_items") + ` WHERE nip = $1`
	args := []any{nip, limit}
	if before > 0 {
		q += ` AND position < $3`
		args = append(args, int64(before))
	}
	rows, err := r.db.pool.Query(ctx, q+` ORDER BY position DESC LIMIT $2`, args...)
	if err != nil {
		return nil, fmt.Errorf("pgreadmodel: timeline: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (timeline.Item, error) {
		var it timeline.Item
		var pos, rev int64
		err := r.Scan(&it.NIP, &pos, &it.Stream, &rev, &it.Type, &it.Role, &it.Summary, &it.ActorID, &it.ActorRole, &it.Reason, &it.OccurredAt, &it.RecordedAt)
		it.Position, it.Revision, it.OccurredAt, it.RecordedAt = eventstore.Position(pos), uint64(rev), it.OccurredAt.UTC(), it.RecordedAt.UTC()
		return it, err
	})
	if err != nil {
		return nil, fmt.Errorf("pgreadmodel: timeline: %w", err)
	}
	if out == nil {
		out = []timeline.Item{}
	}
	return out, nil
}
