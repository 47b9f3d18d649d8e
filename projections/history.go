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
// is not given. An SKP projection's state is a few kilobytes at most (each
// keeps only the events it needs), so the default costs tens of megabytes
// and holds every SKP of a large agency's year: a rebuild never reads a
// stream twice.
const DefaultCacheSize = 1 << 16

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
// A Cache is not safe for concurrent use: its projection's Sink applies one
// batch at a time.
type Cache[T any] struct {
	history History
	fold    Fold[T]
	size    int
	bound   func() int     // the History's Bound (BoundedHistory), or nil
	index   map[string]int // stream → slot
	slots   []slot[T]
	hand    int
}

type slot[T any] struct {
	stream string
	rev    uint64
	state  T
	used   bool
}

// NewCache returns a cache of at most size aggregates (DefaultCacheSize
// when size ≤ 0) that rebuilds missing ones from h with fold.
func NewCache[T any](h History, size int, fold Fold[T]) *Cache[T] {
	if size <= 0 {
		size = DefaultCacheSize
	}
	c := &Cache[T]{history: h, fold: fold, size: size, index: make(map[string]int)}
	if b, ok := h.(interface{ Bound() int }); ok {
		c.bound = b.Bound
	}
	return c
}

// limit is the number of aggregates the cache may hold now: its size, or
// its History's bound when that is lower (see BoundedHistory).
func (c *Cache[T]) limit() int {
	if c.bound != nil {
		if b := c.bound(); b > 0 && b < c.size {
			return b
		}
	}
	return c.size
}

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

// Reset drops every state.
func (c *Cache[T]) Reset() {
	clear(c.index)
	c.slots, c.hand = nil, 0
}

// Len returns the number of states held.
func (c *Cache[T]) Len() int { return len(c.index) }

func (c *Cache[T]) put(stream string, rev uint64, state T) {
	if i, ok := c.index[stream]; ok {
		c.slots[i] = slot[T]{stream: stream, rev: rev, state: state, used: true}
		return
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
// It is safe for concurrent use.
type BoundedHistory struct {
	// History is what the streams are read from.
	History History
	bound   atomic.Int64
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

// Replays counts the streams replayed through h (the caches' misses past
// each stream's first event).
func (h *BoundedHistory) Replays() uint64 { return h.replays.Load() }
