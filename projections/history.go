package projections

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

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
// is not given, before it grows (see MaxCacheSize). An SKP projection's
// state is a few kilobytes (each keeps only the events it needs), so the
// default costs a few hundred megabytes for the six SKP projections of a
// process and holds every SKP of a large agency's year: a rebuild never
// reads a stream twice.
const DefaultCacheSize = 1 << 16

// MaxCacheSize is what a Cache of the default size may grow to when it
// meets a scan over more aggregates than it holds (see Cache): the SKPs
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
// Cache of the default size therefore grows: it remembers the names of
// the streams it evicted (a ghost list, a few dozen bytes each, never
// more names than it may grow to), and a miss on one of them, a sign that
// it is too small for the scan it meets, gives it one slot more, up to
// MaxCacheSize. A cyclic scan over n ≤ MaxCacheSize streams then misses
// n − size times in its second pass and never after; a workload whose
// streams are not revisited never grows it. A Cache given its own size
// keeps it (an operator's flag, a test).
//
// A Cache is not safe for concurrent use: its projection's Sink applies
// one batch at a time.
type Cache[T any] struct {
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

// NewCache returns a cache of at most size aggregates that rebuilds
// missing ones from h with fold. When size ≤ 0 it starts at
// DefaultCacheSize and grows up to MaxCacheSize under a cyclic scan (see
// Cache).
func NewCache[T any](h History, size int, fold Fold[T]) *Cache[T] {
	max := size
	if size <= 0 {
		size, max = DefaultCacheSize, MaxCacheSize
	}
	return newCache(h, size, max, fold)
}

// NewGrowingCache returns a cache that holds size aggregates (> 0) and
// grows up to max under a cyclic scan (see Cache); max ≤ size: it does not
// grow. NewCache(h, 0, fold) is NewGrowingCache(h, DefaultCacheSize,
// MaxCacheSize, fold).
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
// size, what it grew by, under its History's bound).
func (c *Cache[T]) Size() int { return c.limit() }

// Advance folds ev into the state of its stream and returns the state
// after ev. The state it returns belongs to the cache: callers read it and
// must not keep it past the next call.
func (c *Cache[T]) Advance(ctx context.Context, ev Event) (T, error) {
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
	if i, ok := c.index[stream]; ok {
		delete(c.index, stream)
		c.slots[i] = slot[T]{}
	}
}

// Reset drops every state, and what the cache grew by and remembers of
// the streams it evicted: it starts over at its size.
func (c *Cache[T]) Reset() {
	clear(c.index)
	c.slots, c.hand = nil, 0
	c.grown = 0
	c.ghost, c.ghosts, c.ghostNext = nil, nil, 0
}

// Len returns the number of states held.
func (c *Cache[T]) Len() int { return len(c.index) }

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
		// The bound was lowered below what the cache holds: start over
		// (a cache only saves replays).
		c.Reset()
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

// evicted adds stream to the ghost list, when the cache may grow.
func (c *Cache[T]) evicted(stream string) {
	n := c.most()
	if n <= c.size {
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
// aggregates (see Cache), as a Cache of the default size does by itself.
// kinerjad sets it from --projection-cache-max-skps.
//
// It is safe for concurrent use.
type BoundedHistory struct {
	// History is what the streams are read from.
	History History
	bound   atomic.Int64
	growTo  atomic.Int64
	replays atomic.Uint64
}

var _ History = (*BoundedHistory)(nil)

// Stream implements History (a Cache's replay of a stream).
func (h *BoundedHistory) Stream(ctx context.Context, stream string, upto uint64) ([]Event, error) {
	h.replays.Add(1)
	return h.History.Stream(ctx, stream, upto)
}

// SetBound sets the number of aggregates each Cache over h may hold; 0 (or
// less) lifts the bound. A cache holding more than a lowered bound is
// emptied at its next miss.
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
