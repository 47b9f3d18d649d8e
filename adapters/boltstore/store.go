// Package boltstore implements eventstore.Store on bbolt: the embedded
// default of Kinerja Ledger, one file in the data directory, no server.
//
// # Durability and group commit
//
// Every acknowledged append is in a committed, fsynced bbolt transaction.
// An fsync costs about 0.3 ms here (stalls of 10-24 ms happen), so one
// transaction per append caps a writer near 2,000 appends/s. Appends are
// therefore group-committed: callers queue their append, and a single
// committer goroutine takes everything queued, applies it in one read-write
// transaction (each append checked and applied in turn, so appends to the
// same stream in one batch see each other) and commits once. A lone writer
// pays exactly one transaction; 16 writers share one fsync between them.
// bbolt's own Batch is not used: it waits MaxBatchDelay (10 ms by default)
// for a partial batch to fill, which would cost a lone writer 10 ms an
// append.
//
// # Global order
//
// bbolt allows one write transaction at a time, so positions are assigned
// in commit order: dense, starting at 1, and a reader can never see a
// position before an earlier one is visible. Subscriptions are woken in
// process after each commit.
//
// # Layout
//
// Buckets: events (position → record, see encodeEvent), streams ((stream,
// revision) → position and chain hash; the last key of a stream is its
// head), ids (event ID → position) and meta (schema version, last position,
// last recorded_at). Every append writes a key at the end of events, one per
// stream in streams and one per event in ids: with time-ordered (v7) event
// IDs the ids inserts are sequential too, which keeps the dirty pages, and
// so the bytes written per commit, few. The idempotency records of the
// API (idempotency_records, idempotency_expiry: see Idempotency) live in
// the same file, so that a keyed command's record commits with its events.
// Reads copy each page of events out of a short read
// transaction before yielding them, so a slow consumer never holds a
// transaction open (which would block bbolt's remapping as the file grows).
//
// # Writer signatures
//
// Each append is sealed and signed in its caller's goroutine against the
// stream head it reads, before it is queued; the committer, inside the
// write transaction (the only place that knows the stream's head for
// sure), keeps that seal when the head is still the one it was made
// against, and otherwise seals again and signs the chain hash of the last
// event itself (the signatures of one transaction made together on every
// core, see writer.sign). Signing so stays out of the one goroutine every
// write passes through. The head a caller seals against is the one the
// committer last wrote for the stream when it remembers it (up to
// Options.TrustedHeads streams), else read in a read transaction: a writer
// going from command to command on its stream (the seeder) takes no read
// transaction per append, and a stale hint only costs a seal again. Before it appends onto a
// stream it checks that the head is a signed append of a key in
// Options.Keyring: an event written into the file around the store
// (unsigned, with a valid chain hash) would otherwise be covered by the
// next append's signature. Heads it wrote or checked are remembered, so
// the check costs a signature verification only for the first append to a
// stream after Open, and again after the store forgot it
// (past Options.TrustedHeads streams).
//
// # A damaged file
//
// Open checks both meta pages and the file's length itself before bbolt
// sees the file (see checkFile): bbolt silently falls back to the older
// meta page when one fails its checksum, which drops the last committed
// transaction, and maps a truncated file beyond its end. Panics of bbolt on
// a damaged page are turned into errors matching ErrDamaged.
//
// # Exclusive access
//
// bbolt takes an exclusive flock on the file; a second process (or a second
// Open in this one) fails after Options.OpenTimeout instead of corrupting it.
package boltstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"maps"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/kinerja-ledger/kinerja/adapters/internal/boltkv"
	"github.com/kinerja-ledger/kinerja/eventstore"
)

var (
	bucketEvents  = []byte("events")
	bucketStreams = []byte("streams")
	bucketIDs     = []byte("ids")
	bucketMeta    = []byte("meta")

	keySchema       = []byte("schema_version")
	keyLastPosition = []byte("last_position")
	keyLastRecorded = []byte("last_recorded_at")

	// idemBuckets hold the idempotency records (Idempotency), with the
	// same names and layout as the idempotency.db of earlier builds.
	idemBuckets = boltkv.NewBuckets("idempotency")
)

// schemaVersion of the file layout written by this package. Version 2
// (records of version 2, with the writer signature) reads version 1 files
// and marks them as version 2 at Open, so that a build that cannot read
// signed records refuses the file instead of misreading it.
const schemaVersion = 2

// LayoutVersion is the file layout this build writes (what a backup's
// manifest records).
const LayoutVersion = schemaVersion

// readPage is how many events a read copies out of one read transaction.
const readPage = 256

