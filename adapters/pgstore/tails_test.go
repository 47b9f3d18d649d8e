package pgstore_test

import (
	"context"
	"fmt"
	"iter"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/kinerja-ledger/kinerja/adapters/pgstore"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/eventstore/storetest"
)

func tailEvent(i int) eventstore.EventData {
	return eventstore.EventData{ID: uuid.New(), Type: "test.tail.v1", SchemaVersion: 1,
		OccurredAt: time.Now(), Actor: eventstore.Actor{ID: "tester"}, Data: []byte(fmt.Sprintf(`{"i":%d}`, i))}
}

func openTails(t *testing.T) (eventstore.Store, string) {
	t.Helper()
	loc := newLocation(t)
	s, err := open(loc, storetest.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, loc
}

// TestReadTails checks the one-statement tail read against ReadStream:
// several streams, each from its own revision, missing and invalid
// streams, a prefix the store does not have, and a tail longer than the
// cap.
func TestReadTails(t *testing.T) {
	s, _ := openTails(t)
	ctx := context.Background()
	lens := map[string]int{"tails-a": 5, "tails-b": 1, "tails-long": pgstore.MaxTailEvents + 3}
	for stream, n := range lens {
		for i := 0; i < n; i += 100 {
			var evs []eventstore.EventData
			for j := i; j < min(n, i+100); j++ {
				evs = append(evs, tailEvent(j))
			}
			exp := eventstore.NoStream
			if i > 0 {
				exp = eventstore.Exact(uint64(i - 1))
			}
			if _, err := s.Append(ctx, stream, exp, evs...); err != nil {
				t.Fatal(err)
			}
		}
	}
	reqs := []eventstore.TailRequest{
		{Stream: "tails-a", From: 0},          // whole
		{Stream: "tails-a", From: 3},          // the last two
		{Stream: "tails-a", From: 5},          // nothing new, exists
		{Stream: "tails-b", From: 1},          // nothing new
		{Stream: "tails-missing", From: 0},    // no such stream
		{Stream: "tails-a", From: 9},          // a prefix the store has not
		{Stream: "bad\x00name", From: 0},      // no store accepts it
		{Stream: "tails-long", From: 0},       // cut at the cap
		{Stream: "tails-long", From: 2},       // cut at the cap too (513 left)
		{Stream: "tails-long", From: 512 + 1}, // fits
	}
	tails, err := s.(eventstore.TailsReader).ReadTails(ctx, reqs)
	if err != nil {
		t.Fatal(err)
	}
	if len(tails) != len(reqs) {
		t.Fatalf("%d tails for %d requests", len(tails), len(reqs))
	}
	want, err := eventstore.ReadTailsEach(ctx, s, reqs)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range reqs {
		got := tails[i]
		w := want[i]
		if w.Exists && len(w.Events) > pgstore.MaxTailEvents {
			w.Events, w.More = w.Events[:pgstore.MaxTailEvents], true
		}
		if got.Exists != w.Exists || got.More != w.More || len(got.Events) != len(w.Events) {
			t.Errorf("%s from %d: exists %v more %v %d events; want %v %v %d", r.Stream, r.From,
				got.Exists, got.More, len(got.Events), w.Exists, w.More, len(w.Events))
			continue
		}
		for j := range got.Events {
			if !sameEvent(got.Events[j], w.Events[j]) {
				t.Errorf("%s from %d: event %d = %+v, want %+v", r.Stream, r.From, j, got.Events[j], w.Events[j])
			}
		}
	}
	exists := []bool{true, true, true, true, false, false, false, true, true, true}
	counts := []int{5, 2, 0, 0, 0, 0, 0, pgstore.MaxTailEvents, pgstore.MaxTailEvents, 2}
	for i := range reqs {
		if tails[i].Exists != exists[i] || len(tails[i].Events) != counts[i] {
			t.Errorf("request %d (%s from %d): exists %v, %d events; want %v, %d", i, reqs[i].Stream, reqs[i].From,
				tails[i].Exists, len(tails[i].Events), exists[i], counts[i])
		}
		for j, ev := range tails[i].Events {
			if ev.Stream != reqs[i].Stream || ev.Revision != reqs[i].From+uint64(j) {
				t.Errorf("request %d: event %d is %s@%d", i, j, ev.Stream, ev.Revision)
			}
		}
	}
	// What a tail read gives authenticates like a stream read.
	keys := eventstore.NewKeyring(storetest.WriterKey().Public())
	for ev, err := range eventstore.ReadStreamAuthenticated(ctx, sliceReader(tails[0].Events), keys, "tails-a", eventstore.ReadStreamOptions{}, nil) {
		if err != nil {
			t.Fatalf("authenticate %s@%d: %v", ev.Stream, ev.Revision, err)
		}
	}
}

// TestReadTailsSeesOtherWriters: a read through one Store sees what
// another Store on the same database appended just before (no cache of
// heads in the way), and an empty request list costs nothing.
func TestReadTailsSeesOtherWriters(t *testing.T) {
	a, loc := openTails(t)
	b, err := open(loc, storetest.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx := context.Background()
	if _, err := a.Append(ctx, "tails-x", eventstore.NoStream, tailEvent(0)); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		if _, err := b.Append(ctx, "tails-x", eventstore.Exact(uint64(i-1)), tailEvent(i)); err != nil {
			t.Fatal(err)
		}
		tails, err := a.(eventstore.TailsReader).ReadTails(ctx, []eventstore.TailRequest{{Stream: "tails-x", From: uint64(i)}})
		if err != nil {
			t.Fatal(err)
		}
		if len(tails[0].Events) != 1 || tails[0].Events[0].Revision != uint64(i) {
			t.Fatalf("after b's append %d: %+v", i, tails[0])
		}
	}
	if tails, err := a.(eventstore.TailsReader).ReadTails(ctx, nil); err != nil || len(tails) != 0 {
		t.Fatalf("ReadTails(nil) = %v, %v", tails, err)
	}
	a.Close()
	if _, err := a.(eventstore.TailsReader).ReadTails(ctx, []eventstore.TailRequest{{Stream: "tails-x"}}); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Fatalf("ReadTails after Close = %v", err)
	}
}

