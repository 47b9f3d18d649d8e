package storebench_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/kinerja-ledger/kinerja/adapters/boltstore"
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
