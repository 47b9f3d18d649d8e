package eventstore

import (
	"context"
	"errors"
	"iter"
	"slices"
	"sync"
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
}

var _ Store = (*AuthenticatedStore)(nil)

// NewAuthenticatedStore wraps s, authenticating against keys.
func NewAuthenticatedStore(s Store, keys *Keyring) *AuthenticatedStore {
	return &AuthenticatedStore{Store: s, keys: keys, verdicts: &sync.Map{}}
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

// ReadStream implements Store with ReadStreamAuthenticated. A backwards
// read authenticates the stream forwards from its start and yields it
// reversed: correct, and as costly as a whole forward read.
func (s *AuthenticatedStore) ReadStream(ctx context.Context, stream string, opts ReadStreamOptions) iter.Seq2[Event, error] {
	if opts.Direction != Backwards {
		return ReadStreamAuthenticated(ctx, s.Store, s.keys, stream, opts, nil)
	}
	return func(yield func(Event, error) bool) {
		var all []Event
		for ev, err := range ReadStreamAuthenticated(ctx, s.Store, s.keys, stream, ReadStreamOptions{AsOf: opts.AsOf}, nil) {
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
	inner := s.Store.ReadAll(ctx, ReadAllOptions{After: opts.After})
	return s.filtered(ctx, opts.After, opts.Filter, opts.Limit, inner)
}

// SubscribeAll implements Store; see the type's doc for refused events.
func (s *AuthenticatedStore) SubscribeAll(ctx context.Context, opts SubscribeOptions) iter.Seq2[Event, error] {
	inner := s.Store.SubscribeAll(ctx, SubscribeOptions{After: opts.After})
	return s.filtered(ctx, opts.After, opts.Filter, 0, inner)
}

func (s *AuthenticatedStore) filtered(ctx context.Context, after Position, f Filter, limit int, inner iter.Seq2[Event, error]) iter.Seq2[Event, error] {
	return func(yield func(Event, error) bool) {
		ao := AuthOptions{Keys: s.keys, Store: s.Store, After: after}
		if after == 0 && s.cover != nil {
			ao.Covered = s.cover()
		}
		a := NewAuthenticator(ao)
		n := 0
		for ev, err := range a.FeedEach(ctx, inner) {
			if ev.ID != [16]byte{} && !f.Match(ev.Stream, ev.Type) {
				continue
			}
			var ie *IntegrityError
			if s.marking && ev.ID != [16]byte{} && errors.As(err, &ie) {
				s.verdicts.Store(ev.ID, ie)
				err = nil
			}
			if !yield(ev, err) {
				return
			}
			if n++; limit > 0 && n == limit {
				return
			}
		}
	}
}
