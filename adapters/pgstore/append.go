package pgstore

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/kinerja-ledger/kinerja/adapters/internal/pgtxhook"
	"github.com/kinerja-ledger/kinerja/eventstore"
)

// maxAttempts bounds how often one append re-reads the head and tries again
// after losing to a writer in another process (Any and StreamExists, or a
// stale cached head). Writers in this process never make each other retry:
// they take turns per stream.
const maxAttempts = 32

// request is one append handed to a committer.
type request struct {
	ctx      context.Context
	stream   string
	expected int64 // revision of the stream's last event the INSERT requires; -1: no event
	events   []eventstore.EventData
	hashes   []eventstore.Hash
	sig      eventstore.WriterSignature // of the last event
	done     chan outcome               // buffered: a committer never waits for a caller
	// state decides, once, between a caller giving up and a committer
	// sending the request: a caller may return its context's error (with
	// nothing written) only while the request is pending.
	state atomic.Int32
}

// Request states.
const (
	pending   int32 = iota // queued, or gathered but not yet sent
	sent                   // in a statement: its outcome decides
	abandoned              // the caller gave up first: never sent
)

// staleBatch is how long an append waits in the queue behind a batch in
// flight before it starts another batch (if a slot is free): a batch can
// wait on a row lock held by another transaction, and appends to other
// streams should not wait with it.
const staleBatch = 50 * time.Millisecond

// outcome is a committer's answer to one request.
type outcome struct {
	inserted bool      // all the request's rows are committed
	position int64     // of the request's last row, when inserted
	recorded time.Time // the rows' recorded_at, when inserted
	conflict bool      // nothing written: the head moved, or a unique key was taken
	err      error     // anything else; the outcome is unknown unless conflict
}

// Append implements eventstore.Store. See the package doc for how an append
// is checked, batched and committed.
func (s *Store) Append(ctx context.Context, stream string, expected eventstore.ExpectedRevision, events ...eventstore.EventData) (eventstore.AppendResult, error) {
	res, err := s.append(ctx, stream, expected, events)
	if err != nil {
		return eventstore.AppendResult{}, fmt.Errorf("pgstore: append %s: %w", stream, err)
	}
	return res, nil
}

func (s *Store) append(ctx context.Context, stream string, expected eventstore.ExpectedRevision, events []eventstore.EventData) (eventstore.AppendResult, error) {
	if err := ctx.Err(); err != nil {
		return eventstore.AppendResult{}, err
	}
	if !s.enter() {
		return eventstore.AppendResult{}, eventstore.ErrClosed
	}
	defer s.leave()
	prepared, err := eventstore.Prepare(stream, events, s.opts.Limits)
	if err != nil {
		return eventstore.AppendResult{}, err
	}
	if err := s.gates.lock(ctx, stream); err != nil {
		return eventstore.AppendResult{}, err
	}
	defer s.gates.unlock(stream)

	for attempt := 1; ; attempt++ {
		head, ok, err := s.guessHead(ctx, stream, expected)
		if err != nil {
			return eventstore.AppendResult{}, err
		}
		if ok {
			hashes := eventstore.Seal(stream, head, prepared)
			sig, err := eventstore.SignHash(s.opts.Signer, hashes[len(hashes)-1])
			if err != nil {
				return eventstore.AppendResult{}, err
			}
			r := &request{ctx: ctx, stream: stream, expected: -1, events: prepared, hashes: hashes, sig: sig, done: make(chan outcome, 1)}
			if head.Exists {
				r.expected = int64(head.Revision)
			}
			o := s.commit(ctx, r)
			if o.err != nil {
				return eventstore.AppendResult{}, o.err
			}
			if o.inserted {
				last := len(prepared) - 1
				res := eventstore.AppendResult{
					Revision:   head.Next() + uint64(last),
					Position:   eventstore.Position(o.position),
					Hash:       hashes[last],
					RecordedAt: o.recorded,
				}
				s.heads.put(stream, eventstore.Head{Exists: true, Revision: res.Revision, Hash: res.Hash})
				return res, nil
			}
		}
		// Nothing was written. Either this is a repetition of an earlier
		// append (answer it from storage), or the head is not what the
		// append expects (say so), or the guess was stale and the real head
		// allows the append (try again).
		s.stats.conflicts.Add(1)
		res, repeat, actual, err := s.resolveConflict(ctx, s.pool, stream, expected, prepared)
		if err != nil || repeat {
			return res, err
		}
		s.heads.put(stream, actual)
		if err := expected.Check(stream, actual); err != nil {
			return eventstore.AppendResult{}, err
		}
		s.stats.retries.Add(1)
		if attempt == maxAttempts {
			// Only writers in other processes can make us lose this often.
			return eventstore.AppendResult{}, &eventstore.WrongExpectedRevisionError{
				Stream: stream, Expected: expected, Actual: actual.Revision, ActualExists: actual.Exists}
		}
	}
}

