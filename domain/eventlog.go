package domain

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/kinerja-ledger/kinerja/domain/bizdate"
	"github.com/kinerja-ledger/kinerja/domain/calendar"
)

// EventLog is the port through which commands read and write streams. The
// integration layer implements it over the event store (decoding with the
// event codec); tests use an in-memory fake. Implementations must be safe
// for concurrent use.
type EventLog interface {
	// Load returns the events of stream in revision order, decoded and
	// upcast, and the revision of the last one. For a stream without events
	// it returns exists=false, no events and no error.
	Load(ctx context.Context, stream string) (events []Stored, revision uint64, exists bool, err error)
	// Append appends events to stream if its state matches expected, and
	// returns the revision of the last event written. On a mismatch it
	// returns an error matching [ErrConcurrency] and writes nothing.
	Append(ctx context.Context, stream string, expected Expected, events []NewEvent) (revision uint64, err error)
}

// Expected is the condition an append places on the stream: either that it
// does not exist yet, or that its last event has a given revision.
type Expected struct {
	exists bool
	rev    uint64
}

// NoStream requires that the stream has no events.
var NoStream = Expected{}

// ExactRevision requires that the stream's last event has revision rev.
func ExactRevision(rev uint64) Expected { return Expected{exists: true, rev: rev} }

// Revision returns the exact revision and true, or false for [NoStream].
func (e Expected) Revision() (uint64, bool) { return e.rev, e.exists }

// String returns "no_stream" or the revision.
func (e Expected) String() string {
	if !e.exists {
		return "no_stream"
	}
	return fmt.Sprint(e.rev)
}

// Stream is a loaded stream handed to a [Decider].
type Stream struct {
	// Name is the stream's name.
	Name string
	// Events are the stream's events in order.
	Events []Stored
	// Revision is the revision of the last event (meaningful when Exists).
	Revision uint64
	// Exists is false for a stream without events.
	Exists bool
}

// Change is what a [Decider] decided: the events to append and the role in
// which the caller acted (recorded in every event's [Actor]).
type Change struct {
	// Role is the capacity of the caller, as authorisation established it.
	Role Role
	// Events are the new facts, in order. None means the command changes
	// nothing (an idempotent repetition); nothing is appended.
	Events []Event
	// Reason, when not empty, replaces the request's reason in the
	// envelope: the reason the rules required and used (a revision's, a
	// return's), so that the envelope and the payload agree.
	Reason string
	// Backfill says that the decider accepted the request's backfill for the
	// caller's role (and recorded it in its events). A backfilled request
	// whose change does not say so is refused as forbidden: a command
	// accepts a backfill only where domain.md §10 gives the role one.
	Backfill bool
}

// Decider decides a command on the current state of its stream. It may load
// other streams through the log for read-only lookups (reporting lines, the
// appraiser's SKP); those are not part of the concurrency check. It must not
// append; it returns events or an error of one of the kinds in errors.go.
// Handler calls it again on fresh state after a concurrency conflict, so it
// must not keep state between calls other than outputs it overwrites.
type Decider func(ctx context.Context, req Request, s Stream) (Change, error)

// Committed describes a successful command.
type Committed struct {
	// Stream is the stream written.
	Stream string
	// Revision is the stream's revision after the command (its last event,
	// or the unchanged revision when nothing was appended).
	Revision uint64
	// Events are the appended events (empty for a no-op).
	Events []NewEvent
}

// DefaultAttempts is how many times [Handler] decides a command before it
// gives up on concurrency conflicts, when it has no [Runner].
const DefaultAttempts = 4

// Runner runs the attempts of one command on a stream. An attempt loads
// the stream, decides and appends; it fails with an error matching
// [ErrConcurrency] when another writer appended between its load and its
// append, and then nothing was written and it may run again on fresh
// state. A Runner decides how: it may serialise the commands of a stream
// within the process (so they never race each other) and wait between
// attempts (so writers in other processes can finish). Waiting needs a
// clock and randomness, which the domain does not have, so the Runner is
// injected (package app has the service's); Run must be safe for
// concurrent use.
type Runner interface {
	// Run calls attempt until it returns an error that does not match
	// ErrConcurrency (nil included), or gives up, and returns the last
	// error: when it gives up, one matching ErrConcurrency. It ends early,
	// with ctx's error, when ctx ends while it waits.
	Run(ctx context.Context, stream string, attempt func(ctx context.Context) error) error
}

