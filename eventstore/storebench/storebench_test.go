package storebench_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

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
}