// guessHead returns the head an append with expected should be sealed
// against, from the cache when it can, and ok=false when the append cannot
// succeed as things stand (the conflict path then finds out why).
func (s *Store) guessHead(ctx context.Context, stream string, expected eventstore.ExpectedRevision) (eventstore.Head, bool, error) {
	cached, inCache := s.heads.get(stream)
	if expected.IsNoStream() {
		// A cached head is a committed event: the stream exists.
		return eventstore.Head{}, !inCache, nil
	}
	if rev, exact := expected.Revision(); exact {
		switch {
		case inCache && cached.Revision == rev:
			return cached, true, nil
		case inCache && cached.Revision > rev:
			return eventstore.Head{}, false, nil
		}
		h, err := s.scanHead(stream, s.pool.QueryRow(ctx, s.q.hashAt, stream, int64(rev)))
		if errors.As(err, new(*eventstore.IntegrityError)) {
			// Not a signed append's end: either not the head (the append
			// expects a stale revision) or a forged head; the conflict
			// path reads the real head and says which.
			return eventstore.Head{}, false, nil
		}
		if err != nil {
			return eventstore.Head{}, false, s.closedErr(err)
		}
		if !h.Exists {
			return eventstore.Head{}, false, nil
		}
		s.heads.put(stream, h)
		return h, true, nil
	}
	// Any or StreamExists: guess the cached head, else read it.
	if !inCache {
		var err error
		cached, err = s.readHead(ctx, s.pool, stream)
		if err != nil {
			return eventstore.Head{}, false, err
		}
		s.heads.put(stream, cached)
	}
	if expected.IsStreamExists() && !cached.Exists {
		return eventstore.Head{}, false, nil
	}
	return cached, true, nil
}

// querier is what the conflict path needs: a pool or a transaction.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

func (s *Store) readHead(ctx context.Context, q querier, stream string) (eventstore.Head, error) {
	h, err := s.scanHead(stream, q.QueryRow(ctx, s.q.head, stream))
	return h, s.closedErr(err)
}

// scanHead scans a row of headColumns: a stream's head as stored, which an
// append is about to build on. With a keyring, the head must be the signed
// last event of an append of a trusted key (eventstore.Keyring.CheckHead):
// otherwise an event inserted behind the store's back, with a recomputed
// chain hash, would be covered by this append's signature. No row is the
// zero head.
func (s *Store) scanHead(stream string, row pgx.Row) (eventstore.Head, error) {
	var (
		rev, pos int64
		hash     []byte
		ev       eventstore.Event
		id       pgtype.UUID
	)
	err := row.Scan(&rev, &hash, &ev.Signature.KeyID, &ev.Signature.Sig, &id, &pos)
	if errors.Is(err, pgx.ErrNoRows) {
		return eventstore.Head{}, nil
	}
	if err != nil {
		return eventstore.Head{}, err
	}
	h := eventstore.Head{Exists: true, Revision: uint64(rev), Hash: toHash(hash)}
	if s.opts.Keyring != nil {
		ev.Stream, ev.Revision, ev.Hash, ev.ID, ev.Position = stream, h.Revision, h.Hash, id.Bytes, eventstore.Position(pos)
		if err := s.opts.Keyring.CheckHead(ev); err != nil {
			return eventstore.Head{}, err
		}
	}
	return h, nil
}

// resolveConflict runs after an append wrote nothing. In one round trip it
// reads the stored events carrying the append's IDs and the stream's head.
// If the IDs are stored, eventstore.CheckRepeat decides: a pure repetition
// returns the first append's result (repeat=true), anything in between an
// *IdempotencyError. Otherwise it returns the actual head.
func (s *Store) resolveConflict(ctx context.Context, q querier, stream string, expected eventstore.ExpectedRevision, events []eventstore.EventData) (res eventstore.AppendResult, repeat bool, actual eventstore.Head, err error) {
	ids := make([]pgtype.UUID, len(events))
	for i := range events {
		ids[i] = pgtype.UUID{Bytes: events[i].ID, Valid: true}
	}
	b := &pgx.Batch{}
	b.Queue(s.q.byIDs, ids)
	b.Queue(s.q.head, stream)
	br := q.SendBatch(ctx, b)
	defer br.Close()
	rows, err := br.Query()
	if err != nil {
		return res, false, actual, s.closedErr(err)
	}
	found, err := collectEvents(rows)
	if err != nil {
		return res, false, actual, s.closedErr(err)
	}
	head, headErr := s.scanHead(stream, br.QueryRow())
	var ie *eventstore.IntegrityError
	switch {
	case errors.As(headErr, &ie):
		// A repetition of an earlier append is answered from storage
		// below; anything else must not build on this head.
	case headErr != nil:
		return res, false, actual, s.closedErr(headErr)
	default:
		actual = head
	}
	if len(found) > 0 {
		byID := make(map[[16]byte]*eventstore.Event, len(found))
		for i := range found {
			byID[found[i].ID] = &found[i]
		}
		stored := make([]*eventstore.Event, len(events))
		for i := range events {
			stored[i] = byID[events[i].ID]
		}
		res, repeat, err := eventstore.CheckRepeat(stream, expected, events, stored)
		if repeat {
			// The first append's result, whole: its events' RecordedAt too.
			res.RecordedAt = stored[len(stored)-1].RecordedAt
		}
		if err != nil || repeat {
			return res, repeat, actual, err
		}
	}
	if ie != nil {
		return res, false, actual, ie
	}
	return res, false, actual, nil
}

