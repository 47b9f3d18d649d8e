package projections

import (
	"container/list"
	"context"
	"sync"
	"sync/atomic"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/eventstore"
)

// SharedHistory is a History shared by the projections of one process, so
// that a stream's past is read and decoded once for all of them instead of
// once by each.
//
// Why: after a start the SKP projections (five in memory or in PostgreSQL,
// and the deadline process manager) hold no aggregate, and each replays
// the whole stream of an SKP when the SKP's first new event reaches it
// (Cache.Advance). They all ask for the same past, the stream up to the
// event before the new one, within a few milliseconds of each other: on
// `main` that was six authenticated reads and six JSON decodings of the
// same events per SKP, the largest CPU cost of a mutation in the first
// minutes after a restart (docs/benchmarks.md, the mutation section of
// branch mutation).
//
// Stored events never change, so a past read once serves every later ask
// for the same stream up to a revision it holds. Concurrent asks for a
// stream wait for the one read in flight (unless their context ends). A
// failed read is not kept: the next ask reads again. The events it returns
// are shared between the projections, as Group.CatchUp already shares
// them: a fold reads an event and never modifies it.
//
// It keeps the events of the most recently read streams, at most MaxEvents
// in all (DefaultSharedHistoryEvents when ≤ 0); what it keeps is only worth
// keeping while the projections catch up with one event, so the bound is
// small. It is safe for concurrent use.
type SharedHistory struct {
	inner History
	max   int

	mu     sync.Mutex
	held   int        // events held by done entries
	lru    *list.List // of *sharedEntry, most recent first
	byName map[string]*list.Element
	reads  uint64

	mismatched atomic.Uint64 // reads OfferRead refused: events and payloads differ in count
}

// DefaultSharedHistoryEvents bounds a SharedHistory when no bound is
// given: a few hundred SKPs' worth of decoded events, a few megabytes.
const DefaultSharedHistoryEvents = 1 << 14

type sharedEntry struct {
	stream string
	events []Event       // revisions 0..len-1, never modified in place
	ready  chan struct{} // closed when the read in flight is done
	err    error         // of the read in flight, once ready is closed
	loaded bool          // events is valid
}

var _ History = (*SharedHistory)(nil)

// NewSharedHistory returns a SharedHistory over inner that keeps at most
// maxEvents decoded events (DefaultSharedHistoryEvents when ≤ 0).
func NewSharedHistory(inner History, maxEvents int) *SharedHistory {
	if maxEvents <= 0 {
		maxEvents = DefaultSharedHistoryEvents
	}
	return &SharedHistory{inner: inner, max: maxEvents, lru: list.New(), byName: map[string]*list.Element{}}
}

// Reads returns how many reads it asked of the inner History (for tests
// and metrics).
func (h *SharedHistory) Reads() uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.reads
}

// Stream implements History.
func (h *SharedHistory) Stream(ctx context.Context, stream string, upto uint64) ([]Event, error) {
	for {
		h.mu.Lock()
		el := h.byName[stream]
		if el != nil {
			e := el.Value.(*sharedEntry)
			if !e.loaded {
				h.mu.Unlock()
				select {
				case <-e.ready: // the read in flight is done: look again
					continue
				case <-ctx.Done():
					return nil, ctx.Err()
				}
			}
			if upto < uint64(len(e.events)) {
				h.lru.MoveToFront(el)
				out := e.events[: upto+1 : upto+1]
				h.mu.Unlock()
				return out, nil
			}
			// It holds less than asked (or the stream ends before upto):
			// read again below.
		}
		e := &sharedEntry{stream: stream, ready: make(chan struct{})}
		h.put(e)
		h.reads++
		h.mu.Unlock()

		events, err := h.inner.Stream(ctx, stream, upto)

		h.mu.Lock()
		e.err = err
		if err == nil {
			e.events, e.loaded = events[:len(events):len(events)], true
			h.held += len(events)
			h.evict()
		} else if cur := h.byName[stream]; cur != nil && cur.Value == e {
			h.lru.Remove(cur)
			delete(h.byName, stream)
		}
		close(e.ready)
		h.mu.Unlock()
		return events, err
	}
}

// OfferRead is Offer for a whole read of stream as eventlog.Cached's
// ObserveWholeReads hands it over (the envelopes and their decoded
// payloads, side by side): kinerjad passes it as is. A read whose events
// and payloads differ in count is a caller's bug: it is not kept, and it is
// counted (MismatchedReads) rather than discarded unseen.
func (h *SharedHistory) OfferRead(stream string, events []eventstore.Event, payloads []domain.Event) {
	if len(payloads) != len(events) {
		h.mismatched.Add(1)
		return
	}
	past := make([]Event, len(events))
	for i := range events {
		past[i] = Event{Event: events[i], Payload: payloads[i]}
	}
	h.Offer(stream, past)
}

// MismatchedReads returns how many reads OfferRead refused because their
// events and payloads differed in count (for tests and metrics; anything
// but 0 is a bug in the reader that offered them).
func (h *SharedHistory) MismatchedReads() uint64 { return h.mismatched.Load() }

// Offer gives h the past of stream that another authenticated reader of
// the same store read whole, decoded, from revision 0 on (kinerjad's
// command path, eventlog.Cached.ObserveWholeReads): the projections then
// replay it without a read of their own. It is kept unless h already holds
// as much of the stream or a read of it is in flight. events must be
// revisions 0..len-1 of stream, in order; anything else is ignored.
func (h *SharedHistory) Offer(stream string, events []Event) {
	for i, e := range events {
		if e.Stream != stream || e.Revision != uint64(i) {
			return
		}
	}
	if len(events) == 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if el := h.byName[stream]; el != nil {
		if e := el.Value.(*sharedEntry); !e.loaded || len(e.events) >= len(events) {
			return
		}
	}
	e := &sharedEntry{stream: stream, events: events[:len(events):len(events)], ready: make(chan struct{}), loaded: true}
	close(e.ready)
	h.put(e)
	h.held += len(events)
	h.evict()
}

// put makes e the entry of its stream (h.mu held).
func (h *SharedHistory) put(e *sharedEntry) {
	if el := h.byName[e.stream]; el != nil {
		old := el.Value.(*sharedEntry)
		if old.loaded {
			h.held -= len(old.events)
		}
		el.Value = e
		h.lru.MoveToFront(el)
		return
	}
	h.byName[e.stream] = h.lru.PushFront(e)
}

// evict drops the least recently used loaded entries while more than max
// events are held, but never the most recent one (h.mu held).
func (h *SharedHistory) evict() {
	for el := h.lru.Back(); el != nil && h.held > h.max && el != h.lru.Front(); {
		prev := el.Prev()
		if e := el.Value.(*sharedEntry); e.loaded {
			h.held -= len(e.events)
			h.lru.Remove(el)
			delete(h.byName, e.stream)
		}
		el = prev
	}
}
