package boltstore

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/kinerja-ledger/kinerja/eventstore"
)

// TestCommitsMovesBeforeAppendReturns: a reader that loads right after an
// append returned must see a new commit count, or a cache trusting the
// count (eventlog.Cached) would serve a stream without the append. The
// committer is held right after it releases the appender, so the order is
// checked, not raced.
func TestCommitsMovesBeforeAppendReturns(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "k.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	hold := make(chan struct{})
	s.afterRelease = func() { <-hold }
	defer close(hold)
	before := s.Commits()
	_, err = s.Append(context.Background(), "s-1", eventstore.NoStream, eventstore.EventData{
		ID: uuid.New(), Type: "test.happened.v1", SchemaVersion: 1, OccurredAt: time.Now(), Actor: eventstore.Actor{ID: "t"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Commits(); got != before+1 {
		t.Fatalf("Commits() = %d right after Append returned, want %d", got, before+1)
	}
}
