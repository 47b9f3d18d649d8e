package pgreadmodel

// Agency partitions (issue 15; docs/projections.md, "Agency partitions"):
// the projections that can be split by agency (Splittable) are projected
// as G agency groups, each a Sink of its own (GroupSink) with its own
// checkpoint row "<projection>#<g>/<G>". A group Sink reads every event of
// its projection's filter but applies only those whose agency, as the
// audit projection stored it (audit_agency_entries), falls in its group;
// it moves its checkpoint past the others. The G a projection is projected
// with is pinned in the row "<projection>#groups", which every writer of a
// splittable projection reads FOR SHARE in its transaction.

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections"
	"github.com/kinerja-ledger/kinerja/projections/audit"
	"github.com/kinerja-ledger/kinerja/projections/evaluations"
	"github.com/kinerja-ledger/kinerja/projections/objections"
	"github.com/kinerja-ledger/kinerja/projections/scores"
	"github.com/kinerja-ledger/kinerja/projections/skps"
	"github.com/kinerja-ledger/kinerja/projections/timeline"
)

// MaxAgencyGroups bounds G.
const MaxAgencyGroups = 64

// Splittable reports whether the projection named name can be split into
// agency groups: the SKP projections (state and rows per SKP, an SKP in
// one agency for its whole life) and the timeline (one item per employee
// and event, written by the event's group). The directory reads across
// streams and the audit trail is one tree in store order: they are one
// partition each.
func Splittable(name string) bool {
	switch name {
	case skps.Name, evaluations.Name, scores.Name, objections.Name, timeline.Name:
		return true
	}
	return false
}

// GroupOf returns the agency group, in [0, groups), of an agency (the
// national log "" included): FNV-1a of its ID modulo groups. It must never
// change: every process, and every run, assigns the same group.
func GroupOf(agency string, groups int) int {
	if groups <= 1 {
		return 0
	}
	h := fnv.New32a()
	h.Write([]byte(agency))
	return int(h.Sum32() % uint32(groups))
}

// GroupKey is the checkpoint row, and the shared projectors' partition
// name, of group g of groups of projection name ("timeline#1/3").
func GroupKey(name string, g, groups int) string { return fmt.Sprintf("%s#%d/%d", name, g, groups) }

// layoutKey is the row that pins the number of groups of projection name.
func layoutKey(name string) string { return name + "#groups" }

// ErrLayout is the error of a write to a splittable projection whose
// number of agency groups differs from the one pinned in the database
// (another deployment, or kinerjad projecting in-process, writes it with
// another --agency-groups).
var ErrLayout = errors.New("pgreadmodel: the projection is projected with another number of agency groups")

// ErrNoAgency is the error of a group Sink that finds no agency entry for
// an event the audit projection has passed: a trail projected before the
// agency logs existed (migration 0004); rebuild the audit projection.
var ErrNoAgency = errors.New("pgreadmodel: no agency entry in the audit trail for an event it covers (rebuild the audit projection)")

// GroupSink returns the Sink of agency group g of groups of the
// splittable projection name, on the live tables. Its Name is its key
// (GroupKey), so that the runners and metrics of several groups of one
// projection in one process are told apart.
func (db *DB) GroupSink(name string, g, groups int) (*Sink, error) {
	if !Splittable(name) {
		return nil, fmt.Errorf("pgreadmodel: projection %q cannot be split by agency", name)
	}
	if groups < 2 || groups > MaxAgencyGroups || g < 0 || g >= groups {
		return nil, fmt.Errorf("pgreadmodel: agency group %d of %d: want 0 <= g < groups, 2 <= groups <= %d", g, groups, MaxAgencyGroups)
	}
	s := db.newSink(name, GroupKey(name, g, groups), names{schema: db.opts.Schema})
	s.group, s.groups = g, groups
	return s, nil
}

// grouped reports whether s is one agency group of several.
func (s *Sink) grouped() bool { return s.groups > 1 }

// queueLayout queues, in a writer's batch before its checkpoint row lock,
// the creation of the projection's layout row if absent (with this Sink's
// number of groups; with 1 when the ungrouped checkpoint already has
// progress: that projection was projected ungrouped) and its read FOR
// SHARE into *pinned.
func (s *Sink) queueLayout(b *pgx.Batch, pinned *int64) {
	cp := s.db.names.t("checkpoints")
	b.Queue(`INSERT INTO `+cp+` (projection, position) VALUES ($1,
		CASE WHEN $3::int8 = 1 OR NOT EXISTS (SELECT 1 FROM `+cp+` WHERE projection = $2 AND position > 0) THEN $3::int8 ELSE 1 END)
		ON CONFLICT (projection) DO NOTHING`, layoutKey(s.name), s.name, int64(s.groups))
	b.Queue(`SELECT position FROM `+cp+` WHERE projection = $1 FOR SHARE`, layoutKey(s.name)).QueryRow(func(r pgx.Row) error { return r.Scan(pinned) })
}

