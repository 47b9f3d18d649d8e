package eventstore

import (
	"context"
	"iter"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// AuthenticatedStore is a Store whose reads are authenticated: stream reads
// fail at the first event that does not authenticate (an *IntegrityError:
// the caller must not serve what it derives), and the global reads
// (ReadAll, SubscribeAll) go on past such events, yielding each together
// with the *IntegrityError that refuses it, so that each consumer applies
// its own policy (a projection treats it as poison: the audit and score
// projections stop, the dashboard projections dead-letter it). Appends
// and Head go to the wrapped store as they are.
//
// Global reads read the wrapped store without a filter, so that every
// append is seen whole (its events contiguous, its signature last), and
// filter afterwards.
//
// A Marking copy yields refused events like the others, without an error,
// and records the refusal for Verdict: for a consumer that decides per
// event at a door of its own (the projection runner's Admit), and must not
// see its read end.
type AuthenticatedStore struct {
	Store
	keys    *Keyring
	cover   func() func(Event) bool
	marking bool
	// verdicts holds the refusals of marking reads, by event ID; shared by
	// the copies.
	verdicts *sync.Map
	// links are shared by the feeds of the store and its copies.
	links *Links
	// anchors, shared by the copies, vouch for the covered prefix of a
	// stream on its reads (AnchorStreams).
	anchors *streamAnchors
}

// streamAnchors holds a store's anchor lookup, set once the caller has
// proved the checkpoint that makes them (after the store is in use).
type streamAnchors struct {
	f atomic.Pointer[func(ctx context.Context, stream string) (Head, bool)]
}

var _ Store = (*AuthenticatedStore)(nil)

// NewAuthenticatedStore wraps s, authenticating against keys.
func NewAuthenticatedStore(s Store, keys *Keyring) *AuthenticatedStore {
	return &AuthenticatedStore{Store: s, keys: keys, verdicts: &sync.Map{}, links: NewLinks(), anchors: &streamAnchors{}}
}

// AnchorStreams makes the stream reads of the store and of its copies
// take an anchor from anchors (see AuthOptions.Anchor): the events of a
// stream up to the last that the caller's proved checkpoint covers are
// authenticated by their chain links and the anchor's hash, not by a
// writer signature each. anchors returns false for a stream it has no
// anchor for. It may be called while the store is in use; nil turns the
// anchors off. It returns the anchors it replaces (nil if none), for a
// caller that sets its own for a while to restore them.
func (s *AuthenticatedStore) AnchorStreams(anchors func(ctx context.Context, stream string) (Head, bool)) (previous func(ctx context.Context, stream string) (Head, bool)) {
	var old *func(ctx context.Context, stream string) (Head, bool)
	if anchors == nil {
		old = s.anchors.f.Swap(nil)
	} else {
		old = s.anchors.f.Swap(&anchors)
	}
	if old == nil {
		return nil
	}
	return *old
}

// anchor returns the anchor of stream for a read from revision from, or
// nil.
func (s *AuthenticatedStore) anchor(ctx context.Context, stream string, from uint64) *Head {
	f := s.anchors.f.Load()
	if f == nil {
		return nil
	}
	h, ok := (*f)(ctx, stream)
	if !ok || !h.Exists || h.Revision < from {
		return nil
	}
	return &h
}

// Covering returns a copy of the store whose global reads from the very
// beginning (After 0) take a predicate made by covered as
// AuthOptions.Covered: for reads whose prefix a signed audit checkpoint
// authenticates once the caller has compared its root (the embedded
// start-up's rebuild). covered makes a fresh, stateful predicate per read.
func (s *AuthenticatedStore) Covering(covered func() func(Event) bool) *AuthenticatedStore {
	c := *s
	c.cover = covered
	return &c
}

// Marking returns a copy whose global reads yield refused events like any
// other, recording each refusal for Verdict (see the type's doc).
func (s *AuthenticatedStore) Marking() *AuthenticatedStore {
	c := *s
	c.marking = true
	return &c
}

// Marks reports whether s is a Marking copy (its global reads yield
// refused events without an error).
func (s *AuthenticatedStore) Marks() bool { return s.marking }

// Verdict returns the *IntegrityError a marking read refused ev with, or
// nil. It has the signature of projections.GroupConfig.Admit.
func (s *AuthenticatedStore) Verdict(_ context.Context, ev Event) error {
	if v, ok := s.verdicts.Load(ev.ID); ok {
		return v.(*IntegrityError)
	}
	return nil
}

// Unwrap returns the wrapped store, for reads that need no authentication
// (counting a lag, reading a position).
func (s *AuthenticatedStore) Unwrap() Store { return s.Store }

// Keys returns the keyring the store authenticates against.
func (s *AuthenticatedStore) Keys() *Keyring { return s.keys }

// ReadStream implements Store with ReadStreamAuthenticated (anchored when
// AnchorStreams gave an anchor for the stream). A backwards
// read authenticates the stream forwards from its start and yields it
// reversed: correct, and as costly as a whole forward read.
func (s *AuthenticatedStore) ReadStream(ctx context.Context, stream string, opts ReadStreamOptions) iter.Seq2[Event, error] {
	if opts.Direction != Backwards {
		return ReadStreamAnchored(ctx, s.Store, s.keys, stream, opts, nil, s.anchor(ctx, stream, opts.From))
	}
	return func(yield func(Event, error) bool) {
		var all []Event
		for ev, err := range ReadStreamAnchored(ctx, s.Store, s.keys, stream, ReadStreamOptions{AsOf: opts.AsOf}, nil, s.anchor(ctx, stream, 0)) {
			if err != nil {
				yield(Event{}, err)
				return
			}
			all = append(all, ev)
		}
		n := 0
		for _, ev := range slices.Backward(all) {
			if ev.Revision > opts.From {
				continue
			}
			if opts.Limit > 0 && n == opts.Limit {
				return
			}
			n++
			if !yield(ev, nil) {
				return
			}
		}
	}
}

// ReadAll implements Store; see the type's doc for refused events.
func (s *AuthenticatedStore) ReadAll(ctx context.Context, opts ReadAllOptions) iter.Seq2[Event, error] {
	read := func(ctx context.Context) iter.Seq2[Event, error] {
		return s.Store.ReadAll(ctx, ReadAllOptions{After: opts.After})
	}
	var inner iter.Seq2[Event, error]
	switch {
	case s.cover != nil && opts.After == 0:
		// A checkpoint covers the prefix: its events need no signature,
		// and verifying them ahead would cost what the cover saves.
		inner = read(ctx)
	case opts.Limit > 0 && opts.Limit < preverifyMinLimit:
		// A short read (a lag probe, the next pending event, one
		// message's timestamp) stops long before a read-ahead would: it
		// would read and verify thousands of events for the few asked.
		inner = read(ctx)
	default:
		// Signatures verified ahead, on every core (preverify.go).
		inner = preverified(ctx, s.keys, read)
	}
	return s.filtered(ctx, opts.After, opts.Filter, opts.Limit, inner)
}

// SubscribeAll implements Store; see the type's doc for refused events.
//
// A live feed has no end at which to settle an unsigned run (Finish): an
// event inserted behind the store's back at the tail would wait for ever,
// neither delivered nor refused. So when a run has waited SettleAfter
// with nothing more arriving, its end is read from the store: a
// legitimate append is committed whole, so its signed last event is there
// and the run goes on; otherwise the run is refused.
func (s *AuthenticatedStore) SubscribeAll(ctx context.Context, opts SubscribeOptions) iter.Seq2[Event, error] {
	return func(yield func(Event, error) bool) {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		type item struct {
			ev  Event
			err error
		}
		items := make(chan item)
		go func() {
			defer close(items)
			for ev, err := range s.Store.SubscribeAll(ctx, SubscribeOptions{After: opts.After}) {
				select {
				case items <- item{ev, err}:
				case <-ctx.Done():
					return
				}
				if err != nil {
					return
				}
			}
		}()
		a := s.authenticator(opts.After)
		timer := time.NewTimer(time.Hour)
		defer timer.Stop()
		for {
			var settle <-chan time.Time
			if a.Pending() > 0 {
				timer.Reset(SettleAfter)
				settle = timer.C
			}
			var out []Outcome
			select {
			case it, ok := <-items:
				if !ok {
					return
				}
				if it.err != nil {
					yield(Event{}, it.err)
					return
				}
				var err error
				if out, err = a.Check(ctx, it.ev); err != nil {
					yield(Event{}, err)
					return
				}
			case <-settle:
				var err error
				if out, err = a.Finish(ctx); err != nil {
					yield(Event{}, err)
					return
				}
			}
			if !timer.Stop() {
				select {
				case <-timer.C:
				default:
				}
			}
			for _, o := range out {
				if !s.emit(ctx, o, opts.Filter, yield) {
					return
				}
			}
		}
	}
}

// SettleAfter is how long a live feed holds an unsigned run, with nothing
// more arriving, before it reads the run's end from the store (see
// SubscribeAll). It only delays the refusal of a forged tail: a legitimate
// append arrives whole, its signed last event with it.
const SettleAfter = 100 * time.Millisecond

func (s *AuthenticatedStore) authenticator(after Position) *Authenticator {
	ao := AuthOptions{Keys: s.keys, Store: s.Store, After: after, Links: s.links}
	if after == 0 && s.cover != nil {
		ao.Covered = s.cover()
	}
	return NewAuthenticator(ao)
}

// emit yields one verdict through the filter: an authenticated event, or
// a refused one with its *IntegrityError (a marking store records it and
// yields the event alone).
func (s *AuthenticatedStore) emit(_ context.Context, o Outcome, f Filter, yield func(Event, error) bool) bool {
	if !f.Match(o.Event.Stream, o.Event.Type) {
		return true
	}
	var err error
	if o.Refused != nil {
		if s.marking {
			s.verdicts.Store(o.Event.ID, o.Refused)
		} else {
			err = o.Refused
		}
	}
	return yield(o.Event, err)
}

func (s *AuthenticatedStore) filtered(ctx context.Context, after Position, f Filter, limit int, inner iter.Seq2[Event, error]) iter.Seq2[Event, error] {
	return func(yield func(Event, error) bool) {
		n := 0
		count := func(ev Event, err error) bool {
			if !yield(ev, err) {
				return false
			}
			n++
			return limit <= 0 || n < limit
		}
		s.authenticator(after).drive(ctx, inner, func(o Outcome) bool { return s.emit(ctx, o, f, count) }, yield)
	}
}
