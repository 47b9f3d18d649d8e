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
// The cache is bounded by the number of events it holds; the least recently
// used streams go first. It is safe for concurrent use.
type Cached struct {
	*Log
	max     int
	commits func() uint64 // nil unless the store can count its commits

	mu     sync.Mutex
	held   int
	lru    *list.List // of *cacheEntry, most recent first
	byName map[string]*list.Element
}

type cacheEntry struct {
	stream string
	events []domain.Stored // revisions 0..len-1, never modified in place
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

// DefaultCacheEvents bounds a Cached log when no bound is given: about
// 100 MB of decoded events.
const DefaultCacheEvents = 200_000

// NewCached returns a caching Log over store holding at most maxEvents
// decoded events (DefaultCacheEvents when ≤ 0).
func NewCached(store eventstore.Store, maxEvents int) *Cached {
	if maxEvents <= 0 {
		maxEvents = DefaultCacheEvents
	}
	c := &Cached{Log: New(store), max: maxEvents, lru: list.New(), byName: map[string]*list.Element{}}
	if cc, ok := store.(CommitCounter); ok {
		c.commits = cc.Commits
	}
	return c
}

// Load implements domain.EventLog: the cached prefix plus what the store
// has after it.
func (c *Cached) Load(ctx context.Context, stream string) ([]domain.Stored, uint64, bool, error) {
	var before uint64
	if c.commits != nil {
		before = c.commits() // before the read: what it sees is at least this complete
	}
	cached, complete := c.get(stream, before)
	if complete && len(cached) > 0 {
		return cached[:len(cached):len(cached)], uint64(len(cached) - 1), true, nil
	}
	from := uint64(len(cached))
	var fresh []domain.Stored
	for ev, err := range c.store.ReadStream(ctx, stream, eventstore.ReadStreamOptions{From: from}) {
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
	}
	events := cached
	if len(fresh) > 0 {
		events = append(cached[:len(cached):len(cached)], fresh...)
	}
	if len(events) > 0 {
		c.put(stream, events, before)
	}
	if len(events) == 0 {
		return nil, 0, false, nil
	}
	// Callers may append to what they get; cap it so they cannot write into
	// the cache's array.
	events = events[:len(events):len(events)]
	return events, uint64(len(events) - 1), true, nil
}

// get returns the cached events of stream and whether they are known to be
// complete: the store counts commits and none happened since they were read
// (commits is the count now).
func (c *Cached) get(stream string, commits uint64) ([]domain.Stored, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byName[stream]
	if !ok {
		return nil, false
	}
	c.lru.MoveToFront(el)
	e := el.Value.(*cacheEntry)
	return e.events, c.commits != nil && e.commits == commits
}

// put caches events, complete as of the commit count read before reading
// them.
func (c *Cached) put(stream string, events []domain.Stored, commits uint64) {
	if len(events) > c.max {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byName[stream]; ok {
		e := el.Value.(*cacheEntry)
		if len(e.events) > len(events) || (len(e.events) == len(events) && e.commits >= commits) {
			return // a concurrent load cached at least as much
		}
		c.held += len(events) - len(e.events)
		e.events, e.commits = events, commits
		c.lru.MoveToFront(el)
	} else {
		c.byName[stream] = c.lru.PushFront(&cacheEntry{stream: stream, events: events, commits: commits})
		c.held += len(events)
	}
	for c.held > c.max {
		el := c.lru.Back()
		e := el.Value.(*cacheEntry)
		c.lru.Remove(el)
		delete(c.byName, e.stream)
		c.held -= len(e.events)
	}
}

func (c *Cached) drop(stream string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byName[stream]; ok {
		c.held -= len(el.Value.(*cacheEntry).events)
		c.lru.Remove(el)
		delete(c.byName, stream)
	}
}