// Options configures a Store. The zero value is ready to use.
type Options struct {
	// Limits bounds appends; zero fields take the eventstore defaults.
	Limits eventstore.Limits
	// Now is the clock that stamps RecordedAt (default time.Now). Within the
	// store RecordedAt never decreases, even if the clock steps back.
	Now func() time.Time
	// MaxBatch is the most appends one commit carries (default 512).
	MaxBatch int
	// OpenTimeout is how long Open waits for the file lock (default 1 s).
	OpenTimeout time.Duration
	// Linger is the longest the committer waits for more appends when recent
	// concurrency says more are coming (default 250 µs; negative disables).
	// A lone writer never waits.
	Linger time.Duration
	// Signer signs the last event of every append. Without one, appends
	// are unsigned, and an authenticating reader refuses them.
	Signer eventstore.Signer
	// Keyring verifies the head of a stream before an append builds on it
	// (see the package doc). Without one, heads are not checked.
	Keyring *eventstore.Keyring
	// TrustedHeads bounds the stream heads the store remembers as signed
	// appends (default 65,536, about 100 bytes each); past it they are
	// forgotten at once, and the next append to each stream verifies its
	// head's signature again (Ed25519, in the one committer goroutine). A
	// writer that goes round more streams than that, phase after phase
	// (kinerjactl seed at a province: 220,000 streams), sizes it to them.
	TrustedHeads int
	// AllowMetaFallback opens a file whose newer meta page is damaged at
	// its older one, which drops the last committed transaction. Leave it
	// false: it is the operator's override after comparing the store with
	// the witness.
	AllowMetaFallback bool
}

// Store is an eventstore.Store on one bbolt file. It is safe for concurrent
// use.
type Store struct {
	db     *bolt.DB
	opts   Options
	reqs   chan *appendReq
	wake   eventstore.Broadcaster
	mu     sync.RWMutex // guards closed against Close racing with Append
	closed bool
	done   chan struct{}

	inflight atomic.Int64  // appends between entry and return
	commits  atomic.Uint64 // committed write transactions that appended, see Commits
	writeTxs atomic.Uint64 // every committed write transaction (tests count them)

	// lastWrite is, by stream, the Commits count of the last transaction
	// that appended to it (see WrittenSince); below writtenFloor it is
	// no longer known. Written by the committer, read by loads.
	writeMu      sync.Mutex
	lastWrite    map[string]uint64
	writtenFloor uint64

	// trusted are stream heads known to be signed appends (written by
	// this store, or checked against the keyring), by stream. Only the
	// committer goroutine uses it.
	trusted map[string]eventstore.Hash

	// sealHeads are the heads the committer last wrote, by stream, for
	// the callers' seals (seal): a hint, not a truth. A seal that finds
	// its stream here skips the read transaction it would take to read
	// the head; the committer checks the head a seal was made against in
	// any case, so a stale hint costs a seal again, never a wrong chain.
	// Bounded by Options.TrustedHeads, cleared when full.
	sealMu    sync.RWMutex
	sealHeads map[string]eventstore.Head

	// afterRelease, when set (by tests), runs after a batch's appenders were
	// released and before subscribers are woken.
	afterRelease func()
	// faultAfterEvents, when set (by tests), runs in the write transaction
	// after each append's events were written and before its claim is: an
	// error aborts the transaction, as a crash there would.
	faultAfterEvents func() error
}

var _ eventstore.Store = (*Store)(nil)

type appendReq struct {
	ctx      context.Context
	stream   string
	expected eventstore.ExpectedRevision
	events   []eventstore.EventData
	sealed   *sealed // made by the caller, or nil
	claim    *claim  // the idempotency claim written with the events, or nil
	// op, when set, is not an append: a write of the idempotency records
	// (Idempotency) run in the next group commit's transaction.
	op   func(tx *bolt.Tx) error
	res  eventstore.AppendResult
	err  error
	done chan struct{}
}

// sealed is an append sealed and signed by its caller against the head it
// read, before it queued the append: the committer uses it when the head
// is still that one, so that signing (28 µs) happens in the callers'
// goroutines, beside the committer's fsync, not inside the one write
// transaction every append waits for.
type sealed struct {
	head   eventstore.Head
	hashes []eventstore.Hash
	sig    eventstore.WriterSignature
}

