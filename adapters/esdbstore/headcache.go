package esdbstore

import (
	"container/list"
	"sync"

	"github.com/kinerja-ledger/kinerja/eventstore"
)

// headCache remembers the last known head (revision and hash of the last
// event) of recently written or read streams, least recently used first
// out. A cached head may be stale but is never wrong about the event it
// names, because events are immutable: an append built on a stale head is
// refused by the server, and the refusal drops the entry.
type headCache struct {
	mu    sync.Mutex
	max   int
	order *list.List // of *headEntry, most recent at the front
	byKey map[string]*list.Element
}

type headEntry struct {
	stream string
	head   eventstore.Head
}

func newHeadCache(max int) *headCache {
	return &headCache{max: max, order: list.New(), byKey: make(map[string]*list.Element)}
}

func (c *headCache) get(stream string) (eventstore.Head, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.byKey[stream]
	if !ok {
		return eventstore.Head{}, false
	}
	c.order.MoveToFront(e)
	return e.Value.(*headEntry).head, true
}

// put records h for stream unless the cache already knows a later head.
func (c *headCache) put(stream string, h eventstore.Head) {
	if !h.Exists {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.byKey[stream]; ok {
		he := e.Value.(*headEntry)
		if h.Revision >= he.head.Revision {
			he.head = h
		}
		c.order.MoveToFront(e)
		return
	}
	c.byKey[stream] = c.order.PushFront(&headEntry{stream: stream, head: h})
	for c.order.Len() > c.max {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.byKey, last.Value.(*headEntry).stream)
	}
}

func (c *headCache) forget(stream string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.byKey[stream]; ok {
		c.order.Remove(e)
		delete(c.byKey, stream)
	}
}
