// Package memlog provides an in-memory [domain.EventLog] for tests and
// examples: a working fake with the semantics the event store guarantees
// (dense zero-based revisions, expected-revision checks, UTC microsecond
// times, a recording clock that never goes backwards), and no I/O.
//
// With a [Codec], every appended event is encoded to JSON and decoded again
// on load, so that tests exercise the persisted contract and the upcasters
// exactly as the real store does.
package memlog

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/kinerja-ledger/kinerja/domain"
)

// Codec encodes and decodes event payloads; the event codec of the ledger
// implements it.
type Codec interface {
	Encode(domain.Event) (eventType string, schemaVersion int, data []byte, err error)
	Decode(eventType string, schemaVersion int, data []byte) (domain.Event, error)
}

type record struct {
	id         uuid.UUID
	meta       domain.Meta
	recordedAt time.Time
	typ        string
	version    int
	data       []byte
	event      domain.Event // used when there is no codec
}

// Log is an in-memory event log. It is safe for concurrent use.
type Log struct {
	// BeforeAppend, when set, runs at the start of every Append, outside the
	// lock. Tests use it to slip in a competing write and provoke a
	// concurrency conflict.
	BeforeAppend func(stream string)

	mu      sync.Mutex
	now     func() time.Time
	codec   Codec
	streams map[string][]record
	order   []streamRev
	last    time.Time
	ids     map[uuid.UUID]bool
}

type streamRev struct {
	stream string
	rev    uint64
}

// New returns an empty log whose RecordedAt comes from now. codec may be
// nil, in which case events are kept as values without a JSON round trip.
func New(now func() time.Time, codec Codec) *Log {
	return &Log{now: now, codec: codec, streams: map[string][]record{}, ids: map[uuid.UUID]bool{}}
}

var _ domain.EventLog = (*Log)(nil)

// Load implements [domain.EventLog].
func (l *Log) Load(ctx context.Context, stream string) ([]domain.Stored, uint64, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, 0, false, err
	}
	l.mu.Lock()
	recs := slices.Clone(l.streams[stream])
	l.mu.Unlock()
	if len(recs) == 0 {
		return nil, 0, false, nil
	}
	out := make([]domain.Stored, len(recs))
	for i, r := range recs {
		s, err := l.stored(r, uint64(i))
		if err != nil {
			return nil, 0, false, fmt.Errorf("memlog: %s@%d: %w", stream, i, err)
		}
		out[i] = s
	}
	return out, uint64(len(recs) - 1), true, nil
}

func (l *Log) stored(r record, rev uint64) (domain.Stored, error) {
	e := r.event
	if l.codec != nil {
		var err error
		if e, err = l.codec.Decode(r.typ, r.version, r.data); err != nil {
			return domain.Stored{}, err
		}
	}
	return domain.Stored{ID: r.id, Revision: rev, RecordedAt: r.recordedAt, Meta: r.meta, Event: e}, nil
}

// Append implements [domain.EventLog].
func (l *Log) Append(ctx context.Context, stream string, expected domain.Expected, events []domain.NewEvent) (uint64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if l.BeforeAppend != nil {
		l.BeforeAppend(stream)
	}
	if !domain.ValidStreamName(stream) {
		return 0, fmt.Errorf("memlog: invalid stream name %q", stream)
	}
	if len(events) == 0 {
		return 0, fmt.Errorf("memlog: append to %s: no events", stream)
	}
	recs := make([]record, len(events))
	for i, e := range events {
		if e.ID == uuid.Nil || e.Meta.Actor.ID == "" || e.Meta.OccurredAt.IsZero() || e.Event == nil {
			return 0, fmt.Errorf("memlog: append to %s: event %d lacks an id, actor, occurred_at or payload", stream, i)
		}
		if !domain.ValidEventType(e.Event.EventType()) {
			return 0, fmt.Errorf("memlog: append to %s: bad event type %q", stream, e.Event.EventType())
		}
		r := record{id: e.ID, meta: e.Meta, typ: e.Event.EventType(), version: 1, event: e.Event}
		r.meta.OccurredAt = domain.NormalTime(r.meta.OccurredAt)
		if l.codec != nil {
			typ, ver, data, err := l.codec.Encode(e.Event)
			if err != nil {
				return 0, fmt.Errorf("memlog: append to %s: %w", stream, err)
			}
			r.typ, r.version, r.data, r.event = typ, ver, data, nil
		}
		recs[i] = r
	}

	l.mu.Lock()
	defer l.mu.Unlock()
	cur := l.streams[stream]
	rev, exact := expected.Revision()
	switch {
	case !exact && len(cur) > 0:
		return 0, fmt.Errorf("memlog: append to %s: expected no stream, it has %d events: %w", stream, len(cur), domain.ErrConcurrency)
	case exact && (len(cur) == 0 || uint64(len(cur)-1) != rev):
		return 0, fmt.Errorf("memlog: append to %s: expected revision %d, stream has %d events: %w", stream, rev, len(cur), domain.ErrConcurrency)
	}
	for _, r := range recs {
		if l.ids[r.id] {
			return 0, fmt.Errorf("memlog: append to %s: event id %s already stored", stream, r.id)
		}
	}
	at := domain.NormalTime(l.now())
	if at.Before(l.last) {
		at = l.last
	}
	l.last = at
	for i := range recs {
		recs[i].recordedAt = at
		l.ids[recs[i].id] = true
		l.order = append(l.order, streamRev{stream, uint64(len(cur) + i)})
	}
	l.streams[stream] = append(cur, recs...)
	return uint64(len(l.streams[stream]) - 1), nil
}

// Streams returns the names of every stream, sorted.
func (l *Log) Streams() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]string, 0, len(l.streams))
	for s := range l.streams {
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

// Len returns the number of events in all streams.
func (l *Log) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.order)
}