// seal reads stream's head (the committer's last write of it, else in a
// read transaction) and seals and signs events against it; nil when there
// is no signer or anything fails (the committer then does it).
func (s *Store) seal(stream string, events []eventstore.EventData) *sealed {
	if s.opts.Signer == nil {
		return nil
	}
	s.sealMu.RLock()
	h, ok := s.sealHeads[stream]
	s.sealMu.RUnlock()
	if !ok {
		err := s.view(func(tx *bolt.Tx) error {
			var err error
			h, _, err = lastIndexEntry(tx.Bucket(bucketStreams).Cursor(), stream)
			return err
		})
		if err != nil {
			return nil
		}
	}
	hashes := eventstore.Seal(stream, h, events)
	sig, err := eventstore.SignHash(s.opts.Signer, hashes[len(hashes)-1])
	if err != nil {
		return nil
	}
	return &sealed{head: h, hashes: hashes, sig: sig}
}

// Open opens (creating if needed) the store in the bbolt file at path. The
// file's directory is created with mode 0700.
func Open(path string, opts Options) (*Store, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 512
	}
	if opts.OpenTimeout <= 0 {
		opts.OpenTimeout = time.Second
	}
	if opts.Linger == 0 {
		opts.Linger = 250 * time.Microsecond
	}
	if opts.TrustedHeads <= 0 {
		opts.TrustedHeads = defaultTrustedHeads
	}
	opts.Limits = opts.Limits.WithDefaults()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("boltstore: %w", err)
	}
	if err := checkFile(path, opts.AllowMetaFallback); err != nil {
		return nil, err
	}
	db, err := openBolt(path, opts)
	if err != nil {
		return nil, err
	}
	s := &Store{db: db, opts: opts, reqs: make(chan *appendReq, opts.MaxBatch), done: make(chan struct{}), trusted: map[string]eventstore.Hash{}, sealHeads: map[string]eventstore.Head{}, lastWrite: map[string]uint64{}}
	go s.commitLoop()
	return s, nil
}

// openBolt opens the bbolt file and its buckets, turning a panic of bbolt
// on a damaged page into an error.
func openBolt(path string, opts Options) (db *bolt.DB, err error) {
	defer func() {
		if p := recover(); p != nil {
			if db != nil {
				db.Close()
			}
			db, err = nil, &DamageError{Path: path, Problem: fmt.Sprintf("bbolt failed reading it: %v", p)}
		}
	}()
	// The freelist is synced with every commit (bbolt's default) rather
	// than rebuilt at Open: the rebuild walks every page in a goroutine of
	// bbolt's, where a damaged page panics beyond any recover, and costs a
	// full scan of the file at each start. Measured with kinerjactl bench
	// store, syncing it made no difference beyond the noise at 1 and 16
	// writers.
	db, err = bolt.Open(path, 0o600, &bolt.Options{Timeout: opts.OpenTimeout, FreelistType: bolt.FreelistMapType})
	if err != nil {
		if errors.Is(err, berrors.ErrTimeout) {
			return nil, fmt.Errorf("boltstore: %s is in use by another process (file lock not granted within %v)", path, opts.OpenTimeout)
		}
		return nil, fmt.Errorf("boltstore: open %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketEvents, bucketStreams, bucketIDs, bucketMeta} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		if err := idemBuckets.Create(tx); err != nil {
			return err
		}
		meta := tx.Bucket(bucketMeta)
		switch v := meta.Get(keySchema); {
		case v == nil:
			return meta.Put(keySchema, u64(schemaVersion))
		case len(v) == 8 && bytesToU64(v) == 1:
			return meta.Put(keySchema, u64(schemaVersion)) // version 1 records stay readable
		case len(v) != 8 || bytesToU64(v) != schemaVersion:
			return fmt.Errorf("file layout version %x, this build reads %d", v, schemaVersion)
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("boltstore: open %s: %w", path, err)
	}
	return db, nil
}

func bytesToU64(b []byte) uint64 {
	var v uint64
	for _, c := range b {
		v = v<<8 | uint64(c)
	}
	return v
}

// Close stops the committer and closes the file. Appends in flight finish
// first.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.reqs)
	s.mu.Unlock()
	<-s.done
	s.wake.Notify()
	return s.db.Close()
}

// Append implements eventstore.Store. The append is durable (fsynced) when
// it returns without error.
func (s *Store) Append(ctx context.Context, stream string, expected eventstore.ExpectedRevision, events ...eventstore.EventData) (eventstore.AppendResult, error) {
	prepared, err := eventstore.Prepare(stream, events, s.opts.Limits)
	if err != nil {
		return eventstore.AppendResult{}, fmt.Errorf("boltstore: append %s: %w", stream, err)
	}
	if err := ctx.Err(); err != nil {
		return eventstore.AppendResult{}, err
	}
	c := s.claimFrom(ctx)
	if c != nil {
		// Checked before it is queued: a claim bbolt would refuse fails
		// this append alone, not the group commit it would share.
		if err := boltkv.Check(c.key, c.record); err != nil {
			return eventstore.AppendResult{}, fmt.Errorf("boltstore: append %s: idempotency claim: %w", stream, err)
		}
	}
	req := &appendReq{ctx: ctx, stream: stream, expected: expected, events: prepared, sealed: s.seal(stream, prepared), claim: c, done: make(chan struct{})}
	if err := s.enqueue(req); err != nil {
		return eventstore.AppendResult{}, err
	}
	if req.err != nil {
		return eventstore.AppendResult{}, fmt.Errorf("boltstore: append %s: %w", stream, req.err)
	}
	return req.res, nil
}

