package pgstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"iter"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kinerja-ledger/kinerja/eventstore"
)

// Bulk writes events into a store that was empty when it began, for a
// writer that decides every event itself and must go fast: the seed
// (kinerjactl seed). Its Append checks, seals and signs an append exactly
// as Store.Append does and encodes its rows with the same encoder
// (wireBuf.rowValue) into a chunk, then answers at once; the chunks are
// written with binary COPY, one transaction per chunk, by one goroutine,
// in order. See "Bulk writing" in the package doc for what is kept and
// what is given up.
type Bulk struct {
	s           *Store
	chunkEvents int
	chunkBytes  int             // a chunk is sent once its buffer holds this many bytes
	maxRows     int             // rows a chunk may hold: maxPerTransaction (tests lower it)
	ctx         context.Context // the chunks' transactions
	cancel      context.CancelFunc
	copySQL     string

	mu   sync.Mutex
	cond *sync.Cond // signalled when a chunk is committed or fails
	// heads are the heads of every stream this Bulk wrote (committed or
	// in a chunk). The store was empty when the Bulk began, so a stream
	// not in heads has no event unless another writer made it; the COPY
	// then fails on the primary key.
	heads     map[string]bulkHead
	cur       *bulkChunk
	queue     []*bulkChunk // filled, waiting for the flusher, in order
	sent      int          // chunks handed to the flusher
	committed int          // chunks committed (chunk i is committed once committed ≥ i)
	err       error
	closed    bool
	done      chan struct{}
	events    int64 // committed
}

// bulkHead is a stream's head as this Bulk wrote it, and the chunk (its
// number, from 1) that holds the head's row.
type bulkHead struct {
	eventstore.Head
	chunk int
}

// maxQueued is how many filled chunks may wait for the flusher: appends
// then wait (at most one chunk copying, maxQueued waiting and one filling
// are held in memory).
const maxQueued = 1

// maxChunkBytes is the size of its encoded rows at which a chunk is sent
// however few events it holds, so that large events do not make a chunk
// (held up to maxQueued+2 times in memory) grow without bound.
const maxChunkBytes = 64 << 20

// bulkChunk is the transaction one chunk of rows is copied in. It is
// opened before the chunk's first row: the events lock first, then the
// transaction's ID, from which the rows' positions are built, so that
// Append can answer with them.
type bulkChunk struct {
	conn    *pgxpool.Conn
	tx      pgx.Tx
	base    int64 // xid << positionShift
	n       int   // rows
	appends int
	w       wireBuf
}

// BulkOptions configure a Bulk.
type BulkOptions struct {
	// ChunkEvents is the number of events a chunk (one transaction, one
	// COPY) holds at most (default 20,000; at most 2^20 − 1).
	ChunkEvents int
}

// ErrBulkNotEmpty is NewBulk's answer for a store that holds events.
var ErrBulkNotEmpty = errors.New("pgstore: bulk writing needs an empty store")

