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
