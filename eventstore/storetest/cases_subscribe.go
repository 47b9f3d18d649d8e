package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kinerja-ledger/kinerja/eventstore"
)

// collector runs a subscription in the background and records what it
// delivers.
type collector struct {
	mu     sync.Mutex
	events []eventstore.Event
	err    error
	done   chan struct{}
	cancel context.CancelFunc
	more   chan struct{}
}

func subscribe(t *testing.T, s eventstore.Store, opts eventstore.SubscribeOptions) *collector {
	t.Helper()
	c, cancel := context.WithCancel(ctx(t))
	col := &collector{done: make(chan struct{}), cancel: cancel, more: make(chan struct{}, 1)}
	go func() {
		defer close(col.done)
		for e, err := range s.SubscribeAll(c, opts) {
			col.mu.Lock()
			if err != nil {
				col.err = err
				col.mu.Unlock()
				return
			}
			col.events = append(col.events, e)
			col.mu.Unlock()
			select {
			case col.more <- struct{}{}:
			default:
			}
		}
		col.mu.Lock()
		col.err = errors.New("subscription ended without an error")
		col.mu.Unlock()
	}()
	t.Cleanup(func() { col.stop() })
	return col
}

// waitFor waits until n events were delivered or the timeout passes.
func (c *collector) waitFor(t *testing.T, n int, timeout time.Duration) []eventstore.Event {
	t.Helper()
	deadline := time.After(timeout)
	for {
		c.mu.Lock()
		got, err := len(c.events), c.err
		c.mu.Unlock()
		if err != nil {
			t.Fatalf("subscription ended: %v (after %d events, waiting for %d)", err, got, n)
		}
		if got >= n {
			return c.snapshot()
		}
		select {
		case <-c.more:
		case <-time.After(20 * time.Millisecond):
		case <-deadline:
			t.Fatalf("subscription delivered %d events in %v, want %d", got, timeout, n)
		}
	}
}

func (c *collector) snapshot() []eventstore.Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]eventstore.Event(nil), c.events...)
}

