package eventlog

import (
	"container/list"
	"context"
	"fmt"
	"sync"

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
type Cached struct {
	*Log
	max     int
	commits func() uint64 // nil unless the store can count its commits

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
	// events complete (valid only with a commit-counting store).
	commits uint64
}

// CommitCounter is implemented by a store that is the only writer of its
// storage and counts its commits (boltstore): while the count is unchanged,
// nothing was appended, and a cached stream is complete without a read.
type CommitCounter interface {
	Commits() uint64
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
	}
	return c
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
	freshBytes := 0
	for ev, err := range c.readStream(ctx, stream, eventstore.ReadStreamOptions{From: from}, prev) {
		if absent(err) {
			break
		}
		if err != nil {
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
		fresh = append(fresh, s)
		freshBytes += EventBytes(ev)
		head = ev.Hash
	}
	events := cached
	if len(fresh) > 0 {
		events = append(cached[:len(cached):len(cached)], fresh...)
	}
	if len(events) > 0 {
		c.put(stream, events, cachedBytes+freshBytes, head, before)
	}
	if len(events) == 0 {
		return nil, 0, false, nil
	}
	// Callers may append to what they get; cap it so they cannot write into
	// the cache's array.
	events = events[:len(events):len(events)]
	return events, uint64(len(events) - 1), true, nil
}

// get returns the cached events of stream, their EventBytes, the chain
// hash of the last, and whether they are known to be complete: the store
// counts commits and none happened since they were read (commits is the
// count now).
func (c *Cached) get(stream string, commits uint64) ([]domain.Stored, int, eventstore.Hash, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byName[stream]
	if !ok {
		return nil, 0, eventstore.Hash{}, false
	}
	c.lru.MoveToFront(el)
	e := el.Value.(*cacheEntry)
	return e.events, e.bytes, e.head, c.commits != nil && e.commits == commits
}

// Held returns the bytes (by EventBytes) of the events the cache holds;
// never more than its bound.
func (c *Cached) Held() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.held
}

// put caches events of size bytes, the last with chain hash head, complete
// as of the commit count read before reading them.
func (c *Cached) put(stream string, events []domain.Stored, bytes int, head eventstore.Hash, commits uint64) {
	if bytes > c.max {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byName[stream]; ok {
		e := el.Value.(*cacheEntry)
		if len(e.events) > len(events) || (len(e.events) == len(events) && e.commits >= commits) {
			return // a concurrent load cached at least as much
		}
		c.held += bytes - e.bytes
		e.events, e.bytes, e.head, e.commits = events, bytes, head, commits
		c.lru.MoveToFront(el)
	} else {
		c.byName[stream] = c.lru.PushFront(&cacheEntry{stream: stream, events: events, bytes: bytes, head: head, commits: commits})
		c.held += bytes
	}
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