// enqueue queues req for the committer and waits for its outcome, even if
// its ctx ends: once queued, it may commit, and the caller must not be
// told it failed when it did not.
func (s *Store) enqueue(req *appendReq) error {
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return eventstore.ErrClosed
	}
	s.inflight.Add(1)
	defer s.inflight.Add(-1)
	s.reqs <- req
	s.mu.RUnlock()
	<-req.done
	return nil
}

// commitLoop is the single committer: it gathers queued appends and commits
// them in one transaction.
//
// Writers released by one commit need a moment to come back with their next
// append; taking only what is queued at that instant splits 16 writers into
// two alternating half-batches. So when appends have recently been
// concurrent (peak > 1), the committer lingers up to Options.Linger for the
// batch to reach that concurrency. The peak decays, so a lone writer soon
// stops paying for a crowd that left.
func (s *Store) commitLoop() {
	defer close(s.done)
	batch := make([]*appendReq, 0, s.opts.MaxBatch)
	var peak float64
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for first := range s.reqs {
		batch = append(batch[:0], first)
		open := s.drain(&batch)
		peak = max(0.95*peak, float64(s.inflight.Load()))
		if want := min(int(peak), s.opts.MaxBatch); open && s.opts.Linger > 0 && len(batch) < want {
			timer.Reset(s.opts.Linger)
		linger:
			for len(batch) < want {
				select {
				case r, ok := <-s.reqs:
					if !ok {
						break linger
					}
					batch = append(batch, r)
				case <-timer.C:
					break linger
				}
			}
			if !timer.Stop() {
				select {
				case <-timer.C:
				default:
				}
			}
			s.drain(&batch)
		}
		s.commit(batch)
	}
}

// drain adds what is queued now to batch, up to MaxBatch. It reports false
// when the queue was closed.
func (s *Store) drain(batch *[]*appendReq) bool {
	for len(*batch) < s.opts.MaxBatch {
		select {
		case r, ok := <-s.reqs:
			if !ok {
				return false
			}
			*batch = append(*batch, r)
		default:
			return true
		}
	}
	return true
}

func (s *Store) commit(batch []*appendReq) {
	var heads map[string]eventstore.Hash
	var written map[string]eventstore.Head
	var claimed []*claim
	var wrote []*appendReq // the appends that wrote events
	var appended bool
	err := s.update(func(tx *bolt.Tx) error {
		w := s.newWriter(tx)
		claimed, wrote, appended = claimed[:0], wrote[:0], false
		for _, r := range batch {
			r.res, r.err = eventstore.AppendResult{}, nil
			if r.op != nil {
				// Its keys and records were checked before it was
				// queued (boltkv.Check), so bbolt's limits cannot
				// fail it here; whatever else does is its own
				// failure, not that of the appends sharing the batch.
				r.err = r.op(tx)
				continue
			}
			if err := r.ctx.Err(); err != nil {
				r.err = err // cancelled while queued: nothing written for it
				continue
			}
			before := w.lastPos
			r.res, r.err = w.append(r.stream, r.expected, r.events, r.sealed)
			if errors.Is(r.err, errStorage) {
				return r.err // abort the transaction: every append in it fails
			}
			if r.err != nil || w.lastPos == before {
				continue // refused, or a repeat that wrote nothing: no claim
			}
			appended = true
			wrote = append(wrote, r)
			if s.faultAfterEvents != nil {
				if err := s.faultAfterEvents(); err != nil {
					return fmt.Errorf("%w: %v", errStorage, err)
				}
			}
			if c := r.claim; c != nil {
				// The claim commits with the events or not at all.
				wrote, err := idemBuckets.Put(tx, []byte(c.key), c.record, c.now, c.expires, true)
				if err != nil {
					return fmt.Errorf("%w: idempotency claim: %v", errStorage, err)
				}
				if wrote {
					claimed = append(claimed, c)
				}
			}
		}
		if err := w.sign(); err != nil {
			return err
		}
		heads, written = w.heads, w.written
		return w.finish()
	})
	if err == nil {
		if len(s.trusted)+len(heads) > s.opts.TrustedHeads {
			clear(s.trusted)
		}
		maps.Copy(s.trusted, heads)
		if s.opts.Signer != nil && len(written) > 0 {
			s.sealMu.Lock()
			if len(s.sealHeads)+len(written) > s.opts.TrustedHeads {
				clear(s.sealHeads)
			}
			maps.Copy(s.sealHeads, written)
			s.sealMu.Unlock()
		}
		for _, c := range claimed {
			c.committed.Store(true)
		}
		// Before any appender learns of its commit: a reader that then
		// sees an unchanged count may trust its copy (see Commits). A
		// transaction that wrote only idempotency records changed no
		// stream.
		if appended {
			s.noteWritten(written)
			n := s.commits.Add(1)
			// An append learns the count only if its events end its
			// stream in this transaction: another append to the same
			// stream later in the batch wrote after them.
			for _, r := range wrote {
				if h := written[r.stream]; h.Exists && h.Revision == r.res.Revision && h.Hash == r.res.Hash {
					r.res.Commit = n
				}
			}
		}
		s.writeTxs.Add(1)
	}
	for _, r := range batch {
		if err != nil {
			r.res, r.err = eventstore.AppendResult{}, err
		}
		close(r.done)
	}
	if s.afterRelease != nil {
		s.afterRelease()
	}
	if err == nil && appended {
		s.wake.Notify()
	}
}

