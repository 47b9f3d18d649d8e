package pgstore

import (
	"context"
	"fmt"
	"iter"
	"math"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/kinerja-ledger/kinerja/eventstore"
)

// ReadStream implements eventstore.Store. A stream's own events are ordered
// by revision, so stream reads do not wait for the snapshot horizon; they
// see committed events only, as every read does. Pages of Options.PageSize
// events are fetched with separate queries, so a slow consumer holds no
// connection.
func (s *Store) ReadStream(ctx context.Context, stream string, opts eventstore.ReadStreamOptions) iter.Seq2[eventstore.Event, error] {
	return func(yield func(eventstore.Event, error) bool) {
		fail := func(err error) { yield(eventstore.Event{}, fmt.Errorf("pgstore: read %s: %w", stream, err)) }
		if err := eventstore.ValidateStreamName(stream); err != nil {
			fail(err)
			return
		}
		if s.isClosed() {
			fail(eventstore.ErrClosed)
			return
		}
		if err := ctx.Err(); err != nil {
			fail(err)
			return
		}
		asOf := pgtype.Timestamptz{InfinityModifier: pgtype.Infinity, Valid: true}
		if !opts.AsOf.IsZero() {
			asOf = pgtype.Timestamptz{Time: opts.AsOf, Valid: true}
		}
		backwards := opts.Direction == eventstore.Backwards
		from := int64(min(opts.From, math.MaxInt64))
		sql := s.q.streamFwd
		if backwards {
			sql = s.q.streamBwd
		}
		remaining := opts.Limit
		for first := true; ; first = false {
			n := s.opts.PageSize
			if remaining > 0 {
				n = min(n, remaining)
			}
			// A first forward page from revision r > 0 also fetches r-1: if
			// it is there, the stream exists, and an empty answer needs no
			// second query to tell "nothing new" from "no such stream" (the
			// common read: a cached stream's tail, usually empty).
			probe := first && !backwards && from > 0
			qFrom, qN := from, n
			if probe {
				qFrom, qN = from-1, n+1
			}
			rows, err := s.pool.Query(ctx, sql, stream, qFrom, asOf, qN)
			if err != nil {
				fail(s.closedErr(err))
				return
			}
			page, err := collectEvents(rows)
			if err != nil {
				fail(s.closedErr(err))
				return
			}
			if probe && len(page) > 0 && int64(page[0].Revision) == from-1 {
				if page = page[1:]; len(page) == 0 {
					return // the stream exists and has nothing from `from` on
				}
			}
			if len(page) > n {
				page = page[:n] // r-1 absent (as_of): keep to the page asked for
			}
			if first && len(page) == 0 {
				// A read that covers the whole stream and finds nothing has
				// proved it missing; otherwise ask.
				exists := false
				if !(from == 0 && !backwards) && !(backwards && opts.From == eventstore.End) {
					if err := s.pool.QueryRow(ctx, s.q.streamExists, stream, asOf).Scan(&exists); err != nil {
						fail(s.closedErr(err))
						return
					}
				}
				if !exists {
					fail(eventstore.ErrStreamNotFound)
				}
				return
			}
			for _, e := range page {
				if !yield(e, nil) {
					return
				}
			}
			if remaining > 0 {
				if remaining -= len(page); remaining == 0 {
					return
				}
			}
			if len(page) < n {
				return
			}
			last := int64(page[len(page)-1].Revision)
			if backwards {
				if last == 0 {
					return
				}
				from = last - 1
			} else {
				from = last + 1
			}
		}
	}
}