// Handler runs commands: it loads the target stream, calls the decider,
// stamps the envelope and event IDs, and appends with the expected revision.
// On a concurrency conflict it re-decides on fresh state, as its Runner
// allows (without one: at most Attempts times, at once). Clock and NewID
// are injected; the domain never reads the system clock or a random source
// itself.
type Handler struct {
	// Log reads and writes streams.
	Log EventLog
	// Now returns the current time. It fills a missing OccurredAt and bounds
	// times that may not lie in the future.
	Now func() time.Time
	// NewID returns a fresh unique identifier, for events and for entities
	// (RHK, indicators, objections…).
	NewID func() uuid.UUID
	// Dating is how far back business time may lie (domain.md §10); the
	// zero value means bizdate.Default(). The service sets the policy's
	// rule; historical imports (the seed) set Unchecked.
	Dating bizdate.Rule
	// Attempts bounds the decisions per command when Runner is nil (default
	// [DefaultAttempts]).
	Attempts int
	// Runner, when set, runs the attempts of each command (see [Runner]).
	Runner Runner
}

// Prepare validates and normalises a request: a caller is required, a
// missing OccurredAt becomes now, OccurredAt may not lie in the future, and
// a backfill names its paper. How far back OccurredAt may lie (the Dating
// rule: the tolerance, or for a backfill its maximum age) is checked after
// the decider has spoken (see attempt), so that a caller without the right
// learns that (403), not that the date is wrong.
func (h *Handler) Prepare(req Request) (Request, error) {
	now := h.Now()
	var v ValidationError
	if req.Caller.ID == "" {
		v.Add("actor", "required")
	}
	if req.OccurredAt.IsZero() {
		req.OccurredAt = now
	} else if req.OccurredAt.After(now) {
		v.Add("occurred_at", "must not be in the future")
	}
	if b := req.Backfill; b != nil {
		if p := bizdate.PaperRefProblem(b.PaperRef); p != "" {
			v.Add("paper_ref", "%s", p)
		}
		if p := TextProblem(b.OnBehalfOf); p != "" || len(b.OnBehalfOf) > 64 {
			v.Add("on_behalf_of", "must be an NIP")
		}
	}
	req.OccurredAt = NormalTime(req.OccurredAt)
	return req, v.Err()
}

// backdated refuses a request whose OccurredAt lies further back than the
// Dating rule allows.
func (h *Handler) backdated(req Request) error {
	if p := h.dating().Problem(h.Now(), req.OccurredAt, req.Backfill != nil); p != "" {
		return Invalid("occurred_at", "%s", p)
	}
	return nil
}

// BackfillReason is the envelope reason of a backfill given without one.
func BackfillReason(paperRef string) string {
	return "Entri susulan (backfill) · ref " + paperRef
}

// dating is the rule in force: Dating, or the default when it is zero.
func (h *Handler) dating() bizdate.Rule {
	if h.Dating == (bizdate.Rule{}) {
		return bizdate.Default()
	}
	return h.Dating
}

// BusinessTime checks another business date of req (delivered_at,
// filed_at, received_at) by the same rule as OccurredAt, and returns it
// normalised; zero means req.OccurredAt.
func (h *Handler) BusinessTime(req Request, field string, at time.Time) (time.Time, error) {
	if at.IsZero() {
		return req.OccurredAt, nil
	}
	if p := h.dating().Problem(h.Now(), at, req.Backfill != nil); p != "" {
		return time.Time{}, Invalid(field, "%s", p)
	}
	return NormalTime(at), nil
}

// EffectiveDate judges the effective date d (input field) of a master-data
// act (a reporting line, a post, a unit head) recorded now, in the agency's
// zone loc (domain.md §10). It reports whether d lies back beyond the
// tolerance (the act is then a backfill, which the command must authorise
// before it shows err), and err, the 422 the date earns: a backdated date
// without paper_ref (named on paper_ref), one older than the maximum age or
// more than a year ahead (named on field), and a paper_ref on a date that
// is not backdated (named on paper_ref: it would flag as a backfill what
// is none).
func (h *Handler) EffectiveDate(req Request, field string, d calendar.Date, loc *time.Location) (backdated bool, err error) {
	now, r := h.Now(), h.dating()
	start, next := d.Start(loc), d.AddDays(1).Start(loc)
	backdated = r.EffectiveBackdated(now, next)
	switch {
	case backdated && req.Backfill == nil:
		return true, Invalid("paper_ref", "required: %s %s lies before today, so the act is a backfill from the signed decree (SK): give its number", field, d)
	case !backdated && req.Backfill != nil && !r.Unchecked:
		return false, Invalid("paper_ref", "only for a backfill: %s %s does not lie before today", field, d)
	}
	if p := r.EffectiveProblem(now, start, next, req.Backfill != nil); p != "" {
		return backdated, Invalid(field, "%s", p)
	}
	return backdated, nil
}