// Commits counts the write transactions that appended events, committed
// since Open. The file is locked to this process, so when Commits has not
// changed nothing was appended: a reader that remembers the count before it read a stream knows
// its copy is complete while the count stays the same (eventlog.Cached uses
// this to skip re-reading hot streams).
func (s *Store) Commits() uint64 { return s.commits.Load() }

// maxLastWrites bounds the streams whose last write WrittenSince knows
// (about 80 bytes each); past it every one is forgotten at once.
const maxLastWrites = 1 << 18

// noteWritten records that the transaction about to be counted (Commits
// + 1) appended to the streams of written. Called by the committer before
// it counts the transaction, so a reader that sees the new count also sees
// these writes.
func (s *Store) noteWritten(written map[string]eventstore.Head) {
	n := s.commits.Load() + 1
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if len(s.lastWrite)+len(written) > maxLastWrites {
		clear(s.lastWrite)
		s.writtenFloor = n - 1 // writes up to here are forgotten
	}
	for stream := range written {
		s.lastWrite[stream] = n
	}
}

// WrittenSince reports whether a transaction counted after commits (a
// value of Commits) appended to stream, or may have: the answer is true
// when the store no longer knows. A reader that read stream whole after
// seeing Commits() == commits holds it complete while WrittenSince is
// false, even though other streams were written meanwhile
// (eventlog.Cached).
func (s *Store) WrittenSince(stream string, commits uint64) bool {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	return commits < s.writtenFloor || s.lastWrite[stream] > commits
}

// defaultTrustedHeads bounds the remembered trusted heads unless
// Options.TrustedHeads says otherwise; past it they are forgotten at once
// and checked again as streams are appended to.
const defaultTrustedHeads = 1 << 16

// errStorage marks failures of bbolt itself (as opposed to refusals such as
// a wrong expected revision), which abort the whole transaction.
var errStorage = errors.New("boltstore: storage error")

// writer applies appends within one read-write transaction.
type writer struct {
	s                          *Store
	events, streams, ids, meta *bolt.Bucket
	lastPos                    uint64
	lastRecorded               int64
	// heads are the stream heads this transaction wrote or checked, which
	// the store trusts once it commits.
	heads map[string]eventstore.Hash
	// written are the heads this transaction's appends left (the seals'
	// hints once it commits).
	written map[string]eventstore.Head
	// unsigned are the last events of the transaction's appends, written
	// without their signature, which sign adds.
	unsigned []eventstore.Event
}

func (s *Store) newWriter(tx *bolt.Tx) *writer {
	w := &writer{
		s: s, events: tx.Bucket(bucketEvents), streams: tx.Bucket(bucketStreams),
		ids: tx.Bucket(bucketIDs), meta: tx.Bucket(bucketMeta), heads: map[string]eventstore.Hash{},
		written: map[string]eventstore.Head{},
	}
	// Positions only grow: a full page is never split for a later key, so
	// the events bucket is filled to the brim (bbolt's default of half
	// splits left its pages 43 % full, a file 3.2× its events' bytes at
	// the province scale; docs/benchmarks.md §15).
	w.events.FillPercent = 1.0
	if v := w.meta.Get(keyLastPosition); v != nil {
		w.lastPos = bytesToU64(v)
	}
	if v := w.meta.Get(keyLastRecorded); v != nil {
		w.lastRecorded = int64(bytesToU64(v))
	}
	return w
}

