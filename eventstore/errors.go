package eventstore

import (
	"errors"
	"fmt"

	"github.com/google/uuid"
)

// Sentinel errors. Callers branch on them with errors.Is; the typed errors
// below carry the details and match their sentinel.
var (
	// ErrWrongExpectedRevision: the stream's revision did not match the
	// append's expected revision. See [WrongExpectedRevisionError].
	ErrWrongExpectedRevision = errors.New("eventstore: wrong expected revision")
	// ErrStreamNotFound: the stream has no events (or none as of the read's
	// AsOf).
	ErrStreamNotFound = errors.New("eventstore: stream not found")
	// ErrEventTooLarge: an event's data is larger than the store's limit.
	ErrEventTooLarge = errors.New("eventstore: event too large")
	// ErrInvalidStreamName: the stream name breaks the rules of
	// [ValidateStreamName].
	ErrInvalidStreamName = errors.New("eventstore: invalid stream name")
	// ErrInvalidEvent: an event lacks a required field or has a malformed one.
	ErrInvalidEvent = errors.New("eventstore: invalid event")
	// ErrIdempotency: an append repeats event IDs in a way that is not a pure
	// repetition of an earlier append. See [IdempotencyError].
	ErrIdempotency = errors.New("eventstore: idempotency violation")
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("eventstore: store closed")
	// ErrIntegrity: stored events do not verify. See [IntegrityError].
	ErrIntegrity = errors.New("eventstore: integrity check failed")
	// ErrUnavailable: the store cannot be reached or cannot serve (a lost
	// connection, a database shutting down); the operation did nothing and
	// may succeed later. Backends wrap it where they recognise the cause.
	ErrUnavailable = errors.New("eventstore: store unavailable")
	// ErrNoSpace: the store is out of space (a full disk, a quota); the
	// append wrote nothing.
	ErrNoSpace = errors.New("eventstore: out of space")
)

// WrongExpectedRevisionError is returned when an append's expected revision
// does not match the stream.
type WrongExpectedRevisionError struct {
	Stream   string
	Expected ExpectedRevision
	// Actual is the revision of the stream's last event; meaningful only when
	// ActualExists is true.
	Actual       uint64
	ActualExists bool
}

func (e *WrongExpectedRevisionError) Error() string {
	actual := "no_stream"
	if e.ActualExists {
		actual = fmt.Sprint(e.Actual)
	}
	return fmt.Sprintf("eventstore: append to %s: expected revision %s, actual %s", e.Stream, e.Expected, actual)
}

// Is reports whether target is ErrWrongExpectedRevision.
func (e *WrongExpectedRevisionError) Is(target error) bool { return target == ErrWrongExpectedRevision }

// EventTooLargeError is returned when an event's data exceeds the limit.
type EventTooLargeError struct {
	EventID uuid.UUID
	Size    int
	Limit   int
	// Append is true when the whole append, not one event, is over
	// Limits.MaxAppendBytes (EventID is then zero).
	Append bool
}

func (e *EventTooLargeError) Error() string {
	if e.Append {
		return fmt.Sprintf("eventstore: append carries %d bytes of data, limit %d", e.Size, e.Limit)
	}
	return fmt.Sprintf("eventstore: event %s: data is %d bytes, limit %d", e.EventID, e.Size, e.Limit)
}

// Is reports whether target is ErrEventTooLarge.
func (e *EventTooLargeError) Is(target error) bool { return target == ErrEventTooLarge }

// InvalidEventError names the event and field that failed validation.
type InvalidEventError struct {
	// Index of the event within the append call.
	Index int
	Field string
	Msg   string
}

func (e *InvalidEventError) Error() string {
	return fmt.Sprintf("eventstore: event %d: %s: %s", e.Index, e.Field, e.Msg)
}

// Is reports whether target is ErrInvalidEvent.
func (e *InvalidEventError) Is(target error) bool { return target == ErrInvalidEvent }

// IdempotencyError explains why a repeated append could not be treated as a
// pure repetition.
type IdempotencyError struct {
	Stream  string
	EventID uuid.UUID
	// Reason is one of the Idempotency* constants.
	Reason string
}

// Reasons of an IdempotencyError.
const (
	// IdempotencyPartial: only some of the append's event IDs were stored
	// before.
	IdempotencyPartial = "only some of the event IDs were appended before"
	// IdempotencyOtherStream: the event ID is stored in another stream.
	IdempotencyOtherStream = "the event ID is stored in another stream"
	// IdempotencyContent: the event ID is stored with different content.
	IdempotencyContent = "the event ID is stored with different content"
	// IdempotencyOrder: the event IDs were stored at other revisions or in
	// another order.
	IdempotencyOrder = "the event IDs were stored at other revisions"
	// IdempotencyDuplicateInCall: the same event ID appears twice in one call.
	IdempotencyDuplicateInCall = "the event ID appears twice in the call"
)

func (e *IdempotencyError) Error() string {
	return fmt.Sprintf("eventstore: append to %s: event %s: %s", e.Stream, e.EventID, e.Reason)
}

// Is reports whether target is ErrIdempotency.
func (e *IdempotencyError) Is(target error) bool { return target == ErrIdempotency }

// IntegrityError names the first stored event that failed verification.
type IntegrityError struct {
	Stream   string
	Revision uint64
	EventID  uuid.UUID
	Position Position
	// Problem says what did not verify.
	Problem string
}

func (e *IntegrityError) Error() string {
	return fmt.Sprintf("eventstore: integrity: stream %s revision %d (event %s, position %d): %s",
		e.Stream, e.Revision, e.EventID, e.Position, e.Problem)
}

// Is reports whether target is ErrIntegrity.
func (e *IntegrityError) Is(target error) bool { return target == ErrIntegrity }