func sameEvent(a, b eventstore.Event) bool {
	return a.ID == b.ID && a.Stream == b.Stream && a.Revision == b.Revision && a.Position == b.Position &&
		a.Hash == b.Hash && slices.Equal(a.Data, b.Data) && a.RecordedAt.Equal(b.RecordedAt) &&
		a.Signature.KeyID == b.Signature.KeyID && slices.Equal(a.Signature.Sig, b.Signature.Sig)
}

// sliceReader serves events as a stream read (forwards, from a revision).
type sliceReader []eventstore.Event

func (r sliceReader) ReadStream(_ context.Context, _ string, opts eventstore.ReadStreamOptions) iter.Seq2[eventstore.Event, error] {
	return func(yield func(eventstore.Event, error) bool) {
		for _, ev := range r {
			if ev.Revision >= opts.From && !yield(ev, nil) {
				return
			}
		}
	}
}

// TestReadTailsHead: the tail read that also reads the newest committed
// position answers the same tails as ReadTails and, in the same snapshot,
// the position of the newest append, whichever Store made it; it does not
// wait for a writing transaction in flight (Head's finality), whose event
// may then commit below it.
func TestReadTailsHead(t *testing.T) {
	a, loc := openTails(t)
	b, err := open(loc, storetest.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx := context.Background()
	hr := a.(eventstore.TailsHeadReader)

	// An empty store: 0; a request list of none still reads it.
	if tails, newest, err := hr.ReadTailsHead(ctx, nil); err != nil || len(tails) != 0 || newest != 0 {
		t.Fatalf("empty store: ReadTailsHead(nil) = %v, %d, %v; want no tails, 0", tails, newest, err)
	}
	if _, err := a.Append(ctx, "head-x", eventstore.NoStream, tailEvent(0), tailEvent(1)); err != nil {
		t.Fatal(err)
	}
	for i := 2; i <= 4; i++ {
		res, err := b.Append(ctx, "head-x", eventstore.Exact(uint64(i-1)), tailEvent(i))
		if err != nil {
			t.Fatal(err)
		}
		reqs := []eventstore.TailRequest{{Stream: "head-x", From: uint64(i)}, {Stream: "head-none"}, {Stream: "head-x"}}
		tails, newest, err := hr.ReadTailsHead(ctx, reqs)
		if err != nil {
			t.Fatal(err)
		}
		want, err := a.(eventstore.TailsReader).ReadTails(ctx, reqs)
		if err != nil {
			t.Fatal(err)
		}
		for j := range reqs {
			if tails[j].Exists != want[j].Exists || tails[j].More != want[j].More || len(tails[j].Events) != len(want[j].Events) {
				t.Fatalf("after b's append %d, request %d: %+v, want %+v", i, j, tails[j], want[j])
			}
			for k := range tails[j].Events {
				if !sameEvent(tails[j].Events[k], want[j].Events[k]) {
					t.Fatalf("after b's append %d, request %d event %d differs", i, j, k)
				}
			}
		}
		if newest != res.Position {
			t.Fatalf("after b's append %d at %d: newest committed %d", i, res.Position, newest)
		}
	}

	// An append in flight: its transaction took its position before a
	// later append committed. The read does not wait for it, and once it
	// commits, its event is below the newest committed position.
	commit := lateCommit(t, a, "head-late", tailEvent(0))
	res, err := b.Append(ctx, "head-y", eventstore.NoStream, tailEvent(0))
	if err != nil {
		t.Fatal(err)
	}
	tails, newest, err := hr.ReadTailsHead(ctx, []eventstore.TailRequest{{Stream: "head-late"}})
	if err != nil || newest != res.Position || tails[0].Exists {
		t.Fatalf("with an append in flight: %+v newest %d err %v; want nothing, %d", tails, newest, err, res.Position)
	}
	if err := commit(); err != nil {
		t.Fatal(err)
	}
	tails, newest, err = hr.ReadTailsHead(ctx, []eventstore.TailRequest{{Stream: "head-late"}})
	if err != nil || !tails[0].Exists || len(tails[0].Events) != 1 || newest != res.Position || tails[0].Events[0].Position >= newest {
		t.Fatalf("after the late commit: %+v newest %d err %v", tails, newest, err)
	}
}