// commit commits one sealed append, normally as part of a batch, and
// returns its outcome.
//
// Group commit: up to Options.Committers batches are in flight at once
// (s.slots). A caller that finds no batch in flight commits at once, in its
// own goroutine, together with every append already queued; a lone writer
// therefore pays one statement and no hand-off. Otherwise it queues its
// append and waits. When a batch ends, its leader hands any queued appends
// to a committer goroutine (serveQueue) that commits them as the next
// batch; and when the queue
// grows to batchStart appends while a batch is in flight, another batch
// starts at once if a slot is free, so that one batch executes while
// another waits for its WAL flush. Nothing ever waits for a batch to fill.
func (s *Store) commit(ctx context.Context, r *request) outcome {
	if s.opts.NoGroupCommit || len(r.events) > s.opts.MaxBatchEvents {
		s.execBatch(ctx, []*request{r})
		return <-r.done
	}
	if len(s.slots) == 0 {
		select {
		case s.slots <- struct{}{}:
			s.lead(r)
			return <-r.done
		default:
		}
	}
	select {
	case s.queue <- r:
	case <-ctx.Done():
		return outcome{err: ctx.Err()}
	}
	// Checked after queueing: a leader that ended before that saw an empty
	// queue, so if no batch is in flight now, nobody else will start one.
	if len(s.slots) == 0 || len(s.queue) >= s.batchStart {
		s.serveQueue()
	}
	stale := time.NewTimer(staleBatch)
	defer stale.Stop()
	for {
		select {
		case o := <-r.done:
			return o
		case <-stale.C:
			s.serveQueue()
			stale.Reset(staleBatch)
		case <-ctx.Done():
			if r.state.CompareAndSwap(pending, abandoned) {
				return outcome{err: ctx.Err()} // never sent: nothing written
			}
			// Sent: the statement decides. It is cancelled once every
			// caller in its batch has given up (see execBatch).
			return <-r.done
		}
	}
}

// lead commits first and whatever is queued, holding a slot, then releases
// the slot.
func (s *Store) lead(first *request) {
	for first != nil {
		var batch []*request
		batch, first = s.gather(first)
		s.execBatch(s.bgCtx, batch)
	}
	<-s.slots
	if len(s.queue) > 0 {
		s.serveQueue()
	}
}

// serveQueue wakes a committer goroutine to commit the queued appends, if
// a slot is free.
func (s *Store) serveQueue() {
	select {
	case s.slots <- struct{}{}:
	default:
		return // a batch in flight will look at the queue when it ends
	}
	// Never blocks: one token per slot held this way, and s.work holds as
	// many tokens as there are slots.
	s.work <- struct{}{}
}

// committer is one of the Options.Committers goroutines that commit queued
// appends for serveQueue, for the store's lifetime: a goroutine started per
// batch grew its stack afresh for pgx's encoding and the socket every time
// (≈ 5 % of the store's Go CPU, docs/benchmarks.md §25). Each token in
// s.work carries a slot, which lead releases.
func (s *Store) committer() {
	defer s.bg.Done()
	for {
		select {
		case <-s.work:
		case <-s.stopCommitters:
			return
		}
		select {
		case r := <-s.queue:
			s.lead(r)
		default:
			<-s.slots
			if len(s.queue) > 0 {
				s.serveQueue()
			}
		}
	}
}

// gather returns a batch of first and the appends queued now, at most
// Options.MaxBatchEvents events, and the first queued append that did not
// fit, if any.
func (s *Store) gather(first *request) (batch []*request, rest *request) {
	batch = append(batch, first)
	n := len(first.events)
	for n < s.opts.MaxBatchEvents {
		select {
		case r := <-s.queue:
			if n+len(r.events) > s.opts.MaxBatchEvents {
				return batch, r
			}
			batch = append(batch, r)
			n += len(r.events)
		default:
			return batch, nil
		}
	}
	return batch, nil
}

