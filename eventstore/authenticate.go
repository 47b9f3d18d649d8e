package eventstore

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"sync"
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
	// Links, when set, is shared by the Authenticators of a process: the
	// links they authenticated by signature, where a predecessor is looked
	// up before it is read from Store.
	Links *Links
	// Anchor, when set, is for a stream read (Stream set): the caller
	// knows by means of its own that the stream's event at
	// Anchor.Revision has the chain hash Anchor.Hash (a signed audit
	// checkpoint covers that event, and the caller recomputed the
	// checkpoint's root over the trail entry that holds the hash). The
	// events up to that revision are then accepted on their chain links
	// alone, once the event at the anchor arrives with that hash: each
	// chain hash commits to the event and to its predecessor's hash, so
	// the anchor's hash authenticates every event before it. They wait
	// for it as an unsigned run waits for its signature; a stored hash
	// other than the anchor's refuses them all. Events after the anchor
	// need their writer signature as usual.
	Anchor *Head
}

// Links remembers recently authenticated chain links (an event's stream,
// revision, hash and position), bounded, forgetting the oldest first. It
// is safe for concurrent use.
type Links struct {
	mu   sync.Mutex
	m    map[linkKey]link
	ring []linkKey
	next int
}

type linkKey struct {
	stream   string
	revision uint64
}

type link struct {
	hash     Hash
	position Position
}

// maxLinks bounds a Links.
const maxLinks = 1 << 16

// NewLinks returns an empty Links.
func NewLinks() *Links { return &Links{} }

func (l *Links) get(stream string, rev uint64) (link, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	v, ok := l.m[linkKey{stream, rev}]
	return v, ok
}

func (l *Links) put(evs []Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, ev := range evs {
		k := linkKey{ev.Stream, ev.Revision}
		if l.m == nil {
			l.m, l.ring = make(map[linkKey]link, maxLinks), make([]linkKey, maxLinks)
		}
		if _, ok := l.m[k]; ok {
			continue
		}
		if old := l.ring[l.next]; old.stream != "" {
			delete(l.m, old)
		}
		l.ring[l.next] = k
		l.m[k] = link{hash: ev.Hash, position: ev.Position}
		l.next = (l.next + 1) % maxLinks
	}
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
	heads   *headTable
	last    Position
	pending []Event   // an unsigned run of one stream, consecutive revisions
	out     []Outcome // Check's answer, reused
}

// NewAuthenticator returns an Authenticator that has seen nothing.
func NewAuthenticator(opts AuthOptions) *Authenticator {
	if opts.Keys == nil {
		opts.Keys = NewKeyring()
	}
	return &Authenticator{opts: opts, heads: newHeadTable(), last: opts.After}
}

// Seed tells the Authenticator the authenticated head of a stream, known
// to the caller (a cached prefix), so that a read from Next() on needs no
// predecessor read.
func (a *Authenticator) Seed(stream string, h Head) { a.heads.put(stream, h) }

// Head returns the last head of stream the Authenticator accepted.
func (a *Authenticator) Head(stream string) Head {
	h, _ := a.heads.get(stream)
	return h
}

// Pending returns how many events wait for their append's signature.
func (a *Authenticator) Pending() int { return len(a.pending) }

// Outcome is the verdict on one event: authenticated (Refused nil), or
// refused with the problem that names it (or the first event of its
// append).
type Outcome struct {
	Event   Event
	Refused *IntegrityError
}