// NewBulk starts a bulk writer over s, which must hold no event (it
// returns ErrBulkNotEmpty otherwise). Close it, and check Close's error,
// before anything relies on what it wrote, and before s is closed.
//
// A Bulk that is never closed holds, until the process ends, the
// transaction of the chunk it is filling, which took the events lock: no
// reader of the store, in any process, gets past that chunk's position
// (every subscriber and projection stops), and it keeps up to three of
// s's pool connections (the chunk filling, one waiting, one copying), so
// that closing s waits for ever. Always defer Close.
func NewBulk(ctx context.Context, s *Store, opts BulkOptions) (*Bulk, error) {
	if opts.ChunkEvents <= 0 {
		opts.ChunkEvents = 20_000
	}
	if opts.ChunkEvents > maxPerTransaction {
		return nil, fmt.Errorf("pgstore: bulk chunk of %d events: at most %d fit in one transaction", opts.ChunkEvents, maxPerTransaction)
	}
	var held bool
	if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM `+ident(s.opts.Schema, "events")+`)`).Scan(&held); err != nil {
		return nil, fmt.Errorf("pgstore: bulk: %w", err)
	}
	if held {
		return nil, ErrBulkNotEmpty
	}
	cols := `position, revision, event_id, schema_version, occurred_at, type, actor_id, actor_role,
	correlation_id, causation_id, reason, data, hash, writer_key_id, writer_sig, stream`
	if s.opts.Now != nil {
		cols += `, recorded_at`
	}
	bctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	b := &Bulk{s: s, chunkEvents: opts.ChunkEvents, chunkBytes: maxChunkBytes, maxRows: maxPerTransaction, ctx: bctx, cancel: cancel,
		copySQL: `COPY ` + ident(s.opts.Schema, "events") + ` (` + cols + `) FROM STDIN (FORMAT binary)`,
		heads:   map[string]bulkHead{}, done: make(chan struct{})}
	b.cond = sync.NewCond(&b.mu)
	go b.flusher()
	return b, nil
}

var _ eventstore.Store = (*Bulk)(nil)

// Append implements eventstore.Store. It returns once the append is in a
// chunk, before it is committed: the result's revision, hash and position
// are final if the chunk commits (Flush or Close says so); RecordedAt is
// zero (the database stamps the rows when the chunk is copied). An
// expected revision is checked against what this Bulk wrote; a repeated
// event ID, or a stream another writer changed meanwhile, fails the
// chunk's COPY, and then every later call.
func (b *Bulk) Append(ctx context.Context, stream string, expected eventstore.ExpectedRevision, events ...eventstore.EventData) (eventstore.AppendResult, error) {
	res, err := b.append(ctx, stream, expected, events)
	if err != nil {
		return eventstore.AppendResult{}, fmt.Errorf("pgstore: bulk append %s: %w", stream, err)
	}
	return res, nil
}

func (b *Bulk) append(ctx context.Context, stream string, expected eventstore.ExpectedRevision, events []eventstore.EventData) (eventstore.AppendResult, error) {
	if err := ctx.Err(); err != nil {
		return eventstore.AppendResult{}, err
	}
	if !b.s.enter() {
		return eventstore.AppendResult{}, eventstore.ErrClosed
	}
	defer b.s.leave()
	prepared, err := eventstore.Prepare(stream, events, b.s.opts.Limits)
	if err != nil {
		return eventstore.AppendResult{}, err
	}
	// Appends to one stream take turns, as Store.Append's: the head read
	// here is still the head when the rows go into the chunk.
	if err := b.s.gates.lock(ctx, stream); err != nil {
		return eventstore.AppendResult{}, err
	}
	defer b.s.gates.unlock(stream)
	b.mu.Lock()
	bh, err := b.heads[stream], b.err
	b.mu.Unlock()
	head := bh.Head
	if err != nil {
		return eventstore.AppendResult{}, err
	}
	if err := expected.Check(stream, head); err != nil {
		return eventstore.AppendResult{}, err
	}
	// Sealed and signed outside the lock, on the caller's goroutine.
	hashes := eventstore.Seal(stream, head, prepared)
	last := len(prepared) - 1
	sig, err := eventstore.SignHash(b.s.opts.Signer, hashes[last])
	if err != nil {
		return eventstore.AppendResult{}, err
	}
	r := &request{stream: stream, expected: -1, events: prepared, hashes: hashes, sig: sig}
	if head.Exists {
		r.expected = int64(head.Revision)
	}
	var recorded *time.Time
	if b.s.opts.Now != nil {
		recorded = b.s.recordedAt()
	}

	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return eventstore.AppendResult{}, eventstore.ErrClosed
	}
	if b.cur != nil && (b.cur.n+len(prepared) > b.chunkEvents || len(b.cur.w.buf) >= b.chunkBytes) {
		b.rotate()
		// rotate may have waited, b.mu released: if Close ran meanwhile,
		// the flusher may be gone and a chunk opened now would never be
		// copied (its connection and the events lock held for ever).
		if b.closed {
			return eventstore.AppendResult{}, eventstore.ErrClosed
		}
	}
	if b.err != nil {
		return eventstore.AppendResult{}, b.err
	}
	if n := len(prepared); n > b.maxRows || (b.cur != nil && b.cur.n+n > b.maxRows) {
		// The rows' positions are base | ordinal: more would spill into
		// the xid's bits.
		return eventstore.AppendResult{}, fmt.Errorf("%d events in one append: at most %d fit in one transaction", n, b.maxRows)
	}
	if b.cur == nil {
		c, err := b.open()
		if err != nil {
			b.fail(err)
			return eventstore.AppendResult{}, err
		}
		b.cur = c
	}
	c := b.cur
	c.appends++
	for j := range prepared {
		c.n++
		c.w.buf = binary.BigEndian.AppendUint16(c.w.buf, uint16(rowColumns+2+btoi(recorded != nil)))
		c.w.int64(c.base | int64(c.n))
		for col := range rowColumns {
			c.w.rowValue(col, r, j)
		}
		c.w.str(stream)
		if recorded != nil {
			c.w.time(*recorded)
		}
	}
	res := eventstore.AppendResult{Revision: head.Next() + uint64(last), Position: eventstore.Position(c.base | int64(c.n)), Hash: hashes[last]}
	b.heads[stream] = bulkHead{Head: eventstore.Head{Exists: true, Revision: res.Revision, Hash: res.Hash}, chunk: b.sent + 1}
	return res, nil
}

func btoi(v bool) int {
	if v {
		return 1
	}
	return 0
}

// open begins a chunk's transaction: the events lock before the
// transaction's ID (the writers' rule, package doc), then the ID.
func (b *Bulk) open() (*bulkChunk, error) {
	conn, err := b.s.pool.Acquire(b.ctx)
	if err != nil {
		return nil, err
	}
	tx, err := conn.Begin(b.ctx)
	if err == nil {
		err = b.s.LockTx(b.ctx, tx)
	}
	var xid int64
	if err == nil {
		err = tx.QueryRow(b.ctx, `SELECT pg_current_xact_id()::text::bigint`).Scan(&xid)
	}
	if err != nil {
		if tx != nil {
			_ = tx.Rollback(b.ctx)
		}
		conn.Release()
		return nil, err
	}
	return &bulkChunk{conn: conn, tx: tx, base: xid << positionShift, w: wireBuf{buf: append(make([]byte, 0, 1<<20), copyHeader...)}}, nil
}

// rotate hands the current chunk to the flusher, first waiting while
// maxQueued chunks wait for it. b.mu is held.
func (b *Bulk) rotate() {
	for b.cur != nil && len(b.queue) >= maxQueued && b.err == nil {
		b.cond.Wait()
	}
	c := b.cur
	if c == nil {
		return
	}
	b.cur = nil
	b.sent++
	b.queue = append(b.queue, c)
	b.cond.Broadcast()
}

// fail records the first error; b.mu is held.
func (b *Bulk) fail(err error) {
	if b.err == nil {
		if ce := (*bulkCommitError)(nil); errors.As(err, &ce) {
			b.err = fmt.Errorf("pgstore: bulk: %w (this chunk may or may not have been written; nothing of any later one was)", err)
		} else {
			b.err = fmt.Errorf("pgstore: bulk: %w (nothing of this chunk or any later one was written)", err)
		}
	}
	b.cond.Broadcast()
}

// flusher copies and commits the chunks in the order they were filled, so
// that a stream's rows in a later chunk are never committed before its
// rows in an earlier one. Once a chunk fails, every later one is rolled
// back.
func (b *Bulk) flusher() {
	defer close(b.done)
	for {
		b.mu.Lock()
		for len(b.queue) == 0 && !b.closed {
			b.cond.Wait()
		}
		if len(b.queue) == 0 {
			b.mu.Unlock()
			return
		}
		c := b.queue[0]
		b.queue = b.queue[1:]
		failed := b.err != nil
		b.cond.Broadcast()
		b.mu.Unlock()
		var err error
		if failed {
			// Not b.ctx: Abort cancels it, and a rollback sent under a
			// cancelled context closes the connection instead.
			_ = c.tx.Rollback(context.WithoutCancel(b.ctx))
		} else {
			err = b.copy(c)
		}
		c.conn.Release()
		b.mu.Lock()
		if err != nil {
			b.fail(err)
		} else if !failed {
			b.committed++
			b.events += int64(c.n)
		}
		b.cond.Broadcast()
		b.mu.Unlock()
		if err == nil && !failed && c.n > 0 {
			// As the group commit does: the store's counters, its
			// in-process subscribers, then other processes (NOTIFY).
			b.s.stats.appends.Add(int64(c.appends))
			b.s.stats.events.Add(int64(c.n))
			b.s.bc.Notify()
			b.s.wake()
		}
	}
}

// copyHeader and copyTrailer frame a binary COPY's tuples.
var (
	copyHeader  = []byte("PGCOPY\n\xff\r\n\x00\x00\x00\x00\x00\x00\x00\x00\x00")
	copyTrailer = []byte{0xff, 0xff}
)

func (b *Bulk) copy(c *bulkChunk) error {
	if c.n > 0 {
		data := append(c.w.buf, copyTrailer...) // the header is the buffer's start (open)
		c.w.buf = nil
		if _, err := c.tx.Conn().PgConn().CopyFrom(b.ctx, bytes.NewReader(data), b.copySQL); err != nil {
			_ = c.tx.Rollback(b.ctx)
			return err
		}
	}
	if err := c.tx.Commit(b.ctx); err != nil {
		// The COMMIT may have been carried out before the connection
		// dropped: the chunk's outcome is unknown.
		return &bulkCommitError{err}
	}
	return nil
}

// bulkCommitError is a chunk's failed COMMIT: whether it took effect is
// unknown.
type bulkCommitError struct{ err error }

func (e *bulkCommitError) Error() string { return "commit: " + e.err.Error() }
func (e *bulkCommitError) Unwrap() error { return e.err }

// Flush writes every append made so far and waits until it is committed;
// it returns the error that failed a chunk, if one did.
func (b *Bulk) Flush(ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err == nil {
		b.rotate()
	}
	return b.waitLocked(ctx, b.sent)
}

// waitLocked waits until n chunks are committed or one failed; b.mu is held.
func (b *Bulk) waitLocked(ctx context.Context, n int) error {
	stop := context.AfterFunc(ctx, func() {
		b.mu.Lock()
		b.cond.Broadcast()
		b.mu.Unlock()
	})
	defer stop()
	for b.committed < n && b.err == nil {
		if err := ctx.Err(); err != nil {
			return err
		}
		b.cond.Wait()
	}
	return b.err
}

// settle waits until the rows of stream are committed, sending its chunk
// first if it is the one being filled.
func (b *Bulk) settle(ctx context.Context, stream string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	h, ok := b.heads[stream]
	if !ok || b.committed >= h.chunk {
		return nil // nothing of it waits: the store's rows are the stream
	}
	if h.chunk > b.sent && b.err == nil {
		b.rotate()
	}
	return b.waitLocked(ctx, h.chunk)
}

// Close writes what is left, ends the writer and returns the error that
// failed a chunk, if one did, including the chunks appends racing Close
// filled (appends that find the Bulk closing fail with ErrClosed). It
// does not close the Store.
func (b *Bulk) Close() error {
	err := b.Flush(context.Background())
	b.mu.Lock()
	if !b.closed {
		b.closed = true
		// A chunk filled since the Flush (or, after a failure, one never
		// sent, rolled back): the flusher takes it before it ends.
		if c := b.cur; c != nil {
			b.cur = nil
			b.queue = append(b.queue, c)
		}
		b.cond.Broadcast()
	}
	b.mu.Unlock()
	<-b.done
	b.cancel()
	// The flusher has copied (or rolled back) the chunk queued above, filled
	// by appends made after the Flush: its failure is Close's answer too.
	b.mu.Lock()
	defer b.mu.Unlock()
	if err == nil {
		err = b.err
	}
	return err
}

// ErrBulkAborted is the error of a Bulk that Abort ended.
var ErrBulkAborted = errors.New("aborted")

// Abort ends the writer without writing what it holds: the chunk being
// filled and the chunks waiting for the flusher are rolled back, and the
// chunk being copied is cancelled (its COPY fails and rolls back; only a
// COMMIT already sent may still take effect). The chunks committed before
// stay: the store then holds a prefix of the appends, every append whole
// (an append never straddles a committed and a rolled-back chunk: a chunk
// is committed only after the earlier ones). It is for a writer that was
// stopped (a cancelled seed): Close would commit appends made before the
// stop that the writer no longer vouches for. It returns the events
// committed. Close after Abort returns ErrBulkAborted; so do later
// appends.
func (b *Bulk) Abort() (committed int64) {
	b.mu.Lock()
	if !b.closed {
		b.closed = true
		// Every chunk the flusher takes from now on is rolled back.
		b.fail(ErrBulkAborted)
		if c := b.cur; c != nil {
			b.cur = nil
			b.queue = append(b.queue, c)
		}
		b.cond.Broadcast()
	}
	b.mu.Unlock()
	b.cancel() // a COPY under way
	<-b.done
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.events
}

// Events returns the number of events committed so far.
func (b *Bulk) Events() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.events
}

// ReadStream implements eventstore.Store: the store's, after the stream's
// rows are committed.
func (b *Bulk) ReadStream(ctx context.Context, stream string, opts eventstore.ReadStreamOptions) iter.Seq2[eventstore.Event, error] {
	if err := b.settle(ctx, stream); err != nil {
		return func(yield func(eventstore.Event, error) bool) { yield(eventstore.Event{}, err) }
	}
	return b.s.ReadStream(ctx, stream, opts)
}

// ReadAll implements eventstore.Store: the store's, after a Flush.
func (b *Bulk) ReadAll(ctx context.Context, opts eventstore.ReadAllOptions) iter.Seq2[eventstore.Event, error] {
	if err := b.Flush(ctx); err != nil {
		return func(yield func(eventstore.Event, error) bool) { yield(eventstore.Event{}, err) }
	}
	return b.s.ReadAll(ctx, opts)
}

// SubscribeAll implements eventstore.Store: the store's, after a Flush.
func (b *Bulk) SubscribeAll(ctx context.Context, opts eventstore.SubscribeOptions) iter.Seq2[eventstore.Event, error] {
	if err := b.Flush(ctx); err != nil {
		return func(yield func(eventstore.Event, error) bool) { yield(eventstore.Event{}, err) }
	}
	return b.s.SubscribeAll(ctx, opts)
}

// Head implements eventstore.Store: the store's, after a Flush.
func (b *Bulk) Head(ctx context.Context) (eventstore.Position, error) {
	if err := b.Flush(ctx); err != nil {
		return 0, err
	}
	return b.s.Head(ctx)
}
