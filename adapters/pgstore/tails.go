package pgstore

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/kinerja-ledger/kinerja/eventstore"
)

var _ eventstore.TailsHeadReader = (*Store)(nil)

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
//
// withHead adds one row of request index 0 that carries, in the columns of
// an event, the newest committed position (0 for none) as its revision;
// the other columns are placeholders.
//
// The predecessor is wanted for its revision only (the caller holds it):
// its row comes without its variable-width columns (type, actor, IDs,
// reason, data, signature), which the answer would otherwise carry for
// nothing on every warm read ($2 is the caller's From; the scan starts
// one before it).
func tailsSQL(schema string, withHead bool) string {
	q := `
WITH p AS MATERIALIZED (SELECT $1::text[] AS stream, $2::bigint[] AS from_revision)
SELECT t.*, r.idx
FROM p, unnest(p.stream, p.from_revision) WITH ORDINALITY AS r(stream, from_revision, idx)
CROSS JOIN LATERAL (
	SELECT e.position, e.stream, e.revision, e.event_id,
		CASE WHEN e.revision < r.from_revision THEN '' ELSE e.type END,
		e.schema_version, e.occurred_at,
		CASE WHEN e.revision < r.from_revision THEN '' ELSE e.actor_id END,
		CASE WHEN e.revision < r.from_revision THEN '' ELSE e.actor_role END,
		CASE WHEN e.revision < r.from_revision THEN '' ELSE e.correlation_id END,
		CASE WHEN e.revision < r.from_revision THEN '' ELSE e.causation_id END,
		CASE WHEN e.revision < r.from_revision THEN '' ELSE e.reason END,
		CASE WHEN e.revision < r.from_revision THEN ''::bytea ELSE e.data END,
		e.hash, e.recorded_at,
		CASE WHEN e.revision < r.from_revision THEN '' ELSE e.writer_key_id END,
		CASE WHEN e.revision < r.from_revision THEN ''::bytea ELSE e.writer_sig END
	FROM EVENTS e
	WHERE e.stream = r.stream AND e.revision >= greatest(r.from_revision - 1, 0)
	ORDER BY e.revision LIMIT $3
) t`
	if withHead {
		q += `
UNION ALL
SELECT 0::bigint, '', coalesce((SELECT max(position) FROM EVENTS), 0), '00000000-0000-0000-0000-000000000000'::uuid, '', 0,
	'epoch'::timestamptz, '', '', '', '', '', ''::bytea, ''::bytea, 'epoch'::timestamptz, '', ''::bytea, 0::bigint`
	}
	return strings.NewReplacer("EVENTS", ident(schema, "events")).Replace(q)
}

// tailsQueries caches tailsSQL: tailsKey → SQL.
var tailsQueries sync.Map

type tailsKey struct {
	schema   string
	withHead bool
}

// ReadTails implements eventstore.TailsReader in one statement. Stream
// reads see committed events only and do not wait for the snapshot
// horizon, like ReadStream; one statement is one snapshot, so an append
// is in the answer whole or not at all.
func (s *Store) ReadTails(ctx context.Context, reqs []eventstore.TailRequest) ([]eventstore.Tail, error) {
	out, _, err := s.readTails(ctx, reqs, false)
	return out, err
}

// ReadTailsHead implements eventstore.TailsHeadReader: ReadTails and, in
// the same statement and snapshot, the newest committed position (0 for
// an empty store). It does not wait for older writing transactions, as
// Head does: the position is the newest visible, not necessarily final.
func (s *Store) ReadTailsHead(ctx context.Context, reqs []eventstore.TailRequest) ([]eventstore.Tail, eventstore.Position, error) {
	return s.readTails(ctx, reqs, true)
}

func (s *Store) readTails(ctx context.Context, reqs []eventstore.TailRequest, withHead bool) ([]eventstore.Tail, eventstore.Position, error) {
	if s.isClosed() {
		return nil, 0, fmt.Errorf("pgstore: read tails: %w", eventstore.ErrClosed)
	}
	if err := ctx.Err(); err != nil {
		return nil, 0, fmt.Errorf("pgstore: read tails: %w", err)
	}
	valid := make([]eventstore.TailRequest, 0, len(reqs))
	index := make([]int, 0, len(reqs)) // valid → reqs
	for i, r := range reqs {
		if eventstore.ValidateStreamName(r.Stream) != nil || r.From > math.MaxInt64 {
			continue // no store holds it: Exists stays false
		}
		valid, index = append(valid, r), append(index, i)
	}
	out := make([]eventstore.Tail, len(reqs))
	if len(valid) == 0 && !withHead {
		return out, 0, nil
	}
	tails, head, err := s.tails.read(ctx, s, valid, withHead)
	if err != nil {
		return nil, 0, err
	}
	for i, t := range tails {
		out[index[i]] = t
	}
	return out, head, nil
}

