package app

import (
	"context"
	"iter"
	"testing"
	"time"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections/directory"
	"github.com/kinerja-ledger/kinerja/projections/skps"
)

// streamCounter is a store whose streams are all empty, counting the
// stream reads.
type streamCounter struct {
	eventstore.Store
	reads int
}

func (s *streamCounter) ReadStream(context.Context, string, eventstore.ReadStreamOptions) iter.Seq2[eventstore.Event, error] {
	s.reads++
	return func(yield func(eventstore.Event, error) bool) {
		yield(eventstore.Event{}, eventstore.ErrStreamNotFound)
	}
}

// The as-of report keeps what it rebuilt per cut (App.Past): after the
// projections move (the report itself is computed again) no SKP changed
// since the cut is read again; another cut reads them; a cut younger than
// pastSettled is never kept.
func TestAsOfRebuildsAreKeptPerCut(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	changed := now.Add(-time.Hour) // both SKPs last changed an hour ago
	sr := &countedSKPs{list: []skps.Summary{
		{ID: "s1", NIP: "a", UnitID: "u1", Year: 2026, Status: "ESTABLISHED", RecordedAt: changed, Position: 50},
		{ID: "s2", NIP: "b", UnitID: "u1", Year: 2026, Status: "DRAFT", RecordedAt: changed, Position: 60},
	}}
	store := &streamCounter{}
	pos := &positions{at: map[string]eventstore.Position{directory.Name: 10, skps.Name: 60}}
	cfg := Config{Directory: oneUnit{}, SKPList: sr, Positions: pos, Store: store, Now: func() time.Time { return now }}
	cfg.setDefaults()
	a := &App{cfg: cfg}
	analyst := domain.Principal{ID: "analyst-1", Roles: []domain.Role{domain.RoleHRAnalyst}}

	cut := Cut{At: now.Add(-2 * time.Hour)}
	rep, err := a.ProgressAsOf(ctx, analyst, "u1", 2026, cut)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Data.Total.SKPs != 0 || rep.Data.AsOf != "2026-12-06T08:00:00Z" {
		t.Fatalf("as of two hours ago: %d SKPs, as_of %q; want none (both drafted since)", rep.Data.Total.SKPs, rep.Data.AsOf)
	}
	first := store.reads
	if first == 0 {
		t.Fatal("the SKPs changed since the cut were not rebuilt")
	}
	pos.at[skps.Name] = 61 // the projections move: the report is computed again
	if _, err := a.ProgressAsOf(ctx, analyst, "u1", 2026, cut); err != nil {
		t.Fatal(err)
	}
	if store.reads != first {
		t.Errorf("the same cut after the projections moved read %d streams again, want 0", store.reads-first)
	}
	if _, err := a.ProgressAsOf(ctx, analyst, "u1", 2026, Cut{Position: 40}); err != nil || store.reads == first {
		t.Errorf("another cut read no stream (%v)", err)
	}
	// A cut younger than pastSettled: an append in flight may still be
	// recorded at it, so nothing is kept.
	young := Cut{At: now.Add(-10 * time.Second)}
	sr.list[0].RecordedAt, sr.list[1].RecordedAt = now, now
	before := store.reads
	for i := range 2 {
		pos.at[skps.Name] = eventstore.Position(70 + i)
		if _, err := a.ProgressAsOf(ctx, analyst, "u1", 2026, young); err != nil {
			t.Fatal(err)
		}
	}
	if got := store.reads - before; got != 2*len(sr.list) {
		t.Errorf("a young cut read %d streams in two reports, want %d (nothing kept)", got, 2*len(sr.list))
	}
}
