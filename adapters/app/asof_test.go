package app

import (
	"context"
	"errors"
	"iter"
	"net/http"
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
	head  eventstore.Position
}

func (s *streamCounter) Head(context.Context) (eventstore.Position, error) { return s.head, nil }

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
	store := &streamCounter{head: 60}
	pos := &positions{at: map[string]eventstore.Position{directory.Name: 60, skps.Name: 60}}
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

// An as-of report is answered only once the read models it reads have
// read up to its cut: an SKP changed at or before the cut but not yet
// projected would be taken as unchanged, and kept so. Before, it is
// refused as not ready (503 with Retry-After at the edges) and nothing is
// rebuilt or kept.
func TestAsOfWaitsForItsReadModels(t *testing.T) {
	defer func(w time.Duration) { pastWait = w }(pastWait)
	pastWait = 50 * time.Millisecond
	ctx := context.Background()
	now := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	changed := now.Add(-time.Hour)
	sr := &countedSKPs{list: []skps.Summary{
		{ID: "s1", NIP: "a", UnitID: "u1", Year: 2026, Status: "ESTABLISHED", RecordedAt: changed, Position: 50},
	}}
	store := &streamCounter{head: 80}
	pos := &positions{at: map[string]eventstore.Position{directory.Name: 80, skps.Name: 55}}
	cfg := Config{Directory: oneUnit{}, SKPList: sr, Positions: pos, Store: store, Now: func() time.Time { return now }}
	cfg.setDefaults()
	a := &App{cfg: cfg}
	analyst := domain.Principal{ID: "analyst-1", Roles: []domain.Role{domain.RoleHRAnalyst}}

	for _, cut := range []Cut{{Position: 70}, {At: now.Add(-30 * time.Minute)}, {At: now.Add(-5 * time.Second)}} {
		_, err := a.ProgressAsOf(ctx, analyst, "u1", 2026, cut)
		if !errors.Is(err, ErrNotReady) || Describe(err).Status != http.StatusServiceUnavailable {
			t.Errorf("cut %s with the SKP projection at 55 of 80: %v, want not ready (503)", cut, err)
		}
		if _, _, err := a.Past(ctx, cut); !errors.Is(err, ErrNotReady) {
			t.Errorf("Past(%s) with the SKP projection behind: %v, want not ready", cut, err)
		}
	}
	if store.reads != 0 || len(a.past.order) != 2 || a.past.cuts[Cut{Position: 70}.key()].size != 0 {
		t.Errorf("a refused cut rebuilt %d SKPs / kept %v", store.reads, a.past.order)
	}
	// The instant's target is the head seen once it had settled; the
	// ledger moving on does not raise it.
	store.head = 90
	pos.at[skps.Name] = 80
	for _, cut := range []Cut{{Position: 70}, {At: now.Add(-30 * time.Minute)}} {
		if _, err := a.ProgressAsOf(ctx, analyst, "u1", 2026, cut); err != nil {
			t.Errorf("cut %s with the read models at 80: %v", cut, err)
		}
	}
	// A young instant needs the head now (90).
	if _, err := a.ProgressAsOf(ctx, analyst, "u1", 2026, Cut{At: now.Add(-5 * time.Second)}); !errors.Is(err, ErrNotReady) {
		t.Errorf("a young cut with the read models behind the head: %v, want not ready", err)
	}
}

// The as-of reports take turns: pastSlots at once, one per caller.
func TestAsOfTurns(t *testing.T) {
	var c pastCache
	ctx := context.Background()
	short := func() context.Context {
		ctx, cancel := context.WithTimeout(ctx, 30*time.Millisecond)
		t.Cleanup(cancel)
		return ctx
	}
	x, err := c.turn(ctx, "x")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.turn(short(), "x"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("a caller's second report at once: %v, want it to wait", err)
	}
	y, err := c.turn(short(), "y")
	if err != nil {
		t.Fatalf("another caller: %v", err)
	}
	if _, err := c.turn(short(), "z"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("a third caller with %d slots taken: %v, want it to wait", pastSlots, err)
	}
	x()
	z, err := c.turn(short(), "z")
	if err != nil {
		t.Fatalf("after a release: %v", err)
	}
	y()
	z()
	if len(c.callers) != 0 {
		t.Errorf("%d callers left after every release", len(c.callers))
	}
}

// The memos of the kept cuts hold at most pastEntriesMax together: the
// oldest cuts go first, never the one just counted.
func TestAsOfMemosAreBounded(t *testing.T) {
	var c pastCache
	fill := func(m *pastMemo, n int) {
		for i := range n {
			m.skps.Store(i, i)
		}
		c.counted(m)
	}
	a, b := c.memo(Cut{Position: 1}), c.memo(Cut{Position: 2})
	fill(a, pastEntriesMax/2)
	fill(b, pastEntriesMax/2)
	if len(c.order) != 2 {
		t.Fatalf("kept %v, want both", c.order)
	}
	big := c.memo(Cut{Position: 3})
	fill(big, pastEntriesMax+1)
	if len(c.order) != 1 || c.cuts[Cut{Position: 3}.key()] != big {
		t.Errorf("kept %v, want only the cut just counted", c.order)
	}
}