// streamHead finds the stream's last index entry (the last key with the
// stream's prefix) and, with a keyring, checks that it is a signed append
// of a trusted key unless this store wrote or checked it before.
func (w *writer) streamHead(stream string) (eventstore.Head, error) {
	h, pos, err := lastIndexEntry(w.streams.Cursor(), stream)
	if err != nil || !h.Exists || w.s.opts.Keyring == nil {
		return h, err
	}
	if known, ok := w.heads[stream]; ok && known == h.Hash {
		return h, nil
	}
	if known, ok := w.s.trusted[stream]; ok && known == h.Hash {
		return h, nil
	}
	ev, err := decodeEvent(eventstore.Position(bytesToU64(pos)), w.events.Get(pos))
	if err != nil {
		return h, fmt.Errorf("%w: head of %s at %d: %v", errStorage, stream, bytesToU64(pos), err)
	}
	if ev.Stream != stream || ev.Revision != h.Revision || ev.Hash != h.Hash {
		return h, &eventstore.IntegrityError{Stream: stream, Revision: h.Revision, EventID: ev.ID, Position: ev.Position,
			Problem: "the stream index and the stored head event disagree: refusing to append"}
	}
	if err := w.s.opts.Keyring.CheckHead(ev); err != nil {
		return h, err
	}
	w.heads[stream] = h.Hash
	return h, nil
}

func (w *writer) append(stream string, expected eventstore.ExpectedRevision, events []eventstore.EventData, pre *sealed) (eventstore.AppendResult, error) {
	// Permanent idempotency: look up every ID of the call.
	stored := make([]*eventstore.Event, len(events))
	found := false
	for i := range events {
		v := w.ids.Get(idKey(events[i].ID))
		if v == nil {
			continue
		}
		pos := bytesToU64(v)
		e, err := decodeEvent(eventstore.Position(pos), w.events.Get(u64(pos)))
		if err != nil {
			return eventstore.AppendResult{}, fmt.Errorf("%w: event at %d: %v", errStorage, pos, err)
		}
		stored[i], found = &e, true
	}
	if found {
		res, repeat, err := eventstore.CheckRepeat(stream, expected, events, stored)
		if repeat {
			// The first result, whole: its events' RecordedAt too.
			res.RecordedAt = stored[len(stored)-1].RecordedAt
		}
		return res, err
	}
	h, err := w.streamHead(stream)
	if err != nil {
		return eventstore.AppendResult{}, err
	}
	if err := expected.Check(stream, h); err != nil {
		return eventstore.AppendResult{}, err
	}
	// The caller's seal holds if the head it read is still the head.
	var hashes []eventstore.Hash
	var sig eventstore.WriterSignature
	if pre != nil && pre.head == h {
		hashes, sig = pre.hashes, pre.sig
	} else {
		hashes = eventstore.Seal(stream, h, events)
	}
	// RecordedAt never decreases, whatever the clock does.
	rec := max(w.s.opts.Now().UnixMicro(), w.lastRecorded)
	rev := h.Next()
	var last eventstore.Event
	for i := range events {
		w.lastPos++
		e := eventstore.Event{
			EventData:  events[i],
			Stream:     stream,
			Revision:   rev + uint64(i),
			Position:   eventstore.Position(w.lastPos),
			RecordedAt: time.UnixMicro(rec).UTC(),
			Hash:       hashes[i],
		}
		if i == len(events)-1 && w.s.opts.Signer != nil {
			if sig.IsZero() {
				w.unsigned = append(w.unsigned, e) // signed with the others (sign)
			} else {
				e.Signature = sig
			}
		}
		pos := u64(w.lastPos)
		if err := errors.Join(
			w.events.Put(pos, encodeEvent(&e)),
			w.streams.Put(streamKey(stream, e.Revision), indexValue(pos, e.Hash)),
			w.ids.Put(idKey(e.ID), pos),
		); err != nil {
			return eventstore.AppendResult{}, fmt.Errorf("%w: %v", errStorage, err)
		}
		last = e
	}
	w.lastRecorded = rec
	w.heads[stream] = last.Hash
	w.written[stream] = eventstore.Head{Exists: true, Revision: last.Revision, Hash: last.Hash}
	return eventstore.AppendResult{Revision: last.Revision, Position: last.Position, Hash: last.Hash, RecordedAt: last.RecordedAt}, nil
}

