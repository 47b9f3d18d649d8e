package pgstore

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"

	"github.com/kinerja-ledger/kinerja/eventstore"
)

var _ eventstore.TailsReader = (*Store)(nil)

// MaxTailEvents caps the events ReadTails returns per stream; a longer
// tail is marked More and its rest is read with ReadStream. It bounds one
// answer's memory like Options.PageSize bounds a page.
const MaxTailEvents = 512

// tailsSQL builds the multi-stream tail read of one schema. Each request
// asks for its stream from the revision before the caller's prefix ends
// (the predecessor, which proves the prefix is this store's and that the
// stream exists, as ReadStream's first page does), joined laterally to
// the events through the (stream, revision) index: one index range scan
// per stream, one statement, one snapshot.
//
// The arrays go through a MATERIALIZED CTE for the reason appendMany's
// comment gives: given to unnest directly they are constants in a custom
// plan, re-planned on every execution.
func tailsSQL(schema string) string {
	return strings.NewReplacer("EVENTS", ident(schema, "events"), "COLUMNS", eventColumns).Replace(`
WITH p AS MATERIALIZED (SELECT $1::text[] AS stream, $2::bigint[] AS from_revision)
SELECT t.*, r.idx
FROM p, unnest(p.stream, p.from_revision) WITH ORDINALITY AS r(stream, from_revision, idx)
CROSS JOIN LATERAL (
	SELECT COLUMNS FROM EVENTS e
	WHERE e.stream = r.stream AND e.revision >= r.from_revision
	ORDER BY e.revision LIMIT $3
) t`)
}

var tailsQueries sync.Map // schema → SQL

// ReadTails implements eventstore.TailsReader in one statement. Stream
// reads see committed events only and do not wait for the snapshot
// horizon, like ReadStream; one statement is one snapshot, so an append
// is in the answer whole or not at all.
func (s *Store) ReadTails(ctx context.Context, reqs []eventstore.TailRequest) ([]eventstore.Tail, error) {
	if s.isClosed() {
		return nil, fmt.Errorf("pgstore: read tails: %w", eventstore.ErrClosed)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("pgstore: read tails: %w", err)
	}
	out := make([]eventstore.Tail, len(reqs))
	streams := make([]string, 0, len(reqs))
	froms := make([]int64, 0, len(reqs))
	index := make([]int, 0, len(reqs)) // query row idx-1 → request
	for i, r := range reqs {
		if eventstore.ValidateStreamName(r.Stream) != nil || r.From > math.MaxInt64 {
			continue // no store holds it: Exists stays false
		}
		from := int64(r.From)
		if from > 0 {
			from--
		}
		streams, froms, index = append(streams, r.Stream), append(froms, from), append(index, i)
	}
	if len(streams) == 0 {
		return out, nil
	}
	q, ok := tailsQueries.Load(s.opts.Schema)
	if !ok {
		q, _ = tailsQueries.LoadOrStore(s.opts.Schema, tailsSQL(s.opts.Schema))
	}
	// One more than the cap tells a cut tail from one that fits, and one
	// more again for the predecessor.
	rows, err := s.pool.Query(ctx, q.(string), streams, froms, MaxTailEvents+2)
	if err != nil {
		return nil, fmt.Errorf("pgstore: read tails: %w", s.closedErr(err))
	}
	type row struct {
		idx int64
		ev  eventstore.Event
	}
	var got []row
	for rows.Next() {
		got = append(got, row{})
		r := &got[len(got)-1]
		if err := scanEvent(rows, &r.ev, &r.idx); err != nil {
			rows.Close()
			return nil, fmt.Errorf("pgstore: read tails: %w", s.closedErr(err))
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pgstore: read tails: %w", s.closedErr(err))
	}
	slices.SortFunc(got, func(a, b row) int {
		return cmp.Or(cmp.Compare(a.idx, b.idx), cmp.Compare(a.ev.Revision, b.ev.Revision))
	})
	for _, r := range got {
		if r.idx < 1 || int(r.idx) > len(index) {
			return nil, fmt.Errorf("pgstore: read tails: the answer names request %d of %d", r.idx, len(index))
		}
		req := reqs[index[r.idx-1]]
		t := &out[index[r.idx-1]]
		if req.From > 0 && r.ev.Revision == req.From-1 {
			t.Exists = true
			continue
		}
		if req.From > 0 && !t.Exists {
			continue // the predecessor is missing: the prefix is not this store's
		}
		t.Exists = true
		if len(t.Events) == MaxTailEvents {
			t.More = true
			continue
		}
		t.Events = append(t.Events, r.ev)
	}
	return out, nil
}