// ReadAll implements eventstore.Store. It first waits (at most
// Options.FinalityWait) until every event committed when it began is final,
// that is below the snapshot horizon, then reads pages in position order up
// to that bound.
func (s *Store) ReadAll(ctx context.Context, opts eventstore.ReadAllOptions) iter.Seq2[eventstore.Event, error] {
	return func(yield func(eventstore.Event, error) bool) {
		fail := func(err error) { yield(eventstore.Event{}, fmt.Errorf("pgstore: read all: %w", err)) }
		if s.isClosed() {
			fail(eventstore.ErrClosed)
			return
		}
		if err := ctx.Err(); err != nil {
			fail(err)
			return
		}
		bound, _, err := s.settle(ctx)
		if err != nil {
			fail(s.closedErr(err))
			return
		}
		after := int64(min(uint64(opts.After), math.MaxInt64))
		count := 0
		for {
			rows, err := s.pool.Query(ctx, s.q.readAll, after, bound, s.opts.PageSize)
			if err != nil {
				fail(s.closedErr(err))
				return
			}
			page, err := collectEvents(rows)
			if err != nil {
				fail(s.closedErr(err))
				return
			}
			for _, e := range page {
				after = int64(e.Position)
				if !opts.Filter.Match(e.Stream, e.Type) {
					continue
				}
				if !yield(e, nil) {
					return
				}
				if count++; opts.Limit > 0 && count == opts.Limit {
					return
				}
			}
			if len(page) < s.opts.PageSize {
				return
			}
		}
	}
}

// Head implements eventstore.Store: the position of the last event ReadAll
// would return if it began now (it waits like ReadAll).
func (s *Store) Head(ctx context.Context) (eventstore.Position, error) {
	if s.isClosed() {
		return 0, fmt.Errorf("pgstore: head: %w", eventstore.ErrClosed)
	}
	bound, last, err := s.settle(ctx)
	if err != nil {
		return 0, fmt.Errorf("pgstore: head: %w", s.closedErr(err))
	}
	if last < bound {
		return eventstore.Position(last), nil
	}
	var head int64
	if err := s.pool.QueryRow(ctx, s.q.headBelow, bound).Scan(&head); err != nil {
		return 0, fmt.Errorf("pgstore: head: %w", s.closedErr(err))
	}
	return eventstore.Position(head), nil
}

// settle returns a bound below which every event is final and that is above
// every event committed when it was called, waiting with back-off for older
// writing transactions to end; after Options.FinalityWait it returns the
// horizon as it is. last is the newest committed position seen at the start
// (0 for an empty store).
func (s *Store) settle(ctx context.Context) (bound, last int64, err error) {
	var maxPos *int64
	if err := s.pool.QueryRow(ctx, s.q.settle, s.known()).Scan(&bound, &maxPos); err != nil {
		return 0, 0, err
	}
	if maxPos == nil || *maxPos < bound {
		if maxPos != nil {
			last = *maxPos
		}
		return bound, last, nil
	}
	last = *maxPos
	deadline := time.Now().Add(s.opts.FinalityWait)
	// The first retry comes at once: it learns which of the transactions
	// that hold the horizon cannot write events (usually all of them).
	wait := time.Duration(0)
	t := time.NewTimer(wait)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return 0, 0, ctx.Err()
		case <-t.C:
		}
		s.learn(ctx)
		if err := s.pool.QueryRow(ctx, s.q.horizon, s.known()).Scan(&bound); err != nil {
			return 0, 0, err
		}
		if bound > last {
			return bound, last, nil
		}
		if time.Now().After(deadline) {
			s.warnNotFinal(bound, last)
			return bound, last, nil
		}
		wait = min(max(2*wait, time.Millisecond), 50*time.Millisecond)
		t.Reset(wait)
	}
}

// warnNotFinal says, at most every notFinalWarnEvery, that a read stopped
// at the horizon with committed events beyond it: a transaction that
// writes this store's events (with the legacy horizon: any transaction
// with an xid in the cluster) has been open for longer than FinalityWait.
// The read's answer is the final prefix (by design: nothing after it can
// be delivered in order yet), but to a caller who just appended it looks
// like missing events, so operators must see why.
func (s *Store) warnNotFinal(horizon, last int64) {
	now := time.Now().UnixNano()
	prev := s.notFinalWarned.Load()
	if now-prev < int64(notFinalWarnEvery) || !s.notFinalWarned.CompareAndSwap(prev, now) {
		return
	}
	s.opts.Logger.Warn("pgstore_read_stopped_at_horizon", "schema", s.opts.Schema, "horizon", horizon, "last_committed", last,
		"waited", s.opts.FinalityWait.String(),
		"hint", "an older transaction that writes this store's events holds the horizon; the events after it are delivered once it ends (Store.Finality names it)")
}

