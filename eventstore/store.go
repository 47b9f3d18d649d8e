// Package eventstore is the one shared port of Kinerja Ledger: an append-only
// store of event streams with a single global order, optimistic concurrency,
// permanent idempotency and a per-stream SHA-256 hash chain.
//
// The package knows bytes, names and metadata; it never imports the domain.
// Backends live in adapters/ (boltstore, pgstore, esdbstore) and are held to
// the same semantics by the conformance suite in eventstore/storetest.
//
// # Semantics every backend keeps
//
//   - Append is atomic: all events of one call are stored, or none.
//   - Revisions are per stream, dense and zero-based: the first event of a
//     stream has revision 0.
//   - Positions are global, strictly increasing in the one order ReadAll and
//     SubscribeAll deliver. They are not necessarily dense (PostgreSQL and
//     KurrentDB positions have holes); an event's position never changes, and
//     an event never appears before one that a reader has already been given.
//   - Appending the same event IDs again, with the same expected revision,
//     returns the first result and stores nothing, however long ago the first
//     append was. A call that repeats only some of the IDs, or repeats an ID
//     with different content, fails with an [*IdempotencyError].
//   - Every stored event carries Hash = SHA-256(previous hash in its stream ‖
//     canonical envelope ‖ data), see [ChainHash]. The hash is computed here,
//     above the backends, so identical input gives identical hashes on every
//     backend, and a stream read alone proves its own integrity ([VerifyStream]).
//   - The last event of every append carries the writer's signature over
//     its chain hash (WriterSignature), made by the backend with its Signer
//     where it seals the append; the append's events are contiguous in the
//     global order. A backend refuses to append onto a head that is not a
//     signed append of a trusted key (Keyring.CheckHead). Readers that must
//     not trust the storage authenticate what they read (Authenticator).
//   - RecordedAt is assigned by the store when it writes the event (for an
//     append inside a caller's transaction, when the row is written, before
//     the caller commits); within a stream it never decreases. OccurredAt is business time supplied by the
//     writer. Both are kept at microsecond precision in UTC.
package eventstore

import (
	"context"
	"iter"
	"math"
	"time"

	"github.com/google/uuid"
)

// Store is an append-only store of streams. Implementations are safe for
// concurrent use by multiple goroutines.
type Store interface {
	// Append writes events to the end of stream if the stream's current
	// revision matches expected. It returns the revision and global position of
	// the last event written.
	//
	// Errors: [ErrWrongExpectedRevision] (as [*WrongExpectedRevisionError]),
	// [ErrInvalidStreamName], [ErrInvalidEvent], [ErrEventTooLarge],
	// [ErrIdempotency] (as [*IdempotencyError]), [ErrClosed], or the context's
	// error. On any error nothing was written, unless the error is one that
	// leaves the outcome unknown (a lost connection during commit), in which
	// case repeating the same call is safe: it is idempotent.
	Append(ctx context.Context, stream string, expected ExpectedRevision, events ...EventData) (AppendResult, error)

	// ReadStream reads the events of one stream in revision order (forwards or
	// backwards). When the stream has no event visible under the options'
	// AsOf, the sequence yields [ErrStreamNotFound] once.
	ReadStream(ctx context.Context, stream string, opts ReadStreamOptions) iter.Seq2[Event, error]

	// ReadAll reads every stream's events in the global order, starting after
	// opts.After. The order is the same for every reader and never changes
	// once read. It returns the events that were final (no event can still
	// appear before them) when the read began; a backend where commits can
	// finish out of order (PostgreSQL) waits a bounded time for events
	// committed before the read to become final, and otherwise returns the
	// final prefix, leaving the rest to the next read or subscription.
	ReadAll(ctx context.Context, opts ReadAllOptions) iter.Seq2[Event, error]

	// SubscribeAll delivers, in the global order, every event after
	// opts.After that matches opts.Filter: first the history (catch-up), then
	// new events as they commit (live). It never skips an event whose
	// transaction commits late and never delivers one twice. The sequence ends
	// only with an error: the context's error when ctx is done, or a store
	// error. A consumer resumes after a restart by passing the position of the
	// last event it processed.
	SubscribeAll(ctx context.Context, opts SubscribeOptions) iter.Seq2[Event, error]

	// Head returns the position of the last event visible to ReadAll, or 0 for
	// an empty store.
	Head(ctx context.Context) (Position, error)

	// Close releases the store's resources. Calls after Close fail with
	// [ErrClosed].
	Close() error
}

