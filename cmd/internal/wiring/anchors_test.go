package wiring

import (
	"context"
	"errors"
	"log/slog"
	"testing"

	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections/audit"
	"github.com/kinerja-ledger/kinerja/projections/audit/merkle"
)

// fakeTrail is a trail of entries and their tree, held in memory.
type fakeTrail struct {
	*merkle.MemNodes
	entries []audit.Entry
}

func newFakeTrail(streams ...string) *fakeTrail {
	t := &fakeTrail{MemNodes: merkle.NewMemNodes()}
	tree := merkle.NewTree()
	revs := map[string]uint64{}
	for i, s := range streams {
		e := audit.Entry{Seq: uint64(i), Stream: s, Revision: revs[s], EventHash: eventstore.Hash{byte(i + 1)}}
		revs[s]++
		e.LeafHash = merkle.LeafHash(e.EventHash[:])
		if err := t.Put(tree.Append(e.LeafHash)...); err != nil {
			panic(err)
		}
		t.entries = append(t.entries, e)
	}
	return t
}

func (t *fakeTrail) Size(context.Context) (uint64, error) { return uint64(len(t.entries)), nil }

func (t *fakeTrail) Entries(_ context.Context, q audit.Query) ([]audit.Entry, error) {
	var out []audit.Entry
	for i := len(t.entries) - 1; i >= 0; i-- {
		e := t.entries[i]
		if e.Stream == q.Stream && (!q.BeforeSet || e.Seq < q.Before) {
			out = append(out, e)
		}
	}
	if !q.Desc {
		panic("only newest first")
	}
	return out[:min(len(out), q.Limit)], nil
}

// TestStreamAnchors: anchors come only from the trail whose root CheckRoot
// compared with the trusted checkpoint and found equal, name each stream's
// last entry below the checkpoint's size, and stop once the guard has a
// problem.
func TestStreamAnchors(t *testing.T) {
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	trail := newFakeTrail("skp-1", "skp-2", "skp-1", "skp-1") // the last is beyond the checkpoint
	root, err := merkle.RootAt(ctx, trail, 3)
	if err != nil {
		t.Fatal(err)
	}
	rec := func(root merkle.Hash) *audit.WitnessRecord {
		return &audit.WitnessRecord{Checkpoint: audit.Checkpoint{Size: 3, RootHash: root, Note: "signed"}}
	}
	g := &Guard{trusted: rec(root)}
	if g.StreamAnchors(trail) != nil {
		t.Fatal("anchors before the trail's root was compared")
	}
	if err := g.CheckRoot(ctx, trail, log); err != nil {
		t.Fatal(err)
	}
	if g.StreamAnchors(newFakeTrail("skp-1", "skp-2", "skp-1")) != nil {
		t.Error("anchors from a trail whose root was not compared")
	}
	anchors := g.StreamAnchors(trail)
	if anchors == nil {
		t.Fatal("no anchors from the compared trail")
	}
	if h, ok := anchors(ctx, "skp-1"); !ok || h != (eventstore.Head{Exists: true, Revision: 1, Hash: eventstore.Hash{3}}) {
		t.Errorf("skp-1 anchor = %+v, %v; want revision 1 (seq 2, the last below size 3)", h, ok)
	}
	if _, ok := anchors(ctx, "skp-3"); ok {
		t.Error("an anchor for a stream the trail does not hold")
	}
	if _, ok := anchors(ctx, audit.CheckpointStream); ok {
		t.Error("an anchor for the checkpoint stream")
	}
	g.Fail(errors.New("the history below the snapshot changed"))
	if _, ok := anchors(ctx, "skp-1"); ok {
		t.Error("an anchor after the guard's problem")
	}

	bad := &Guard{trusted: rec(merkle.Hash{9})}
	if bad.CheckRoot(ctx, trail, log) == nil {
		t.Fatal("CheckRoot accepted a wrong root")
	}
	if bad.StreamAnchors(trail) != nil {
		t.Error("anchors from a trail whose root differs from the checkpoint's")
	}
}