// sign signs the last event of every append of the transaction and writes
// it again with its signature. The signatures (28 µs each) are made
// together, on every core, rather than one by one in the committer, which
// would make them the bound of a busy store's throughput. A Signer that
// fails aborts the transaction: nothing of any append in it is written.
func (w *writer) sign() error {
	n := len(w.unsigned)
	if n == 0 {
		return nil
	}
	sigs, errs := make([]eventstore.WriterSignature, n), make([]error, n)
	var next atomic.Int64
	work := func() {
		for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
			sigs[i], errs[i] = eventstore.SignHash(w.s.opts.Signer, w.unsigned[i].Hash)
		}
	}
	var wg sync.WaitGroup
	for range min(n, runtime.GOMAXPROCS(0)) - 1 {
		wg.Go(work)
	}
	work()
	wg.Wait()
	for i := range w.unsigned {
		e := &w.unsigned[i]
		if errs[i] != nil {
			return fmt.Errorf("%w: %v", errStorage, errs[i])
		}
		e.Signature = sigs[i]
		if err := w.events.Put(u64(uint64(e.Position)), encodeEvent(e)); err != nil {
			return fmt.Errorf("%w: %v", errStorage, err)
		}
	}
	return nil
}

func (w *writer) finish() error {
	return errors.Join(
		w.meta.Put(keyLastPosition, u64(w.lastPos)),
		w.meta.Put(keyLastRecorded, u64(uint64(w.lastRecorded))),
	)
}

// view runs fn in a read transaction unless the store is closed. A panic
// of bbolt on a damaged page becomes an error matching ErrDamaged.
func (s *Store) view(fn func(tx *bolt.Tx) error) (err error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return eventstore.ErrClosed
	}
	defer s.recoverDamage(&err)
	return s.db.View(fn)
}

// update runs fn in a read-write transaction (bbolt rolls it back if it
// panics), turning a panic into an error matching ErrDamaged.
func (s *Store) update(fn func(tx *bolt.Tx) error) (err error) {
	defer s.recoverDamage(&err)
	return s.db.Update(fn)
}

func (s *Store) recoverDamage(err *error) {
	if p := recover(); p != nil {
		*err = &DamageError{Path: s.db.Path(), Problem: fmt.Sprintf("bbolt failed reading it: %v", p)}
	}
}

// ReadStream implements eventstore.Store.
func (s *Store) ReadStream(ctx context.Context, stream string, opts eventstore.ReadStreamOptions) iter.Seq2[eventstore.Event, error] {
	return func(yield func(eventstore.Event, error) bool) {
		if err := eventstore.ValidateStreamName(stream); err != nil {
			yield(eventstore.Event{}, fmt.Errorf("boltstore: read %s: %w", stream, err))
			return
		}
		asOf := int64(0)
		if !opts.AsOf.IsZero() {
			asOf = eventstore.NormalizeTime(opts.AsOf).UnixMicro()
		}
		back := opts.Direction == eventstore.Backwards
		next, first, delivered := opts.From, true, 0
		for {
			if err := ctx.Err(); err != nil {
				yield(eventstore.Event{}, err)
				return
			}
			var page []eventstore.Event
			var exists, more bool
			err := s.view(func(tx *bolt.Tx) error {
				var err error
				page, exists, more, err = readStreamPage(tx, stream, next, back, asOf, first)
				return err
			})
			if err != nil {
				yield(eventstore.Event{}, fmt.Errorf("boltstore: read %s: %w", stream, err))
				return
			}
			if first && !exists {
				yield(eventstore.Event{}, eventstore.ErrStreamNotFound)
				return
			}
			first = false
			for _, e := range page {
				if opts.Limit > 0 && delivered >= opts.Limit {
					return
				}
				if !yield(e, nil) {
					return
				}
				delivered++
			}
			if !more || len(page) == 0 {
				return
			}
			last := page[len(page)-1].Revision
			if back {
				if last == 0 {
					return
				}
				next = last - 1
			} else {
				next = last + 1
			}
		}
	}
}

