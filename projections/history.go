package projections

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"weak"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/eventstore"
)

// History reads the past of one stream, for projections that derive their
// rows from the domain's own replay of an aggregate (the SKP projections)
// and must rebuild it when they do not hold it already.
//
// Stream returns the events of stream from revision 0 up to and including
// upto, decoded, in revision order. An event that cannot be decoded is a
// *PoisonError (retrying will not help); any other error is transient.
// Implementations are safe for concurrent use.
type History interface {
	Stream(ctx context.Context, stream string, upto uint64) ([]Event, error)
}

// StoreHistory is a History over an event store.
type StoreHistory struct {
	// Store is read with ReadStream.
	Store eventstore.Store
}

var _ History = StoreHistory{}

// Stream implements History.
func (h StoreHistory) Stream(ctx context.Context, stream string, upto uint64) ([]Event, error) {
	limit := 0
	if upto < 1<<30 {
		limit = int(upto) + 1
	}
	var out []Event
	for ev, err := range h.Store.ReadStream(ctx, stream, eventstore.ReadStreamOptions{Limit: limit}) {
		if errors.Is(err, eventstore.ErrStreamNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("projections: history of %s: %w", stream, err)
		}
		if ev.Revision > upto {
			break
		}
		e, err := Decode(ev)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// Stored returns the event as the domain's appliers take it.
func (e Event) Stored() domain.Stored {
	return domain.Stored{
		ID: e.ID, Revision: e.Revision, RecordedAt: e.RecordedAt, Event: e.Payload,
		Meta: domain.Meta{
			Actor:         domain.Actor{ID: e.Actor.ID, Role: domain.Role(e.Actor.Role)},
			CorrelationID: e.CorrelationID, CausationID: e.CausationID, Reason: e.Reason, OccurredAt: e.OccurredAt,
		},
	}
}

// Fold applies one event of a stream to an aggregate's state and returns
// the new state. It starts from T's zero value and sees every event of the
// stream in revision order; it never fails (appliers apply facts).
type Fold[T any] func(state T, ev Event) T

// DefaultCacheSize is the number of aggregates a Cache keeps when its size
// is not given. An SKP's states cost about 24 KB in the caches of the
// five SKP read models together (docs/projections.md, "Caches that
// grow"), so the default, held whole, costs about 1.5 GB for those of a
// process (65,536 × ~24 KB; the deadline manager's on top) and holds
// every SKP of a large agency's year: a rebuild never reads a stream
// twice.
const DefaultCacheSize = 1 << 16

// MaxCacheSize is what a Cache may grow to when growth is enabled and it
// meets a scan over more aggregates than it holds (see Cache and
// BoundedHistory.SetGrowTo; kinerjad's default --projection-cache-max-skps
// and `kinerjactl projections rebuild` without --cache-skps): the SKPs
// of a province of 100,000–130,000 employees, and twice DefaultCacheSize.
// Held whole in the six SKP projections of a process it costs about as
// much as `kinerjactl projections rebuild --cache-skps 131072` measured
// at a province (docs/benchmarks.md §67: +1.4 GB of peak RSS over the
// default caches, against four times the client CPU without it), and it
// is reached only by a workload that revisits that many SKPs in turn.
const MaxCacheSize = 1 << 17

// Cache keeps the state of recently seen aggregates, keyed by stream, with
// the revision of the last event folded into each, so that a projection
// folds each event once instead of replaying its stream. On a miss (first
// sight, eviction, or a revision that does not follow the cached one, as
// after a failed Apply whose batch is delivered again) it replays the
// stream from History up to the event. Rebuilding n events costs n folds
// plus one replay per evicted or unknown stream, never one replay per
// event.
//
// Eviction is CLOCK (second chance): cheap, allocation-free, close to LRU.
// Like LRU, it misses every time on a cyclic scan over more streams than
// it holds (each victim is the next stream needed): the seed's later
// phases visit every SKP in turn, so a province's 100,000 SKPs against
// 65,536 slots replayed one stream per event (docs/benchmarks.md §67). A
// Cache whose growth is enabled (NewGrowingCache, or its BoundedHistory's
// SetGrowTo) therefore grows: it remembers the names of the streams it
// evicted (a ghost list, about 70 bytes each, never more names than it
// may grow to), and any miss on one of them, a revisit of a stream it
// evicted, gives it one slot more, up to its maximum. That is not only a
// cyclic scan: random traffic over more streams than it holds revisits
// evicted streams too and grows it, which is why growth is off unless
// enabled (a batch rebuild, kinerjad's start-up catch-up), never by
// default in a long-lived process. A cyclic scan over n streams, n at
// most the maximum, then misses n − size times in its second pass and
// never after. Shrink (BoundedHistory.Shrink) gives a grown cache back
// its bound, keeping the states it holds most recently used.
//
// A Cache is safe for concurrent use (Shrink may come from another
// goroutine than its projection's Sink, which applies one batch at a
// time).
type Cache[T any] struct {
	mu      sync.Mutex
	reg     *shrinker // what its BoundedHistory holds weakly, or nil
	history History
	fold    Fold[T]
	size    int            // the size it was given, or DefaultCacheSize
	max     int            // what it may grow to (size: no growth)
	grown   int            // slots gained past size (Cache: growth)
	bound   func() int     // the History's Bound (BoundedHistory), or nil
	growTo  func() int     // the History's GrowTo (BoundedHistory), or nil
	index   map[string]int // stream → slot
	slots   []slot[T]
	hand    int

	// The ghost list: the names of evicted streams, at most max of them
	// (a scan over up to max + size streams finds its first pass's
	// evictions there), oldest overwritten first (ghostNext), each mapped to its index
	// in ghosts.
	ghost     map[string]int
	ghosts    []string
	ghostNext int
}

type slot[T any] struct {
	stream string
	rev    uint64
	state  T
	used   bool
}

// NewCache returns a cache of at most size aggregates (DefaultCacheSize
// when size ≤ 0) that rebuilds missing ones from h with fold. It does not
// grow by itself; it grows when h is a BoundedHistory whose SetGrowTo
// lets it (see Cache).
func NewCache[T any](h History, size int, fold Fold[T]) *Cache[T] {
	if size <= 0 {
		size = DefaultCacheSize
	}
	return newCache(h, size, size, fold)
}

// NewGrowingCache returns a cache that holds size aggregates
// (DefaultCacheSize when size ≤ 0) and grows up to most when it revisits
// streams it evicted (see Cache); most ≤ size: it does not grow.
func NewGrowingCache[T any](h History, size, most int, fold Fold[T]) *Cache[T] {
	if size <= 0 {
		size = DefaultCacheSize
	}
	return newCache(h, size, most, fold)
}

func newCache[T any](h History, size, most int, fold Fold[T]) *Cache[T] {
	c := &Cache[T]{history: h, fold: fold, size: size, max: max(most, size), index: make(map[string]int)}
	if b, ok := h.(interface{ Bound() int }); ok {
		c.bound = b.Bound
	}
	if g, ok := h.(interface{ GrowTo() int }); ok {
		c.growTo = g.GrowTo
	}
	if bh, ok := h.(*BoundedHistory); ok {
		c.reg = &shrinker{shrink: c.Shrink, len: c.Len}
		bh.register(c.reg)
	}
	return c
}

// most is what the cache may grow to: its own maximum, or its History's
// GrowTo when that is higher (see BoundedHistory).
func (c *Cache[T]) most() int {
	if c.growTo != nil {
		return max(c.max, c.growTo())
	}
	return c.max
}

// limit is the number of aggregates the cache may hold now: its size and
// what it grew by, or its History's bound when that is lower (see
// BoundedHistory).
func (c *Cache[T]) limit() int {
	if b := c.bounded(); b > 0 && b < c.size+c.grown {
		return b
	}
	return c.size + c.grown
}

func (c *Cache[T]) bounded() int {
	if c.bound == nil {
		return 0
	}
	return c.bound()
}

// Size returns the number of aggregates the cache may hold now (its
// size, what it grew by, under its History's bound). Len may be above it
// for a moment after the bound was lowered, until Shrink or the cache's
// next event.
func (c *Cache[T]) Size() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.limit()
}

// Advance folds ev into the state of its stream and returns the state
// after ev. The state it returns belongs to the cache: callers read it and
// must not keep it past the next call.
func (c *Cache[T]) Advance(ctx context.Context, ev Event) (T, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if l := c.limit(); len(c.index) > l {
		// The bound was lowered under what the cache holds.
		c.shrink(l)
	}
	if i, ok := c.index[ev.Stream]; ok {
		s := &c.slots[i]
		if ev.Revision > 0 && s.rev == ev.Revision-1 {
			s.state, s.rev, s.used = c.fold(s.state, ev), ev.Revision, true
			return s.state, nil
		}
	}
	var state T
	if ev.Revision > 0 {
		if c.history == nil {
			var zero T
			return zero, fmt.Errorf("projections: %s@%d: no history to rebuild the stream from", ev.Stream, ev.Revision)
		}
		past, err := c.history.Stream(ctx, ev.Stream, ev.Revision-1)
		if err != nil {
			var zero T
			var p *PoisonError
			if errors.As(err, &p) {
				return zero, Poison(ev.Event, fmt.Errorf("history of %s: %w", ev.Stream, err))
			}
			return zero, err
		}
		if uint64(len(past)) != ev.Revision {
			var zero T
			return zero, fmt.Errorf("projections: history of %s up to %d holds %d events; want %d", ev.Stream, ev.Revision-1, len(past), ev.Revision)
		}
		for _, p := range past {
			state = c.fold(state, p)
		}
	}
	state = c.fold(state, ev)
	c.put(ev.Stream, ev.Revision, state)
	return state, nil
}

// Forget drops the state of stream (for example after an event of it
// could not be applied).
func (c *Cache[T]) Forget(stream string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if i, ok := c.index[stream]; ok {
		delete(c.index, stream)
		c.slots[i] = slot[T]{}
	}
}

// Reset drops every state, and what the cache grew by and remembers of
// the streams it evicted: it starts over at its size.
func (c *Cache[T]) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reset()
}

