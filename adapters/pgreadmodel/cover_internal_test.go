package pgreadmodel

import (
	"context"
	"iter"
	"testing"

	"github.com/kinerja-ledger/kinerja/eventstore"
)

// twoStreams is a store whose global reads give one event of stream a,
// then one of stream b.
type twoStreams struct{ eventstore.Store }

func (twoStreams) ReadAll(context.Context, eventstore.ReadAllOptions) iter.Seq2[eventstore.Event, error] {
	return func(yield func(eventstore.Event, error) bool) {
		for i, s := range []string{"a", "b"} {
			ev := eventstore.Event{Stream: s, Position: eventstore.Position(i + 1)}
			ev.Hash[0] = byte(i + 1)
			if !yield(ev, nil) {
				return
			}
		}
	}
}

// TestRootTeeNewReadForgetsOldHeads: a new read from the beginning starts
// the heads afresh as it starts the root: a stream it has not (yet) given
// has no anchor, even if an earlier read gave one.
func TestRootTeeNewReadForgetsOldHeads(t *testing.T) {
	ctx := context.Background()
	tee := &rootTee{Store: twoStreams{}, size: 2}
	for range tee.ReadAll(ctx, eventstore.ReadAllOptions{}) {
	}
	if _, ok := tee.anchor(ctx, "b"); !ok {
		t.Fatal("no anchor for b after a whole read")
	}
	for range tee.ReadAll(ctx, eventstore.ReadAllOptions{}) {
		break // only a
	}
	if h, ok := tee.anchor(ctx, "b"); ok {
		t.Fatalf("anchor for b = %+v from an earlier read, want none", h)
	}
	if _, ok := tee.anchor(ctx, "a"); !ok {
		t.Fatal("no anchor for a, which the read gave")
	}
}