// execBatch inserts the rows of every request in one statement and answers
// each request. Each request's rows share its stream's head check, so they
// are inserted all or none. A statement error (a unique key taken by a
// racing writer of another process, a repeated event ID, a deadlock, a lost
// connection) aborts the whole batch; the requests are then run one by one,
// so that each gets its own exact answer.
func (s *Store) execBatch(ctx context.Context, batch []*request) {
	live := batch[:0:0]
	for _, r := range batch {
		switch {
		case r.state.Load() == sent: // a batch that failed, run again one by one
		case r.ctx.Err() != nil:
			if r.state.CompareAndSwap(pending, abandoned) {
				r.done <- outcome{err: r.ctx.Err()} // the caller gave up before anything was sent
			}
			continue
		case !r.state.CompareAndSwap(pending, sent):
			continue // the caller gave up and has returned
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return
	}
	// The statement runs until it ends or every caller in it has given up
	// (a batch can wait on a row lock another transaction holds).
	stmtCtx, cancelStmt := context.WithCancel(ctx)
	defer cancelStmt()
	var waiting atomic.Int32
	waiting.Store(int32(len(live)))
	for _, r := range live {
		stop := context.AfterFunc(r.ctx, func() {
			if waiting.Add(-1) == 0 {
				cancelStmt()
			}
		})
		defer stop()
	}
	ctx = stmtCtx
	// Stream order: two processes' batches then take row locks in the same
	// order and cannot deadlock on each other's streams.
	slices.SortFunc(live, func(a, b *request) int { return strings.Compare(a.stream, b.stream) })

	s.stats.statements.Add(1)
	var counts map[string]streamCount
	var err error
	channel := ""
	if s.notifyInStatement {
		channel = s.channel
	}
	switch {
	case hooked(live):
		counts, err = s.insertHooked(ctx, live, channel)
	case len(live) == 1 && len(live[0].events) == 1 && !s.notifyInStatement:
		counts, err = s.insertOne(ctx, live[0])
	default:
		counts, err = s.insertBatch(ctx, live, channel)
	}
	if err != nil {
		if ctx.Err() != nil {
			// Cancelled: every caller gave up (or the store is closing).
			// The statement ends with its transaction, so nothing was
			// written, unless the cancel crossed the commit; a repeat with
			// the same IDs is safe either way.
			for _, r := range live {
				o := outcome{err: ctx.Err()}
				switch {
				case r.ctx.Err() != nil:
					o.err = r.ctx.Err()
				case s.bgCtx.Err() != nil:
					o.err = eventstore.ErrClosed
				}
				r.done <- o
			}
			return
		}
		if len(live) > 1 {
			s.stats.fallbacks.Add(1)
			for _, r := range live {
				s.execBatch(ctx, []*request{r})
			}
			return
		}
		o := outcome{err: s.closedErr(err)}
		if isConflict(err) {
			o = outcome{conflict: true}
		}
		for _, r := range live {
			r.done <- o
		}
		return
	}
	wrote := false
	for _, r := range live {
		c := counts[r.stream]
		switch c.n {
		case len(r.events):
			r.done <- outcome{inserted: true, position: c.last, recorded: c.recorded}
			s.stats.appends.Add(1)
			s.stats.events.Add(int64(c.n))
			wrote = true
		case 0:
			r.done <- outcome{conflict: true}
		default: // cannot happen: the rows of one stream share one head check
			r.done <- outcome{err: fmt.Errorf("pgstore: internal error: %d of %d rows inserted", c.n, len(r.events))}
		}
	}
	if wrote {
		s.bc.Notify()
		if !s.notifyInStatement {
			s.wake()
		}
	}
}

// hooked reports whether an append of the batch carries a statement to run
// in its transaction (pgtxhook).
func hooked(reqs []*request) bool {
	for _, r := range reqs {
		if pgtxhook.From(r.ctx) != nil {
			return true
		}
	}
	return false
}

// insertHooked runs the append statement and then, in the same
// transaction, the pgtxhook statement of each append whose rows were all
// inserted: one commit (one WAL flush) covers the batch's events and those
// statements. If a statement fails the transaction rolls back and the
// batch fails (execBatch then runs its appends one by one, so only the
// append whose statement fails is refused). Two round trips: BEGIN with
// the insert, then the statements with COMMIT.
func (s *Store) insertHooked(ctx context.Context, reqs []*request, channel string) (map[string]streamCount, error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	// A connection released inside a transaction (a failed ROLLBACK) is
	// closed by the pool, never reused.
	defer conn.Release()
	rollback := func() { conn.Exec(context.WithoutCancel(ctx), `ROLLBACK`) }
	var counts map[string]streamCount
	b := &pgx.Batch{}
	b.Queue(`BEGIN`)
	sql, args := s.insertStatement(reqs, channel)
	b.Queue(sql, args...).Query(func(rows pgx.Rows) error {
		counts, err = collectCounts(rows)
		return err
	})
	if err := conn.SendBatch(ctx, b).Close(); err != nil {
		rollback()
		return nil, err
	}
	var ran []*pgtxhook.Statement
	took := make([]bool, len(reqs))
	b = &pgx.Batch{}
	for _, r := range reqs {
		st := pgtxhook.From(r.ctx)
		if st == nil || counts[r.stream].n != len(r.events) {
			continue // nothing of this append is written: neither is its statement
		}
		i := len(ran)
		ran = append(ran, st)
		// Committed means the statement took: it changed exactly one row
		// (a claim that found another's unexpired record changed none).
		b.Queue(st.SQL, st.Args...).Exec(func(ct pgconn.CommandTag) error {
			took[i] = ct.RowsAffected() == 1
			return nil
		})
	}
	b.Queue(`COMMIT`)
	if err := conn.SendBatch(ctx, b).Close(); err != nil {
		rollback()
		// Not a conflict of the append, whatever its SQLSTATE: the
		// conflict path would retry an append that cannot succeed.
		return nil, &hookError{err: err}
	}
	for i, st := range ran {
		if took[i] {
			st.MarkCommitted()
		}
	}
	return counts, nil
}

// hookError is the failure of a pgtxhook statement. It deliberately does not
// unwrap: isConflict must not take a unique violation of the statement for
// one of the append.
type hookError struct{ err error }

func (e *hookError) Error() string {
	return "statement in the append's transaction: " + e.err.Error()
}

// insertOne runs the single-event statement.
func (s *Store) insertOne(ctx context.Context, r *request) (map[string]streamCount, error) {
	e := &r.events[0]
	data := e.Data
	if data == nil {
		data = []byte{}
	}
	sig := r.sig.Sig
	if sig == nil {
		sig = []byte{}
	}
	var (
		pos      int64
		recorded time.Time
	)
	err := s.pool.QueryRow(ctx, s.q.appendOne, r.stream, r.expected, pgtype.UUID{Bytes: e.ID, Valid: true},
		int32(min(e.SchemaVersion, math.MaxInt32)), e.OccurredAt, e.Type, e.Actor.ID, e.Actor.Role,
		e.CorrelationID, e.CausationID, e.Reason, data, r.hashes[0][:], r.sig.KeyID, sig, s.recordedAt()).Scan(&pos, &recorded)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil, nil // the head check failed
	case err != nil:
		return nil, err
	}
	return map[string]streamCount{r.stream: {n: 1, last: pos, recorded: recorded.UTC()}}, nil
}