func (c *Cache[T]) reset() {
	clear(c.index)
	c.slots, c.hand = nil, 0
	c.grown = 0
	c.ghost, c.ghosts, c.ghostNext = nil, nil, 0
}

// Len returns the number of states held.
func (c *Cache[T]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.index)
}

// Holds reports whether the cache holds the state of stream.
func (c *Cache[T]) Holds(stream string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.index[stream]
	return ok
}

// Shrink evicts states, by CLOCK as a miss would, until the cache holds at
// most n (n ≤ 0: its size), keeps the rest (the most recently used, still
// hits), gives back what it grew by past n, and frees the slots it no
// longer needs. A cache whose growth is off forgets the streams it
// evicted. kinerjad shrinks every SKP cache to --projection-cache-skps
// when the start-up catch-up is done (BoundedHistory.Shrink).
func (c *Cache[T]) Shrink(n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n <= 0 {
		n = c.size
	}
	c.shrink(n)
}

func (c *Cache[T]) shrink(n int) {
	c.grown = max(min(c.grown, n-c.size), 0)
	if c.most() <= c.size+c.grown {
		c.ghost, c.ghosts, c.ghostNext = nil, nil, 0
	}
	if len(c.index) <= n && len(c.slots) <= n {
		return
	}
	for len(c.index) > n {
		s := &c.slots[c.hand]
		switch {
		case s.stream == "":
		case s.used:
			s.used = false
		default:
			delete(c.index, s.stream)
			c.evicted(s.stream)
			*s = slot[T]{}
		}
		c.hand = (c.hand + 1) % len(c.slots)
	}
	// Compact: the kept states in a slice of their own, in CLOCK order
	// from the hand, so that the memory of the evicted ones is freed.
	kept := make([]slot[T], 0, len(c.index))
	for i := range c.slots {
		if s := c.slots[(c.hand+i)%len(c.slots)]; s.stream != "" {
			c.index[s.stream] = len(kept)
			kept = append(kept, s)
		}
	}
	c.slots, c.hand = kept, 0
}

