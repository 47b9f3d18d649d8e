package pgreadmodel

import (
	"errors"
	"iter"
	"sync/atomic"
	"testing"

	"github.com/kinerja-ledger/kinerja/eventstore"
)

// numbered yields n events, positions 1..n, then err when set; stopped
// records whether its iteration ended early and running whether it is
// still inside it.
func numbered(n int, err error, stopped, running *atomic.Bool) iter.Seq2[eventstore.Event, error] {
	return func(yield func(eventstore.Event, error) bool) {
		running.Store(true)
		defer running.Store(false)
		for i := 1; i <= n; i++ {
			if !yield(eventstore.Event{Position: eventstore.Position(i)}, nil) {
				stopped.Store(true)
				return
			}
		}
		if err != nil {
			yield(eventstore.Event{}, err)
		}
	}
}

// TestReadAheadYieldsTheSameRead: the read ahead yields every event of the
// inner read, in order, then its error; a reader that stops early stops
// the inner read, and no goroutine is left inside it when the iteration
// returns.
func TestReadAheadYieldsTheSameRead(t *testing.T) {
	boom := errors.New("boom")
	for _, n := range []int{0, 1, readAheadChunk - 1, readAheadChunk, readAheadChunk*readAheadChunks*3 + 7} {
		for _, want := range []error{nil, boom} {
			var stopped, running atomic.Bool
			next := eventstore.Position(1)
			var got error
			for ev, err := range aheadOf(numbered(n, want, &stopped, &running)) {
				if err != nil {
					got = err
					continue
				}
				if ev.Position != next {
					t.Fatalf("n=%d: event at position %d, want %d", n, ev.Position, next)
				}
				next++
			}
			if int(next-1) != n || got != want {
				t.Errorf("n=%d: read %d events and error %v, want %d and %v", n, next-1, got, n, want)
			}
			if running.Load() {
				t.Errorf("n=%d: the inner read still runs after the iteration returned", n)
			}
		}
	}
	// A reader that stops early, at any point of the read ahead.
	for _, at := range []int{1, readAheadChunk, readAheadChunk*readAheadChunks + 1} {
		var stopped, running atomic.Bool
		read := 0
		for range aheadOf(numbered(readAheadChunk*readAheadChunks*4, nil, &stopped, &running)) {
			if read++; read == at {
				break
			}
		}
		if running.Load() || !stopped.Load() {
			t.Errorf("stopped after %d: the inner read still runs (%v) or was not stopped (%v)", at, running.Load(), !stopped.Load())
		}
	}
}
