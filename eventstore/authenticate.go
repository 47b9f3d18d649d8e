package eventstore

import (
	"context"
	"errors"
	"fmt"
	"iter"
)

// StreamReader reads one stream: the point reads an Authenticator makes.
// Every Store is one.
type StreamReader interface {
	ReadStream(ctx context.Context, stream string, opts ReadStreamOptions) iter.Seq2[Event, error]
}

// AuthOptions configures an Authenticator.
type AuthOptions struct {
	// Keys are the trusted writer keys. Required.
	Keys *Keyring
	// Store answers the point reads: the predecessor of a stream's first
	// event when a feed starts mid-history, and the rest of an append whose
	// signature lies beyond the end of a read. Without it such a read fails
	// with an error.
	Store StreamReader
	// After is the position a global feed starts after (0: the
	// beginning). A stream first met at a revision above 0 must have its
	// predecessor at or before it (read from Store); otherwise events are
	// missing from the feed.
	After Position
	// Covered, when set, is called once for every event of a global feed,
	// in order. An event it reports covered is authenticated by other means
	// (the caller proves it: a signed audit checkpoint whose root the
	// caller recomputes over these same events), and only its chain link is
	// checked here. Events it does not cover need a writer signature.
	Covered func(ev Event) bool
	// Stream, when set, makes the Authenticator check one stream read
	// forwards (every event must belong to it) instead of the global order,
	// whose appends are also required to be contiguous.
	Stream string
}

// Authenticator checks events as they come out of a store that is not
// trusted: each stream's hash chain (dense revisions, every link
// recomputed) and the writer signatures. An event is let through only
// once its covering signature has verified: the last event of each append
// is signed over its chain hash, which commits to the events before it in
// the append, so the unsigned events of an append wait for their signed
// last event. In a global feed an append's events must be contiguous: an
// unsigned event must be followed at once by the next revision of its
// stream, up to a signed one.
//
// It is not safe for concurrent use: one Authenticator checks one feed.
type Authenticator struct {
	opts    AuthOptions
	heads   map[string]Head
	last    Position
	pending []Event // an unsigned run of one stream, consecutive revisions
}

// NewAuthenticator returns an Authenticator that has seen nothing.
func NewAuthenticator(opts AuthOptions) *Authenticator {
	if opts.Keys == nil {
		opts.Keys = NewKeyring()
	}
	return &Authenticator{opts: opts, heads: map[string]Head{}, last: opts.After}
}

// Seed tells the Authenticator the authenticated head of a stream, known
// to the caller (a cached prefix), so that a read from Next() on needs no
// predecessor read.
func (a *Authenticator) Seed(stream string, h Head) { a.heads[stream] = h }

// Head returns the last head of stream the Authenticator accepted.
func (a *Authenticator) Head(stream string) Head { return a.heads[stream] }

// Pending returns how many events wait for their append's signature.
func (a *Authenticator) Pending() int { return len(a.pending) }