// streamCount is what one statement inserted for one stream.
type streamCount struct {
	n    int
	last int64
	// recorded is the rows' recorded_at: one value per statement, so the
	// same for every row of an append.
	recorded time.Time
}

// dbQuerier runs a query: a pool or a transaction.
type dbQuerier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// insert runs the many-events statement over the requests' rows and
// returns, per stream, the rows inserted and the last position. The
// requests must be sorted by stream, with one request per stream. When
// channel is not empty, the statement NOTIFYs it.
func (s *Store) insert(ctx context.Context, q dbQuerier, reqs []*request, channel string) (map[string]streamCount, error) {
	sql, args := s.insertStatement(reqs, channel)
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	return collectCounts(rows)
}

// insertBatch runs a group commit's batch: appendBatch through pgconn with
// parameters encoded by encodeBatch (wire.go) when it can, else insert.
func (s *Store) insertBatch(ctx context.Context, reqs []*request, channel string) (map[string]streamCount, error) {
	rows := 0
	for _, r := range reqs {
		rows += len(r.events)
	}
	if channel == "" && rows <= maxPerTransaction {
		if counts, ok, err := s.insertWire(ctx, reqs); ok {
			return counts, err
		}
	}
	return s.insert(ctx, s.pool, reqs, channel)
}

// insertStatement returns the statement and arguments that insert the
// rows of reqs as the first statement of a transaction: appendBatch, or
// appendMany when the statement must NOTIFY channel or the rows are more
// than one transaction's positions hold.
func (s *Store) insertStatement(reqs []*request, channel string) (string, []any) {
	args := s.insertArgs(reqs, channel)
	if channel != "" || len(args[3].([]int64)) > maxPerTransaction {
		// appendMany NOTIFYs, and refuses more events than positions
		// hold for one transaction.
		return s.q.appendMany, args
	}
	return s.q.appendBatch, append(args[:17], args[18]) // no NOTIFY argument
}