// notFinalWarnEvery rate-limits warnNotFinal.
const notFinalWarnEvery = 10 * time.Second

// ReadPage implements eventstore.Pager for SubscribeAll: up to limit final
// events after after, and whether committed events wait beyond the horizon.
// It never waits.
func (s *Store) ReadPage(ctx context.Context, after eventstore.Position, limit int) ([]eventstore.Event, bool, error) {
	if s.isClosed() {
		return nil, false, fmt.Errorf("pgstore: subscribe: %w", eventstore.ErrClosed)
	}
	rows, err := s.pool.Query(ctx, s.q.readPage, int64(min(uint64(after), math.MaxInt64)), limit, s.known())
	if err != nil {
		return nil, false, fmt.Errorf("pgstore: subscribe: %w", s.closedErr(err))
	}
	defer rows.Close()
	var events []eventstore.Event
	pending := false
	var final bool
	sc := newEventScanner(&final)
	for rows.Next() {
		var e eventstore.Event
		if err := sc.scan(rows, &e); err != nil {
			return nil, false, fmt.Errorf("pgstore: subscribe: %w", err)
		}
		if final {
			events = append(events, e)
		} else {
			pending = true
		}
	}
	if err := rows.Err(); err != nil {
		return nil, false, fmt.Errorf("pgstore: subscribe: %w", s.closedErr(err))
	}
	if pending {
		// Committed events wait: learn whether what holds them can
		// write events at all, for the next poll (which comes soon).
		s.learn(ctx)
	}
	return events, pending, nil
}

// Changed implements eventstore.Pager: the channel is closed after this
// store commits, and when the store's LISTEN connection receives a
// notification (another process or an AppendTx committed) or reconnects.
func (s *Store) Changed() <-chan struct{} { return s.bc.Changed() }

// SubscribeAll implements eventstore.Store with eventstore.Follow over
// ReadPage. The first subscription starts the store's one LISTEN
// connection, shared by all its subscriptions.
func (s *Store) SubscribeAll(ctx context.Context, opts eventstore.SubscribeOptions) iter.Seq2[eventstore.Event, error] {
	return func(yield func(eventstore.Event, error) bool) {
		if s.isClosed() {
			yield(eventstore.Event{}, fmt.Errorf("pgstore: subscribe: %w", eventstore.ErrClosed))
			return
		}
		s.startListener()
		for e, err := range eventstore.Follow(ctx, s, opts, eventstore.FollowOptions{PageSize: s.opts.PageSize, IdlePoll: s.opts.IdlePoll}) {
			if !yield(e, err) {
				return
			}
		}
	}
}

// Finality describes how far the global order's final prefix lags behind
// what is committed. Poll it for a metric (OldestTransactionAge is the one
// to alert on).
type Finality struct {
	// Horizon is the first position that is not final: ReadAll and
	// subscriptions deliver events below it.
	Horizon eventstore.Position
	// LastCommitted is the newest committed position (final or not), 0 for
	// an empty store.
	LastCommitted eventstore.Position
	// OldestTransactionPID is the backend of the transaction that holds
	// the horizon back while committed events wait beyond it: a writer of
	// this store's events (or, with LegacyHorizon, any transaction with a
	// transaction ID in the cluster). 0 when nothing waits, or when it is a
	// prepared transaction.
	OldestTransactionPID int
	// OldestTransactionAge is how long that transaction has been open.
	OldestTransactionAge time.Duration
	// LegacyHorizon reports that the store waits for every transaction
	// with a transaction ID in the cluster, not only for writers of its
	// events: Open could not use the writers' horizon (its log says why).
	LegacyHorizon bool
}