func (c *Cache[T]) put(stream string, rev uint64, state T) {
	if i, ok := c.index[stream]; ok {
		c.slots[i] = slot[T]{stream: stream, rev: rev, state: state, used: true}
		return
	}
	if c.forgetEvicted(stream) {
		// A miss on a stream it evicted: too small for the scan it meets.
		if b := c.bounded(); c.size+c.grown < c.most() && (b <= 0 || b > c.size+c.grown) {
			c.grown++
		}
	}
	limit := c.limit()
	if len(c.slots) > limit {
		// The bound was lowered below what the cache holds: evict down
		// to it, keeping the rest.
		c.shrink(limit)
	}
	if len(c.slots) < limit {
		c.index[stream] = len(c.slots)
		c.slots = append(c.slots, slot[T]{stream: stream, rev: rev, state: state, used: true})
		return
	}
	for {
		s := &c.slots[c.hand]
		if s.stream == "" || !s.used {
			if s.stream != "" {
				delete(c.index, s.stream)
				c.evicted(s.stream)
			}
			*s = slot[T]{stream: stream, rev: rev, state: state, used: true}
			c.index[stream] = c.hand
			c.hand = (c.hand + 1) % len(c.slots)
			return
		}
		s.used = false
		c.hand = (c.hand + 1) % len(c.slots)
	}
}

// evicted adds stream to the ghost list, when the cache may grow: not
// when its growth is off or done (the list is dropped), nor while its
// History's bound caps it.
func (c *Cache[T]) evicted(stream string) {
	n := c.most()
	if n <= c.size+c.grown {
		c.ghost, c.ghosts, c.ghostNext = nil, nil, 0
		return
	}
	if b := c.bounded(); b > 0 && b <= c.size+c.grown {
		return
	}
	if c.ghost == nil {
		c.ghost = make(map[string]int)
	}
	if len(c.ghosts) < n {
		c.ghost[stream] = len(c.ghosts)
		c.ghosts = append(c.ghosts, stream)
		return
	}
	// Full (or its maximum was lowered): the oldest name makes room.
	c.ghostNext %= len(c.ghosts)
	old := c.ghosts[c.ghostNext]
	if i, ok := c.ghost[old]; ok && i == c.ghostNext {
		delete(c.ghost, old)
	}
	c.ghosts[c.ghostNext] = stream
	c.ghost[stream] = c.ghostNext
	c.ghostNext++
}