// insertArgs returns the arguments of appendMany: one array per column,
// plus the per-request stream and expected head, the NOTIFY channel and
// the recording time.
func (s *Store) insertArgs(reqs []*request, channel string) []any {
	rows := 0
	for _, r := range reqs {
		rows += len(r.events)
	}
	var (
		reqStream   = make([]string, len(reqs))
		reqExpected = make([]int64, len(reqs))
		rowReq      = make([]int64, 0, rows)
		revision    = make([]int64, 0, rows)
		eventID     = make([]pgtype.UUID, 0, rows)
		schemaVer   = make([]int32, 0, rows)
		occurredAt  = make([]time.Time, 0, rows)
		typ         = make([]string, 0, rows)
		actorID     = make([]string, 0, rows)
		actorRole   = make([]string, 0, rows)
		correlation = make([]string, 0, rows)
		causation   = make([]string, 0, rows)
		reason      = make([]string, 0, rows)
		data        = make([][]byte, 0, rows)
		hash        = make([][]byte, 0, rows)
		keyID       = make([]string, 0, rows)
		sig         = make([][]byte, 0, rows)
	)
	for i, r := range reqs {
		reqStream[i] = r.stream
		reqExpected[i] = r.expected
		for j := range r.events {
			e := &r.events[j]
			rowReq = append(rowReq, int64(i+1))
			revision = append(revision, r.expected+1+int64(j))
			eventID = append(eventID, pgtype.UUID{Bytes: e.ID, Valid: true})
			schemaVer = append(schemaVer, int32(min(e.SchemaVersion, math.MaxInt32)))
			occurredAt = append(occurredAt, e.OccurredAt)
			typ = append(typ, e.Type)
			actorID = append(actorID, e.Actor.ID)
			actorRole = append(actorRole, e.Actor.Role)
			correlation = append(correlation, e.CorrelationID)
			causation = append(causation, e.CausationID)
			reason = append(reason, e.Reason)
			d := e.Data
			if d == nil {
				d = []byte{} // NOT NULL: an empty payload is stored as empty bytes
			}
			data = append(data, d)
			hash = append(hash, r.hashes[j][:])
			if j == len(r.events)-1 && !r.sig.IsZero() {
				keyID, sig = append(keyID, r.sig.KeyID), append(sig, r.sig.Sig)
			} else {
				keyID, sig = append(keyID, ""), append(sig, []byte{})
			}
		}
	}
	var notify *string // NULL: no NOTIFY in the statement
	if channel != "" {
		notify = &channel
	}
	return []any{reqStream, reqExpected, rowReq, revision, eventID, schemaVer, occurredAt,
		typ, actorID, actorRole, correlation, causation, reason, data, hash, keyID, sig, notify, s.recordedAt()}
}

// recordedAt is the recorded_at argument of an append statement: nil
// (NULL: the database's clock_timestamp()) unless Options.Now is set, then
// Now truncated to PostgreSQL's microseconds and never before the last
// value this Store handed out, whatever the clock does.
func (s *Store) recordedAt() *time.Time {
	if s.opts.Now == nil {
		return nil
	}
	now := s.opts.Now().UnixMicro()
	for {
		last := s.lastRecorded.Load()
		if now <= last {
			now = last
			break
		}
		if s.lastRecorded.CompareAndSwap(last, now) {
			break
		}
	}
	t := time.UnixMicro(now).UTC()
	return &t
}

// collectCounts reads the RETURNING rows (stream, position, recorded_at)
// of the append statement.
func collectCounts(rows pgx.Rows) (map[string]streamCount, error) {
	defer rows.Close()
	counts := make(map[string]streamCount, 1)
	var (
		stream   string
		pos      int64
		recorded time.Time
	)
	for rows.Next() {
		if err := rows.Scan(&stream, &pos, &recorded); err != nil {
			return nil, err
		}
		c := counts[stream]
		c.n++
		c.last = max(c.last, pos)
		c.recorded = recorded.UTC()
		counts[stream] = c
	}
	// In autocommit the statement commits after its last row: only Err,
	// after the rows, tells whether it did.
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return counts, nil
}

// isConflict reports errors after which nothing was written and the
// conflict path can tell the caller why: a unique key taken by a concurrent
// or earlier append, or a deadlock or serialization failure between racing
// writers.
func isConflict(err error) bool {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return false
	}
	switch pe.Code {
	case "23505", "40P01", "40001": // unique_violation, deadlock_detected, serialization_failure
		return true
	}
	return false
}

