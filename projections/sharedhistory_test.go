package projections_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections"
)

// gatedHistory is a fakeHistory safe for concurrent use whose reads can be
// held until gate is closed.
type gatedHistory struct {
	mu    sync.Mutex
	inner *fakeHistory
	gate  chan struct{} // nil: reads do not wait
	reads atomic.Int64
}

func (g *gatedHistory) Stream(ctx context.Context, stream string, upto uint64) ([]projections.Event, error) {
	g.reads.Add(1)
	if g.gate != nil {
		<-g.gate
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.inner.Stream(ctx, stream, upto)
}

// TestSharedHistoryOneReadForEveryProjection: six projections' caches
// that meet a stream's new event after a start (nothing cached) replay
// its past from one read, not six. Without SharedHistory each Cache reads
// the stream itself (the first sub-test shows the six reads).
func TestSharedHistoryOneReadForEveryProjection(t *testing.T) {
	const projs = 6
	run := func(t *testing.T, h projections.History, inner *gatedHistory) int64 {
		_, all := ledger(3, 40)
		// The new event: the last of stream s-1 (revision 39); every
		// cache starts empty, as after a start with its caches dropped.
		var ev projections.Event
		for _, e := range all {
			if e.Stream == "s-1" {
				ev = e
			}
		}
		var wg sync.WaitGroup
		for range projs {
			c := projections.NewCache(h, 0, count)
			wg.Add(1)
			go func() {
				defer wg.Done()
				st, err := c.Advance(t.Context(), ev)
				if err != nil {
					t.Error(err)
					return
				}
				if uint64(len(st)) != ev.Revision+1 {
					t.Errorf("state holds %d revisions, want %d", len(st), ev.Revision+1)
				}
				for i, r := range st {
					if r != uint64(i) {
						t.Errorf("state = %v, want revisions 0..%d in order", st, ev.Revision)
						break
					}
				}
			}()
		}
		time.Sleep(20 * time.Millisecond) // let them all ask before the read ends
		close(inner.gate)
		wg.Wait()
		return inner.reads.Load()
	}
	t.Run("each its own history", func(t *testing.T) {
		fh, _ := ledger(3, 40)
		g := &gatedHistory{inner: fh, gate: make(chan struct{})}
		if n := run(t, g, g); n != projs {
			t.Errorf("%d reads, want %d (one per projection): the baseline this type removes", n, projs)
		}
	})
	t.Run("shared", func(t *testing.T) {
		fh, _ := ledger(3, 40)
		g := &gatedHistory{inner: fh, gate: make(chan struct{})}
		sh := projections.NewSharedHistory(g, 0)
		if n := run(t, sh, g); n != 1 {
			t.Errorf("%d reads of the store for %d projections, want 1", n, projs)
		}
		if sh.Reads() != 1 {
			t.Errorf("Reads() = %d, want 1", sh.Reads())
		}
	})
}

// TestSharedHistoryPrefixes: an ask up to a revision it holds is served
// without a read, cut to that revision (and the caller cannot append into
// what another holds); an ask beyond it reads again.
func TestSharedHistoryPrefixes(t *testing.T) {
	fh, _ := ledger(2, 10)
	g := &gatedHistory{inner: fh}
	sh := projections.NewSharedHistory(g, 0)
	ctx := t.Context()
	evs, err := sh.Stream(ctx, "s-0", 7)
	if err != nil || len(evs) != 8 {
		t.Fatalf("Stream(s-0, 7) = %d events, %v; want 8", len(evs), err)
	}
	short, err := sh.Stream(ctx, "s-0", 3)
	if err != nil || len(short) != 4 || short[3].Revision != 3 {
		t.Fatalf("Stream(s-0, 3) = %d events, %v; want revisions 0..3", len(short), err)
	}
	if cap(short) != 4 {
		t.Errorf("cap = %d, want 4: an append by one projection must not write into the shared events", cap(short))
	}
	if n := g.reads.Load(); n != 1 {
		t.Errorf("%d reads, want 1: revision 3 is held", n)
	}
	if evs, err := sh.Stream(ctx, "s-0", 9); err != nil || len(evs) != 10 {
		t.Fatalf("Stream(s-0, 9) = %d events, %v; want 10", len(evs), err)
	}
	if n := g.reads.Load(); n != 2 {
		t.Errorf("%d reads, want 2: revisions 8 and 9 were not held", n)
	}
	// A stream that ends before the ask is read again next time (a
	// projection ahead of the store is an error the Cache reports).
	if evs, err := sh.Stream(ctx, "s-1", 20); err != nil || len(evs) != 10 {
		t.Fatalf("Stream(s-1, 20) = %d events, %v; want the 10 there are", len(evs), err)
	}
	if _, err := sh.Stream(ctx, "s-1", 20); err != nil {
		t.Fatal(err)
	}
	if n := g.reads.Load(); n != 4 {
		t.Errorf("%d reads, want 4: an ask beyond the stream's end is not answered from what was held", n)
	}
}

// TestSharedHistoryErrorsNotKept: a failed read (transient or poison) is
// not remembered; the next ask reads again and gets the store's answer.
func TestSharedHistoryErrorsNotKept(t *testing.T) {
	fh, _ := ledger(1, 5)
	boom := errors.New("store down")
	fh.err = boom
	g := &gatedHistory{inner: fh}
	sh := projections.NewSharedHistory(g, 0)
	if _, err := sh.Stream(t.Context(), "s-0", 3); !errors.Is(err, boom) {
		t.Fatalf("Stream = %v, want the store's error", err)
	}
	g.mu.Lock()
	fh.err = nil
	g.mu.Unlock()
	evs, err := sh.Stream(t.Context(), "s-0", 3)
	if err != nil || len(evs) != 4 {
		t.Fatalf("Stream after the store recovered = %d events, %v; want 4", len(evs), err)
	}
	if n := g.reads.Load(); n != 2 {
		t.Errorf("%d reads, want 2", n)
	}
}

// TestSharedHistoryWaiterCancelled: an ask waiting for another's read in
// flight ends with its own context; the read goes on for the one that
// started it.
func TestSharedHistoryWaiterCancelled(t *testing.T) {
	fh, _ := ledger(1, 5)
	g := &gatedHistory{inner: fh, gate: make(chan struct{})}
	sh := projections.NewSharedHistory(g, 0)
	first := make(chan error, 1)
	go func() {
		_, err := sh.Stream(context.Background(), "s-0", 4)
		first <- err
	}()
	for g.reads.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := sh.Stream(ctx, "s-0", 4); !errors.Is(err, context.Canceled) {
		t.Errorf("waiting ask = %v, want context.Canceled", err)
	}
	close(g.gate)
	if err := <-first; err != nil {
		t.Errorf("the read in flight = %v", err)
	}
}

// TestSharedHistoryBounded: it holds at most its bound of events (the
// most recent stream is kept even when it alone exceeds it), dropping the
// least recently used streams first.
func TestSharedHistoryBounded(t *testing.T) {
	fh, _ := ledger(10, 10) // 10 streams of 10 events
	g := &gatedHistory{inner: fh}
	sh := projections.NewSharedHistory(g, 25)
	ctx := t.Context()
	for i := range 10 {
		if _, err := sh.Stream(ctx, fmt.Sprintf("s-%d", i), 9); err != nil {
			t.Fatal(err)
		}
	}
	reads := g.reads.Load()
	// The last two streams (20 events) are held, the first ones are not.
	for _, s := range []string{"s-9", "s-8"} {
		if _, err := sh.Stream(ctx, s, 9); err != nil {
			t.Fatal(err)
		}
	}
	if n := g.reads.Load() - reads; n != 0 {
		t.Errorf("%d reads for the two most recent streams, want 0", n)
	}
	if _, err := sh.Stream(ctx, "s-0", 9); err != nil {
		t.Fatal(err)
	}
	if n := g.reads.Load() - reads; n != 1 {
		t.Errorf("%d reads for the oldest stream, want 1: it was evicted", n)
	}
	small := projections.NewSharedHistory(g, 5)
	for range 2 {
		if _, err := small.Stream(ctx, "s-3", 9); err != nil {
			t.Fatal(err)
		}
	}
	if small.Reads() != 1 {
		t.Errorf("a stream over the bound: %d reads, want 1 (the most recent stream stays)", small.Reads())
	}
}

// TestSharedHistoryOffer: a stream offered whole (the command path's read)
// answers the projections without a read; an offer that is not revisions
// 0..n-1 of the stream, or holds less than is held, changes nothing.
func TestSharedHistoryOffer(t *testing.T) {
	fh, _ := ledger(2, 10)
	g := &gatedHistory{inner: fh}
	sh := projections.NewSharedHistory(g, 0)
	ctx := t.Context()
	sh.Offer("s-0", fh.streams["s-0"][:6])
	if evs, err := sh.Stream(ctx, "s-0", 5); err != nil || len(evs) != 6 || g.reads.Load() != 0 {
		t.Fatalf("after an offer: %d events, %v, %d reads; want 6 events and no read", len(evs), err, g.reads.Load())
	}
	sh.Offer("s-1", fh.streams["s-1"][1:5]) // not from revision 0
	sh.Offer("s-1", fh.streams["s-0"][:5])  // another stream's events
	sh.Offer("s-0", fh.streams["s-0"][:3])  // less than held
	if _, err := sh.Stream(ctx, "s-1", 3); err != nil {
		t.Fatal(err)
	}
	if n := g.reads.Load(); n != 1 {
		t.Errorf("%d reads of s-1, want 1: malformed offers are ignored", n)
	}
	if evs, err := sh.Stream(ctx, "s-0", 5); err != nil || len(evs) != 6 || g.reads.Load() != 1 {
		t.Errorf("s-0 after a shorter offer: %d events, %v, %d reads", len(evs), err, g.reads.Load())
	}
}

// TestSharedHistoryOfferReadMismatched: a whole read whose events and
// payloads differ in count is not kept, and it is counted, not discarded
// unseen.
func TestSharedHistoryOfferReadMismatched(t *testing.T) {
	fh, _ := ledger(1, 4)
	g := &gatedHistory{inner: fh}
	sh := projections.NewSharedHistory(g, 0)
	past := fh.streams["s-0"]
	events := make([]eventstore.Event, len(past))
	payloads := make([]domain.Event, len(past))
	for i, e := range past {
		events[i], payloads[i] = e.Event, e.Payload
	}
	sh.OfferRead("s-0", events, payloads[:len(payloads)-1])
	if n := sh.MismatchedReads(); n != 1 {
		t.Errorf("MismatchedReads = %d after a read with one payload short, want 1", n)
	}
	if _, err := sh.Stream(t.Context(), "s-0", uint64(len(past)-1)); err != nil || g.reads.Load() != 1 {
		t.Errorf("the mismatched read was kept (%d reads of the inner history, %v)", g.reads.Load(), err)
	}
	sh.OfferRead("s-0", events, payloads)
	if n := sh.MismatchedReads(); n != 1 {
		t.Errorf("MismatchedReads = %d after a well-formed read, want still 1", n)
	}
}
