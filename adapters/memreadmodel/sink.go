package memreadmodel

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections"
)

// tables is one projection's in-memory read model. Its Sink stages the
// writes of a batch in a T (begin), and publishes them with commit, which
// runs under the write lock: readers, who hold the read lock, see a batch
// whole or not at all. A failed batch drops its T, leaving nothing behind.
type tables[T any] interface {
	// begin returns an empty staging area over the committed tables. It
	// runs in the Sink's writing goroutine, which alone changes the tables,
	// so the staging area may read them without the lock.
	begin() T
	// commit publishes a staging area (under the write lock).
	commit(T)
	// reset empties the tables (under the write lock).
	reset()
}

// Sink is a projection bound to in-memory tables: a projections.Sink.
// Apply stages the writes of its events and publishes them, with the
// checkpoint, under one write lock; it allocates per batch, never copies
// the tables.
type Sink[T any] struct {
	name   string
	policy projections.Policy
	filter eventstore.Filter
	apply  func(context.Context, T, projections.Event) error
	forget func() // drops the projection's caches on Reset
	raw    bool   // the projection reads envelopes only: no decoding (audit)
	tables tables[T]
	now    func() time.Time

	wmu  sync.Mutex    // one writer at a time
	lock *sync.RWMutex // the tables' lock, shared with the readers

	checkpoint eventstore.Position // guarded by lock; changed only with wmu held
	dead       []projections.DeadLetterRecord
}

var _ projections.Sink = (*Sink[struct{}])(nil)

// Name implements projections.Sink.
func (s *Sink[T]) Name() string { return s.name }

// Policy implements projections.Sink.
func (s *Sink[T]) Policy() projections.Policy { return s.policy }

// Filter implements projections.Sink.
func (s *Sink[T]) Filter() eventstore.Filter { return s.filter }

// Checkpoint implements projections.Sink.
func (s *Sink[T]) Checkpoint(context.Context) (eventstore.Position, error) {
	s.lock.RLock()
	defer s.lock.RUnlock()
	return s.checkpoint, nil
}

// Apply implements projections.Sink. Events at or below the checkpoint are
// skipped; events the filter does not select move the checkpoint only. An
// event without a payload is decoded first (an undecodable one is a
// *projections.PoisonError). On any error nothing of the batch is
// published.
func (s *Sink[T]) Apply(ctx context.Context, events ...projections.Event) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	last := s.checkpoint // only this goroutine (holding wmu) changes it
	var tx T
	staged := false
	for _, ev := range events {
		if ev.Position <= last {
			continue
		}
		if s.filter.Match(ev.Stream, ev.Type) {
			if ev.Payload == nil && !s.raw {
				var err error
				if ev, err = projections.Decode(ev.Event); err != nil {
					return err
				}
			}
			if !staged {
				tx, staged = s.tables.begin(), true
			}
			if err := s.apply(ctx, tx, ev); err != nil {
				return fmt.Errorf("memreadmodel: %s: %w", s.name, err)
			}
		}
		last = ev.Position
	}
	if last == s.checkpoint {
		return nil
	}
	s.lock.Lock()
	if staged {
		s.tables.commit(tx)
	}
	s.checkpoint = last
	s.lock.Unlock()
	return nil
}

// DeadLetter implements projections.Sink.
func (s *Sink[T]) DeadLetter(ctx context.Context, ev projections.Event, cause error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if ev.Position <= s.checkpoint {
		return nil
	}
	msg := "unknown"
	if cause != nil {
		msg = cause.Error()
	}
	rec := projections.DeadLetterRecord{Projection: s.name, Position: ev.Position, EventID: ev.ID.String(), Stream: ev.Stream,
		Type: ev.Type, Error: msg, At: s.now().UTC()}
	s.lock.Lock()
	s.dead = append(s.dead, rec)
	s.checkpoint = ev.Position
	s.lock.Unlock()
	return nil
}

// DeadLetters implements projections.Sink.
func (s *Sink[T]) DeadLetters(context.Context) ([]projections.DeadLetterRecord, error) {
	s.lock.RLock()
	defer s.lock.RUnlock()
	return slices.Clone(s.dead), nil
}

// dropCache empties the projection's cache of aggregates (its tables and
// checkpoint stay): the next event of each stream replays it once.
func (s *Sink[T]) dropCache() {
	if s.forget == nil {
		return
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.forget()
}

// Reset implements projections.Sink.
func (s *Sink[T]) Reset(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.lock.Lock()
	s.tables.reset()
	s.checkpoint, s.dead = 0, nil
	s.lock.Unlock()
	if s.forget != nil {
		s.forget()
	}
	return nil
}