// Check takes the next event of the feed and returns the verdicts it
// reached with it, in the global order: none while an append's signature is
// still to come, the whole append when it arrives, and refusals for the
// events that fail (an unsigned run cut short by another stream's event, a
// broken chain link, a signature that does not verify). After a refusal the
// Authenticator carries on as if the refused events had been accepted (the
// stored hashes become the heads), so a verifier can report what follows;
// a feed that must not skip stops at the first refusal. err is an error of
// a point read. The slice is valid until the next call.
func (a *Authenticator) Check(ctx context.Context, ev Event) ([]Outcome, error) {
	out := a.out[:0]
	defer func() { a.out = out[:0] }()
	refuse := func(run []Event, ie *IntegrityError) {
		for _, r := range run {
			out = append(out, Outcome{Event: r, Refused: ie})
		}
	}
	global := a.opts.Stream == ""
	if !global && ev.Stream != a.opts.Stream {
		refuse([]Event{ev}, integrity(ev, fmt.Sprintf("belongs to stream %s, not %s", ev.Stream, a.opts.Stream)))
		return out, nil
	}
	if len(a.pending) > 0 && ev.Stream != a.pending[0].Stream {
		// Only a global feed can get here. (The next event of the same
		// stream at another revision fails the checks below.)
		run := a.pending
		a.pending = nil
		refuse(run, unsignedRun(run, fmt.Sprintf("the next event in the global order (%s@%d, position %d) is not the rest of its append", ev.Stream, ev.Revision, ev.Position)))
	}
	var problem *IntegrityError
	if ev.Position <= a.last {
		problem = integrity(ev, fmt.Sprintf("position %d does not follow position %d", ev.Position, a.last))
	}
	a.last = max(a.last, ev.Position)
	prev, ok, err := a.predecessor(ctx, ev)
	if err != nil {
		return out, err
	}
	switch {
	case problem != nil:
	case !ok:
		problem = integrity(ev, fmt.Sprintf("revision %d has no predecessor in the store (events are missing)", ev.Revision))
	case ev.Revision != prev.Next():
		problem = integrity(ev, fmt.Sprintf("revision %d where %d was expected (an event is missing, duplicated or out of order)", ev.Revision, prev.Next()))
	default:
		if got := ChainHash(prev.Hash, ev.Stream, ev.Revision, &ev.EventData); got != ev.Hash {
			problem = integrity(ev, fmt.Sprintf("stored hash %s, recomputed %s (the event or its predecessor was altered)", ev.Hash, got))
		}
	}
	a.heads.put(ev.Stream, Head{Exists: true, Revision: ev.Revision, Hash: ev.Hash})
	if problem != nil {
		// The events of its append before it can no longer be covered.
		run := append(a.pending, ev)
		a.pending = a.pending[:0:0]
		refuse(run, problem)
		return out, nil
	}
	if anchor := a.opts.Anchor; !global && anchor != nil && ev.Revision <= anchor.Revision {
		if ev.Revision < anchor.Revision {
			a.pending = append(a.pending, ev) // until the anchor authenticates it
			return out, nil
		}
		run := append(a.pending, ev)
		a.pending = a.pending[:0:0]
		if ev.Hash != anchor.Hash {
			refuse(run, anchorProblem(run, ev, anchor.Hash))
			return out, nil
		}
		for _, r := range run {
			out = append(out, Outcome{Event: r})
		}
		return out, nil
	}
	if global && a.opts.Covered != nil && a.opts.Covered(ev) {
		if len(a.pending) > 0 {
			// A covered event right after an unsigned run of its stream:
			// the run precedes the covered prefix's end, which cannot be.
			run := a.pending
			a.pending = nil
			refuse(run, unsignedRun(run, "its append continues into events covered by a checkpoint"))
		}
		return append(out, Outcome{Event: ev}), nil
	}
	if ev.Signature.IsZero() {
		a.pending = append(a.pending, ev)
		return out, nil
	}
	run := append(a.pending, ev)
	a.pending = a.pending[:0:0] // run keeps the array: the events may be held
	if err := a.opts.Keys.Verify(ev.Hash, ev.Signature); err != nil {
		refuse(run, signatureProblem(run, ev, err))
		return out, nil
	}
	if a.opts.Links != nil {
		a.opts.Links.put(run)
	}
	for _, r := range run {
		out = append(out, Outcome{Event: r})
	}
	return out, nil
}

