package skp

import (
	"container/list"
	"strconv"
	"sync"

	"github.com/kinerja-ledger/kinerja/domain"
)

// ReadCache keeps SKPs replayed for reads, keyed by stream and revision, so
// that reading an SKP again at the same revision does not replay it again
// (replaying was a fifth of the cost of GET /v1/skps/{id}). A cached SKP is
// shared by concurrent readers and is never changed: reads only render it,
// commands replay their own state inside the handler, and a newer revision
// is replayed afresh. It is safe for concurrent use; it is memory only.
//
// It is bounded by the events its SKPs were replayed from, not by their
// number: a replayed SKP grows with its events (120 to 250 bytes each of its
// own, measured, plus the texts it shares with the decoded events), and one
// SKP with eleven thousand RHK, read at many past revisions, each cached
// under its own key, grew the service to 1.3 GB (issue 9 §4).
type ReadCache struct {
	max   int // events
	held  int
	mu    sync.Mutex
	lru   *list.List
	byID  map[string]*list.Element
	stats ReadCacheStats
}

// ReadCacheStats counts hits and misses, for tests and metrics.
type ReadCacheStats struct {
	// Hits counts reads served from the cache.
	Hits int
	// Misses counts reads that replayed.
	Misses int
}

type readEntry struct {
	id     string
	rev    uint64
	sk     *SKP
	events int // the weight: the events sk was replayed from
}

// DefaultReadCacheEvents bounds a ReadCache made with no bound.
const DefaultReadCacheEvents = 1_000_000

// NewReadCache returns a cache of SKPs replayed from at most maxEvents
// events in all (DefaultReadCacheEvents when ≤ 0).
func NewReadCache(maxEvents int) *ReadCache {
	max := maxEvents
	if max <= 0 {
		max = DefaultReadCacheEvents
	}
	return &ReadCache{max: max, lru: list.New(), byID: map[string]*list.Element{}}
}

// Stats returns the counts so far.
func (c *ReadCache) Stats() ReadCacheStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats
}

// replayPrefix returns the SKP of a prefix of id's events (a historical
// read), kept under its own key: past revisions never change, and
// grievance handlers read the same moment again and again.
func (c *ReadCache) replayPrefix(id string, prefix []domain.Stored) *SKP {
	if len(prefix) == 0 {
		return nil
	}
	return c.replay(id+"@"+strconv.FormatUint(prefix[len(prefix)-1].Revision, 10), prefix)
}

// replay returns the SKP of events (the whole stream of id), from the cache
// when it holds the same revision.
func (c *ReadCache) replay(id string, events []domain.Stored) *SKP {
	if len(events) == 0 {
		return nil
	}
	rev := events[len(events)-1].Revision
	c.mu.Lock()
	if el, ok := c.byID[id]; ok && el.Value.(*readEntry).rev == rev {
		c.lru.MoveToFront(el)
		c.stats.Hits++
		sk := el.Value.(*readEntry).sk
		c.mu.Unlock()
		return sk
	}
	c.stats.Misses++
	c.mu.Unlock()
	sk := Replay(events)
	if sk == nil || len(events) > c.max {
		return sk
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byID[id]; ok {
		if e := el.Value.(*readEntry); e.rev < rev {
			c.held += len(events) - e.events
			e.rev, e.sk, e.events = rev, sk, len(events)
		}
		c.lru.MoveToFront(el)
	} else {
		c.byID[id] = c.lru.PushFront(&readEntry{id: id, rev: rev, sk: sk, events: len(events)})
		c.held += len(events)
	}
	for c.held > c.max {
		el := c.lru.Back()
		e := el.Value.(*readEntry)
		c.lru.Remove(el)
		delete(c.byID, e.id)
		c.held -= e.events
	}
	return sk
}

// Held returns the events the cached SKPs were replayed from; never more
// than the cache's bound.
func (c *ReadCache) Held() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.held
}