// Position is an event's place in the global order. Position 0 is "before
// the first event"; every stored event has a position greater than 0.
type Position uint64

// End, used as ReadStreamOptions.From, means the last revision of the stream.
const End uint64 = math.MaxUint64

// Hash is a SHA-256 digest of the hash chain.
type Hash [32]byte

// Actor is who caused an event.
type Actor struct {
	// ID names the actor: an NIP, or a service account such as "system".
	ID string
	// Role is the capacity in which the actor acted (for example APPRAISER).
	Role string
}

// EventData is an event as a writer supplies it: everything the writer knows
// before the append. These fields form the canonical envelope covered by the
// hash chain.
type EventData struct {
	// ID identifies the event globally and makes appends idempotent. Required.
	ID uuid.UUID
	// Type is the stable, versioned name of the event, for example
	// "skp.rating_assigned.v1". See [ValidateEventType].
	Type string
	// SchemaVersion is the version of Data's shape, at least 1.
	SchemaVersion int
	// OccurredAt is business time: when the fact happened. Required. It is
	// stored in UTC, truncated to microseconds.
	OccurredAt time.Time
	// Actor caused the event. Actor.ID is required.
	Actor Actor
	// CorrelationID ties the events of one request or process together.
	CorrelationID string
	// CausationID names the message that caused this event.
	CausationID string
	// Reason is a human-readable justification, required by the domain for
	// revisions.
	Reason string
	// Data is the payload, opaque to the store (the ledger writes JSON).
	Data []byte
}

// Event is a stored event.
type Event struct {
	EventData
	// Stream is the stream the event belongs to.
	Stream string
	// Revision is the event's zero-based number within its stream.
	Revision uint64
	// Position is the event's place in the global order.
	Position Position
	// RecordedAt is when the store wrote the event (UTC, microseconds).
	RecordedAt time.Time
	// Hash is the event's link in its stream's hash chain.
	Hash Hash
	// Signature is the writer's signature over Hash, on the last event of
	// each append (the events before it are covered through the chain);
	// zero on the others. See Signer and Authenticator.
	Signature WriterSignature
}

// AppendResult describes the last event of a successful append.
type AppendResult struct {
	// Revision is the stream revision of the last event written.
	Revision uint64
	// Position is the global position of the last event written.
	Position Position
	// Hash is the chain hash of the last event written (the new head).
	Hash Hash
	// RecordedAt is the RecordedAt the store gave the events written, when
	// the backend reports it (every event of one append then carries the
	// same); zero when it does not. A writer that keeps what it appended
	// (eventlog.Cached) needs it to rebuild the stored events exactly.
	RecordedAt time.Time
	// Commit is, on a store that counts its commits (boltstore's Commits),
	// the count of the transaction that wrote the events, when they were
	// the last that transaction appended to the stream: as of that count
	// the stream ends with them. Zero when unknown (a store that does not
	// count, a repeat that wrote nothing, a later append to the same
	// stream in the same transaction).
	Commit uint64
}

// Direction is the direction of a stream read.
type Direction int

// Directions of a stream read.
const (
	Forwards Direction = iota
	Backwards
)

// ReadStreamOptions selects events of one stream.
type ReadStreamOptions struct {
	// Direction of the read; Forwards by default.
	Direction Direction
	// From is the first revision to return (inclusive). Use [End] with
	// Backwards to start at the last event.
	From uint64
	// Limit caps the number of events returned; 0 means no limit.
	Limit int
	// AsOf, when set, hides every event recorded after it: the stream as it
	// was known at that moment.
	AsOf time.Time
}

// ReadAllOptions selects events of the global order.
type ReadAllOptions struct {
	// After is exclusive: the read starts at the first event after it. It
	// must be 0 or a position this store returned (KurrentDB refuses a
	// position that falls inside a record).
	After Position
	// Limit caps the number of events returned; 0 means no limit.
	Limit int
	// Filter, when not empty, skips events that do not match.
	Filter Filter
}

// SubscribeOptions configures SubscribeAll.
type SubscribeOptions struct {
	// After is exclusive: the checkpoint of a consumer (0 for the beginning,
	// otherwise a position this store returned).
	After Position
	// Filter, when not empty, skips events that do not match.
	Filter Filter
}
