package pgreadmodel

import (
	"context"
	"iter"
	"sync"

	"github.com/kinerja-ledger/kinerja/eventstore"
)

// readAhead is a store whose global reads run the inner read (the store's
// query, the authenticator's chain checks, a covered rebuild's root) on a
// goroutine of their own, up to readAheadChunks chunks of readAheadChunk
// events ahead of the reader. A rebuild's catch-up reads a batch, then
// waits while every Sink applies it: without it the read of the next batch
// waited too, and the two never overlapped (the wall clock of an idle
// machine; the CPU is the same).
type readAhead struct {
	eventstore.Store
}

const (
	readAheadChunk  = 512
	readAheadChunks = 16
)

func (r readAhead) ReadAll(ctx context.Context, opts eventstore.ReadAllOptions) iter.Seq2[eventstore.Event, error] {
	return aheadOf(r.Store.ReadAll(ctx, opts))
}

// aheadOf returns inner read ahead on a goroutine. The goroutine has ended
// by the time the returned sequence's iteration returns, however it ends
// (inner exhausted, an error, the reader stopping early): inner is then
// stopped as the reader's break would stop it.
func aheadOf(inner iter.Seq2[eventstore.Event, error]) iter.Seq2[eventstore.Event, error] {
	return func(yield func(eventstore.Event, error) bool) {
		type chunk struct {
			evs []eventstore.Event
			err error
		}
		ch := make(chan chunk, readAheadChunks)
		done := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() {
			defer close(ch)
			send := func(c chunk) bool {
				select {
				case ch <- c:
					return true
				case <-done:
					return false
				}
			}
			buf := make([]eventstore.Event, 0, readAheadChunk)
			for ev, err := range inner {
				if err != nil {
					send(chunk{evs: buf, err: err})
					return
				}
				if buf = append(buf, ev); len(buf) == cap(buf) {
					if !send(chunk{evs: buf}) {
						return
					}
					buf = make([]eventstore.Event, 0, readAheadChunk)
				}
			}
			if len(buf) > 0 {
				send(chunk{evs: buf})
			}
		})
		defer func() {
			close(done)
			wg.Wait()
		}()
		for c := range ch {
			for _, ev := range c.evs {
				if !yield(ev, nil) {
					return
				}
			}
			if c.err != nil {
				yield(eventstore.Event{}, c.err)
				return
			}
		}
	}
}
