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
type ReadCache struct {
	max   int
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
	id  string
	rev uint64
	sk  *SKP
}

// NewReadCache returns a cache of at most max SKPs (10,000 when ≤ 0).
func NewReadCache(max int) *ReadCache {
	if max <= 0 {
		max = 10_000
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
	if sk == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byID[id]; ok {
		if e := el.Value.(*readEntry); e.rev < rev {
			e.rev, e.sk = rev, sk
		}
		c.lru.MoveToFront(el)
		return sk
	}
	c.byID[id] = c.lru.PushFront(&readEntry{id: id, rev: rev, sk: sk})
	for c.lru.Len() > c.max {
		el := c.lru.Back()
		c.lru.Remove(el)
		delete(c.byID, el.Value.(*readEntry).id)
	}
	return sk
}
