package eventstore

import (
	"context"
	"iter"
	"runtime"
	"sync"
)

// Read-ahead signature verification. A global authenticated read (a
// projection rebuild, a start-up catch-up) spends most of its CPU in
// Ed25519 verification (one per append: in a seeded agency nearly one per
// event, ≈ 70 % of a PostgreSQL rebuild's client CPU), on the one goroutine
// that also reads the store and feeds the projections, so that reading,
// verifying and applying never overlap and a second core is left idle.
//
// preverified reads the feed ahead of the Authenticator in a goroutine, in
// chunks, and verifies each chunk's signed events on up to GOMAXPROCS
// workers through the keyring (Keyring.Verify, which remembers each
// signature that verifies). It then yields the events unchanged, in the
// order read, each chunk once its verifications are done. It decides
// nothing: the Authenticator still checks every chain link, every
// signature's place at the end of its append, and calls Keyring.Verify for
// each signed event, which finds a signature verified here (the same hash,
// key ID and signature bytes, the key still trusted) or, for one that
// failed or was forgotten, verifies it again and refuses it. So a read
// authenticates exactly what it did without the read-ahead.

const (
	// preverifyChunk is the number of events verified as one job.
	preverifyChunk = 256
	// preverifyAhead is the number of chunks read ahead of the consumer:
	// 16 × 256 = 4,096 events, far below the verified signatures a
	// Keyring remembers (maxVerified), so that what is verified ahead is
	// still remembered when the Authenticator asks.
	preverifyAhead = 16
	// preverifyMinLimit: a read limited to fewer events is not read ahead.
	preverifyMinLimit = preverifyChunk * preverifyAhead
)

type preChunk struct {
	evs  []Event
	err  error         // the feed's error after evs (ends the feed)
	done chan struct{} // closed once evs' signatures were tried
}

// preverified returns the events of read(ctx) read ahead, their signatures
// verified into keys (see above). Ending the iteration early cancels the
// read (through the ctx read gets) and waits for the read-ahead to stop.
func preverified(ctx context.Context, keys *Keyring, read func(context.Context) iter.Seq2[Event, error]) iter.Seq2[Event, error] {
	return func(yield func(Event, error) bool) {
		parent := ctx
		ctx, cancel := context.WithCancel(ctx)
		events := read(ctx)
		var wg sync.WaitGroup
		defer func() {
			cancel()
			wg.Wait()
		}()
		chunks := make(chan *preChunk, preverifyAhead)
		jobs := make(chan *preChunk, preverifyAhead)
		workers := max(1, runtime.GOMAXPROCS(0))
		for range workers {
			wg.Go(func() {
				for c := range jobs {
					for _, ev := range c.evs {
						if !ev.Signature.IsZero() {
							_ = keys.Verify(ev.Hash, ev.Signature) // the Authenticator decides
						}
					}
					close(c.done)
				}
			})
		}
		wg.Go(func() {
			defer close(chunks)
			defer close(jobs)
			send := func(c *preChunk) bool {
				select {
				case chunks <- c:
				case <-ctx.Done():
					return false
				}
				if len(c.evs) == 0 {
					close(c.done)
					return true
				}
				jobs <- c // buffered as chunks is, and the workers drain it
				return true
			}
			c := &preChunk{done: make(chan struct{})}
			for ev, err := range events {
				if ctx.Err() != nil {
					return
				}
				if err != nil {
					c.err = err
					send(c)
					return
				}
				c.evs = append(c.evs, ev)
				if len(c.evs) == preverifyChunk {
					if !send(c) {
						return
					}
					c = &preChunk{evs: make([]Event, 0, preverifyChunk), done: make(chan struct{})}
				}
			}
			if ctx.Err() == nil && len(c.evs) > 0 {
				send(c)
			}
		})
		// A read the caller's context ended must end with its error, as
		// the store's own read does, never as a clean (complete) feed.
		stopped := func() {
			if err := parent.Err(); err != nil {
				yield(Event{}, err)
			}
		}
		for c := range chunks {
			select {
			case <-c.done:
			case <-ctx.Done():
				stopped()
				return
			}
			for _, ev := range c.evs {
				if !yield(ev, nil) {
					return
				}
			}
			if c.err != nil {
				yield(Event{}, c.err)
				return
			}
		}
		stopped()
	}
}