// stop cancels the subscription and returns the error it ended with.
func (c *collector) stop() error {
	c.cancel()
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
		return errors.New("subscription did not end within 10s of cancellation")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// sameSequence compares delivered events with a ReadAll by position and ID.
func sameSequence(t *testing.T, want, got []eventstore.Event) {
	t.Helper()
	type key struct {
		Pos eventstore.Position
		ID  string
	}
	keys := func(es []eventstore.Event) []key {
		out := make([]key, len(es))
		for i, e := range es {
			out[i] = key{e.Position, e.ID.String()}
		}
		return out
	}
	if diff := cmp.Diff(keys(want), keys(got)); diff != "" {
		t.Errorf("delivered sequence differs from ReadAll (-readall +delivered):\n%s", diff)
	}
}

func subscribeCases() []testCase {
	return []testCase{
		{"subscribe/catch_up_then_live", func(t *testing.T, h *harness) {
			s := h.store()
			mustAppend(t, s, "skp-1", eventstore.NoStream, evs(5)...)
			col := subscribe(t, s, eventstore.SubscribeOptions{})
			col.waitFor(t, 5, 10*time.Second)
			mustAppend(t, s, "skp-2", eventstore.NoStream, evs(2)...)
			mustAppend(t, s, "skp-1", eventstore.Exact(4), evs(1)...)
			got := col.waitFor(t, 8, 10*time.Second)
			sameSequence(t, mustReadAll(t, s, eventstore.ReadAllOptions{}), got)
		}},
		{"subscribe/live_latency_is_short", func(t *testing.T, h *harness) {
			// A live event arrives well within the idle poll interval: the
			// subscription is woken, not polling.
			s := h.store()
			col := subscribe(t, s, eventstore.SubscribeOptions{})
			time.Sleep(50 * time.Millisecond)
			for i := range 5 {
				mustAppend(t, s, "skp-1", eventstore.Any, evs(1)...)
				col.waitFor(t, i+1, 900*time.Millisecond)
			}
		}},
		{"subscribe/from_checkpoint_is_exclusive", func(t *testing.T, h *harness) {
			s := h.store()
			mustAppend(t, s, "skp-1", eventstore.NoStream, evs(3)...)
			res := mustAppend(t, s, "skp-2", eventstore.NoStream, evs(2)...)
			mustAppend(t, s, "skp-3", eventstore.NoStream, evs(1)...)
			col := subscribe(t, s, eventstore.SubscribeOptions{After: res.Position})
			col.waitFor(t, 1, 10*time.Second)
			time.Sleep(50 * time.Millisecond)
			got := col.snapshot()
			if len(got) != 1 || got[0].Stream != "skp-3" {
				t.Errorf("subscription after skp-2 delivered %v, want only skp-3", got)
			}
		}},
		{"subscribe/filter", func(t *testing.T, h *harness) {
			s := h.store()
			mustAppend(t, s, "skp-1", eventstore.NoStream, ev("skp.drafted.v1", `{}`))
			mustAppend(t, s, "unit-1", eventstore.NoStream, ev("unit.registered.v1", `{}`))
			col := subscribe(t, s, eventstore.SubscribeOptions{Filter: eventstore.Filter{StreamPrefixes: []string{"unit-"}}})
			mustAppend(t, s, "skp-2", eventstore.NoStream, ev("skp.drafted.v1", `{}`))
			mustAppend(t, s, "unit-2", eventstore.NoStream, ev("unit.registered.v1", `{}`))
			got := col.waitFor(t, 2, 10*time.Second)
			for _, e := range got {
				if e.Stream[:5] != "unit-" {
					t.Errorf("filtered subscription delivered %s", e.Stream)
				}
			}
			if len(got) != 2 {
				t.Errorf("delivered %d events, want 2", len(got))
			}
		}},
		{"subscribe/cancel_ends_with_context_error", func(t *testing.T, h *harness) {
			s := h.store()
			col := subscribe(t, s, eventstore.SubscribeOptions{})
			time.Sleep(20 * time.Millisecond)
			if err := col.stop(); !errors.Is(err, context.Canceled) {
				t.Errorf("cancelled subscription ended with %v, want context.Canceled", err)
			}
		}},
		{"subscribe/resume_after_restart", func(t *testing.T, h *harness) {
			s := h.store()
			mustAppend(t, s, "skp-1", eventstore.NoStream, evs(3)...)
			col := subscribe(t, s, eventstore.SubscribeOptions{})
			got := col.waitFor(t, 3, 10*time.Second)
			checkpoint := got[2].Position
			col.stop()
			s = h.reopen()
			mustAppend(t, s, "skp-1", eventstore.Exact(2), evs(2)...)
			col = subscribe(t, s, eventstore.SubscribeOptions{After: checkpoint})
			got = col.waitFor(t, 2, 10*time.Second)
			if diff := cmp.Diff([]uint64{3, 4}, revisions(got)); diff != "" {
				t.Errorf("resumed subscription (-want +got):\n%s", diff)
			}
		}},
		{"subscribe/many_subscribers_same_order", func(t *testing.T, h *harness) {
			s := h.store()
			var cols []*collector
			for range 4 {
				cols = append(cols, subscribe(t, s, eventstore.SubscribeOptions{}))
			}
			for i := range 30 {
				mustAppend(t, s, fmt.Sprintf("s-%d", i%7), eventstore.Any, evs(1+i%2)...)
			}
			all := mustReadAll(t, s, eventstore.ReadAllOptions{})
			for _, c := range cols {
				sameSequence(t, all, c.waitFor(t, len(all), 20*time.Second))
			}
		}},
		{"subscribe/abandoned_subscriber_does_not_block_writers", func(t *testing.T, h *harness) {
			s := h.store()
			mustAppend(t, s, "skp-1", eventstore.NoStream, evs(3)...)
			c, cancel := context.WithCancel(ctx(t))
			for _, err := range s.SubscribeAll(c, eventstore.SubscribeOptions{}) {
				if err != nil {
					t.Fatal(err)
				}
				break
			}
			cancel()
			done := make(chan struct{})
			go func() {
				defer close(done)
				for range 20 {
					mustAppend(t, s, "skp-1", eventstore.Any, evs(1)...)
				}
			}()
			select {
			case <-done:
			case <-time.After(20 * time.Second):
				t.Fatal("appends blocked after a subscriber stopped reading")
			}
		}},
		{"subscribe/gap_free_under_concurrent_writers_and_late_commits", func(t *testing.T, h *harness) {
			s := h.store()
			col := subscribe(t, s, eventstore.SubscribeOptions{})
			var late []func() error
			if h.b.LateCommit != nil {
				// Open transactions that commit only after many later appends
				// have committed: a reader that orders by an insert-time
				// sequence would skip them.
				for i := range 3 {
					late = append(late, h.b.LateCommit(t, s, fmt.Sprintf("late-%d", i), ev("test.late.v1", `{}`)))
				}
			}
			const writers, each = 16, 40
			var wg sync.WaitGroup
			for w := range writers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					stream := fmt.Sprintf("w-%02d", w)
					for i := range each {
						exp := eventstore.Exact(uint64(i - 1))
						if i == 0 {
							exp = eventstore.NoStream
						}
						if _, err := s.Append(ctx(t), stream, exp, evs(1)...); err != nil {
							t.Errorf("Append(%s) = %v", stream, err)
							return
						}
						if w == 0 && i == each/2 && len(late) > 0 {
							// Commit one late transaction in the middle of the load.
							if err := late[0](); err != nil {
								t.Errorf("late commit: %v", err)
							}
						}
					}
				}()
			}
			wg.Wait()
			for _, commit := range late[min(1, len(late)):] {
				if err := commit(); err != nil {
					t.Fatalf("late commit: %v", err)
				}
			}
			total := writers*each + len(late)
			col.waitFor(t, total, 60*time.Second)
			time.Sleep(100 * time.Millisecond)
			got := col.snapshot()
			all := mustReadAll(t, s, eventstore.ReadAllOptions{})
			if len(all) != total {
				t.Fatalf("ReadAll = %d events, want %d", len(all), total)
			}
			sameSequence(t, all, got)
		}},
	}
}
