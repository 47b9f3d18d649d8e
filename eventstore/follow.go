package eventstore

import (
	"context"
	"iter"
	"sync"
	"time"
)

// Pager is what a backend gives [Follow]: paged reads of the global order
// and a wake-up signal.
type Pager interface {
	// ReadPage returns up to limit events after after, in the global order,
	// from those that are final (no event can later appear before them).
	// pending reports that more events are committed or committing but not
	// yet final (a PostgreSQL transaction below the snapshot horizon is still
	// open); Follow then polls again soon instead of waiting for a signal.
	ReadPage(ctx context.Context, after Position, limit int) (events []Event, pending bool, err error)
	// Changed returns a channel that is closed when events committed after
	// the call may have become readable.
	Changed() <-chan struct{}
}

// FollowOptions tunes [Follow].
type FollowOptions struct {
	// PageSize is how many events one read fetches (default 512).
	PageSize int
	// IdlePoll is the longest wait without a signal before reading again
	// (default 1 s). It bounds the cost of a lost signal; an idle subscriber
	// makes at most one query per IdlePoll.
	IdlePoll time.Duration
}

// Follow implements SubscribeAll over a Pager: it reads pages until it
// catches up, then waits for Changed (or IdlePoll, or a short back-off while
// events are pending) and reads again. Events are delivered once each, in
// the order ReadPage returns them, filtered by opts.Filter.
func Follow(ctx context.Context, p Pager, opts SubscribeOptions, fo FollowOptions) iter.Seq2[Event, error] {
	if fo.PageSize <= 0 {
		fo.PageSize = 512
	}
	if fo.IdlePoll <= 0 {
		fo.IdlePoll = time.Second
	}
	return func(yield func(Event, error) bool) {
		after := opts.After
		backoff := time.Duration(0)
		timer := time.NewTimer(time.Hour)
		defer timer.Stop()
		for {
			if err := ctx.Err(); err != nil {
				yield(Event{}, err)
				return
			}
			changed := p.Changed() // before the read, so no signal is lost
			events, pending, err := p.ReadPage(ctx, after, fo.PageSize)
			if err != nil {
				if ctx.Err() != nil {
					err = ctx.Err()
				}
				yield(Event{}, err)
				return
			}
			before := after
			for _, ev := range events {
				if ev.Position <= after {
					continue // never twice, even if a backend repeats itself
				}
				after = ev.Position
				if !opts.Filter.Match(ev.Stream, ev.Type) {
					continue
				}
				if !yield(ev, nil) {
					return
				}
			}
			if len(events) == fo.PageSize && after > before {
				backoff = 0
				continue // more history to catch up on
			}
			wait := fo.IdlePoll
			if pending {
				// Something is committing below the horizon: poll soon,
				// backing off while it stays open.
				backoff = min(max(2*backoff, 2*time.Millisecond), 100*time.Millisecond)
				wait = backoff
			} else {
				backoff = 0
			}
			timer.Reset(wait)
			select {
			case <-ctx.Done():
				yield(Event{}, ctx.Err())
				return
			case <-changed:
			case <-timer.C:
			}
			if !timer.Stop() {
				select {
				case <-timer.C:
				default:
				}
			}
		}
	}
}

// Broadcaster is a reusable wake-up signal: Changed returns a channel that
// the next Notify closes. It is safe for concurrent use. The zero value is
// ready.
type Broadcaster struct {
	mu sync.Mutex
	ch chan struct{}
}

// Changed returns a channel closed by the next Notify.
func (b *Broadcaster) Changed() <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ch == nil {
		b.ch = make(chan struct{})
	}
	return b.ch
}

// Notify wakes everyone waiting on a channel from Changed.
func (b *Broadcaster) Notify() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ch != nil {
		close(b.ch)
		b.ch = nil
	}
}
