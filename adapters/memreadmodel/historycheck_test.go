package memreadmodel

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"

	"github.com/kinerja-ledger/kinerja/projections"
	"github.com/kinerja-ledger/kinerja/projections/audit"
	"github.com/kinerja-ledger/kinerja/projections/audit/merkle"
	"github.com/kinerja-ledger/kinerja/projections/readmodeltest"
)

// loadedAt writes a snapshot of the audit trail over evs[:n] and loads it
// into a fresh model.
func loadedAt(t *testing.T, l *agencyLedger, evs []projections.Event, n int) *Model {
	t.Helper()
	ctx := context.Background()
	m1 := New(Options{})
	readmodeltest.ProjectInto(t, m1.Sink(audit.Name), evs[:n], 2)
	path := filepath.Join(t.TempDir(), SnapshotFile)
	if _, err := m1.WriteSnapshot(ctx, path, l.key, l.store); err != nil {
		t.Fatal(err)
	}
	m2 := New(Options{})
	if _, err := m2.LoadSnapshot(ctx, path, LoadOptions{Keys: []*merkle.Verifier{l.key.Verifier()}, Store: l.store}); err != nil {
		t.Fatal(err)
	}
	return m2
}

// TestHistoryCheckWhileApplying: the history check prepared at the load
// runs while the audit projection applies the events after the snapshot
// (new entries, new agency derivation keys, an agency's first entry) and
// readers read the trail: it checks exactly the snapshot's entries, ends
// ok, reports its progress up to the snapshot's size, and (with -race)
// reads the trail safely. Checking the live derivation state instead of
// the one captured at the load would fail it: the events after the
// snapshot add keys.
func TestHistoryCheckWhileApplying(t *testing.T) {
	ctx := context.Background()
	l := newAgencyLedger(t)
	l.sign(t)
	evs := rawEvents(t, l.store)
	n := len(evs) - 5 // the last five (a unit and an employee of B1, an SKP, two checkpoints) come after the snapshot
	m := loadedAt(t, l, evs, n)
	check := m.PrepareHistoryCheck()
	if check.Size() == 0 || check.Size() >= uint64(len(evs)) {
		t.Fatalf("the check covers %d entries of %d events", check.Size(), len(evs))
	}
	keysBefore := len(m.audit.tables.(*auditTables).agencyKeys)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		sink := m.Sink(audit.Name)
		for _, ev := range evs[n:] {
			if !sink.Filter().Match(ev.Stream, ev.Type) {
				continue
			}
			if err := sink.Apply(ctx, ev); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	go func() {
		defer wg.Done()
		for range 50 {
			if _, err := m.Audit().Size(ctx); err != nil {
				t.Error(err)
			}
		}
	}()
	var progress []uint64
	checked, err := check.Run(ctx, l.store, l.writers, nil, HistoryCheckOptions{Batch: 1, Duty: 0.5, Progress: func(n uint64) { progress = append(progress, n) }})
	wg.Wait()
	if err != nil {
		t.Fatalf("history check while applying: %v", err)
	}
	if checked != check.Size() || len(progress) == 0 || progress[len(progress)-1] != check.Size() {
		t.Fatalf("checked %d, progress %v; want %d at the end", checked, progress, check.Size())
	}
	if got := len(m.audit.tables.(*auditTables).agencyKeys); got <= keysBefore {
		t.Fatalf("the events after the snapshot added no derivation key (%d, then %d): the test does not exercise the captured state", keysBefore, got)
	}
	// Run again, now that everything is applied: the same answer.
	if _, err := check.Run(ctx, l.store, l.writers, nil, HistoryCheckOptions{}); err != nil {
		t.Fatalf("history check after applying: %v", err)
	}
}

// TestHistoryCheckFindsAnEditAfterApplying: an event below the snapshot
// edited (its chain hash recomputed) after the snapshot was loaded and the
// events after it applied: the check, run then, refuses the history.
func TestHistoryCheckFindsAnEditAfterApplying(t *testing.T) {
	ctx := context.Background()
	l := newAgencyLedger(t)
	l.sign(t)
	evs := rawEvents(t, l.store)
	n := len(evs) - 3
	m := loadedAt(t, l, evs, n)
	check := m.PrepareHistoryCheck()
	readmodeltest.ProjectInto(t, m.Sink(audit.Name), evs, 2)
	l.editHead(t, "unit-B") // position 2, far below the snapshot
	checked, err := check.Run(ctx, l.store, l.writers, nil, HistoryCheckOptions{})
	var se *SnapshotError
	if !errors.Is(err, ErrSnapshotHistory) || !errors.As(err, &se) {
		t.Fatalf("history check over an edited event = %d, %v; want %v", checked, err, ErrSnapshotHistory)
	}
	// A cancelled check is not a refusal.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := check.Run(cctx, l.store, l.writers, nil, HistoryCheckOptions{}); err == nil || errors.Is(err, ErrSnapshotHistory) {
		t.Fatalf("a cancelled check = %v, want the context's error", err)
	}
}

// TestHistoryCheckReleasesAsItReads: the check lets the store release the
// pages it has read after every batch and once at the end
// (HistoryCheckOptions.Release), so that a memory-mapped store does not
// keep the whole history resident; a failing release does not fail the
// check.
func TestHistoryCheckReleasesAsItReads(t *testing.T) {
	ctx := context.Background()
	l := newAgencyLedger(t)
	l.sign(t)
	evs := rawEvents(t, l.store)
	m := loadedAt(t, l, evs, len(evs))
	check := m.PrepareHistoryCheck()
	var released []uint64
	var seq uint64
	checked, err := check.Run(ctx, l.store, l.writers, nil, HistoryCheckOptions{Batch: 2,
		Progress: func(n uint64) { seq = n },
		Release: func() error {
			released = append(released, seq)
			return errors.New("no release here")
		}})
	if err != nil {
		t.Fatalf("history check with a failing release: %v", err)
	}
	// One release per full batch before the end, and one at the end.
	if want := int((checked-1)/2) + 1; len(released) != want || released[len(released)-1] != checked {
		t.Fatalf("released after %v of %d entries, want %d releases, the last at the end", released, checked, want)
	}
}