func (s *Sink) checkLayout(pinned int64) error {
	if max(pinned, 1) != int64(s.groups) { // 0 (a row zeroed by hand) reads as 1
		return fmt.Errorf("%w: %s is projected here with %d agency group(s), this process uses %d (--agency-groups); see docs/operations.md, \"Agency groups\"",
			ErrLayout, s.name, pinned, s.groups)
	}
	return nil
}

// groupedCheckpoint is the checkpoint of an ungrouped, splittable Sink
// read by callers: under a layout of G > 1 groups, the least of the G
// group checkpoints (0 while a group has none), since every event at or
// below it is applied in every group.
func (s *Sink) groupedCheckpoint(ctx context.Context) (eventstore.Position, error) {
	cp := s.db.names.t("checkpoints")
	var pos int64
	err := s.db.pool.QueryRow(ctx, `SELECT CASE WHEN coalesce(l.g, 1) <= 1 THEN coalesce((SELECT position FROM `+cp+` WHERE projection = $1), 0)
		ELSE (SELECT CASE WHEN count(*) = l.g THEN min(position) ELSE 0 END FROM `+cp+` WHERE projection LIKE $1 || '#%/' || l.g::text) END
		FROM (SELECT (SELECT position FROM `+cp+` WHERE projection = $2) AS g) l`, s.key, layoutKey(s.name)).Scan(&pos)
	if err != nil {
		return 0, s.wrap("checkpoint", err)
	}
	return eventstore.Position(pos), nil
}

// Version implements app.Versions for the Sink's projection: a number that
// moves whenever any writer of it applies an event. Ungrouped, its
// checkpoint; under a layout of G > 1 agency groups, the sum of the G group
// checkpoints (Checkpoint is their least, which a group ahead does not move
// and a stalled group holds still). For keys of what is kept while the
// read model stands still; read-your-writes waits use Checkpoint.
func (s *Sink) Version(ctx context.Context) (int64, error) {
	cp := s.db.names.t("checkpoints")
	var v int64
	err := s.db.pool.QueryRow(ctx, `SELECT CASE WHEN coalesce(l.g, 1) <= 1 THEN coalesce((SELECT position FROM `+cp+` WHERE projection = $1), 0)
		ELSE (SELECT coalesce(sum(position), 0)::int8 FROM `+cp+` WHERE projection LIKE $1 || '#%/' || l.g::text) END
		FROM (SELECT (SELECT position FROM `+cp+` WHERE projection = $2) AS g) l`, s.name, layoutKey(s.name)).Scan(&v)
	if err != nil {
		return 0, s.wrap("version", err)
	}
	return v, nil
}

// agencies returns the agency of each event of events the filter selects,
// as the audit projection stored it, waiting (outside any transaction)
// until the audit checkpoint covers them.
func (s *Sink) agencies(ctx context.Context, events []projections.Event) (map[eventstore.Position]string, error) {
	var want []int64
	for _, ev := range events {
		if s.filter.Match(ev.Stream, ev.Type) {
			want = append(want, int64(ev.Position))
		}
	}
	if len(want) == 0 {
		return nil, nil
	}
	last := slices.Max(want)
	cp := s.db.names.t("checkpoints")
	wait := 10 * time.Millisecond
	for {
		var at int64
		err := s.db.pool.QueryRow(ctx, `SELECT coalesce((SELECT position FROM `+cp+` WHERE projection = $1), 0)`, audit.Name).Scan(&at)
		if err != nil {
			return nil, s.wrap("audit checkpoint", err)
		}
		if at >= last {
			break
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, s.wrap("wait for the audit trail", ctx.Err())
		case <-t.C:
		}
		wait = min(2*wait, 200*time.Millisecond)
	}
	rows, err := s.db.pool.Query(ctx, `SELECT e.position, a.agency FROM `+s.db.names.t("audit_entries")+` e
		JOIN `+s.db.names.t("audit_agency_entries")+` a ON a.seq = e.seq WHERE e.position = ANY($1)`, want)
	if err != nil {
		return nil, s.wrap("agencies", err)
	}
	out := make(map[eventstore.Position]string, len(want))
	for rows.Next() {
		var pos int64
		var agency string
		if err := rows.Scan(&pos, &agency); err != nil {
			rows.Close()
			return nil, s.wrap("agencies", err)
		}
		out[eventstore.Position(pos)] = agency
	}
	if err := rows.Err(); err != nil {
		return nil, s.wrap("agencies", err)
	}
	if len(out) != len(want) {
		var missing []int64
		for _, p := range want {
			if _, ok := out[eventstore.Position(p)]; !ok {
				missing = append(missing, p)
			}
		}
		return nil, fmt.Errorf("%w: %s at positions %v", ErrNoAgency, s.key, missing[:min(len(missing), 5)])
	}
	return out, nil
}

// mine reports whether the event at pos, of agency agencies[pos], is in
// this group Sink's group.
func (s *Sink) mine(agencies map[eventstore.Position]string, pos eventstore.Position) bool {
	a, ok := agencies[pos]
	return ok && GroupOf(a, s.groups) == s.group
}
