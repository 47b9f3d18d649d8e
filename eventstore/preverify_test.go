package eventstore_test

import (
	"context"
	"fmt"
	"iter"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kinerja-ledger/kinerja/eventstore"
)

// bigLedger is a ledger of many appends over several streams (more than
// the read-ahead's chunks and window), with, spread through it, an append
// signed by an untrusted key, a signature altered, an unsigned forged
// event, and an event whose payload was edited after it was sealed.
func bigLedger(t *testing.T) (*ledger, *eventstore.Keyring) {
	t.Helper()
	a, b := key(1), key(2)
	l := newLedger()
	for i := range 4000 {
		s := eventstore.Signer(a)
		if i == 3000 {
			s = b // untrusted
		}
		l.append(t, s, fmt.Sprintf("skp-%d", i%37), 1+i%3)
	}
	// A signature altered (still 64 bytes), deep in the read.
	for i := range l.events {
		if i > 5000 && !l.events[i].Signature.IsZero() {
			sig := append([]byte(nil), l.events[i].Signature.Sig...)
			sig[10] ^= 1
			l.events[i].Signature.Sig = sig
			break
		}
	}
	// A payload edited after sealing (the chain breaks there).
	l.events[7000].Data = []byte(`{"edited":true}`)
	l.forge("skp-99", 7500)
	return l, eventstore.NewKeyring(a.Public())
}

type verdict struct {
	pos eventstore.Position
	err string
}

// TestReadAheadChangesNoVerdict: a global authenticated read, whose
// signatures are verified ahead on other goroutines (preverify.go),
// yields the same events with the same refusals, in the same order, as
// the Authenticator alone checking the raw feed.
func TestReadAheadChangesNoVerdict(t *testing.T) {
	l, keys := bigLedger(t)
	ctx := context.Background()
	// The reference: an Authenticator alone, on a keyring of its own.
	ref := eventstore.NewAuthenticator(eventstore.AuthOptions{Keys: eventstore.NewKeyring(must(keys.Key(keys.IDs()[0]))), Store: l})
	var want []verdict
	add := func(out []eventstore.Outcome) {
		for _, o := range out {
			v := verdict{pos: o.Event.Position}
			if o.Refused != nil {
				v.err = o.Refused.Error()
			}
			want = append(want, v)
		}
	}
	for ev := range l.seq(0, 0) {
		out, err := ref.Check(ctx, ev)
		if err != nil {
			t.Fatal(err)
		}
		add(out)
	}
	out, err := ref.Finish(ctx)
	if err != nil {
		t.Fatal(err)
	}
	add(out)
	refused := 0
	for _, v := range want {
		if v.err != "" {
			refused++
		}
	}
	if refused < 4 {
		t.Fatalf("the reference refuses %d events; the ledger should carry at least 4 faults", refused)
	}
	for _, after := range []eventstore.Position{0, 4321} {
		s := eventstore.NewAuthenticatedStore(memStore{l}, keys)
		var got []verdict
		for ev, err := range s.ReadAll(ctx, eventstore.ReadAllOptions{After: after}) {
			v := verdict{pos: ev.Position}
			if err != nil {
				v.err = err.Error()
			}
			got = append(got, v)
		}
		var w []verdict
		for _, v := range want {
			if v.pos > after {
				w = append(w, v)
			}
		}
		if len(got) != len(w) {
			t.Fatalf("after %d: the read yielded %d verdicts, the Authenticator alone %d", after, len(got), len(w))
		}
		for i := range w {
			if got[i] != w[i] {
				t.Fatalf("after %d: verdict %d = %+v, the Authenticator alone gave %+v", after, i, got[i], w[i])
			}
		}
	}
}

func must[T any](v T, ok bool) T {
	if !ok {
		panic("missing")
	}
	return v
}

// countingStore counts the events its ReadAll yields, and its reads still
// running.
type countingStore struct {
	memStore
	yielded, running atomic.Int64
}

func (c *countingStore) ReadAll(ctx context.Context, opts eventstore.ReadAllOptions) iter.Seq2[eventstore.Event, error] {
	return func(yield func(eventstore.Event, error) bool) {
		c.running.Add(1)
		defer c.running.Add(-1)
		for ev, err := range c.memStore.ReadAll(ctx, opts) {
			if ctx.Err() != nil {
				yield(eventstore.Event{}, ctx.Err())
				return
			}
			c.yielded.Add(1)
			if !yield(ev, err) {
				return
			}
		}
	}
}

// TestReadAheadStopsWithItsReader: a read that stops early (a limit, a
// consumer that breaks off) stops the read-ahead: the store's read ends,
// its goroutines are gone, and it read a bounded window past the stop, not
// the whole store.
func TestReadAheadStopsWithItsReader(t *testing.T) {
	l, keys := bigLedger(t)
	l.events = l.events[:5000] // sound events only (the first fault is further)
	cs := &countingStore{memStore: memStore{l}}
	s := eventstore.NewAuthenticatedStore(cs, keys)
	base := runtime.NumGoroutine()
	n := 0
	for _, err := range s.ReadAll(context.Background(), eventstore.ReadAllOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		if n++; n == 10 {
			break
		}
	}
	if n != 10 {
		t.Fatalf("the read broken off at 10 yielded %d", n)
	}
	if r := cs.running.Load(); r != 0 {
		t.Errorf("%d reads of the store still running after the read returned", r)
	}
	if y := cs.yielded.Load(); y >= int64(len(l.events)) {
		t.Errorf("the store yielded %d of %d events for a read of 10: the read-ahead did not stop", y, len(l.events))
	}
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > base && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if g := runtime.NumGoroutine(); g > base {
		t.Errorf("%d goroutines after the read, %d before: the read-ahead leaked", g, base)
	}
}

// A short read (Limit below a read-ahead window: a lag probe, the next
// pending event) is not read ahead: it reads about what it asks for, not
// thousands of events with their signatures verified.
func TestShortReadsAreNotReadAhead(t *testing.T) {
	l, keys := bigLedger(t)
	l.events = l.events[:5000]
	cs := &countingStore{memStore: memStore{l}}
	s := eventstore.NewAuthenticatedStore(cs, keys)
	n := 0
	for _, err := range s.ReadAll(context.Background(), eventstore.ReadAllOptions{Limit: 1}) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 1 {
		t.Fatalf("Limit 1 yielded %d", n)
	}
	if y := cs.yielded.Load(); y > 64 {
		t.Errorf("a read of 1 event pulled %d from the store", y)
	}
}

// A read whose context ends ends with the context's error, never as a
// clean feed (which a caller would take for "caught up").
func TestReadAheadCancelledEndsWithAnError(t *testing.T) {
	l, keys := bigLedger(t)
	l.events = l.events[:5000]
	cs := &countingStore{memStore: memStore{l}}
	s := eventstore.NewAuthenticatedStore(cs, keys)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n, failed := 0, false
	for _, err := range s.ReadAll(ctx, eventstore.ReadAllOptions{}) {
		if err != nil {
			failed = true
			break
		}
		if n++; n == 10 {
			cancel()
		}
	}
	if !failed {
		t.Errorf("a read cancelled after 10 events ended cleanly after %d events", n)
	}
}