// wake asks the notifier to tell subscribers of other processes that
// events were committed.
func (s *Store) wake() {
	select {
	case s.notifyCh <- struct{}{}:
	default:
	}
}

// AppendTx appends events to stream inside tx, the caller's transaction (a
// transactional outbox: the events commit or roll back with the caller's
// other writes). It checks expected, seals and inserts like Append, and a
// NOTIFY in the same transaction wakes subscribers when tx commits. The
// result's position is final once tx commits; several AppendTx calls in one
// transaction get increasing positions.
//
// It does not use group commit or the head cache (tx may roll back, and it
// sees its own uncommitted events), and it must run in a READ COMMITTED
// transaction. RecordedAt is the time of the INSERT, not of the caller's
// commit: keep such transactions short, or an as-of read for a moment
// between the two may first miss the events and later see them. The
// result's RecordedAt is zero (Append reports it): tx may still roll back,
// and a writer that keeps what it appended (eventlog.Cached) must not keep
// these events. The insert runs under a savepoint, sent in the same round
// trip: on any error nothing of this call was written and tx stays usable.
// Idempotency is judged against what tx sees.
func (s *Store) AppendTx(ctx context.Context, tx pgx.Tx, stream string, expected eventstore.ExpectedRevision, events ...eventstore.EventData) (eventstore.AppendResult, error) {
	res, err := s.appendTx(ctx, tx, stream, expected, events)
	if err != nil {
		return eventstore.AppendResult{}, fmt.Errorf("pgstore: append %s: %w", stream, err)
	}
	return res, nil
}

func (s *Store) appendTx(ctx context.Context, tx pgx.Tx, stream string, expected eventstore.ExpectedRevision, events []eventstore.EventData) (eventstore.AppendResult, error) {
	if err := ctx.Err(); err != nil {
		return eventstore.AppendResult{}, err
	}
	if s.isClosed() {
		return eventstore.AppendResult{}, eventstore.ErrClosed
	}
	prepared, err := eventstore.Prepare(stream, events, s.opts.Limits)
	if err != nil {
		return eventstore.AppendResult{}, err
	}
	for attempt := 1; ; attempt++ {
		head, ok, err := s.txHead(ctx, tx, stream, expected)
		if err != nil {
			return eventstore.AppendResult{}, err
		}
		if ok {
			hashes := eventstore.Seal(stream, head, prepared)
			sig, err := eventstore.SignHash(s.opts.Signer, hashes[len(hashes)-1])
			if err != nil {
				return eventstore.AppendResult{}, err
			}
			r := &request{ctx: ctx, stream: stream, expected: -1, events: prepared, hashes: hashes, sig: sig}
			if head.Exists {
				r.expected = int64(head.Revision)
			}
			counts, err := s.insertSavepoint(ctx, tx, r)
			if err != nil && !isConflict(err) {
				return eventstore.AppendResult{}, err
			}
			if c := counts[stream]; err == nil && c.n == len(prepared) {
				last := len(prepared) - 1
				return eventstore.AppendResult{
					Revision: head.Next() + uint64(last),
					Position: eventstore.Position(c.last),
					Hash:     hashes[last],
				}, nil
			}
		}
		res, repeat, actual, err := s.resolveConflict(ctx, tx, stream, expected, prepared)
		res.RecordedAt = time.Time{} // see AppendTx
		if err != nil || repeat {
			return res, err
		}
		if err := expected.Check(stream, actual); err != nil {
			return eventstore.AppendResult{}, err
		}
		if attempt == maxAttempts {
			return eventstore.AppendResult{}, &eventstore.WrongExpectedRevisionError{
				Stream: stream, Expected: expected, Actual: actual.Revision, ActualExists: actual.Exists}
		}
	}
}

// txHead is guessHead inside a transaction, without the cache.
func (s *Store) txHead(ctx context.Context, tx pgx.Tx, stream string, expected eventstore.ExpectedRevision) (eventstore.Head, bool, error) {
	if expected.IsNoStream() {
		return eventstore.Head{}, true, nil
	}
	if rev, exact := expected.Revision(); exact {
		h, err := s.scanHead(stream, tx.QueryRow(ctx, s.q.hashAt, stream, int64(rev)))
		if errors.As(err, new(*eventstore.IntegrityError)) {
			return eventstore.Head{}, false, nil // see guessHead
		}
		return h, h.Exists, err
	}
	h, err := s.readHead(ctx, tx, stream)
	if err != nil {
		return eventstore.Head{}, false, err
	}
	if expected.IsStreamExists() && !h.Exists {
		return h, false, nil
	}
	return h, true, nil
}

// savepoint names the savepoint AppendTx wraps its insert in.
const savepoint = "kinerja_pgstore_append"