// Lagging reports whether committed events wait for an older transaction
// to end before they are delivered.
func (f Finality) Lagging() bool { return f.LastCommitted >= f.Horizon }

// Finality reports the horizon and what holds it back, in one query.
// Seeing other sessions' transactions in pg_stat_activity needs superuser
// or pg_read_all_stats; without it OldestTransactionPID is 0.
func (s *Store) Finality(ctx context.Context) (Finality, error) {
	var horizon, last int64
	var pid *int32
	var age float64
	for try := 0; ; try++ {
		if err := s.pool.QueryRow(ctx, s.q.horizonInfo, s.known()).Scan(&horizon, &last, &pid, &age); err != nil {
			return Finality{}, fmt.Errorf("pgstore: finality: %w", s.closedErr(err))
		}
		if try == 1 || s.legacy || last < horizon {
			break
		}
		// Lagging: learn what can be learnt (unless a learning ran less
		// than learnEvery ago), and look again. A failed learning leaves
		// the answer as it is.
		if err := s.learnSoon(ctx); err != nil {
			break
		}
	}
	f := Finality{Horizon: eventstore.Position(horizon), LastCommitted: eventstore.Position(last), LegacyHorizon: s.legacy}
	if pid != nil && f.Lagging() {
		f.OldestTransactionPID = int(*pid)
		f.OldestTransactionAge = time.Duration(age * float64(time.Second))
	}
	return f, nil
}

// collectEvents reads every row of an eventColumns query.
func collectEvents(rows pgx.Rows) ([]eventstore.Event, error) {
	defer rows.Close()
	var out []eventstore.Event
	sc := newEventScanner()
	for rows.Next() {
		out = append(out, eventstore.Event{})
		if err := sc.scan(rows, &out[len(out)-1]); err != nil {
			return nil, err
		}
	}
	return out, rows.Err()
}

// eventScanner scans rows of eventColumns, followed by extra destinations,
// through one set of destinations made once: built per row (as before),
// the destination slice, its growth for the extras and the five scratch
// values cost seven allocations a row, a third of a warm
// GET /v1/skps/{id}'s tail read (four rows).
type eventScanner struct {
	pos, rev int64
	id       pgtype.UUID
	sv       int32
	hash     []byte
	ev       eventstore.Event
	dest     []any
}

func newEventScanner(extra ...any) *eventScanner {
	s := &eventScanner{}
	e := &s.ev
	s.dest = append(make([]any, 0, 17+len(extra)), &s.pos, &e.Stream, &s.rev, &s.id, &e.Type, &s.sv, &e.OccurredAt, &e.Actor.ID, &e.Actor.Role,
		&e.CorrelationID, &e.CausationID, &e.Reason, &e.Data, &s.hash, &e.RecordedAt, &e.Signature.KeyID, &e.Signature.Sig)
	s.dest = append(s.dest, extra...)
	return s
}

// scan scans the current row into *e (and the extras).
func (s *eventScanner) scan(rows pgx.Rows, e *eventstore.Event) error {
	// Nothing of the previous row may carry over (a slice pgx could
	// write into, a field a NULL would leave).
	s.ev, s.hash = eventstore.Event{}, nil
	if err := rows.Scan(s.dest...); err != nil {
		return err
	}
	*e = s.ev
	e.Position = eventstore.Position(s.pos)
	e.Revision = uint64(s.rev)
	e.ID = s.id.Bytes
	e.SchemaVersion = int(s.sv)
	e.OccurredAt = e.OccurredAt.UTC()
	e.RecordedAt = e.RecordedAt.UTC()
	if len(e.Data) == 0 {
		e.Data = nil // as eventstore.Prepare leaves an empty payload
	}
	e.Hash = toHash(s.hash)
	if len(e.Signature.Sig) == 0 {
		e.Signature.Sig = nil
	}
	return nil
}

func toHash(b []byte) eventstore.Hash {
	var h eventstore.Hash
	copy(h[:], b)
	return h
}
