package pgstore

import (
	"context"
	"sync"

	"github.com/kinerja-ledger/kinerja/eventstore"
)

// headCache remembers, per stream, the last revision this process knows to
// be committed and its hash. An entry is a fact about an immutable event
// ("revision r of s is committed with hash h"), so it never becomes wrong;
// it only becomes old, when another process appends. An append with an exact
// expected revision r that finds r in the cache needs no read before its
// INSERT; a stale entry only costs a failed head check and a re-read.
//
// Only committed facts go in: results of committed appends and rows read
// from the database. AppendTx never fills it, since the caller's transaction
// may still roll back.
type headCache struct {
	mu  sync.Mutex
	m   map[string]eventstore.Head
	max int
}

func (c *headCache) init(max int) {
	c.m = make(map[string]eventstore.Head)
	c.max = max
}

func (c *headCache) get(stream string) (eventstore.Head, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	h, ok := c.m[stream]
	return h, ok
}

// put records h for stream unless a later revision is already known.
func (c *headCache) put(stream string, h eventstore.Head) {
	if !h.Exists {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.m[stream]; ok && old.Revision >= h.Revision {
		return
	}
	if len(c.m) >= c.max {
		// Evict an arbitrary eighth (map order is random): cheap, and a
		// miss costs one indexed read.
		n := c.max/8 + 1
		for k := range c.m {
			delete(c.m, k)
			if n--; n == 0 {
				break
			}
		}
	}
	c.m[stream] = h
}

// streamGates serialises the appends of this process to one stream. The
// winner reads the head, seals its events and commits while the others
// wait, so in-process writers never race each other on a stream (they would
// only make each other retry), the head cache stays exact, and a batch never
// holds two appends to one stream.
type streamGates struct {
	mu sync.Mutex
	m  map[string]*gate
}

type gate struct {
	ch   chan struct{} // holds a token while the gate is taken
	refs int
}

func (g *streamGates) init() { g.m = make(map[string]*gate) }

// lock takes the gate of stream, or fails when ctx ends first.
func (g *streamGates) lock(ctx context.Context, stream string) error {
	g.mu.Lock()
	gt := g.m[stream]
	if gt == nil {
		gt = &gate{ch: make(chan struct{}, 1)}
		g.m[stream] = gt
	}
	gt.refs++
	g.mu.Unlock()
	select {
	case gt.ch <- struct{}{}:
		return nil
	default:
	}
	select {
	case gt.ch <- struct{}{}:
		return nil
	case <-ctx.Done():
		g.release(stream, gt)
		return ctx.Err()
	}
}

// unlock releases the gate of stream taken by lock.
func (g *streamGates) unlock(stream string) {
	g.mu.Lock()
	gt := g.m[stream]
	g.mu.Unlock()
	<-gt.ch
	g.release(stream, gt)
}

func (g *streamGates) release(stream string, gt *gate) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if gt.refs--; gt.refs == 0 {
		delete(g.m, stream)
	}
}
