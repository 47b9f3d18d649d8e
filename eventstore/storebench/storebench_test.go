package storebench_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/kinerja-ledger/kinerja/adapters/boltstore"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/eventstore/storebench"
)

func TestAppendsAndReadAll(t *testing.T) {
	s, err := boltstore.Open(filepath.Join(t.TempDir(), "b.db"), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	r, err := storebench.Appends(context.Background(), s, storebench.Config{Writers: 4, Streams: 20, EventsPerStream: 3})
	if err != nil {
		t.Fatal(err)
	}
	if r.Events != 60 || r.Errors != 0 || r.EventsPerSec <= 0 || r.P50Ms <= 0 || r.P99Ms < r.P50Ms {
		t.Errorf("Appends = %+v, want 60 events, no errors, sane percentiles", r)
	}
	rr, err := storebench.ReadAll(context.Background(), s)
	if err != nil || rr.Events != 60 {
		t.Errorf("ReadAll = %+v, %v; want 60 events", rr, err)
	}
}

func TestSizesSumsEnvelopeAndData(t *testing.T) {
	s, err := boltstore.Open(filepath.Join(t.TempDir(), "b.db"), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if _, err := storebench.Appends(ctx, s, storebench.Config{Writers: 2, Streams: 4, EventsPerStream: 2, PayloadBytes: 100}); err != nil {
		t.Fatal(err)
	}
	var env, data int64
	for e, err := range s.ReadAll(ctx, eventstore.ReadAllOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		env += int64(len(eventstore.CanonicalEnvelope(e.Stream, e.Revision, &e.EventData)))
		data += int64(len(e.Data))
	}
	r, err := storebench.Sizes(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	if r.Events != 8 || r.EnvelopeBytes != env || r.DataBytes != data || r.CanonicalBytes != env+data || data < 8*50 {
		t.Errorf("Sizes = %+v, want 8 events, envelope %d, data %d", r, env, data)
	}
}

// TestStoreFileSize reports the canonical bytes of the bbolt store named by
// KINERJA_BENCH_BOLT beside the file's size (docs/benchmarks.md, "Province
// scale"). Skipped without it.
func TestStoreFileSize(t *testing.T) {
	path := os.Getenv("KINERJA_BENCH_BOLT")
	if path == "" {
		t.Skip("KINERJA_BENCH_BOLT (a kinerja.db file) not set")
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	s, err := boltstore.Open(path, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	r, err := storebench.Sizes(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d events (%d signed): envelopes %d B, data %d B, canonical %d B (%.0f B/event); file %d B (%.0f B/event) = %.2f × canonical",
		r.Events, r.Signed, r.EnvelopeBytes, r.DataBytes, r.CanonicalBytes, float64(r.CanonicalBytes)/float64(r.Events),
		st.Size(), float64(st.Size())/float64(r.Events), float64(st.Size())/float64(r.CanonicalBytes))
	s.Close()
	// Where the file's bytes go: each bucket's pages, allocated and in use.
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.View(func(tx *bolt.Tx) error {
		t.Logf("file %d B, tx size %d B, page size %d; free pages %d, pending %d", st.Size(), tx.Size(), db.Info().PageSize, db.Stats().FreePageN, db.Stats().PendingPageN)
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			bs := b.Stats()
			t.Logf("bucket %-8s keys %9d depth %d: leaf alloc %11d B in use %11d B (%.0f%%), branch alloc %10d B in use %10d B, inline %d",
				name, bs.KeyN, bs.Depth, bs.LeafAlloc, bs.LeafInuse, 100*float64(bs.LeafInuse)/float64(max(bs.LeafAlloc, 1)), bs.BranchAlloc, bs.BranchInuse, bs.InlineBucketInuse)
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	// KINERJA_BENCH_BOLT_COMPACT names a new file: the store is copied
	// there with bolt.Compact, whose pages are filled (FillPercent 1), to
	// show what full append-only pages would weigh.
	if dst := os.Getenv("KINERJA_BENCH_BOLT_COMPACT"); dst != "" {
		out, err := bolt.Open(dst, 0o600, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer out.Close()
		if err := bolt.Compact(out, db, 64<<20); err != nil {
			t.Fatal(err)
		}
		cs, err := os.Stat(dst)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("compacted (pages full): %d B = %.2f × canonical", cs.Size(), float64(cs.Size())/float64(r.CanonicalBytes))
	}
}
