package eventlog

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/eventstore"
)

// Cached is a Log that keeps the decoded events of recently loaded streams.
// Stored events never change, so a cached prefix of a stream is always
// right: a load reads from the store only the events after it (one short
// read when nothing was appended) and decodes only those. Decoding JSON was
// the largest cost of a read (every GET of an SKP loads the SKP and, to
// authorise, the employees' streams).
//
// The cache is bounded by the memory its events take, estimated from their
// stored size (EventBytes), not by their number: one SKP with eleven
// thousand RHK held as many bytes as a thousand ordinary ones (issue 9 §4).
// The least recently used streams go first. It is safe for concurrent use.
//
// What this process appends through it goes into the cache as soon as the
// store acknowledges it (Append), so the next load of the stream reads
// only what is newer, and checks no signature of its own writes.
type Cached struct {
	*Log
	max     int
	commits func() uint64 // nil unless the store can count its commits
	// writtenSince, when the store knows which streams its commits wrote
	// (StreamWrites), keeps a cached stream complete across other
	// streams' commits.
	writtenSince func(stream string, commits uint64) bool

	// signerTrusted: a load authenticated an append this Cached made, so
	// the store signs with a key the Log trusts and this process's own
	// appends need no check (see remember). probes are the IDs of the
	// last events of appends made before that was known (at most
	// maxProbes).
	signerTrusted atomic.Bool
	probes        map[uuid.UUID]struct{}

	// anchors, when set, vouch for a covered prefix of a stream (see
	// Anchors); nil: every event read is checked by its signature.
	anchors Anchors

	// observe, when set, is told of every authenticated read of a whole
	// stream (see ObserveWholeReads).
	observe func(stream string, events []eventstore.Event, payloads []domain.Event)

	mu     sync.Mutex
	held   int        // bytes, by EventBytes
	lru    *list.List // of *cacheEntry, most recent first
	byName map[string]*list.Element
}

type cacheEntry struct {
	stream string
	events []domain.Stored // revisions 0..len-1, never modified in place
	bytes  int             // the events' EventBytes
	// head is the chain hash of the last event: where an authenticated read
	// of what follows picks up the chain.
	head eventstore.Hash
	// commits is the store's commit count read before the read that made
	// events complete, or the count of the commit that wrote the events
	// an append added, when the store reported it (AppendResult.Commit:
	// they ended the stream as of it). Valid only with a commit-counting
	// store, and only when counted: events an append added without a
	// reported count are not known to be complete, since another writer
	// may have appended after them before the count could be read.
	commits uint64
	counted bool
}

// CommitCounter is implemented by a store that is the only writer of its
// storage and counts its commits (boltstore): while the count is unchanged,
// nothing was appended, and a cached stream is complete without a read.
type CommitCounter interface {
	Commits() uint64
}

// StreamWrites is implemented by a CommitCounter that also knows, by
// stream, whether a commit counted after a given count appended to it
// (boltstore): a cached stream read complete at count n is still complete
// while WrittenSince(stream, n) is false, whatever other streams were
// written meanwhile. A true answer only costs a read.
type StreamWrites interface {
	WrittenSince(stream string, commits uint64) bool
}

// DefaultCacheBytes bounds a Cached log when no bound is given.
const DefaultCacheBytes = 128 << 20

// eventOverhead is what a decoded event takes beyond its data and reason:
// the envelope's strings and IDs and the decoded struct. Measured with
// runtime.MemStats over 3,000 decoded SKP events of 140 to 2,100 bytes of
// data: 390 to 430 bytes each beyond their data.
const eventOverhead = 448

// EventBytes estimates the memory ev takes once decoded and cached.
func EventBytes(ev eventstore.Event) int { return len(ev.Data) + len(ev.Reason) + eventOverhead }

// NewCached returns a caching Log over store holding decoded events of at
// most maxBytes (by EventBytes; DefaultCacheBytes when ≤ 0).
func NewCached(store eventstore.Store, maxBytes int) *Cached {
	if maxBytes <= 0 {
		maxBytes = DefaultCacheBytes
	}
	c := &Cached{Log: New(store), max: maxBytes, lru: list.New(), byName: map[string]*list.Element{}}
	if cc, ok := store.(CommitCounter); ok {
		c.commits = cc.Commits
		if sw, ok := store.(StreamWrites); ok {
			c.writtenSince = sw.WrittenSince
		}
	}
	return c
}

// Anchors returns, for a stream, the head of its prefix that the caller
// authenticates by means of its own: the last event of the stream that a
// signed audit checkpoint covers, whose chain hash the caller holds from
// the trail whose root it compared with the checkpoint's. ok is false when
// there is none (the stream is newer than the checkpoint, or the caller
// no longer trusts it).
type Anchors func(ctx context.Context, stream string) (head eventstore.Head, ok bool)

