package projections_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/google/uuid"

	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections"
)

// fakeHistory serves streams of events from memory and counts the reads.
type fakeHistory struct {
	streams map[string][]projections.Event
	reads   int
	err     error
}

func (h *fakeHistory) Stream(_ context.Context, stream string, upto uint64) ([]projections.Event, error) {
	h.reads++
	if h.err != nil {
		return nil, h.err
	}
	evs := h.streams[stream]
	if upto+1 < uint64(len(evs)) {
		evs = evs[:upto+1]
	}
	return evs, nil
}

// ledger makes n events in each of streams, interleaved.
func ledger(streams, n int) (*fakeHistory, []projections.Event) {
	h := &fakeHistory{streams: map[string][]projections.Event{}}
	var all []projections.Event
	for rev := range n {
		for s := range streams {
			name := fmt.Sprintf("s-%d", s)
			ev := projections.Event{Event: eventstore.Event{EventData: eventstore.EventData{ID: uuid.New()}, Stream: name, Revision: uint64(rev),
				Position: eventstore.Position(len(all) + 1)}}
			h.streams[name] = append(h.streams[name], ev)
			all = append(all, ev)
		}
	}
	return h, all
}

// count folds the revisions it sees, so a state tells whether every event
// of its stream was folded once, in order.
func count(st []uint64, ev projections.Event) []uint64 { return append(st, ev.Revision) }

func wantFolded(t *testing.T, st []uint64, rev uint64) {
	t.Helper()
	if uint64(len(st)) != rev+1 {
		t.Fatalf("state = %v, want revisions 0..%d", st, rev)
	}
	for i, r := range st {
		if r != uint64(i) {
			t.Fatalf("state = %v, want revisions 0..%d in order", st, rev)
		}
	}
}

func TestCacheFoldsEachEventOnce(t *testing.T) {
	h, all := ledger(50, 20)
	c := projections.NewCache(h, 100, count)
	for _, ev := range all {
		st, err := c.Advance(context.Background(), ev)
		if err != nil {
			t.Fatal(err)
		}
		wantFolded(t, st, ev.Revision)
	}
	if h.reads != 0 {
		t.Errorf("history read %d times, want none: every stream started at revision 0 and fits", h.reads)
	}
}

func TestCacheEvictsAndRebuilds(t *testing.T) {
	h, all := ledger(50, 20)
	c := projections.NewCache(h, 10, count)
	for _, ev := range all {
		st, err := c.Advance(context.Background(), ev)
		if err != nil {
			t.Fatal(err)
		}
		wantFolded(t, st, ev.Revision)
	}
	if c.Len() > 10 {
		t.Errorf("Len = %d, want at most 10", c.Len())
	}
	if h.reads == 0 || h.reads > len(all) {
		t.Errorf("history read %d times for %d events; want a read per miss", h.reads, len(all))
	}
}

func TestCacheRebuildsAfterRedelivery(t *testing.T) {
	h, all := ledger(1, 5)
	c := projections.NewCache(h, 10, count)
	for _, ev := range all[:4] {
		if _, err := c.Advance(context.Background(), ev); err != nil {
			t.Fatal(err)
		}
	}
	// The batch holding revisions 2 and 3 failed and comes again: the
	// cache is ahead and must rebuild rather than fold 2 twice.
	st, err := c.Advance(context.Background(), all[2])
	if err != nil {
		t.Fatal(err)
	}
	wantFolded(t, st, 2)
	if h.reads != 1 {
		t.Errorf("history read %d times, want 1", h.reads)
	}
	c.Forget(all[0].Stream)
	st, err = c.Advance(context.Background(), all[3])
	if err != nil {
		t.Fatal(err)
	}
	wantFolded(t, st, 3)
	c.Reset()
	if c.Len() != 0 {
		t.Errorf("Len after Reset = %d", c.Len())
	}
}