// Load reads a stream for a read-only lookup or a query.
func (h *Handler) Load(ctx context.Context, stream string) (Stream, error) {
	evs, rev, ok, err := h.Log.Load(ctx, stream)
	if err != nil {
		return Stream{}, fmt.Errorf("load %s: %w", stream, err)
	}
	return Stream{Name: stream, Events: evs, Revision: rev, Exists: ok}, nil
}

// Execute runs decide against stream and appends what it decides.
func (h *Handler) Execute(ctx context.Context, stream string, req Request, decide Decider) (Committed, error) {
	req, err := h.Prepare(req)
	if err != nil {
		return Committed{}, err
	}
	var out Committed
	attempt := func(ctx context.Context) error {
		c, err := h.attempt(ctx, stream, req, decide)
		out = c
		return err
	}
	if h.Runner != nil {
		err = h.Runner.Run(ctx, stream, attempt)
	} else {
		err = h.retry(ctx, stream, attempt)
	}
	if err != nil {
		return Committed{}, err
	}
	return out, nil
}

// retry is the Runner of a Handler without one: up to Attempts attempts,
// one after the other.
func (h *Handler) retry(ctx context.Context, stream string, attempt func(context.Context) error) error {
	attempts := h.Attempts
	if attempts <= 0 {
		attempts = DefaultAttempts
	}
	var err error
	for range attempts {
		if err = attempt(ctx); !errors.Is(err, ErrConcurrency) {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	return fmt.Errorf("append %s: gave up after %d attempts: %w", stream, attempts, err)
}

// attempt loads stream, decides and appends once; it fails with an error
// matching ErrConcurrency when the stream changed under it.
func (h *Handler) attempt(ctx context.Context, stream string, req Request, decide Decider) (Committed, error) {
	s, err := h.Load(ctx, stream)
	if err != nil {
		return Committed{}, err
	}
	if req.IfMatch != nil && (!s.Exists || s.Revision != *req.IfMatch) {
		// The decider speaks first when it refuses the caller: a 412
		// would tell a caller who may not know the stream that it
		// exists, and how far it has come. Deciders are pure, so
		// running one changes nothing.
		if _, err := decide(ctx, req, s); errors.Is(err, ErrNotFound) || errors.Is(err, ErrForbidden) {
			return Committed{}, err
		}
		return Committed{}, &RevisionMismatchError{Stream: stream, Expected: *req.IfMatch, Actual: s.Revision, Exists: s.Exists}
	}
	ch, err := decide(ctx, req, s)
	if errors.Is(err, ErrNotFound) || errors.Is(err, ErrForbidden) {
		return Committed{}, err
	}
	if err == nil && req.Backfill != nil && !ch.Backfill {
		return Committed{}, ErrBackfillRefused
	}
	// The business date is judged once the caller's right is: deciders
	// check authority on both the business date and today (domain.md §10).
	if err := h.backdated(req); err != nil {
		return Committed{}, err
	}
	if err != nil {
		return Committed{}, err
	}
	if len(ch.Events) == 0 {
		return Committed{Stream: stream, Revision: s.Revision}, nil
	}
	meta := req.Meta(ch.Role)
	if ch.Reason != "" {
		meta.Reason = ch.Reason
	}
	if ch.Backfill && meta.Reason == "" {
		// The envelope's reason is what the audit trail shows: a backfill
		// says so there too, with its paper (the payload has it in full).
		meta.Reason = BackfillReason(req.Backfill.PaperRef)
	}
	out := make([]NewEvent, len(ch.Events))
	for i, e := range ch.Events {
		out[i] = NewEvent{ID: h.NewID(), Meta: meta, Event: e}
	}
	expected := NoStream
	if s.Exists {
		expected = ExactRevision(s.Revision)
	}
	rev, err := h.Log.Append(ctx, stream, expected, out)
	switch {
	case err == nil:
		return Committed{Stream: stream, Revision: rev, Events: out}, nil
	case errors.Is(err, ErrConcurrency):
		return Committed{}, err
	}
	return Committed{}, fmt.Errorf("append %s: %w", stream, err)
}
