// Package projections holds what every read-model projection of Kinerja
// Ledger shares: the event a projection consumes (the stored envelope with
// its decoded domain payload), the poison policies, and the Sink port
// through which a runner drives a projection's store.
//
// A projection is pure logic in a sub-package (skps, directory, scores,
// objections, distribution, timeline, audit), each declaring the store it
// needs. Backends implement those stores: adapters/memreadmodel in memory
// (embedded mode, rebuilt from the event store at start-up) and
// adapters/pgreadmodel on PostgreSQL. A backend wraps each projection in a
// Sink, which applies an event and stores the projection's checkpoint in
// the same transaction, so a redelivered event changes nothing.
//
// The runner (Group, Runner; runner.go, catchup.go) is the one place that
// drives Sinks: admission (Group.Admit), batching, apply with the
// checkpoint, retry with back-off, the poison policy and health. It feeds
// them at start-up from one read of the store (Group.CatchUp) and live
// from the Watermill router of adapters/wmbridge (Runner.Deliver), which
// only delivers.
//
// The SKP projections derive their rows from the domain's replay of each
// SKP and keep the aggregates in a Cache (history.go); a miss replays the
// SKP's stream from a History, which one process shares between its
// projections (SharedHistory: one read per stream for all of them). A
// Cache whose growth a BoundedHistory enables grows when it revisits SKPs
// it evicted (a ghost list of them), so that a rebuild of a province does
// not replay a stream per event; no Cache grows otherwise. BoundedHistory
// bounds the caches over it, lets them grow and shrinks them per phase of
// a process, as kinerjad does for its start-up catch-up
// (docs/projections.md, "Caches that grow").
package projections

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/eventcodec"
	"github.com/kinerja-ledger/kinerja/eventstore"
)

// Policy says what a projection does with an event it cannot apply.
type Policy int

const (
	// Stop halts the projection at the event: it is retried with back-off,
	// the projection reports itself stalled (metric, log, /readyz), and
	// nothing after it is applied until the cause is fixed. Used where a gap
	// would falsify what the read model asserts: the audit trail and the
	// score history.
	Stop Policy = iota
	// DeadLetter records the event and its error in the projection's dead
	// letters, counts it, and moves on. `kinerjactl projections replay`
	// applies dead letters again once the cause is fixed. Used by the
	// dashboard projections.
	DeadLetter
)

// String returns "stop" or "dead_letter".
func (p Policy) String() string {
	if p == DeadLetter {
		return "dead_letter"
	}
	return "stop"
}

// Event is what a projection consumes: a stored event and its decoded
// domain payload.
type Event struct {
	eventstore.Event
	// Payload is the domain event decoded and upcast to its latest shape;
	// nil for events that are not domain events (such as the audit trail's
	// own signed checkpoints) and for events whose payload does not decode
	// (a Sink that needs the payload decodes it and reports the poison).
	Payload domain.Event

	// refused is why the runner's admission refused the event (see
	// Group.Admit); such an event never reaches a Sink's Apply.
	refused error
}

// Decode turns a stored event into an Event. Domain event types are decoded
// through the event codec (with its upcasters); an unknown type under a
// domain prefix is an error, because the projection would silently miss a
// fact it should know. Other types get a nil Payload.
func Decode(ev eventstore.Event) (Event, error) {
	p, err := eventcodec.Decode(ev.Type, ev.SchemaVersion, ev.Data)
	if errors.Is(err, domain.ErrUnknownEventType) && !isDomainType(ev.Type) {
		return Event{Event: ev}, nil
	}
	if err != nil {
		return Event{Event: ev}, &PoisonError{Event: ev, Err: fmt.Errorf("decode %s v%d: %w", ev.Type, ev.SchemaVersion, err)}
	}
	return Event{Event: ev, Payload: p}, nil
}

// domainPrefixes are the type prefixes of domain events.
var domainPrefixes = []string{"skp.", "employee.", "unit.", "distribution.", "consequence."}

func isDomainType(t string) bool {
	return eventstore.Filter{TypePrefixes: domainPrefixes}.Match("", t)
}

// PoisonError marks an event that a projection cannot apply for a reason
// that retrying will not fix (it cannot be decoded, or it contradicts what
// the projection already holds). Runners apply the projection's Policy to
// it; any other error is treated as transient and retried.
type PoisonError struct {
	Event eventstore.Event
	Err   error
}

func (e *PoisonError) Error() string {
	return fmt.Sprintf("projections: event %s (%s@%d, position %d): %v", e.Event.ID, e.Event.Stream, e.Event.Revision, e.Event.Position, e.Err)
}

func (e *PoisonError) Unwrap() error { return e.Err }

// Poison wraps err as a PoisonError for ev.
func Poison(ev eventstore.Event, err error) error { return &PoisonError{Event: ev, Err: err} }

// IsPoison reports whether err is (or wraps) a PoisonError.
func IsPoison(err error) bool {
	var p *PoisonError
	return errors.As(err, &p)
}

// Sink is a projection bound to a read-model backend. Apply and DeadLetter
// are atomic with the checkpoint. Implementations are safe for concurrent
// use, but a runner drives each Sink from one goroutine.
type Sink interface {
	// Name is the projection's stable name (tables, checkpoint, metrics).
	Name() string
	// Policy is what to do with a poison event.
	Policy() Policy
	// Filter selects the events the projection reads.
	Filter() eventstore.Filter
	// Checkpoint returns the position of the last event applied or
	// dead-lettered (0 before the first).
	Checkpoint(ctx context.Context) (eventstore.Position, error)
	// Apply applies events in order and stores the last one's position as
	// the checkpoint, in one transaction. Events at or below the checkpoint
	// are skipped (a redelivery changes nothing). On error nothing is
	// applied; a PoisonError names the event at fault. Apply must not
	// keep events (the slice or its elements) past its return nor modify
	// them: a catch-up hands the same batch to every runner at once and
	// reuses it for the next.
	Apply(ctx context.Context, events ...Event) error
	// DeadLetter records ev with its cause and moves the checkpoint past it,
	// in one transaction.
	DeadLetter(ctx context.Context, ev Event, cause error) error
	// DeadLetters lists the dead letters not yet replayed.
	DeadLetters(ctx context.Context) ([]DeadLetterRecord, error)
	// Reset empties the projection's read model and checkpoint (used by a
	// rebuild into fresh storage).
	Reset(ctx context.Context) error
}

// DeadLetterRecord is an event a projection skipped.
type DeadLetterRecord struct {
	Projection string
	Position   eventstore.Position
	EventID    string
	Stream     string
	Type       string
	Error      string
	At         time.Time
}
