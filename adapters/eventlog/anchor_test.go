package eventlog_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"iter"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/kinerja-ledger/kinerja/adapters/eventlog"
	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/eventstore"
)

// rechaining serves a stream with one event's data altered and the chain
// hashes of it and every later event recomputed, as someone who can write
// the store's file could (the signatures are left as they were).
type rechaining struct {
	eventstore.Store
	stream string
	rev    uint64
}

func (r rechaining) ReadStream(ctx context.Context, stream string, opts eventstore.ReadStreamOptions) iter.Seq2[eventstore.Event, error] {
	if stream != r.stream {
		return r.Store.ReadStream(ctx, stream, opts)
	}
	return func(yield func(eventstore.Event, error) bool) {
		var h eventstore.Hash
		for ev, err := range r.Store.ReadStream(ctx, stream, eventstore.ReadStreamOptions{}) {
			if err != nil {
				yield(ev, err)
				return
			}
			if ev.Revision == r.rev {
				ev.Data = slices.Clone(ev.Data)
				ev.Data[len(ev.Data)-2] ^= 1 // inside the JSON: a changed name
			}
			ev.Hash = eventstore.ChainHash(h, ev.Stream, ev.Revision, &ev.EventData)
			h = ev.Hash
			if ev.Revision >= opts.From && !yield(ev, nil) {
				return
			}
		}
	}
}

// TestCachedAnchoredLoad: a first load of a stream accepts the events up to
// its anchor without their signatures (here made with a key the reader
// does not trust, so a signature check would refuse them), refuses an
// event altered below the anchor even with the chain recomputed, and asks
// for the anchor only when nothing of the stream is cached.
func TestCachedAnchoredLoad(t *testing.T) {
	ctx := context.Background()
	s := openSigned(t)
	const stream = "unit-anchored"
	w := eventlog.NewCached(s, 0) // the writer
	for _, n := range []string{"a", "b", "c", "d"} {
		if err := appendNext(t, w, stream, n); err != nil {
			t.Fatal(err)
		}
	}
	var head eventstore.Head
	for ev, err := range s.ReadStream(ctx, stream, eventstore.ReadStreamOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		if ev.Revision == 2 {
			head = eventstore.Head{Exists: true, Revision: 2, Hash: ev.Hash}
		}
	}
	// A reader that trusts another key: revision 3 (after the anchor)
	// cannot authenticate, revisions 0-2 can only by the anchor.
	distrust := eventstore.NewKeyring(ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize)).Public().(ed25519.PublicKey))
	var asked atomic.Int64
	anchors := func(_ context.Context, st string) (eventstore.Head, bool) {
		asked.Add(1)
		return head, st == stream
	}
	reader := func(store eventstore.Store, keys *eventstore.Keyring, a eventlog.Anchors) *eventlog.Cached {
		c := eventlog.NewCached(store, 0)
		c.RequireSignatures(keys)
		c.AnchorStreams(a)
		return c
	}
	if _, _, _, err := reader(s, distrust, nil).Load(ctx, stream); !errors.Is(err, eventstore.ErrIntegrity) {
		t.Fatalf("load without anchors, untrusted key = %v; want ErrIntegrity", err)
	}
	if _, _, _, err := reader(s, distrust, anchors).Load(ctx, stream); !errors.Is(err, eventstore.ErrIntegrity) {
		t.Fatalf("anchored load, untrusted key after the anchor = %v; want ErrIntegrity", err)
	}

	// The trusted key, anchored at 2: the same stream as an uncached load.
	c := reader(s, testTrusted, anchors)
	sameAsStore(t, s, c, stream, true)
	asked.Store(0)
	if err := appendNext(t, c, stream, "e"); err != nil {
		t.Fatal(err)
	}
	sameAsStore(t, s, c, stream, true)
	if n := asked.Load(); n != 0 {
		t.Errorf("the anchors were asked %d times with the stream cached", n)
	}

	// Anchored at 3, with a reader that trusts no key of the store: 0-3
	// load on the anchor alone (revision 4 is beyond it, unsigned for this
	// reader).
	for ev, err := range s.ReadStream(ctx, stream, eventstore.ReadStreamOptions{From: 3, Limit: 1}) {
		if err != nil {
			t.Fatal(err)
		}
		head = eventstore.Head{Exists: true, Revision: 3, Hash: ev.Hash}
	}
	if _, _, _, err := reader(s, distrust, anchors).Load(ctx, stream); !errors.Is(err, eventstore.ErrIntegrity) {
		t.Fatalf("anchored at 3, revision 4 untrusted: %v; want ErrIntegrity", err)
	}

	// Anchored at the head (4): the whole stream loads for a reader that
	// trusts no key of the store, on the anchor alone.
	for ev, err := range s.ReadStream(ctx, stream, eventstore.ReadStreamOptions{From: 4}) {
		if err != nil {
			t.Fatal(err)
		}
		head = eventstore.Head{Exists: true, Revision: 4, Hash: ev.Hash}
	}
	if got, rev, _, err := reader(s, distrust, anchors).Load(ctx, stream); err != nil || rev != 4 || len(got) != 5 {
		t.Fatalf("anchored at the head, untrusted key: %d events to %d, %v; want 5 to 4", len(got), rev, err)
	}

	// Revision 1 altered, the chain recomputed: refused with and without
	// the anchor (without it the signatures no longer verify).
	for _, a := range []eventlog.Anchors{nil, anchors} {
		_, _, _, err := reader(rechaining{Store: s, stream: stream, rev: 1}, testTrusted, a).Load(ctx, stream)
		if !errors.Is(err, eventstore.ErrIntegrity) {
			t.Fatalf("load of an altered stream (anchors %v) = %v; want ErrIntegrity", a != nil, err)
		}
	}
	var _ domain.EventLog = c
}
