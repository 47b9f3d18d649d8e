package app

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/kinerja-ledger/kinerja/adapters/boltstore"
	"github.com/kinerja-ledger/kinerja/adapters/eventlog"
	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/orgunit"
	"github.com/kinerja-ledger/kinerja/eventstore"
)

// TestKeyedLogRace covers the second line of defence: the events were
// appended after the repeat loaded the stream, so the store refuses the
// repeated IDs and the command stops with AppliedError.
func TestKeyedLogRace(t *testing.T) {
	store, err := boltstore.Open(filepath.Join(t.TempDir(), "kinerja.db"), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	now := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	ids := &keyedIDs{seed: sum("test")}
	log := keyedLog{inner: eventlog.New(store), ids: ids}
	ev := func(name string) []domain.NewEvent {
		return []domain.NewEvent{{ID: uuid.New(), Meta: domain.Meta{Actor: domain.Actor{ID: "hr", Role: domain.RoleHRAdmin}, OccurredAt: now},
			Event: orgunit.Registered{UnitID: "R", Name: name}}}
	}
	if _, err := log.Append(context.Background(), "unit-R", domain.NoStream, ev("first")); err != nil {
		t.Fatal(err)
	}
	// A second attempt decided on a stale load (NoStream) with other
	// content but the same derived IDs.
	_, err = log.Append(context.Background(), "unit-R", domain.NoStream, ev("second"))
	var applied *AppliedError
	if !errors.As(err, &applied) || applied.Stream != "unit-R" || !errors.Is(err, ErrApplied) {
		t.Fatalf("Append of repeated IDs = %v, want AppliedError", err)
	}
	if _, _, _, err := log.Load(context.Background(), "unit-R"); !errors.As(err, &applied) {
		t.Fatalf("Load of a stream with the request's events = %v, want AppliedError", err)
	}
	n := 0
	for _, err := range store.ReadStream(context.Background(), "unit-R", eventstore.ReadStreamOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 1 {
		t.Fatalf("appended %d events, want 1", n)
	}
}
