package eventlog_test

import (
	"context"
	"iter"
	"sync/atomic"
	"testing"

	"github.com/kinerja-ledger/kinerja/adapters/boltstore"
	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/eventstore"
)

// readCalls counts the stream reads of a bbolt store, keeping its commit
// count and its per-stream writes (the embedded *boltstore.Store's).
type readCalls struct {
	*boltstore.Store
	calls atomic.Int64
}

func (r *readCalls) ReadStream(ctx context.Context, stream string, opts eventstore.ReadStreamOptions) iter.Seq2[eventstore.Event, error] {
	r.calls.Add(1)
	return r.Store.ReadStream(ctx, stream, opts)
}

// TestCachedSkipsStreamsNotWrittenSince: on a store that knows which
// streams its commits wrote (boltstore.WrittenSince), a cached stream
// stays complete across other streams' commits: its load reads nothing.
// A write to the stream itself, by another writer, is read at the next
// load.
func TestCachedSkipsStreamsNotWrittenSince(t *testing.T) {
	s := openSigned(t)
	rc := &readCalls{Store: s}
	log := newCached(rc)
	other := newCached(s) // another writer of the same store
	ctx := context.Background()
	for _, st := range []string{"unit-a", "unit-b"} {
		if err := appendNext(t, other, st, "first"); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, _, err := log.Load(ctx, "unit-a"); err != nil {
		t.Fatal(err)
	}
	before := rc.calls.Load()
	for range 3 { // commits that write another stream
		if err := appendNext(t, other, "unit-b", "again"); err != nil {
			t.Fatal(err)
		}
		if _, rev, _, err := log.Load(ctx, "unit-a"); err != nil || rev != 0 {
			t.Fatalf("load unit-a = rev %d, %v", rev, err)
		}
	}
	if n := rc.calls.Load() - before; n != 0 {
		t.Fatalf("%d reads of unit-a while only unit-b was written, want 0", n)
	}
	if err := appendNext(t, other, "unit-a", "second"); err != nil {
		t.Fatal(err)
	}
	if _, rev, _, err := log.Load(ctx, "unit-a"); err != nil || rev != 1 {
		t.Fatalf("load unit-a after another writer appended = rev %d, %v; want 1", rev, err)
	}
	if n := rc.calls.Load() - before; n != 1 {
		t.Fatalf("%d reads after unit-a was written, want 1", n)
	}
	sameAsStore(t, s, log, "unit-a", true)
	var _ domain.EventLog = log
}

// TestCachedOwnAppendNeedsNoRead: after this process's own append, the
// store reports the commit that wrote it (AppendResult.Commit), so the
// extended stream is complete as of that count: the next load reads
// nothing, even after other streams' commits; another writer's append to
// the stream is still read.
func TestCachedOwnAppendNeedsNoRead(t *testing.T) {
	s := openSigned(t)
	rc := &readCalls{Store: s}
	log := newCached(rc)
	other := newCached(s)
	ctx := context.Background()
	// The first append is left to a load to authenticate (the signer is
	// not yet known trusted); from then on appends join the cache.
	for _, name := range []string{"first", "second"} {
		if err := appendNext(t, log, "unit-a", name); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, _, err := log.Load(ctx, "unit-a"); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		before := rc.calls.Load()
		if err := appendNext(t, log, "unit-a", "own"); err != nil { // its load is a cache hit
			t.Fatal(err)
		}
		if err := appendNext(t, other, "unit-b", "elsewhere"); err != nil {
			t.Fatal(err)
		}
		if _, rev, _, err := log.Load(ctx, "unit-a"); err != nil || rev != uint64(i+2) {
			t.Fatalf("load unit-a = rev %d, %v; want %d", rev, err, i+2)
		}
		if n := rc.calls.Load() - before; n != 0 {
			t.Fatalf("append %d: %d reads of unit-a after this process's own append, want 0", i, n)
		}
	}
	if err := appendNext(t, other, "unit-a", "theirs"); err != nil {
		t.Fatal(err)
	}
	if _, rev, _, err := log.Load(ctx, "unit-a"); err != nil || rev != 5 {
		t.Fatalf("load unit-a after another writer appended = rev %d, %v; want 5", rev, err)
	}
	sameAsStore(t, s, log, "unit-a", true)
}