// Finish settles an unsigned run left at the end of a read (a read that
// stopped at a limit, an as-of time or a position inside an append): it
// reads the rest of the append from the store, up to its signed last event,
// and authenticates the run once that signature verifies. A run whose
// append has no signed end is refused (ErrUnsigned): nothing acknowledged
// ever ends that way.
func (a *Authenticator) Finish(ctx context.Context) ([]Outcome, error) {
	if len(a.pending) == 0 {
		return nil, nil
	}
	run := a.pending
	a.pending = nil
	outcomes := func(ie *IntegrityError) []Outcome {
		out := make([]Outcome, len(run))
		for i, r := range run {
			out[i] = Outcome{Event: r, Refused: ie}
		}
		return out
	}
	if a.opts.Store == nil {
		return nil, errors.New("eventstore: authenticate: the read ended inside an append and there is no store to read its end from")
	}
	last := run[len(run)-1]
	if anchor := a.opts.Anchor; a.opts.Stream != "" && anchor != nil && last.Revision < anchor.Revision {
		return a.finishAnchored(ctx, run, *anchor, outcomes)
	}
	prev := last.Hash
	for ev, err := range a.opts.Store.ReadStream(ctx, last.Stream, ReadStreamOptions{From: last.Revision + 1}) {
		if errors.Is(err, ErrStreamNotFound) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("eventstore: authenticate: read the end of %s's append: %w", last.Stream, err)
		}
		if want := last.Revision + 1; ev.Revision != want {
			return outcomes(unsignedRun(run, fmt.Sprintf("its stream goes on at revision %d where %d was expected", ev.Revision, want))), nil
		}
		if got := ChainHash(prev, ev.Stream, ev.Revision, &ev.EventData); got != ev.Hash {
			return outcomes(unsignedRun(run, fmt.Sprintf("the rest of its append does not link (%s@%d: stored hash %s, recomputed %s)", ev.Stream, ev.Revision, ev.Hash, got))), nil
		}
		if !ev.Signature.IsZero() {
			if err := a.opts.Keys.Verify(ev.Hash, ev.Signature); err != nil {
				return outcomes(signatureProblem(run, ev, err)), nil
			}
			return outcomes(nil), nil
		}
		last, prev = ev, ev.Hash
	}
	return outcomes(unsignedRun(run, "its append has no signed last event in the store")), nil
}

// finishAnchored settles a run that waits for its stream's anchor (a read
// that stopped before the anchored revision): it reads on from the store,
// checking the chain links, up to the anchor, and authenticates the run
// when the anchor's hash is there. A stream that ends before the anchor has
// lost events the caller's checkpoint covers: the run is refused.
func (a *Authenticator) finishAnchored(ctx context.Context, run []Event, anchor Head, outcomes func(*IntegrityError) []Outcome) ([]Outcome, error) {
	last := run[len(run)-1]
	prev := last.Hash
	for ev, err := range a.opts.Store.ReadStream(ctx, last.Stream, ReadStreamOptions{From: last.Revision + 1}) {
		if errors.Is(err, ErrStreamNotFound) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("eventstore: authenticate: read %s on to its anchor: %w", last.Stream, err)
		}
		want := last.Revision + 1
		if ev.Revision != want {
			return outcomes(integrity(run[0], fmt.Sprintf("its stream goes on at revision %d where %d was expected", ev.Revision, want))), nil
		}
		if got := ChainHash(prev, ev.Stream, ev.Revision, &ev.EventData); got != ev.Hash {
			return outcomes(integrity(run[0], fmt.Sprintf("the events after it do not link (%s@%d: stored hash %s, recomputed %s)", ev.Stream, ev.Revision, ev.Hash, got))), nil
		}
		if ev.Revision == anchor.Revision {
			if ev.Hash != anchor.Hash {
				return outcomes(anchorProblem(run, ev, anchor.Hash)), nil
			}
			return outcomes(nil), nil
		}
		last, prev = ev, ev.Hash
	}
	return outcomes(integrity(run[0], fmt.Sprintf("its stream ends at revision %d, before revision %d, which a signed audit checkpoint covers (events are missing)", last.Revision, anchor.Revision))), nil
}

