package deadlinestore

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/kinerja-ledger/kinerja/domain/policy"
	"github.com/kinerja-ledger/kinerja/projections/deadlines"
)

// TestCompactDirSyncFailureDoesNotFailTheOpen (review of warmstart,
// finding 5): once the compacted copy is renamed over the file, a failed
// fsync of the directory is logged; the open goes on with the compacted
// file (it failed the start over an intact store).
func TestCompactDirSyncFailureDoesNotFailTheOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "deadlines.db")
	a, err := OpenBolt(path)
	if err != nil {
		t.Fatal(err)
	}
	fragment(t, a.db)
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	oldMin, oldSync := CompactMinBytes, syncDir
	CompactMinBytes = 0
	synced := false
	syncDir = func(string) error { synced = true; return errors.New("open .: too many open files") }
	defer func() { CompactMinBytes, syncDir = oldMin, oldSync }()
	b, err := OpenBolt(path)
	if err != nil {
		t.Fatalf("OpenBolt with a failing directory fsync after the rename: %v", err)
	}
	defer b.Close()
	if !synced {
		t.Fatal("the file was not compacted (no directory fsync tried)")
	}
	if _, err := b.Checkpoint(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestBoltRecordsSettings: the fingerprint survives a close, a Reset and
// a compaction; CheckSettings adopts an unrecorded file, keeps the same
// settings and resets on others (keeping what fired).
func TestBoltRecordsSettings(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "deadlines.db")
	b, err := OpenBolt(path)
	if err != nil {
		t.Fatal(err)
	}
	set := deadlines.DefaultSettings(policy.Default())
	if got, _, err := deadlines.CheckSettings(ctx, b, set); err != nil || got != deadlines.SettingsAdopted {
		t.Fatalf("CheckSettings on a new file = %v, %v; want adopted", got, err)
	}
	if err := b.Update(ctx, 7, func(deadlines.Store) error { return nil }); err != nil {
		t.Fatal(err)
	}
	it := deadlines.Item{Key: "k", Kind: deadlines.RatePeriod, Due: time.Now()}
	if _, err := b.MarkFired(ctx, it, time.Now(), nil); err != nil {
		t.Fatal(err)
	}
	fragment(t, b.db)
	b.Close()
	old := CompactMinBytes
	CompactMinBytes = 0
	b, err = OpenBolt(path) // compacts
	CompactMinBytes = old
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if got, _, err := deadlines.CheckSettings(ctx, b, set); err != nil || got != deadlines.SettingsSame {
		t.Fatalf("CheckSettings after a reopen and a compaction = %v, %v; want same", got, err)
	}
	other := set
	other.RatingDays = 20
	got, was, err := deadlines.CheckSettings(ctx, b, other)
	if err != nil || got != deadlines.SettingsReset || was != set.Fingerprint() {
		t.Fatalf("CheckSettings with other settings = %v, %q, %v; want reset from %q", got, was, err, set.Fingerprint())
	}
	if cp, err := b.Checkpoint(ctx); err != nil || cp != 0 {
		t.Errorf("checkpoint after the reset = %d, %v; want 0", cp, err)
	}
	if fired, err := b.Fired(ctx, it.FireID()); err != nil || !fired {
		t.Errorf("what fired before the reset: fired=%v, %v; want kept", fired, err)
	}
	if fp, err := b.SettingsFingerprint(ctx); err != nil || fp != other.Fingerprint() {
		t.Errorf("fingerprint after the reset = %q, %v; want %q", fp, err, other.Fingerprint())
	}
}
