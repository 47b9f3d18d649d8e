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

// TailsHeadReader is a TailsReader that also reads, in the same round
// trip and snapshot, the newest committed position of the store: every
// event committed before the read began is at or below it. It is not
// Head: it does not wait for older writing transactions, which may still
// commit events below it. A reader that keeps "I have seen everything up
// to P" (P from Head) learns from it that nothing was committed after P
// without a second query, and asks Head only when something was.
type TailsHeadReader interface {
	TailsReader
	// ReadTailsHead is ReadTails that also returns the newest committed
	// position (0 for an empty store).
	ReadTailsHead(ctx context.Context, reqs []TailRequest) (tails []Tail, newest Position, err error)
}

// WithNewestCommitted returns ctx carrying newest, the newest committed
// position of the store as read (ReadTailsHead) after the work ctx serves
// began: every event committed before then is at or below it, though an
// older transaction may still commit below it (it is not final, as Head's
// answer is).
func WithNewestCommitted(ctx context.Context, newest Position) context.Context {
	return context.WithValue(ctx, newestCommittedKey{}, newest)
}

// NewestCommitted returns the position WithNewestCommitted put in ctx.
func NewestCommitted(ctx context.Context) (Position, bool) {
	p, ok := ctx.Value(newestCommittedKey{}).(Position)
	return p, ok
}

type newestCommittedKey struct{}

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
