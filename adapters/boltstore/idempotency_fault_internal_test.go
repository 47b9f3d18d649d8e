package boltstore

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/kinerja-ledger/kinerja/eventstore"
)

// TestClaimFaultAfterEvents: a failure in the transaction after the
// events were written and before the claim (where a crash between the two
// writes would fall when they were two files) leaves neither: the events
// and the claim commit together or not at all.
func TestClaimFaultAfterEvents(t *testing.T) {
	ctx := context.Background()
	s, err := Open(filepath.Join(t.TempDir(), "kinerja.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	idem := s.Idempotency()
	now := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	e := eventstore.EventData{ID: uuid.Must(uuid.NewV7()), Type: "unit.created.v1", SchemaVersion: 1, OccurredAt: now,
		Actor: eventstore.Actor{ID: "hr-admin"}, Data: []byte(`{}`)}
	crash := errors.New("crash after the events")
	s.faultAfterEvents = func() error { return crash }
	cctx, claimed := idem.Claim(ctx, "k", []byte("claim"), now, now.Add(time.Hour))
	if _, err := s.Append(cctx, "acct-1", eventstore.NoStream, e); !errors.Is(err, errStorage) {
		t.Fatalf("append with the fault = %v, want the fault", err)
	}
	if claimed() {
		t.Fatal("claimed() after an aborted transaction")
	}
	if h, _ := s.Head(ctx); h != 0 {
		t.Fatalf("head %d after the aborted transaction: the events were written without their claim", h)
	}
	if _, ok, _ := idem.Get(ctx, "k", now); ok {
		t.Fatal("the claim was written without its events")
	}
	s.faultAfterEvents = nil
	if _, err := s.Append(cctx, "acct-1", eventstore.NoStream, e); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := idem.Get(ctx, "k", now); !ok || !claimed() {
		t.Fatal("the retried append wrote no claim")
	}
	if h, _ := s.Head(ctx); h != 1 {
		t.Fatalf("head %d, want 1", h)
	}
}
