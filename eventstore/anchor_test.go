package eventstore_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/kinerja-ledger/kinerja/eventstore"
)

// TestReadStreamAnchored: the events up to an anchor are accepted on their
// chain links and the anchor's hash, whoever signed them; an event altered
// below the anchor is refused (its chain no longer ends at the anchor's
// hash, or no longer links); the events after the anchor still need a
// trusted signature.
func TestReadStreamAnchored(t *testing.T) {
	trusted, other := key(1), key(2)
	keys := eventstore.NewKeyring(trusted.Public())
	build := func() *ledger {
		l := newLedger()
		l.append(t, other, "skp-1", 2) // revisions 0-1: a key the reader does not trust
		l.append(t, nil, "skp-2", 1)
		l.append(t, other, "skp-1", 3) // 2-4
		l.append(t, trusted, "skp-1", 2)
		return l
	}
	anchorAt := func(l *ledger, rev uint64) *eventstore.Head {
		for _, e := range l.events {
			if e.Stream == "skp-1" && e.Revision == rev {
				return &eventstore.Head{Exists: true, Revision: rev, Hash: e.Hash}
			}
		}
		t.Fatalf("no revision %d", rev)
		return nil
	}
	read := func(l *ledger, opts eventstore.ReadStreamOptions, prev, anchor *eventstore.Head) ([]uint64, error) {
		var revs []uint64
		for ev, err := range eventstore.ReadStreamAnchored(context.Background(), l, keys, "skp-1", opts, prev, anchor) {
			if err != nil {
				return revs, err
			}
			revs = append(revs, ev.Revision)
		}
		return revs, nil
	}
	all := []uint64{0, 1, 2, 3, 4, 5, 6}

	l := build()
	if got, err := read(l, eventstore.ReadStreamOptions{}, nil, nil); err == nil {
		t.Fatalf("without an anchor the untrusted signatures authenticated: %v", got)
	}
	if got, err := read(l, eventstore.ReadStreamOptions{}, nil, anchorAt(l, 4)); err != nil || !slices.Equal(got, all) {
		t.Fatalf("anchored at 4: %v, %v; want %v", got, err, all)
	}
	if got, err := read(l, eventstore.ReadStreamOptions{Limit: 2}, nil, anchorAt(l, 4)); err != nil || !slices.Equal(got, all[:2]) {
		t.Fatalf("anchored at 4, limit 2: %v, %v; want the first two (the rest read on to the anchor)", got, err)
	}
	if got, err := read(l, eventstore.ReadStreamOptions{}, nil, anchorAt(l, 1)); err == nil {
		t.Fatalf("anchored at 1: the append of 2-4 (untrusted signature) was let through: %v", got)
	}
	// An anchor below the read's start is of no use: the signatures decide.
	if got, err := read(l, eventstore.ReadStreamOptions{From: 5}, nil, anchorAt(l, 4)); err != nil || !slices.Equal(got, all[5:]) {
		t.Fatalf("from 5: %v, %v", got, err)
	}

	t.Run("altered below the anchor, chain recomputed", func(t *testing.T) {
		l := build()
		anchor := anchorAt(l, 4)
		// Rewrite revision 1's data and re-chain every later event of the
		// stream, as someone with write access to the store could.
		var h eventstore.Hash
		for i := range l.events {
			e := &l.events[i]
			if e.Stream != "skp-1" {
				continue
			}
			if e.Revision == 1 {
				e.Data = []byte(`{"forged":true}`)
			}
			e.Hash = eventstore.ChainHash(h, e.Stream, e.Revision, &e.EventData)
			h = e.Hash
		}
		got, err := read(l, eventstore.ReadStreamOptions{}, nil, anchor)
		if !errors.Is(err, eventstore.ErrIntegrity) || len(got) != 0 {
			t.Fatalf("read = %v, %v; want nothing and ErrIntegrity", got, err)
		}
		if got, err := read(l, eventstore.ReadStreamOptions{Limit: 1}, nil, anchor); !errors.Is(err, eventstore.ErrIntegrity) || len(got) != 0 {
			t.Fatalf("read with limit 1 = %v, %v; want nothing and ErrIntegrity", got, err)
		}
	})
	t.Run("altered below the anchor, chain not recomputed", func(t *testing.T) {
		l := build()
		anchor := anchorAt(l, 4)
		l.events[1].Data = []byte(`{"forged":true}`)
		if got, err := read(l, eventstore.ReadStreamOptions{}, nil, anchor); !errors.Is(err, eventstore.ErrIntegrity) || len(got) != 0 {
			t.Fatalf("read = %v, %v; want nothing and ErrIntegrity", got, err)
		}
	})
	t.Run("events missing up to the anchor", func(t *testing.T) {
		l := build()
		anchor := anchorAt(l, 4)
		l.events = slices.DeleteFunc(l.events, func(e eventstore.Event) bool { return e.Stream == "skp-1" && e.Revision >= 3 })
		if got, err := read(l, eventstore.ReadStreamOptions{}, nil, anchor); !errors.Is(err, eventstore.ErrIntegrity) || len(got) != 0 {
			t.Fatalf("read = %v, %v; want nothing and ErrIntegrity", got, err)
		}
	})
	t.Run("the whole stream gone", func(t *testing.T) {
		l := build()
		anchor := anchorAt(l, 4)
		l.events = slices.DeleteFunc(l.events, func(e eventstore.Event) bool { return e.Stream == "skp-1" })
		if got, err := read(l, eventstore.ReadStreamOptions{}, nil, anchor); !errors.Is(err, eventstore.ErrIntegrity) || errors.Is(err, eventstore.ErrStreamNotFound) || len(got) != 0 {
			t.Fatalf("read = %v, %v; want nothing and ErrIntegrity, not a stream not found", got, err)
		}
		// Without an anchor, a stream that is not there is simply not found.
		if _, err := read(l, eventstore.ReadStreamOptions{}, nil, nil); !errors.Is(err, eventstore.ErrStreamNotFound) {
			t.Fatalf("unanchored read = %v, want ErrStreamNotFound", err)
		}
	})
	t.Run("a forged event after the anchor", func(t *testing.T) {
		l := build()
		anchor := anchorAt(l, 4)
		l.forge("skp-1", len(l.events))
		got, err := read(l, eventstore.ReadStreamOptions{}, nil, anchor)
		if !errors.Is(err, eventstore.ErrUnsigned) || !slices.Equal(got, all) {
			t.Fatalf("read = %v, %v; want the 7 events then ErrUnsigned", got, err)
		}
	})
}