// forgetEvicted removes stream from the ghost list and reports whether
// it was there.
func (c *Cache[T]) forgetEvicted(stream string) bool {
	i, ok := c.ghost[stream]
	if !ok {
		return false
	}
	delete(c.ghost, stream)
	c.ghosts[i] = ""
	return true
}

// BoundedHistory is a History that also bounds the Caches built over it
// (NewCache): while its bound is set (> 0), each such Cache keeps at most
// that many aggregates, and never more than its own size. kinerjad sets a
// small bound for the start-up catch-up (--catchup-cache-skps): a rebuild
// from the whole log would otherwise fill the cache of each of the six SKP
// projections to its size (65,536 aggregates by default, most SKPs of a
// province six times over) and keep them until it ends. An aggregate is
// needed only while its stream's events arrive, and the events of one SKP
// lie close together in the log, so a small cache misses rarely; a miss
// costs one replay of the stream (counted by Replays). The bound is lifted
// (SetBound(0)) once the catch-up is done, for live traffic.
//
// It also lets those Caches grow (SetGrowTo): under a scan over more
// SKPs than a cache holds, each grows past its own size up to that many
// aggregates (see Cache); no Cache grows otherwise. kinerjad sets it from
// --projection-cache-max-skps for the catch-up only, and `kinerjactl
// projections rebuild` to MaxCacheSize when --cache-skps is not given.
//
// Shrink shrinks every Cache built over it to the bound at once (kinerjad
// calls it when the catch-up is done), so that no cache, an in-memory read
// model's, a PostgreSQL one's, the deadline manager's or the consequence
// relay's, stays grown past the serving bound until its next event.
//
// It is safe for concurrent use.
type BoundedHistory struct {
	// History is what the streams are read from.
	History History
	bound   atomic.Int64
	growTo  atomic.Int64
	replays atomic.Uint64

	mu     sync.Mutex
	caches []weak.Pointer[shrinker] // the Caches built over it, held weakly
}

// shrinker is what a BoundedHistory holds of a Cache built over it: the
// cache holds it, and it the cache, so it lives as long as the cache does.
type shrinker struct {
	shrink func(int)
	len    func() int
}

func (h *BoundedHistory) register(s *shrinker) {
	h.mu.Lock()
	defer h.mu.Unlock()
	live := h.caches[:0]
	for _, w := range h.caches {
		if w.Value() != nil {
			live = append(live, w)
		}
	}
	h.caches = append(live, weak.Make(s))
}

// Held returns the number of live Caches built over h and the states
// they hold in all (their Len), for a log line or a test.
func (h *BoundedHistory) Held() (caches, states int) {
	for _, s := range h.live() {
		caches++
		states += s.len()
	}
	return caches, states
}

func (h *BoundedHistory) live() []*shrinker {
	h.mu.Lock()
	defer h.mu.Unlock()
	var live []*shrinker
	for _, w := range h.caches {
		if s := w.Value(); s != nil {
			live = append(live, s)
		}
	}
	return live
}

// Shrink shrinks each live Cache built over h to n aggregates (see
// Cache.Shrink; n ≤ 0: each to its own size), keeping the most recently
// used.
func (h *BoundedHistory) Shrink(n int) {
	for _, s := range h.live() {
		s.shrink(n)
	}
}

var _ History = (*BoundedHistory)(nil)

// Stream implements History (a Cache's replay of a stream).
func (h *BoundedHistory) Stream(ctx context.Context, stream string, upto uint64) ([]Event, error) {
	h.replays.Add(1)
	return h.History.Stream(ctx, stream, upto)
}

// SetBound sets the number of aggregates each Cache over h may hold; 0 (or
// less) lifts the bound. A cache holding more than a lowered bound evicts
// down to it at its next event, or at once with Shrink.
func (h *BoundedHistory) SetBound(n int) { h.bound.Store(int64(max(n, 0))) }

// Bound returns the bound (0: none).
func (h *BoundedHistory) Bound() int { return int(h.bound.Load()) }

// SetGrowTo lets each Cache over h grow up to n aggregates under a cyclic
// scan (never less than its own maximum; 0 or less: its own). The bound,
// while set, still caps it.
func (h *BoundedHistory) SetGrowTo(n int) { h.growTo.Store(int64(max(n, 0))) }

// GrowTo returns what SetGrowTo set (0: none).
func (h *BoundedHistory) GrowTo() int { return int(h.growTo.Load()) }

// Replays counts the streams replayed through h (the caches' misses past
// each stream's first event).
func (h *BoundedHistory) Replays() uint64 { return h.replays.Load() }