// readStreamPage reads up to readPage events of stream starting at from.
// exists reports whether the stream has any event visible as of asOf (only
// computed when checkExists); more, whether the page was full.
func readStreamPage(tx *bolt.Tx, stream string, from uint64, back bool, asOf int64, checkExists bool) (page []eventstore.Event, exists, more bool, err error) {
	streams, events := tx.Bucket(bucketStreams), tx.Bucket(bucketEvents)
	prefix := append([]byte(stream), 0)
	c := streams.Cursor()
	if checkExists {
		k, v := c.Seek(prefix)
		if k == nil || !bytes.HasPrefix(k, prefix) {
			return nil, false, false, nil
		}
		first, err := decodeEvent(eventstore.Position(bytesToU64(v[:8])), events.Get(v[:8]))
		if err != nil {
			return nil, false, false, err
		}
		if asOf != 0 && first.RecordedAt.UnixMicro() > asOf {
			return nil, false, false, nil
		}
		exists = true
	}
	var k, v []byte
	if back {
		k, v = c.Seek(streamKey(stream, from))
		if k == nil || !bytes.Equal(k, streamKey(stream, from)) {
			k, v = c.Prev()
		}
	} else {
		k, v = c.Seek(streamKey(stream, from))
	}
	for ; k != nil && bytes.HasPrefix(k, prefix); k, v = step(c, back) {
		e, err := decodeEvent(eventstore.Position(bytesToU64(v[:8])), events.Get(v[:8]))
		if err != nil {
			return nil, exists, false, err
		}
		if asOf != 0 && e.RecordedAt.UnixMicro() > asOf {
			if back {
				continue // newer than as-of: skip back to what was known then
			}
			return page, exists, false, nil // RecordedAt never decreases in a stream
		}
		page = append(page, e)
		if len(page) == readPage {
			return page, exists, true, nil
		}
	}
	return page, exists, false, nil
}

func step(c *bolt.Cursor, back bool) ([]byte, []byte) {
	if back {
		return c.Prev()
	}
	return c.Next()
}

// ReadAll implements eventstore.Store.
func (s *Store) ReadAll(ctx context.Context, opts eventstore.ReadAllOptions) iter.Seq2[eventstore.Event, error] {
	return func(yield func(eventstore.Event, error) bool) {
		head, err := s.Head(ctx)
		if err != nil {
			yield(eventstore.Event{}, err)
			return
		}
		after, delivered := opts.After, 0
		for after < head {
			page, _, err := s.ReadPage(ctx, after, readPage)
			if err != nil {
				yield(eventstore.Event{}, err)
				return
			}
			if len(page) == 0 {
				return
			}
			for _, e := range page {
				if e.Position > head {
					return // committed after the read began
				}
				after = e.Position
				if !opts.Filter.Match(e.Stream, e.Type) {
					continue
				}
				if !yield(e, nil) {
					return
				}
				delivered++
				if opts.Limit > 0 && delivered >= opts.Limit {
					return
				}
			}
		}
	}
}

// ReadPage implements eventstore.Pager: up to limit events after after.
// Nothing is ever pending: bbolt commits one transaction at a time.
func (s *Store) ReadPage(ctx context.Context, after eventstore.Position, limit int) ([]eventstore.Event, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	if after == math.MaxUint64 {
		return nil, false, nil // nothing can follow; after+1 would wrap to the start
	}
	var page []eventstore.Event
	err := s.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketEvents).Cursor()
		for k, v := c.Seek(u64(uint64(after) + 1)); k != nil && len(page) < limit; k, v = c.Next() {
			e, err := decodeEvent(eventstore.Position(bytesToU64(k)), v)
			if err != nil {
				return fmt.Errorf("event at %x: %w", k, err)
			}
			page = append(page, e)
		}
		return nil
	})
	if err != nil {
		return nil, false, fmt.Errorf("boltstore: read all: %w", err)
	}
	return page, false, nil
}

// Changed implements eventstore.Pager.
func (s *Store) Changed() <-chan struct{} { return s.wake.Changed() }

// SubscribeAll implements eventstore.Store.
func (s *Store) SubscribeAll(ctx context.Context, opts eventstore.SubscribeOptions) iter.Seq2[eventstore.Event, error] {
	return eventstore.Follow(ctx, s, opts, eventstore.FollowOptions{})
}

// Head implements eventstore.Store.
func (s *Store) Head(ctx context.Context) (eventstore.Position, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	var pos uint64
	err := s.view(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketMeta).Get(keyLastPosition); v != nil {
			pos = bytesToU64(v)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("boltstore: head: %w", err)
	}
	return eventstore.Position(pos), nil
}

// Snapshot writes a consistent copy of the whole file to w, as of one read
// transaction (bbolt's Tx.WriteTo), while appends go on: the online backup
// of kinerjactl backup. It returns the head position of the copy and its
// size in bytes.
func (s *Store) Snapshot(w io.Writer) (eventstore.Position, int64, error) {
	var pos uint64
	var n int64
	err := s.view(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketMeta).Get(keyLastPosition); v != nil {
			pos = bytesToU64(v)
		}
		var err error
		n, err = tx.WriteTo(w)
		return err
	})
	if err != nil {
		return 0, n, fmt.Errorf("boltstore: snapshot: %w", err)
	}
	return eventstore.Position(pos), n, nil
}