// TestAuthenticatedStoreAnchors: AnchorStreams reaches the stream reads of
// the store and of its copies (forwards and backwards), and nil turns it
// off.
func TestAuthenticatedStoreAnchors(t *testing.T) {
	trusted, other := key(1), key(2)
	l := newLedger()
	l.append(t, other, "skp-1", 3) // signed with a key the store does not trust
	l.append(t, trusted, "skp-1", 1)
	s := eventstore.NewAuthenticatedStore(memStore{l}, eventstore.NewKeyring(trusted.Public()))
	marking := s.Marking()
	count := func(st *eventstore.AuthenticatedStore, opts eventstore.ReadStreamOptions) (int, error) {
		n := 0
		for _, err := range st.ReadStream(context.Background(), "skp-1", opts) {
			if err != nil {
				return n, err
			}
			n++
		}
		return n, nil
	}
	backwards := eventstore.ReadStreamOptions{Direction: eventstore.Backwards, From: eventstore.End}
	if _, err := count(s, eventstore.ReadStreamOptions{}); !errors.Is(err, eventstore.ErrIntegrity) {
		t.Fatalf("no anchors: %v; want ErrIntegrity", err)
	}
	s.AnchorStreams(func(_ context.Context, stream string) (eventstore.Head, bool) {
		return eventstore.Head{Exists: true, Revision: 2, Hash: l.events[2].Hash}, stream == "skp-1"
	})
	for _, st := range []*eventstore.AuthenticatedStore{s, marking} {
		for _, opts := range []eventstore.ReadStreamOptions{{}, backwards} {
			if n, err := count(st, opts); err != nil || n != 4 {
				t.Fatalf("anchored (%+v): %d events, %v; want 4", opts, n, err)
			}
		}
	}
	s.AnchorStreams(nil)
	if _, err := count(marking, eventstore.ReadStreamOptions{}); !errors.Is(err, eventstore.ErrIntegrity) {
		t.Fatalf("anchors off: %v; want ErrIntegrity", err)
	}
}
