package eventstore

import (
	"context"
	"errors"
)

// TailsReader is implemented by a store that can read the tails of several
// streams in one round trip (pgstore: one statement). A reader that keeps
// a prefix of each stream (a cache of verified events keyed by revision)
// asks for what follows each prefix and learns, in the same answer, each
// stream's current head: a strongly consistent read of several streams
// for the price of one query.
//
// It is optional: a Store that does not implement it is read one stream
// at a time (ReadTailsEach), which is what a store whose reads cost no
// round trip (boltstore) needs.
type TailsReader interface {
	// ReadTails returns one Tail per request, in the order of reqs. The
	// answer is one snapshot of the store: an append is in it whole or not
	// at all. Events are not authenticated (see ReadStreamAuthenticated
	// and Authenticator).
	ReadTails(ctx context.Context, reqs []TailRequest) ([]Tail, error)
}

// TailRequest asks for the events of Stream from revision From on (0: the
// whole stream).
type TailRequest struct {
	Stream string
	From   uint64
}

// Tail is the answer to one TailRequest.
type Tail struct {
	// Events are the stream's events from the requested revision on, in
	// revision order, up to its head (or the store's per-stream limit, see
	// More).
	Events []Event
	// Exists reports whether the stream has the event before From (for
	// From > 0) or any event (From = 0). False for a name no store
	// accepts. A request with From > 0 whose predecessor is missing means
	// the caller's prefix is not this store's.
	Exists bool
	// More is true when the store cut Events short: read the rest with
	// ReadStream from the revision after the last.
	More bool
}

// ReadTailsEach answers reqs with one ReadStream per request, for a store
// that is not a TailsReader.
func ReadTailsEach(ctx context.Context, s Store, reqs []TailRequest) ([]Tail, error) {
	out := make([]Tail, len(reqs))
	for i, r := range reqs {
		from := r.From
		if from > 0 {
			from-- // the predecessor proves the stream exists
		}
		t := &out[i]
		for ev, err := range s.ReadStream(ctx, r.Stream, ReadStreamOptions{From: from}) {
			if err != nil {
				if IsAbsent(err) {
					break
				}
				return nil, err
			}
			if r.From > 0 && ev.Revision == r.From-1 {
				t.Exists = true
				continue
			}
			if r.From > 0 && !t.Exists {
				break // the predecessor is missing: the caller's prefix is not ours
			}
			t.Exists = true
			t.Events = append(t.Events, ev)
		}
	}
	return out, nil
}

// IsAbsent reports whether a stream read's error means the stream has no
// events: none stored, or a name no store accepts.
func IsAbsent(err error) bool {
	return errors.Is(err, ErrStreamNotFound) || errors.Is(err, ErrInvalidStreamName)
}