// AnchorStreams makes the loads that read a stream from its start (nothing
// cached) accept the events up to the stream's anchor on their chain links
// and the anchor's hash, instead of a writer signature each
// (eventstore.AuthOptions.Anchor): after a restart, the first load of each
// stream no longer verifies one signature per earlier append. An event
// altered in the store is still refused, since its chain no longer ends at
// the anchor's hash. Call it before the log is used; it does nothing unless
// the Log requires signatures.
func (c *Cached) AnchorStreams(a Anchors) { c.anchors = a }

// ObserveWholeReads makes every load that read a stream whole from the
// store (nothing cached, the first load after a start or an eviction), and
// authenticated it (RequireSignatures: chain, writer signatures or the
// anchor), hand the events read and their decoded payloads to f before it
// returns: kinerjad offers them to the projections' shared history, which
// needs the same stream's past a moment later (projections.SharedHistory.Offer).
// f must not modify them. Call it before the log is used.
func (c *Cached) ObserveWholeReads(f func(stream string, events []eventstore.Event, payloads []domain.Event)) {
	c.observe = f
}

// anchor returns the anchor of stream for a read from revision from, or
// nil.
func (c *Cached) anchor(ctx context.Context, stream string, from uint64) *eventstore.Head {
	if c.anchors == nil || c.keys == nil || from > 0 {
		return nil // a cached prefix already reaches past any anchor
	}
	h, ok := c.anchors(ctx, stream)
	if !ok || !h.Exists {
		return nil
	}
	return &h
}

// Load implements domain.EventLog: the cached prefix plus what the store
// has after it.
func (c *Cached) Load(ctx context.Context, stream string) ([]domain.Stored, uint64, bool, error) {
	if events, rev, ok, hit := c.fromPrefetch(ctx, stream); hit {
		return events, rev, ok, nil // read in this request's Prefetch
	}
	var before uint64
	if c.commits != nil {
		before = c.commits() // before the read: what it sees is at least this complete
	}
	cached, cachedBytes, head, complete := c.get(stream, before)
	if complete && len(cached) > 0 {
		return cached[:len(cached):len(cached)], uint64(len(cached) - 1), true, nil
	}
	from := uint64(len(cached))
	var prev *eventstore.Head
	if from > 0 {
		prev = &eventstore.Head{Exists: true, Revision: from - 1, Hash: head}
	}
	var fresh []domain.Stored
	var raw []eventstore.Event // for observe: a whole, authenticated read
	observe := c.observe != nil && c.keys != nil && from == 0
	freshBytes := 0
	read := c.readStream(ctx, stream, eventstore.ReadStreamOptions{From: from}, prev)
	anchor := c.anchor(ctx, stream, from)
	if anchor != nil {
		read = eventstore.ReadStreamAnchored(ctx, c.store, c.keys, stream, eventstore.ReadStreamOptions{From: from}, prev, anchor)
	}
	for ev, err := range read {
		if absent(err) {
			break
		}
		if err != nil {
			if from > 0 && errors.Is(err, eventstore.ErrIntegrity) {
				// The store disagrees with the cached prefix (the next
				// event does not link to the cached head) or serves a
				// forgery after it. Refuse this load, and let the next one
				// authenticate the stream whole.
				c.drop(stream)
			}
			return nil, 0, false, fmt.Errorf("eventlog: load %s: %w", stream, err)
		}
		if ev.Revision != from+uint64(len(fresh)) {
			// Should never happen (revisions are dense); do not trust the
			// cache for this stream, read it whole.
			c.drop(stream)
			return c.Log.Load(ctx, stream)
		}
		s, err := Decode(ev)
		if err != nil {
			return nil, 0, false, err
		}
		// Only an event whose signature the read checked teaches that the
		// signer is trusted: one at or below the anchor was taken on its
		// chain links alone.
		if c.keys != nil && !c.signerTrusted.Load() && !ev.Signature.IsZero() && (anchor == nil || ev.Revision > anchor.Revision) && c.isProbe(ev.ID) {
			c.signerTrusted.Store(true) // authenticated just now
		}
		fresh = append(fresh, s)
		if observe {
			raw = append(raw, ev)
		}
		freshBytes += EventBytes(ev)
		head = ev.Hash
	}
	if observe && len(raw) > 0 {
		payloads := make([]domain.Event, len(fresh))
		for i := range fresh {
			payloads[i] = fresh[i].Event
		}
		c.observe(stream, raw, payloads)
	}
	if len(cached)+len(fresh) == 0 {
		return nil, 0, false, nil
	}
	// Capped at its length: callers may append to what they get, and
	// cannot write into the cache's array.
	events := c.put(stream, cached, fresh, cachedBytes+freshBytes, head, before)
	return events, uint64(len(events) - 1), true, nil
}

