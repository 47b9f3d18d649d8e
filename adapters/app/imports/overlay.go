package imports

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/eventstore"
)

// overlay is the event log an import runs its commands on: it reads
// through to the real log and holds what the commands append, so that the
// commands of one row (an employee's registration, post and reporting
// line) become one append to the real log (commit), or nothing (discard).
// A dry run never commits: its later rows see the earlier rows' events
// (an appraiser registered in row 3 is known to row 40), and nothing is
// recorded. Safe for concurrent use by rows that write different streams.
type overlay struct {
	real domain.EventLog
	now  func() time.Time

	mu    sync.Mutex
	base  map[string]*baseStream // the real log's state, as last read or written
	added map[string][]domain.NewEvent
}

type baseStream struct {
	events []domain.Stored
	rev    uint64
	exists bool
}

func newOverlay(real domain.EventLog, now func() time.Time) *overlay {
	return &overlay{real: real, now: now, base: map[string]*baseStream{}, added: map[string][]domain.NewEvent{}}
}

func (o *overlay) loadBase(ctx context.Context, stream string) (*baseStream, error) {
	o.mu.Lock()
	b, ok := o.base[stream]
	o.mu.Unlock()
	if ok {
		return b, nil
	}
	evs, rev, exists, err := o.real.Load(ctx, stream)
	if err != nil {
		return nil, err
	}
	b = &baseStream{events: evs, rev: rev, exists: exists}
	o.mu.Lock()
	if prev, ok := o.base[stream]; ok {
		b = prev // another row read it first: keep one view
	} else {
		o.base[stream] = b
	}
	o.mu.Unlock()
	return b, nil
}

// Load implements domain.EventLog: the real stream and what was added.
func (o *overlay) Load(ctx context.Context, stream string) ([]domain.Stored, uint64, bool, error) {
	b, err := o.loadBase(ctx, stream)
	if err != nil {
		return nil, 0, false, err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	added := o.added[stream]
	if len(added) == 0 {
		return b.events, b.rev, b.exists, nil
	}
	evs := slices.Clip(b.events)
	next := uint64(0)
	if b.exists {
		next = b.rev + 1
	}
	at := o.now()
	for i, e := range added {
		evs = append(evs, domain.Stored{ID: e.ID, Revision: next + uint64(i), RecordedAt: at, Meta: e.Meta, Event: e.Event})
	}
	return evs, next + uint64(len(added)) - 1, true, nil
}

// Append implements domain.EventLog: it holds the events.
func (o *overlay) Append(ctx context.Context, stream string, expected domain.Expected, events []domain.NewEvent) (uint64, error) {
	_, rev, exists, err := o.Load(ctx, stream)
	if err != nil {
		return 0, err
	}
	want, wantExists := expected.Revision()
	if exists != wantExists || (exists && rev != want) {
		return 0, fmt.Errorf("import overlay %s: %w", stream, domain.ErrConcurrency)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.added[stream] = append(o.added[stream], events...)
	next := uint64(0)
	if exists {
		next = rev + 1
	}
	return next + uint64(len(events)) - 1, nil
}

// mark returns how many events stream holds in the overlay, for discard.
func (o *overlay) mark(stream string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.added[stream])
}

// discard drops what was added to stream after mark.
func (o *overlay) discard(stream string, mark int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.added[stream] = o.added[stream][:mark]
}

// forget drops the overlay's view of stream, so that the next Load reads
// the real log again (after a concurrency conflict at commit).
func (o *overlay) forget(stream string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	delete(o.base, stream)
	delete(o.added, stream)
}

// errAlreadyApplied reports a commit whose events the real log already
// holds (the same file applied by an earlier or concurrent run).
var errAlreadyApplied = errors.New("already applied")

// commit appends what was added to stream to the real log, in one append
// with the revision the overlay read. It returns how many events were
// appended; a conflict matches domain.ErrConcurrency (the caller forgets
// the stream and runs the row again).
func (o *overlay) commit(ctx context.Context, stream string) (int, error) {
	o.mu.Lock()
	added := o.added[stream]
	b := o.base[stream]
	o.mu.Unlock()
	if len(added) == 0 {
		return 0, nil
	}
	expected := domain.NoStream
	if b != nil && b.exists {
		expected = domain.ExactRevision(b.rev)
	}
	_, err := o.real.Append(ctx, stream, expected, added)
	if errors.Is(err, eventstore.ErrIdempotency) {
		o.forget(stream)
		return 0, errAlreadyApplied
	}
	if err != nil {
		return 0, err
	}
	// The real stream now holds them: fold them into the base view.
	evs, rev, _, err := o.Load(ctx, stream)
	if err != nil {
		return 0, err
	}
	o.mu.Lock()
	o.base[stream] = &baseStream{events: evs, rev: rev, exists: true}
	delete(o.added, stream)
	o.mu.Unlock()
	return len(added), nil
}