// Check takes the next event of the feed. It returns the events that are
// now authenticated, in order: none while an append's signature is still
// to come, the whole append when it arrives. Problems are returned as
// *IntegrityErrors in the order met, each naming the first event
// concerned; the Authenticator then carries on as if the offending events
// had been accepted (the stored hashes become the heads), so a verifier
// can go on and report what follows, while a feed stops at the first
// problem. err is an error of a point read.
func (a *Authenticator) Check(ctx context.Context, ev Event) (ready []Event, problems []*IntegrityError, err error) {
	global := a.opts.Stream == ""
	if !global && ev.Stream != a.opts.Stream {
		return nil, []*IntegrityError{integrity(ev, fmt.Sprintf("belongs to stream %s, not %s", ev.Stream, a.opts.Stream))}, nil
	}
	if len(a.pending) > 0 {
		p := a.pending[len(a.pending)-1]
		if ev.Stream != p.Stream {
			// Only a global feed can get here. (The next event of the same
			// stream at another revision fails the checks below.)
			problems = append(problems, unsignedRun(a.pending, fmt.Sprintf("the next event in the global order (%s@%d, position %d) is not the rest of its append", ev.Stream, ev.Revision, ev.Position)))
			a.pending = nil
		}
	}
	if ev.Position <= a.last {
		problems = append(problems, integrity(ev, fmt.Sprintf("position %d does not follow position %d", ev.Position, a.last)))
	}
	a.last = max(a.last, ev.Position)
	prev, ok, perr := a.predecessor(ctx, ev)
	if perr != nil {
		return nil, problems, perr
	}
	switch {
	case !ok:
		problems = append(problems, integrity(ev, fmt.Sprintf("revision %d has no predecessor in the store (events are missing)", ev.Revision)))
	case ev.Revision != prev.Next():
		problems = append(problems, integrity(ev, fmt.Sprintf("revision %d where %d was expected (an event is missing, duplicated or out of order)", ev.Revision, prev.Next())))
	default:
		if got := ChainHash(prev.Hash, ev.Stream, ev.Revision, &ev.EventData); got != ev.Hash {
			problems = append(problems, integrity(ev, fmt.Sprintf("stored hash %s, recomputed %s (the event or its predecessor was altered)", ev.Hash, got)))
		}
	}
	a.heads[ev.Stream] = Head{Exists: true, Revision: ev.Revision, Hash: ev.Hash}
	if len(problems) > 0 {
		a.pending = nil
		return nil, problems, nil
	}
	if global && a.opts.Covered != nil && a.opts.Covered(ev) {
		if len(a.pending) > 0 {
			// A covered event right after an unsigned run of its stream:
			// the run precedes the covered prefix's end, which cannot be.
			run := a.pending
			a.pending = nil
			return nil, []*IntegrityError{unsignedRun(run, "its append continues into events covered by a checkpoint")}, nil
		}
		return []Event{ev}, nil, nil
	}
	if ev.Signature.IsZero() {
		a.pending = append(a.pending, ev)
		return nil, nil, nil
	}
	run := append(a.pending, ev)
	a.pending = nil
	if err := a.opts.Keys.Verify(ev.Hash, ev.Signature); err != nil {
		return nil, []*IntegrityError{signatureProblem(run, ev, err)}, nil
	}
	return run, nil, nil
}

// Finish settles an unsigned run left at the end of a read (a read that
// stopped at a limit, an as-of time or a position inside an append): it
// reads the rest of the append from the store, up to its signed last event,
// and returns the run once that signature verifies. A run whose append has
// no signed end is a problem (ErrUnsigned): nothing acknowledged ever ends
// that way.
func (a *Authenticator) Finish(ctx context.Context) (ready []Event, problem *IntegrityError, err error) {
	if len(a.pending) == 0 {
		return nil, nil, nil
	}
	run := a.pending
	a.pending = nil
	if a.opts.Store == nil {
		return nil, nil, errors.New("eventstore: authenticate: the read ended inside an append and there is no store to read its end from")
	}
	last := run[len(run)-1]
	prev := last.Hash
	for ev, err := range a.opts.Store.ReadStream(ctx, last.Stream, ReadStreamOptions{From: last.Revision + 1}) {
		if errors.Is(err, ErrStreamNotFound) {
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("eventstore: authenticate: read the end of %s's append: %w", last.Stream, err)
		}
		want := last.Revision + 1
		if ev.Revision != want {
			return nil, integrity(ev, fmt.Sprintf("revision %d where %d was expected (an event is missing, duplicated or out of order)", ev.Revision, want)), nil
		}
		if got := ChainHash(prev, ev.Stream, ev.Revision, &ev.EventData); got != ev.Hash {
			return nil, integrity(ev, fmt.Sprintf("stored hash %s, recomputed %s (the event or its predecessor was altered)", ev.Hash, got)), nil
		}
		if !ev.Signature.IsZero() {
			if err := a.opts.Keys.Verify(ev.Hash, ev.Signature); err != nil {
				return nil, signatureProblem(run, ev, err), nil
			}
			return run, nil, nil
		}
		last, prev = ev, ev.Hash
	}
	return nil, unsignedRun(run, "its append has no signed last event in the store"), nil
}