// queryTails is one tail statement: the tails of reqs (valid names and
// revisions, possibly the same stream twice) and, withHead, the newest
// committed position.
func (s *Store) queryTails(ctx context.Context, reqs []eventstore.TailRequest, withHead bool) ([]eventstore.Tail, eventstore.Position, error) {
	out := make([]eventstore.Tail, len(reqs))
	streams := make([]string, len(reqs))
	froms := make([]int64, len(reqs))
	for i, r := range reqs {
		streams[i], froms[i] = r.Stream, int64(r.From)
	}
	key := tailsKey{s.opts.Schema, withHead}
	q, ok := tailsQueries.Load(key)
	if !ok {
		q, _ = tailsQueries.LoadOrStore(key, tailsSQL(s.opts.Schema, withHead))
	}
	// One more than the cap tells a cut tail from one that fits, and one
	// more again for the predecessor.
	rows, err := s.pool.Query(ctx, q.(string), streams, froms, MaxTailEvents+2)
	if err != nil {
		return nil, 0, fmt.Errorf("pgstore: read tails: %w", s.closedErr(err))
	}
	type row struct {
		idx int64
		ev  eventstore.Event
	}
	var (
		got  = make([]row, 0, len(streams)+1) // a warm read: each predecessor, and the head
		last eventstore.Position
		saw  bool
		idx  int64
	)
	sc := newEventScanner(&idx)
	for rows.Next() {
		got = append(got, row{})
		r := &got[len(got)-1]
		err := sc.scan(rows, &r.ev)
		r.idx = idx
		if err != nil {
			rows.Close()
			return nil, 0, fmt.Errorf("pgstore: read tails: %w", s.closedErr(err))
		}
		if withHead && r.idx == 0 {
			// The head row: the newest committed position in revision.
			last, saw = eventstore.Position(r.ev.Revision), true
			got = got[:len(got)-1]
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("pgstore: read tails: %w", s.closedErr(err))
	}
	if withHead && !saw {
		return nil, 0, fmt.Errorf("pgstore: read tails: the answer has no head row")
	}
	slices.SortFunc(got, func(a, b row) int {
		return cmp.Or(cmp.Compare(a.idx, b.idx), cmp.Compare(a.ev.Revision, b.ev.Revision))
	})
	for _, r := range got {
		if r.idx < 1 || int(r.idx) > len(reqs) {
			return nil, 0, fmt.Errorf("pgstore: read tails: the answer names request %d of %d", r.idx, len(reqs))
		}
		req := reqs[r.idx-1]
		t := &out[r.idx-1]
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
	return out, last, nil
}

// tailCoalescer lets concurrent tail reads share statements (see the
// package doc on coalesced tail reads). At most limit statements are in
// flight; a read that finds them all busy joins the open batch, which the
// first of them to end sends as one statement. The open batch is never
// one already sent, so every statement starts after each of the reads it
// answers arrived: each sees every append acknowledged before it began.
type tailCoalescer struct {
	mu       sync.Mutex
	inflight int
	open     *tailBatch
	// statements and reads count what was sent and what it answered
	// (tests, benchmarks).
	statements, reads uint64
	// sending counts the batch statements in flight on the coalescer's
	// own goroutines; Close waits for them (Add only under Store.mu
	// while the store is open, so no Add follows Close's Wait).
	sending sync.WaitGroup
	// started counts the batch statements handed to their goroutine (past
	// the check of Close), for tests that wait for one in flight.
	started atomic.Uint64
}

// maxTailBatch is the most stream requests one shared statement carries;
// a read that finds the open batch this full sends its own statement.
const maxTailBatch = 256

// tailBatch is the reads that share one statement.
type tailBatch struct {
	reqs     []eventstore.TailRequest
	withHead bool
	waiting  int                // readers still waiting for the answer
	cancel   context.CancelFunc // set when sent; cancelled when waiting reaches 0
	done     chan struct{}      // closed with tails, head, err set
	tails    []eventstore.Tail
	head     eventstore.Position
	err      error
}

// read answers reqs (valid names and revisions) from a statement that
// starts after it was called, its own or one shared with reads that
// arrived while limit statements were in flight.
func (c *tailCoalescer) read(ctx context.Context, s *Store, reqs []eventstore.TailRequest, withHead bool) ([]eventstore.Tail, eventstore.Position, error) {
	limit := s.opts.TailReaders
	c.mu.Lock()
	c.reads++
	if limit < 0 || c.inflight < limit || (c.open != nil && len(c.open.reqs) >= maxTailBatch) {
		// A statement of its own, under its own context, sent now: a slot
		// is free, or the open batch is full (when the statements in
		// flight stall, e.g. behind a lock, the reads arriving meanwhile
		// are not all piled into one statement whose failure would fail
		// every one of them).
		if limit >= 0 {
			c.inflight++
			defer c.next(s) // even if the statement panics: the slot is not lost
		}
		c.statements++
		c.mu.Unlock()
		// The statement runs on the caller's goroutine: it counts as an
		// operation in flight, so Close waits for it, and Close's giving
		// up (closeGrace; the store's background context) cancels it. A
		// read that lost the race with Close starts no statement.
		if !s.enter() {
			return nil, 0, fmt.Errorf("pgstore: read tails: %w", eventstore.ErrClosed)
		}
		defer s.leave()
		qctx, qcancel := context.WithCancel(ctx)
		stop := context.AfterFunc(s.bgCtx, qcancel)
		defer func() { stop(); qcancel() }()
		return s.queryTails(qctx, reqs, withHead)
	}
	b := c.open
	if b == nil {
		b = &tailBatch{done: make(chan struct{})}
		c.open = b
	}
	from := len(b.reqs)
	b.reqs = append(b.reqs, reqs...)
	b.withHead = b.withHead || withHead
	b.waiting++
	c.mu.Unlock()
	select {
	case <-b.done:
	case <-ctx.Done():
		c.mu.Lock()
		b.waiting--
		if b.waiting == 0 && b.cancel != nil {
			b.cancel() // nobody wants the answer any more
		}
		c.mu.Unlock()
		return nil, 0, fmt.Errorf("pgstore: read tails: %w", ctx.Err())
	}
	if b.err != nil {
		return nil, 0, b.err
	}
	return b.tails[from : from+len(reqs) : from+len(reqs)], b.head, nil
}

// next is called when a statement ends: it sends the open batch in the
// slot the statement leaves, or frees the slot.
func (c *tailCoalescer) next(s *Store) {
	c.mu.Lock()
	b := c.open
	if b == nil {
		c.inflight--
		c.mu.Unlock()
		return
	}
	c.open = nil
	c.statements++
	if b.waiting == 0 {
		// Every reader of it gave up before it was sent.
		c.mu.Unlock()
		b.err = fmt.Errorf("pgstore: read tails: %w", context.Canceled)
		close(b.done)
		c.next(s)
		return
	}
	// The batch's statement belongs to no one reader: it is cancelled when
	// the last of them stops waiting, or when Close gives up waiting for
	// it (closeGrace; the store's background context).
	ctx, cancel := context.WithCancel(s.bgCtx)
	b.cancel = cancel
	c.mu.Unlock()
	s.mu.Lock()
	closed := s.closed
	if !closed {
		c.sending.Add(1)
		c.started.Add(1)
	}
	s.mu.Unlock()
	if closed {
		// Close has begun and may already be waiting: no statement
		// starts behind its back.
		c.mu.Lock()
		b.cancel = nil
		c.mu.Unlock()
		cancel()
		b.err = fmt.Errorf("pgstore: read tails: %w", eventstore.ErrClosed)
		close(b.done)
		c.next(s)
		return
	}
	go func() {
		defer c.sending.Done() // after the slot is handed on: Close waits for the chain
		func() {
			// A panic fails this batch's readers, not the process, and
			// the slot is handed on below as after any statement.
			defer func() {
				if r := recover(); r != nil {
					b.err = fmt.Errorf("pgstore: read tails: panic: %v", r)
				}
			}()
			b.tails, b.head, b.err = s.queryTails(ctx, b.reqs, b.withHead)
		}()
		c.mu.Lock()
		b.cancel = nil
		c.mu.Unlock()
		cancel()
		close(b.done)
		c.next(s)
	}()
}

// tailStats returns how many tail statements were sent and how many
// ReadTails calls they answered.
func (s *Store) tailStats() (statements, reads uint64) {
	s.tails.mu.Lock()
	defer s.tails.mu.Unlock()
	return s.tails.statements, s.tails.reads
}