// predecessor returns the head the stream had before ev: from what this
// Authenticator accepted, the zero head for revision 0, or a point read of
// revision ev.Revision-1. ok is false when the store has no such event, or
// has it where the feed should have delivered it.
func (a *Authenticator) predecessor(ctx context.Context, ev Event) (Head, bool, error) {
	if h, ok := a.heads.get(ev.Stream); ok {
		return h, true, nil
	}
	if ev.Revision == 0 {
		return Head{}, true, nil
	}
	global := a.opts.Stream == ""
	if a.opts.Links != nil {
		if l, ok := a.opts.Links.get(ev.Stream, ev.Revision-1); ok && (!global || l.position <= a.opts.After) {
			return Head{Exists: true, Revision: ev.Revision - 1, Hash: l.hash}, true, nil
		}
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
		if p.Revision != ev.Revision-1 || (global && p.Position > a.opts.After) {
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
// result). It yields each event once authenticated and ends with the
// *IntegrityError of the first refusal, or with the sequence's own error.
// When the sequence ends, a run left unsigned is settled with Finish.
func (a *Authenticator) Feed(ctx context.Context, events iter.Seq2[Event, error]) iter.Seq2[Event, error] {
	return func(yield func(Event, error) bool) {
		a.drive(ctx, events, func(o Outcome) bool {
			if o.Refused != nil {
				yield(Event{}, o.Refused)
				return false
			}
			return yield(o.Event, nil)
		}, yield)
	}
}

// drive checks every event of events in turn, and what is left unsigned
// at their end, handing each verdict to emit until it returns false. An
// error of the sequence or of a point read goes to fail, and ends it.
func (a *Authenticator) drive(ctx context.Context, events iter.Seq2[Event, error], emit func(Outcome) bool, fail func(Event, error) bool) {
	each := func(out []Outcome) bool {
		for _, o := range out {
			if !emit(o) {
				return false
			}
		}
		return true
	}
	for ev, err := range events {
		if err != nil {
			fail(Event{}, err)
			return
		}
		out, err := a.Check(ctx, ev)
		if !each(out) {
			return
		}
		if err != nil {
			fail(Event{}, err)
			return
		}
	}
	out, err := a.Finish(ctx)
	if err != nil {
		fail(Event{}, err)
		return
	}
	each(out)
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
	return ReadStreamAnchored(ctx, store, keys, stream, opts, prev, nil)
}

// ReadStreamAnchored is ReadStreamAuthenticated with an anchor (see
// AuthOptions.Anchor): the events up to anchor.Revision are authenticated
// by their chain links and the anchor's hash instead of their writer
// signatures. An anchor at or before the read's start (opts.From) is of no
// use and is ignored; nil is no anchor.
func ReadStreamAnchored(ctx context.Context, store StreamReader, keys *Keyring, stream string, opts ReadStreamOptions, prev *Head, anchor *Head) iter.Seq2[Event, error] {
	return func(yield func(Event, error) bool) {
		if opts.Direction == Backwards {
			yield(Event{}, fmt.Errorf("eventstore: authenticate %s: a backwards read cannot be authenticated", stream))
			return
		}
		if anchor != nil && (!anchor.Exists || anchor.Revision < opts.From) {
			anchor = nil
		}
		a := NewAuthenticator(AuthOptions{Keys: keys, Store: store, Stream: stream, Anchor: anchor})
		if prev != nil {
			a.Seed(stream, *prev)
		}
		for ev, err := range a.Feed(ctx, store.ReadStream(ctx, stream, opts)) {
			if anchor != nil && opts.AsOf.IsZero() && errors.Is(err, ErrStreamNotFound) {
				// The stream is gone whole, yet a signed audit checkpoint
				// covers its events up to the anchor: as when only its
				// tail is gone (Finish), events are missing.
				err = &IntegrityError{Stream: stream, Revision: anchor.Revision,
					Problem: fmt.Sprintf("the stream is not found, but a signed audit checkpoint covers it to revision %d (events are missing)", anchor.Revision)}
			}
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

// anchorProblem names the first event of the run the anchor was to
// authenticate.
func anchorProblem(run []Event, ev Event, want Hash) *IntegrityError {
	why := fmt.Sprintf("stored hash %s at revision %d, where a signed audit checkpoint holds %s (the event or one before it was altered)", ev.Hash, ev.Revision, want)
	return integrity(run[0], why)
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
