package page

import (
	"container/list"
	"context"
	"sync"
)

// DefaultKeptBytes is the byte budget of a site's kept lists
// (SiteConfig.KeptBytes) when none is set: a province root's unit page
// (100,000 SKPs with their evaluations, about 90 MB as estimated) and a
// few HR start pages (20,000 SKPs, about 10 MB each), well under
// kinerjad's default soft memory limit of 1536 MB. (Bounded by count
// before, 32 start pages and 16 unit pages could hold about 960 MB.)
const DefaultKeptBytes = 128 << 20

// Kept holds lists a feature keeps across requests while the read models
// stand still (the start page's and the unit page's SKP lists), bounded
// by bytes, not by count: one budget shared by every feature of the site,
// the least recently used list evicted first. A list's size is the
// caller's estimate (rows × a row size, with its sort orders). A list
// larger than the whole budget is not kept. Safe for concurrent use.
type Kept struct {
	mu    sync.Mutex
	max   int64
	used  int64
	lru   *list.List // of *keptEntry, most recently used first
	byKey map[string]*list.Element
}

type keptEntry struct {
	key  string
	val  any
	size int64
}

// NewKept returns a Kept of maxBytes (DefaultKeptBytes when ≤ 0).
func NewKept(maxBytes int64) *Kept {
	if maxBytes <= 0 {
		maxBytes = DefaultKeptBytes
	}
	return &Kept{max: maxBytes, lru: list.New(), byKey: map[string]*list.Element{}}
}

// Get returns the value kept under key, marking it recently used.
func (k *Kept) Get(key string) (any, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	e, ok := k.byKey[key]
	if !ok {
		return nil, false
	}
	k.lru.MoveToFront(e)
	return e.Value.(*keptEntry).val, true
}

// Put keeps v of size bytes under key (replacing what was there), then
// evicts the least recently used values until the total is within the
// budget. A value larger than the budget is not kept (and drops what
// key held).
func (k *Kept) Put(key string, v any, size int64) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if e, ok := k.byKey[key]; ok {
		k.remove(e)
	}
	if size > k.max {
		return
	}
	k.byKey[key] = k.lru.PushFront(&keptEntry{key: key, val: v, size: size})
	k.used += size
	for k.used > k.max {
		k.remove(k.lru.Back())
	}
}

func (k *Kept) remove(e *list.Element) {
	ke := k.lru.Remove(e).(*keptEntry)
	delete(k.byKey, ke.key)
	k.used -= ke.size
}

// Usage returns the bytes and the number of values kept.
func (k *Kept) Usage() (bytes int64, n int) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.used, len(k.byKey)
}

// KeptSize estimates the bytes of a kept list of n rows of rowBytes each
// (the rows' structs and their strings), with room for the sort orders
// page.Orders may build on it (an int32 permutation per sort and
// direction, sorts of them).
func KeptSize(n int, rowBytes int64, sorts int) int64 {
	return int64(n) * (rowBytes + int64(2*sorts)*4)
}

// Kept is the site's kept lists (SiteConfig.KeptBytes).
func (s *Site) Kept() *Kept { return s.kept }

// Version returns a position of the named projection that moves whenever
// any of its writers applies an event (app.App.Version; under agency
// groups, unlike the checkpoint, which is the least of the groups'), or -1
// when it cannot be told. For keys of what is kept while a read model
// stands still; never for read-your-writes waits.
func (s *Site) Version(ctx context.Context, projection string) int64 {
	v, ok := s.app.Version(ctx, projection)
	if !ok {
		return -1
	}
	return v
}
