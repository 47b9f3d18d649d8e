// Package eventlog implements the domain's EventLog port on the event
// store: domain events are encoded to their stored JSON contract (through
// the event codec), their envelope mapped one to one onto the store's, and
// stored events decoded and upcast on the way back.
//
// Encoding is the ledger's one choke point for text: every event, from
// whichever edge, passes it before it is appended, and an event carrying
// text no store or read model could keep (invalid UTF-8, NUL or another C0
// control character, an envelope field over the store's limit) is refused
// with a *domain.ValidationError naming the JSON field (validate.go).
//
// With RequireSignatures, every stream read is authenticated as it comes
// out of the store (eventstore.ReadStreamAuthenticated: each link of the
// hash chain recomputed, each append's writer signature verified), so that
// a value an insider wrote into the database is never served as if it
// were sound: the load fails with an error matching eventstore.ErrIntegrity
// (the API answers 500 integrity_violation). Cached keeps what it
// authenticated, so each revision of a stream is checked once, and what
// this process appended itself, which needs no check (see Cached.Append).
package eventlog

import (
	"context"
	"errors"
	"fmt"
	"iter"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/eventcodec"
	"github.com/kinerja-ledger/kinerja/eventstore"
)

// Log is a domain.EventLog over an eventstore.Store.
type Log struct {
	store eventstore.Store
	keys  *eventstore.Keyring // nil: reads are not authenticated
}

var _ domain.EventLog = (*Log)(nil)

// New returns a Log over store.
func New(store eventstore.Store) *Log { return &Log{store: store} }

// Store returns the underlying event store.
func (l *Log) Store() eventstore.Store { return l.store }

// RequireSignatures makes every load authenticate what it reads against
// keys, the trusted writer keys (see the package doc). Call it before the
// Log is used.
func (l *Log) RequireSignatures(keys *eventstore.Keyring) { l.keys = keys }

// readStream reads stream from the store, authenticated when the Log
// requires signatures. prev is the authenticated head before opts.From, if
// the caller has it.
func (l *Log) readStream(ctx context.Context, stream string, opts eventstore.ReadStreamOptions, prev *eventstore.Head) iter.Seq2[eventstore.Event, error] {
	if l.keys == nil {
		return l.store.ReadStream(ctx, stream, opts)
	}
	return eventstore.ReadStreamAuthenticated(ctx, l.store, l.keys, stream, opts, prev)
}

// Load implements domain.EventLog.
func (l *Log) Load(ctx context.Context, stream string) ([]domain.Stored, uint64, bool, error) {
	return l.LoadWith(ctx, stream, eventstore.ReadStreamOptions{})
}

// LoadWith loads stream with read options (for example AsOf), decoding
// every event.
func (l *Log) LoadWith(ctx context.Context, stream string, opts eventstore.ReadStreamOptions) ([]domain.Stored, uint64, bool, error) {
	var out []domain.Stored
	var rev uint64
	for ev, err := range l.readStream(ctx, stream, opts, nil) {
		if absent(err) {
			return nil, 0, false, nil
		}
		if err != nil {
			return nil, 0, false, fmt.Errorf("eventlog: load %s: %w", stream, err)
		}
		s, err := Decode(ev)
		if err != nil {
			return nil, 0, false, err
		}
		out = append(out, s)
		rev = ev.Revision
	}
	if len(out) == 0 {
		return nil, 0, false, nil
	}
	return out, rev, true, nil
}

// absent reports whether a read error means the stream has no events: it
// has none, or its name is one no store accepts (an ID from a request path,
// say), so nothing can be stored under it.
func absent(err error) bool {
	return errors.Is(err, eventstore.ErrStreamNotFound) || errors.Is(err, eventstore.ErrInvalidStreamName)
}

// Decode turns a stored event into a domain.Stored.
func Decode(ev eventstore.Event) (domain.Stored, error) {
	p, err := eventcodec.Decode(ev.Type, ev.SchemaVersion, ev.Data)
	if err != nil {
		return domain.Stored{}, fmt.Errorf("eventlog: decode %s@%d (%s): %w", ev.Stream, ev.Revision, ev.Type, err)
	}
	return domain.Stored{
		ID: ev.ID, Revision: ev.Revision, RecordedAt: ev.RecordedAt, Event: p,
		Meta: domain.Meta{
			Actor:         domain.Actor{ID: ev.Actor.ID, Role: domain.Role(ev.Actor.Role)},
			CorrelationID: ev.CorrelationID, CausationID: ev.CausationID, Reason: ev.Reason, OccurredAt: ev.OccurredAt,
		},
	}, nil
}

// Encode turns a new domain event into the store's EventData. It refuses,
// with a [*domain.ValidationError] naming the JSON field, an event with
// text the ledger cannot keep (invalid UTF-8, NUL and other C0 control
// characters) or an envelope over the store's limits (see validate.go).
func Encode(e domain.NewEvent) (eventstore.EventData, error) {
	if err := validate(e); err != nil {
		return eventstore.EventData{}, fmt.Errorf("eventlog: encode %s: %w", e.Event.EventType(), err)
	}
	typ, ver, data, err := eventcodec.Encode(e.Event)
	if err != nil {
		return eventstore.EventData{}, fmt.Errorf("eventlog: encode: %w", err)
	}
	return eventstore.EventData{
		ID: e.ID, Type: typ, SchemaVersion: ver, OccurredAt: e.Meta.OccurredAt,
		Actor:         eventstore.Actor{ID: e.Meta.Actor.ID, Role: string(e.Meta.Actor.Role)},
		CorrelationID: e.Meta.CorrelationID, CausationID: e.Meta.CausationID, Reason: e.Meta.Reason, Data: data,
	}, nil
}

// Append implements domain.EventLog. A wrong expected revision becomes
// domain.ErrConcurrency (the handler re-decides on fresh state).
func (l *Log) Append(ctx context.Context, stream string, expected domain.Expected, events []domain.NewEvent) (uint64, error) {
	_, res, err := l.append(ctx, stream, expected, events)
	return res.Revision, err
}

// append encodes and appends events, returning what it stored and the
// store's answer.
func (l *Log) append(ctx context.Context, stream string, expected domain.Expected, events []domain.NewEvent) ([]eventstore.EventData, eventstore.AppendResult, error) {
	data := make([]eventstore.EventData, len(events))
	for i, e := range events {
		d, err := Encode(e)
		if err != nil {
			return nil, eventstore.AppendResult{}, err
		}
		data[i] = d
	}
	exp := eventstore.NoStream
	if rev, ok := expected.Revision(); ok {
		exp = eventstore.Exact(rev)
	}
	res, err := l.store.Append(ctx, stream, exp, data...)
	if errors.Is(err, eventstore.ErrWrongExpectedRevision) {
		return nil, eventstore.AppendResult{}, fmt.Errorf("eventlog: append %s: %w: %w", stream, domain.ErrConcurrency, err)
	}
	if err != nil {
		return nil, eventstore.AppendResult{}, fmt.Errorf("eventlog: append %s: %w", stream, err)
	}
	return data, res, nil
}