// get returns the cached events of stream, their EventBytes, the chain
// hash of the last, and whether they are known to be complete: the store
// counts commits and none happened since they were read (commits is the
// count now), or none of those since appended to stream (StreamWrites).
func (c *Cached) get(stream string, commits uint64) ([]domain.Stored, int, eventstore.Hash, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byName[stream]
	if !ok {
		return nil, 0, eventstore.Hash{}, false
	}
	c.lru.MoveToFront(el)
	e := el.Value.(*cacheEntry)
	complete := c.commits != nil && e.counted && (e.commits == commits || (c.writtenSince != nil && !c.writtenSince(stream, e.commits)))
	return e.events, e.bytes, e.head, complete
}

// Held returns the bytes (by EventBytes) of the events the cache holds;
// never more than its bound.
func (c *Cached) Held() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.held
}

// put caches the events prefix followed by fresh, of size bytes (by
// EventBytes), the last with chain hash head, complete as of the commit
// count read before reading them, unless a concurrent load cached at
// least as much; it returns them, capped at their length.
//
// When the cache still holds exactly prefix for stream (the same array,
// the same length: see owns), fresh goes in place after it, into the
// array's spare capacity, so extending a long stream costs its new
// events, not a copy of the stream. No one holds that capacity: every
// slice the cache hands out is capped at its length, and only the entry
// that owns an array writes past its length, under c.mu. Otherwise the
// events are copied into an array of their own.
func (c *Cached) put(stream string, prefix, fresh []domain.Stored, bytes int, head eventstore.Hash, commits uint64) []domain.Stored {
	n := len(prefix) + len(fresh)
	if bytes > c.max {
		return append(prefix[:len(prefix):len(prefix)], fresh...)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byName[stream]
	if !ok {
		events := append(prefix[:len(prefix):len(prefix)], fresh...)
		c.byName[stream] = c.lru.PushFront(&cacheEntry{stream: stream, events: events, bytes: bytes, head: head, commits: commits, counted: true})
		c.held += bytes
		c.evict()
		return events[:n:n]
	}
	e := el.Value.(*cacheEntry)
	if len(e.events) > n || (len(e.events) == n && e.counted && e.commits >= commits) {
		// A concurrent load cached at least as much.
		return append(prefix[:len(prefix):len(prefix)], fresh...)
	}
	events := c.grow(e, prefix, fresh)
	c.held += bytes - e.bytes
	e.events, e.bytes, e.head, e.commits, e.counted = events, bytes, head, commits, true
	c.lru.MoveToFront(el)
	c.evict()
	return events[:n:n]
}

// grow returns prefix followed by fresh: e's own array extended in place
// when e holds exactly prefix, a copy otherwise. Called with c.mu held.
func (c *Cached) grow(e *cacheEntry, prefix, fresh []domain.Stored) []domain.Stored {
	if owns(e.events, prefix) {
		return append(e.events, fresh...)
	}
	return append(prefix[:len(prefix):len(prefix)], fresh...)
}

// owns reports whether held and prefix are the same events: the same
// length over the same array (the events below an array's length never
// change).
func owns(held, prefix []domain.Stored) bool {
	return len(held) == len(prefix) && (len(held) == 0 || &held[0] == &prefix[0])
}

// evict drops the least recently used streams until the cache is within
// its bound. Called with c.mu held.
func (c *Cached) evict() {
	for c.held > c.max {
		el := c.lru.Back()
		e := el.Value.(*cacheEntry)
		c.lru.Remove(el)
		delete(c.byName, e.stream)
		c.held -= e.bytes
	}
}

func (c *Cached) drop(stream string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byName[stream]; ok {
		c.held -= el.Value.(*cacheEntry).bytes
		c.lru.Remove(el)
		delete(c.byName, stream)
	}
}

// Append implements domain.EventLog. Once the store has acknowledged the
// append, its events join the cached stream (see remember), so that the
// next load reads only what is newer; a failed append, whose outcome may
// be unknown (a timeout, a lost connection), adds nothing.
func (c *Cached) Append(ctx context.Context, stream string, expected domain.Expected, events []domain.NewEvent) (uint64, error) {
	data, res, err := c.Log.append(ctx, stream, expected, events)
	if err != nil {
		return 0, err
	}
	c.remember(stream, expected, data, res)
	return res.Revision, nil
}

// remember adds the events of an acknowledged append to the cached stream,
// as authenticated, when the cache can prove they are exactly what the
// store holds at those revisions:
//
//   - the append extended the cached stream: it expected the cached last
//     revision (or no stream, with nothing cached), and the store answered
//     with the revisions that follow;
//   - the chain hashes, recomputed here from the cached head over the
//     events this process encoded, end at the hash the store acknowledged
//     as its new head: the store linked these very events onto the head
//     the cache authenticated (the signature the store made is over that
//     hash, with this process's key);
//   - the store reported when it recorded them (AppendResult.RecordedAt),
//     the one field of a stored event the writer does not supply;
//   - when the Log requires signatures, a load has authenticated an
//     append of this Cached before: the store signs with a key the Log
//     trusts (until then each append is left to the next load, which
//     learns it).
//
// Otherwise it adds nothing, and the next load reads and authenticates the
// events as it would another writer's. The events are decoded from the
// bytes that were stored, as a load would decode them, so a cached stream
// is the same whichever way it was filled.
func (c *Cached) remember(stream string, expected domain.Expected, data []eventstore.EventData, res eventstore.AppendResult) {
	if res.RecordedAt.IsZero() || len(data) == 0 {
		return
	}
	if c.keys != nil && !c.signerTrusted.Load() {
		// Whether the store signs with a key the Log trusts is not known
		// yet: let a load authenticate this append, and learn it then.
		c.mu.Lock()
		if c.probes == nil {
			c.probes = map[uuid.UUID]struct{}{}
		}
		if len(c.probes) < maxProbes {
			c.probes[data[len(data)-1].ID] = struct{}{}
		}
		c.mu.Unlock()
		return
	}
	first := uint64(0)
	if rev, ok := expected.Revision(); ok {
		first = rev + 1
	}
	if res.Revision != first+uint64(len(data))-1 {
		return
	}
	prefix, prefixBytes, head, ok := c.tail(stream, first)
	if !ok {
		return
	}
	recorded := time.UnixMicro(res.RecordedAt.UnixMicro()).UTC()
	fresh := make([]domain.Stored, len(data))
	freshBytes := 0
	h := head
	for i := range data {
		d := data[i]
		d.OccurredAt = time.UnixMicro(d.OccurredAt.UnixMicro()).UTC()
		rev := first + uint64(i)
		h = eventstore.ChainHash(h, stream, rev, &d)
		s, err := Decode(eventstore.Event{EventData: d, Stream: stream, Revision: rev, RecordedAt: recorded, Hash: h})
		if err != nil {
			return
		}
		fresh[i] = s
		freshBytes += EventBytes(eventstore.Event{EventData: d})
	}
	if h != res.Hash {
		return // the store did not link these events onto the cached head
	}
	bytes := prefixBytes + freshBytes
	if bytes > c.max {
		c.drop(stream)
		return
	}
	// The store said which of its commits wrote these events, and that
	// they end the stream as of it (AppendResult.Commit): the stream is
	// then complete as of that count, as after a read, and the next load
	// reads nothing unless a later commit wrote the stream.
	counted := c.commits != nil && res.Commit != 0
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byName[stream]
	switch {
	case ok:
		e := el.Value.(*cacheEntry)
		if len(e.events) != len(prefix) || e.head != head {
			return // a concurrent load or append moved the entry on
		}
		c.held += bytes - e.bytes
		e.events, e.bytes, e.head, e.commits, e.counted = c.grow(e, prefix, fresh), bytes, res.Hash, res.Commit, counted
		c.lru.MoveToFront(el)
	case first == 0:
		c.byName[stream] = c.lru.PushFront(&cacheEntry{stream: stream, events: fresh, bytes: bytes, head: res.Hash, commits: res.Commit, counted: counted})
		c.held += bytes
	default:
		return // evicted meanwhile
	}
	c.evict()
}

// maxProbes bounds the appends remembered until the signer is known
// trusted; a load of any of them teaches it.
const maxProbes = 4096

func (c *Cached) isProbe(id uuid.UUID) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.probes[id]
	if ok {
		c.probes = nil // learnt once: signerTrusted is set next
	}
	return ok
}

// tail returns the cached events of stream, their EventBytes and the chain
// hash of the last, if the cache holds exactly revisions 0..next-1 of it
// (nothing when next is 0: a new stream, which must not be cached).
func (c *Cached) tail(stream string, next uint64) ([]domain.Stored, int, eventstore.Hash, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byName[stream]
	if !ok {
		return nil, 0, eventstore.Hash{}, next == 0
	}
	e := el.Value.(*cacheEntry)
	if uint64(len(e.events)) != next {
		return nil, 0, eventstore.Hash{}, false
	}
	return e.events, e.bytes, e.head, true
}