func TestCacheHistoryErrors(t *testing.T) {
	h, all := ledger(1, 3)
	c := projections.NewCache(h, 10, count)
	h.err = errors.New("unavailable")
	if _, err := c.Advance(context.Background(), all[2]); err == nil || projections.IsPoison(err) {
		t.Errorf("Advance with failing history = %v, want a transient error", err)
	}
	h.err = &projections.PoisonError{Event: all[1].Event, Err: errors.New("undecodable")}
	var p *projections.PoisonError
	if _, err := c.Advance(context.Background(), all[2]); !errors.As(err, &p) || p.Event.ID != all[2].ID {
		t.Errorf("Advance over an undecodable history = %v, want a PoisonError naming the event applied", err)
	}
	h.err = nil
	h.streams[all[0].Stream] = h.streams[all[0].Stream][:1] // the store holds less than the event says
	if _, err := c.Advance(context.Background(), all[2]); err == nil {
		t.Error("Advance over a short history succeeded")
	}
}

// TestCacheBoundedHistory: a BoundedHistory's bound caps every Cache over
// it below the cache's own size (the start-up catch-up's bound), the
// states stay right through the evictions it causes (replays counted),
// a lowered bound empties a fuller cache at its next miss, and a lifted
// bound gives the cache its own size back.
func TestCacheBoundedHistory(t *testing.T) {
	ctx := context.Background()
	h, all := ledger(40, 10)
	bh := &projections.BoundedHistory{History: h}
	bh.SetBound(3)
	c := projections.NewCache(bh, 100, count)
	for _, ev := range all {
		st, err := c.Advance(ctx, ev)
		if err != nil {
			t.Fatal(err)
		}
		wantFolded(t, st, ev.Revision)
		if c.Len() > 3 {
			t.Fatalf("cache holds %d states under a bound of 3", c.Len())
		}
	}
	if bh.Replays() == 0 || uint64(h.reads) != bh.Replays() {
		t.Errorf("replays = %d, history reads = %d: want the evictions' replays, counted", bh.Replays(), h.reads)
	}
	// Lifted: the cache's own size (100) holds all 40 streams again.
	bh.SetBound(0)
	c.Reset()
	for _, ev := range all {
		if _, err := c.Advance(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	if c.Len() != 40 {
		t.Errorf("after the bound was lifted the cache holds %d states, want 40", c.Len())
	}
	// Lowered under what the cache holds: the next miss starts over.
	bh.SetBound(5)
	h2, more := ledger(41, 1)
	bh.History = h2
	if _, err := c.Advance(ctx, more[40]); err != nil {
		t.Fatal(err)
	}
	if c.Len() > 5 {
		t.Errorf("after the bound was lowered to 5 the cache holds %d states", c.Len())
	}
	bh.SetBound(-1)
	if bh.Bound() != 0 {
		t.Errorf("a negative bound = %d, want 0 (none)", bh.Bound())
	}
}

// cyclic makes the events of a cyclic scan: passes rounds over streams
// streams, each visited once a pass, in the same order (the seed's later
// phases over every SKP of a province, docs/benchmarks.md §67).
func cyclic(streams, passes int) (*fakeHistory, []projections.Event) { return ledger(streams, passes) }

// TestCacheGrowsUnderCyclicScan: a cyclic scan over more streams than a
// cache holds is CLOCK's worst case, a miss (a replay of the stream) at
// every event. A growing cache notices the misses on streams it evicted
// and grows: it replays each stream evicted in the first pass once, in
// the second, and never again; the states stay those of a fold of every
// event once. A fixed cache of the same size replays at every event.
func TestCacheGrowsUnderCyclicScan(t *testing.T) {
	ctx := context.Background()
	const streams, passes, size = 300, 12, 100
	run := func(c *projections.Cache[[]uint64], h *fakeHistory, all []projections.Event) {
		t.Helper()
		for _, ev := range all {
			st, err := c.Advance(ctx, ev)
			if err != nil {
				t.Fatal(err)
			}
			wantFolded(t, st, ev.Revision)
		}
	}
	h, all := cyclic(streams, passes)
	run(projections.NewCache(h, size, count), h, all)
	if want := streams * (passes - 1); h.reads != want {
		t.Errorf("a fixed cache of %d over a cyclic scan of %d streams: %d replays, want %d (one per event past the first pass)", size, streams, h.reads, want)
	}

	h, all = cyclic(streams, passes)
	c := projections.NewGrowingCache(h, size, 1000, count)
	run(c, h, all)
	if want := streams - size; h.reads != want {
		t.Errorf("a growing cache over a cyclic scan of %d streams: %d replays, want %d (the first pass's evictions, once)", streams, h.reads, want)
	}
	if c.Len() != streams || c.Size() != streams {
		t.Errorf("grown cache holds %d of a size %d, want %d of %d", c.Len(), c.Size(), streams, streams)
	}
	c.Reset()
	if c.Size() != size {
		t.Errorf("Reset: size %d, want the size given, %d", c.Size(), size)
	}

	// At its maximum it grows no more and holds no more; the states stay
	// right.
	h, all = cyclic(streams, passes)
	c = projections.NewGrowingCache(h, size, 200, count)
	run(c, h, all)
	if c.Len() > 200 || c.Size() != 200 {
		t.Errorf("a cache that may grow to 200 holds %d, size %d", c.Len(), c.Size())
	}
	if h.reads <= streams-size {
		t.Errorf("a cache capped under the scan replayed only %d times", h.reads)
	}

	// Under a BoundedHistory's bound it does not grow past the bound.
	h, all = cyclic(streams, passes)
	bh := &projections.BoundedHistory{History: h}
	bh.SetBound(50)
	c = projections.NewGrowingCache(bh, size, 1000, count)
	run(c, h, all)
	if c.Len() > 50 {
		t.Errorf("under a bound of 50 a growing cache holds %d", c.Len())
	}
	// Lifted: it grows again from its own size.
	bh.SetBound(0)
	h2, more := cyclic(streams, passes)
	bh.History = h2
	run(c, h2, more)
	if c.Len() != streams {
		t.Errorf("bound lifted: the cache holds %d, want %d", c.Len(), streams)
	}

	// A cache given its own size grows when its BoundedHistory lets it
	// (kinerjad's --projection-cache-max-skps), and not otherwise.
	h, all = cyclic(streams, passes)
	bh = &projections.BoundedHistory{History: h}
	c = projections.NewCache(bh, size, count)
	run(c, h, all)
	if c.Len() != size {
		t.Errorf("a fixed cache grew to %d without SetGrowTo", c.Len())
	}
	h, all = cyclic(streams, passes)
	bh.History = h
	bh.SetGrowTo(1000)
	c.Reset()
	run(c, h, all)
	if want := streams - size; h.reads != want || c.Len() != streams {
		t.Errorf("SetGrowTo(1000): %d replays, %d held; want %d, %d", h.reads, c.Len(), want, streams)
	}
}

// TestCacheDefaultSizeDoesNotGrow: a cache of the default size (size ≤ 0,
// as every read model, the deadline manager and the standalone projector
// get by default) does not grow by itself, even when the traffic revisits
// streams it evicted (random traffic over more SKPs than it holds would
// grow it for a process's life); over a BoundedHistory whose SetGrowTo
// lets it (a catch-up, a batch rebuild) it grows past DefaultCacheSize up
// to MaxCacheSize, so that a province's rebuild does not replay a stream
// per event.
func TestCacheDefaultSizeDoesNotGrow(t *testing.T) {
	if testing.Short() {
		t.Skip("folds 3 × 70,000 events twice")
	}
	ctx := context.Background()
	streams := projections.DefaultCacheSize + 4000
	run := func(h projections.History, all []projections.Event) *projections.Cache[int] {
		c := projections.NewCache(h, 0, func(n int, _ projections.Event) int { return n + 1 })
		for _, ev := range all {
			n, err := c.Advance(ctx, ev)
			if err != nil {
				t.Fatal(err)
			}
			if uint64(n) != ev.Revision+1 {
				t.Fatalf("%s@%d: state %d, want %d", ev.Stream, ev.Revision, n, ev.Revision+1)
			}
		}
		return c
	}
	h, all := cyclic(streams, 3)
	if c := run(h, all); c.Len() != projections.DefaultCacheSize || c.Size() != projections.DefaultCacheSize {
		t.Errorf("default cache, growth not enabled: holds %d, size %d, want %d", c.Len(), c.Size(), projections.DefaultCacheSize)
	}
	h, all = cyclic(streams, 3)
	bh := &projections.BoundedHistory{History: h}
	bh.SetGrowTo(projections.MaxCacheSize)
	c := run(bh, all)
	if want := streams - projections.DefaultCacheSize; h.reads != want {
		t.Errorf("default cache, growth enabled, over a cyclic scan of %d streams: %d replays, want %d", streams, h.reads, want)
	}
	if c.Len() != streams {
		t.Errorf("default cache, growth enabled, holds %d, want %d", c.Len(), streams)
	}
}

// TestBoundedHistoryShrink: caches that grew during a catch-up are held
// to the serving bound at the switch to serving: BoundedHistory.Shrink
// shrinks every cache built over it at once (not only the one whose next
// event comes), each keeps the states it used last, and those are still
// hits (no replay). A cache whose bound is lowered without Shrink evicts
// down to it at its next event, keeping the rest, instead of starting
// over.
func TestBoundedHistoryShrink(t *testing.T) {
	ctx := context.Background()
	const streams, passes, size, serving = 300, 3, 10, 40
	h, all := cyclic(streams, passes)
	bh := &projections.BoundedHistory{History: h}
	bh.SetGrowTo(1000)
	a := projections.NewCache(bh, size, count)
	b := projections.NewCache(bh, 0, count)
	idle := projections.NewCache(bh, size, count) // sees no event after the switch
	for _, ev := range all {
		for _, c := range []*projections.Cache[[]uint64]{a, b, idle} {
			if _, err := c.Advance(ctx, ev); err != nil {
				t.Fatal(err)
			}
		}
	}
	if a.Len() != streams || idle.Len() != streams {
		t.Fatalf("caches did not grow: %d, %d", a.Len(), idle.Len())
	}
	// Serving.
	bh.SetGrowTo(0)
	bh.SetBound(serving)
	bh.Shrink(serving)
	if n, held := bh.Held(); n != 3 || held != 3*serving {
		t.Errorf("after Shrink(%d): %d caches hold %d states, want 3 holding %d", serving, n, held, 3*serving)
	}
	for _, c := range []*projections.Cache[[]uint64]{a, b, idle} {
		if c.Len() > serving || c.Size() > serving {
			t.Errorf("after Shrink(%d): a cache holds %d, size %d", serving, c.Len(), c.Size())
		}
	}
	// The kept ones are still hits.
	h2, more := cyclic(streams, passes+1)
	bh.History = h2
	warm(t, a, h2, more[passes*streams:], serving)

	// Lowered without Shrink: the next event evicts down to the bound,
	// keeping the rest warm (not 1 state and a replay per stream after).
	h, all = cyclic(streams, passes)
	bh = &projections.BoundedHistory{History: h}
	bh.SetGrowTo(1000)
	c := projections.NewCache(bh, size, count)
	for _, ev := range all {
		if _, err := c.Advance(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	bh.SetGrowTo(0)
	bh.SetBound(serving)
	h2, more = cyclic(streams, passes+1)
	bh.History = h2
	next := more[passes*streams:]
	if _, err := c.Advance(ctx, next[0]); err != nil {
		t.Fatal(err)
	}
	if c.Len() != serving {
		t.Errorf("bound lowered to %d: after the next event the cache holds %d, want %d", serving, c.Len(), serving)
	}
	warm(t, c, h2, next[1:], serving-1)
}

// warm advances c through the events of next whose streams it holds and
// checks there are want of them and that none replays its stream.
func warm(t *testing.T, c *projections.Cache[[]uint64], h *fakeHistory, next []projections.Event, want int) {
	t.Helper()
	reads, held := h.reads, 0
	for _, ev := range next {
		if !c.Holds(ev.Stream) {
			continue
		}
		held++
		st, err := c.Advance(context.Background(), ev)
		if err != nil {
			t.Fatal(err)
		}
		wantFolded(t, st, ev.Revision)
	}
	if held < want {
		t.Errorf("the cache kept %d of the streams, want %d", held, want)
	}
	if h.reads != reads {
		t.Errorf("the %d states the cache kept replayed %d streams, want none", held, h.reads-reads)
	}
}