// insertSavepoint runs the append statement under a savepoint in one round
// trip (pipelined), and rolls back to the savepoint if anything failed, so
// that tx stays usable. Before, it keeps the writers' horizon sound
// (package doc, "The writers' horizon"): lockTxWriter refuses a tx that
// already has a transaction ID without having taken the events table's
// RowExclusiveLock through the store before it, and otherwise takes that
// lock in tx itself (not under the append's savepoint, which a conflict
// rolls back while the transaction ID stays), so that the lock is held
// from before the transaction ID is assigned until tx ends.
func (s *Store) insertSavepoint(ctx context.Context, tx pgx.Tx, r *request) (map[string]streamCount, error) {
	if err := s.lockTxWriter(ctx, tx); err != nil {
		return nil, err
	}
	b := &pgx.Batch{}
	b.Queue(`SAVEPOINT ` + savepoint)
	var counts map[string]streamCount
	var insertErr error
	b.Queue(s.q.appendMany, s.insertArgs([]*request{r}, s.channel)...).Query(func(rows pgx.Rows) error {
		counts, insertErr = collectCounts(rows)
		return insertErr
	})
	b.Queue(`RELEASE SAVEPOINT ` + savepoint)
	err := tx.SendBatch(ctx, b).Close()
	if err == nil {
		return counts, nil
	}
	if insertErr == nil {
		insertErr = err
	}
	if _, rbErr := tx.Exec(ctx, `ROLLBACK TO SAVEPOINT `+savepoint); rbErr != nil {
		return nil, errors.Join(insertErr, rbErr)
	}
	return nil, insertErr
}

// lockTxWriter runs txWriterLock under a savepoint, in a round trip of
// its own: in a batch with the append, the INSERT's parsing (which pgx may
// send before any statement of the batch runs) would take the events lock
// first. A refusal (ErrTxWroteBeforeAppend) leaves tx as it was.
func (s *Store) lockTxWriter(ctx context.Context, tx pgx.Tx) error {
	b := &pgx.Batch{}
	b.Queue(`SAVEPOINT ` + savepoint)
	b.Queue(s.q.txWriterLock)
	b.Queue(`RELEASE SAVEPOINT ` + savepoint)
	err := tx.SendBatch(ctx, b).Close()
	if err == nil {
		return nil
	}
	if _, rbErr := tx.Exec(ctx, `ROLLBACK TO SAVEPOINT `+savepoint); rbErr != nil {
		return errors.Join(err, rbErr)
	}
	if _, rbErr := tx.Exec(ctx, `RELEASE SAVEPOINT `+savepoint); rbErr != nil {
		return errors.Join(err, rbErr)
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == txWroteFirstCode && pe.Message == txWroteFirstMessage {
		return ErrTxWroteBeforeAppend
	}
	return err
}

// ErrTxWroteBeforeAppend is the answer of AppendTx and LockTx when their
// transaction already has a transaction ID (it wrote something) and did
// not take the events table's RowExclusiveLock through LockTx or AppendTx
// before: its events could take a position that readers have already
// passed. Taking the lock now would not help (readers may have passed the
// transaction already), so the transaction can never append: roll it back
// and redo it with LockTx before its first write, or append before
// writing anything else. Nothing was written, and the transaction stays
// usable for its other work.
var ErrTxWroteBeforeAppend = errors.New("pgstore: the transaction wrote before taking the events lock: roll back and redo with LockTx before the first write (its events could sort before positions readers have passed)")

// LockTx prepares tx, a caller's transaction that writes other tables
// before it calls AppendTx: call it before the transaction's first write;
// called later it returns ErrTxWroteBeforeAppend and changes nothing.
// It takes RowExclusiveLock on the events table (LOCK TABLE ... IN ROW
// EXCLUSIVE MODE), which conflicts with no append or read; from then on
// readers wait for tx (package doc, "The writers' horizon"). A
// transaction that calls AppendTx before writing anything else does not
// need it. Under a savepoint that rolls back, the lock is undone with it
// (a later AppendTx is then refused if the transaction has written).
func (s *Store) LockTx(ctx context.Context, tx pgx.Tx) error {
	if err := s.lockTxWriter(ctx, tx); err != nil {
		if errors.Is(err, ErrTxWroteBeforeAppend) {
			return err
		}
		return fmt.Errorf("pgstore: lock for append: %w", err)
	}
	return nil
}

// txWroteFirstCode and txWroteFirstMessage identify the txWriterLock
// refusal (object_not_in_prerequisite_state).
const (
	txWroteFirstCode    = "55000"
	txWroteFirstMessage = "kinerja pgstore: the transaction wrote before its first append"
)
