package seed

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/uuid"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/orgunit"
)

// countingLog is an event log in memory that counts the loads that reach
// it.
type countingLog struct {
	streams map[string][]domain.Stored
	loads   map[string]int
}

func (l *countingLog) Load(_ context.Context, stream string) ([]domain.Stored, uint64, bool, error) {
	l.loads[stream]++
	evs := l.streams[stream]
	if len(evs) == 0 {
		return nil, 0, false, nil
	}
	return evs, uint64(len(evs) - 1), true, nil
}

func (l *countingLog) Append(_ context.Context, stream string, expected domain.Expected, events []domain.NewEvent) (uint64, error) {
	rev, exists := expected.Revision()
	cur := l.streams[stream]
	if exists != (len(cur) > 0) || (exists && rev != uint64(len(cur)-1)) {
		return 0, fmt.Errorf("%w: %s", domain.ErrConcurrency, stream)
	}
	for _, e := range events {
		cur = append(cur, domain.Stored{ID: e.ID, Revision: uint64(len(cur)), Meta: e.Meta, Event: e.Event})
	}
	l.streams[stream] = cur
	return uint64(len(cur) - 1), nil
}

// TestCacheRemembersAbsentStreams: a stream the store does not hold is
// asked of the store once, not at every load (the appraiser's next SKP
// sequence, looked up for every cascaded RHK of their staff, was a query
// each time at a province), and the run's own append that creates it
// replaces the absence; a failed append forgets it.
func TestCacheRemembersAbsentStreams(t *testing.T) {
	ctx := context.Background()
	inner := &countingLog{streams: map[string][]domain.Stored{}, loads: map[string]int{}}
	c := newCachedLog(inner)
	const s = "skp-X-2025-2"
	for range 5 {
		evs, rev, ok, err := c.Load(ctx, s)
		if err != nil || ok || len(evs) != 0 || rev != 0 {
			t.Fatalf("Load(absent) = %v, %d, %v, %v", evs, rev, ok, err)
		}
	}
	if inner.loads[s] != 1 {
		t.Fatalf("the absent stream reached the store %d times, want once", inner.loads[s])
	}
	ev := domain.NewEvent{ID: uuid.Must(uuid.NewV7()), Event: orgunit.Registered{UnitID: "U1", Name: "Unit Satu"}}
	if _, err := c.Append(ctx, s, domain.NoStream, []domain.NewEvent{ev}); err != nil {
		t.Fatal(err)
	}
	evs, rev, ok, err := c.Load(ctx, s)
	if err != nil || !ok || rev != 0 || len(evs) != 1 || evs[0].ID != ev.ID {
		t.Fatalf("Load after the creating append = %v, %d, %v, %v", evs, rev, ok, err)
	}
	if inner.loads[s] != 1 {
		t.Fatalf("the created stream was read from the store (%d loads)", inner.loads[s])
	}
	ev2 := domain.NewEvent{ID: uuid.Must(uuid.NewV7()), Event: orgunit.Registered{UnitID: "U1", Name: "Unit Satu Lagi"}}
	if _, err := c.Append(ctx, s, domain.ExactRevision(0), []domain.NewEvent{ev2}); err != nil {
		t.Fatal(err)
	}
	if evs, rev, _, _ := c.Load(ctx, s); rev != 1 || len(evs) != 2 {
		t.Fatalf("after the second append: %d events at %d", len(evs), rev)
	}

	// An absent entry, then an append that fails (another writer created
	// the stream behind the cache): the entry is dropped and the next load
	// reads the store.
	const o = "skp-Y-2025-1"
	if _, _, ok, _ := c.Load(ctx, o); ok {
		t.Fatal("absent stream reported present")
	}
	inner.streams[o] = []domain.Stored{{ID: uuid.Must(uuid.NewV7()), Event: orgunit.Registered{UnitID: "U2", Name: "Dua"}}}
	if _, err := c.Append(ctx, o, domain.NoStream, []domain.NewEvent{ev}); err == nil {
		t.Fatal("append over another writer's stream succeeded")
	}
	if _, rev, ok, _ := c.Load(ctx, o); !ok || rev != 0 || inner.loads[o] != 2 {
		t.Fatalf("after the failed append: present %v at %d, %d store loads (want a fresh one)", ok, rev, inner.loads[o])
	}

	// dropPrefix forgets absences too.
	const d = "skp-Z-2025-1"
	c.Load(ctx, d)
	c.dropPrefix("skp-")
	c.Load(ctx, d)
	if inner.loads[d] != 2 {
		t.Fatalf("dropPrefix kept the absence (%d store loads, want 2)", inner.loads[d])
	}
}