// predecessor returns the head the stream had before ev: from what this
// Authenticator accepted, the zero head for revision 0, or a point read of
// revision ev.Revision-1. ok is false when the store has no such event, or
// has it where the feed should have delivered it.
func (a *Authenticator) predecessor(ctx context.Context, ev Event) (Head, bool, error) {
	if h, ok := a.heads[ev.Stream]; ok {
		return h, true, nil
	}
	if ev.Revision == 0 {
		return Head{}, true, nil
	}
	if a.opts.Store == nil {
		return Head{}, false, errors.New("eventstore: authenticate: a read that starts inside a stream needs a store to read the predecessor from")
	}
	for p, err := range a.opts.Store.ReadStream(ctx, ev.Stream, ReadStreamOptions{From: ev.Revision - 1, Limit: 1}) {
		if errors.Is(err, ErrStreamNotFound) {
			return Head{}, false, nil
		}
		if err != nil {
			return Head{}, false, fmt.Errorf("eventstore: authenticate: read the predecessor of %s@%d: %w", ev.Stream, ev.Revision, err)
		}
		if p.Revision != ev.Revision-1 || (a.opts.Stream == "" && p.Position > a.opts.After) {
			// In a global feed a predecessor after the feed's start should
			// have been delivered before ev.
			return Head{}, false, nil
		}
		return Head{Exists: true, Revision: p.Revision, Hash: p.Hash}, true, nil
	}
	return Head{}, false, nil
}

// Feed authenticates a sequence (ReadAll or SubscribeAll from opts.After,
// read without a filter so that every append is seen whole; filter the
// result). It yields each event once authenticated and ends with an
// *IntegrityError at the first problem, or with the sequence's own error.
// When the sequence ends, a run left unsigned is settled with Finish.
func (a *Authenticator) Feed(ctx context.Context, events iter.Seq2[Event, error]) iter.Seq2[Event, error] {
	return func(yield func(Event, error) bool) {
		for ev, err := range events {
			if err != nil {
				yield(Event{}, err)
				return
			}
			ready, problems, err := a.Check(ctx, ev)
			if err != nil {
				yield(Event{}, err)
				return
			}
			if len(problems) > 0 {
				yield(Event{}, problems[0])
				return
			}
			for _, r := range ready {
				if !yield(r, nil) {
					return
				}
			}
		}
		ready, problem, err := a.Finish(ctx)
		switch {
		case err != nil:
			yield(Event{}, err)
			return
		case problem != nil:
			yield(Event{}, problem)
			return
		}
		for _, r := range ready {
			if !yield(r, nil) {
				return
			}
		}
	}
}

// ReadStreamAuthenticated reads stream forwards from store, like
// ReadStream with opts, and yields each event only once its chain link
// and covering signature verified; the first problem ends the read with an
// *IntegrityError. A read that starts after revision 0 reads its
// predecessor's hash, unless prev (the authenticated head just before
// opts.From, from a caller's cache) is given. An append cut by opts.AsOf or
// opts.Limit is authenticated with its end read past them. Backwards reads
// cannot be authenticated this way and fail.
func ReadStreamAuthenticated(ctx context.Context, store StreamReader, keys *Keyring, stream string, opts ReadStreamOptions, prev *Head) iter.Seq2[Event, error] {
	return func(yield func(Event, error) bool) {
		if opts.Direction == Backwards {
			yield(Event{}, fmt.Errorf("eventstore: authenticate %s: a backwards read cannot be authenticated", stream))
			return
		}
		a := NewAuthenticator(AuthOptions{Keys: keys, Store: store, Stream: stream})
		if prev != nil {
			a.Seed(stream, *prev)
		}
		for ev, err := range a.Feed(ctx, store.ReadStream(ctx, stream, opts)) {
			if !yield(ev, err) || err != nil {
				return
			}
		}
	}
}

func unsignedRun(run []Event, why string) *IntegrityError {
	ie := integrity(run[0], fmt.Sprintf("unsigned, and %s", why))
	if len(run) > 1 {
		ie.Problem = fmt.Sprintf("unsigned (with the %d events after it, to revision %d), and %s", len(run)-1, run[len(run)-1].Revision, why)
	}
	ie.Err = ErrUnsigned
	return ie
}

// signatureProblem names the first event of the run the signature of ev
// was to cover.
func signatureProblem(run []Event, ev Event, err error) *IntegrityError {
	ie := integrity(run[0], err.Error())
	if len(run) > 1 {
		ie.Problem = fmt.Sprintf("the signature of revision %d, which covers it, does not verify: %v", ev.Revision, err)
	}
	ie.Err = kindOf(err)
	return ie
}
