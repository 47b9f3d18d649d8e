package wiring

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kinerja-ledger/kinerja/adapters/memreadmodel"
)

func historyRefusal() *memreadmodel.SnapshotError {
	return &memreadmodel.SnapshotError{Reason: memreadmodel.ErrSnapshotHistory, Err: errors.New("an event below the snapshot changed")}
}

// nonEmptyDir makes path a directory with a file in it: a rename onto it
// and its removal both fail, even for root.
func nonEmptyDir(t *testing.T, path string) {
	t.Helper()
	if err := os.MkdirAll(path, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(path, "keep"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// A refused snapshot that cannot be renamed to .refused (a non-empty
// directory is in the way) is removed: the restart after a failed history
// check does not find it.
func TestSetAsideRemovesWhenRenameFails(t *testing.T) {
	dir := t.TempDir()
	s := &Snapshots{Path: filepath.Join(dir, memreadmodel.SnapshotFile), Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	s.init()
	if err := os.WriteFile(s.Path, []byte("snapshot"), 0o600); err != nil {
		t.Fatal(err)
	}
	nonEmptyDir(t, s.Path+".refused")
	if err := s.setAside(historyRefusal(), "test"); err != nil {
		t.Fatal(err)
	}
	if exists(s.Path) {
		t.Error("the refused snapshot is still there, for the next start to load")
	}
	if exists(s.Marker()) {
		t.Error("a marker was left although the snapshot is gone")
	}
	if !exists(filepath.Join(s.Path+".refused", "keep")) {
		t.Error("what stood in the way was touched")
	}
}

// A refused snapshot that can be neither renamed nor removed is marked
// refused, and Load obeys the marker (refuses it without reading it) until
// the snapshot is gone; with nothing possible, setAside says so.
func TestSetAsideMarksWhenRemoveFails(t *testing.T) {
	dir := t.TempDir()
	s := &Snapshots{Path: filepath.Join(dir, memreadmodel.SnapshotFile), Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	s.init()
	nonEmptyDir(t, s.Path) // neither renamed onto the directory below nor removed
	nonEmptyDir(t, s.Path+".refused")
	if err := s.setAside(historyRefusal(), "test"); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(s.Marker())
	if err != nil || strings.TrimSpace(string(b)) != "history" {
		t.Fatalf("marker = %q, %v; want history", b, err)
	}
	// Load refuses it: a Model that is nil would panic if it were read.
	if s.Load(context.Background()) {
		t.Fatal("Load loaded a snapshot marked refused")
	}
	if got := loadsOf(t, s, "refused_history"); got != 2 {
		t.Errorf("refused_history = %v, want 2 (the check's and Load's)", got)
	}
	if !exists(s.Marker()) {
		t.Fatal("the marker went while the snapshot is still there")
	}
	// The snapshot gone (removed by hand), the marker is dropped and the
	// start goes on without a snapshot.
	if err := os.RemoveAll(s.Path); err != nil {
		t.Fatal(err)
	}
	s.Model = memreadmodel.New(memreadmodel.Options{})
	if s.Load(context.Background()) {
		t.Fatal("Load loaded a snapshot that is not there")
	}
	if exists(s.Marker()) {
		t.Error("a stale marker was kept")
	}

	// Nothing possible: the marker cannot be written either.
	nonEmptyDir(t, s.Path)
	nonEmptyDir(t, s.Marker())
	err = s.setAside(historyRefusal(), "test")
	if err == nil || !strings.Contains(err.Error(), "move it away") {
		t.Errorf("setAside with nothing possible = %v, want an error saying so", err)
	}
}

// loadsOf is kinerja_readmodel_snapshot_loads_total{result}.
func loadsOf(t *testing.T, s *Snapshots, result string) float64 {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(s.loads)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "result" && l.GetValue() == result {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

// Load removes the temporary files of snapshot writes a killed process
// left (a province's is ≈ 0.9 GB), and nothing else.
func TestLoadRemovesStaleSnapshotTemps(t *testing.T) {
	dir := t.TempDir()
	s := &Snapshots{Path: filepath.Join(dir, memreadmodel.SnapshotFile), Model: memreadmodel.New(memreadmodel.Options{}),
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	stale := []string{s.Path + ".tmp-123456", s.Path + ".tmp-9"}
	kept := []string{s.Path + ".refused", filepath.Join(dir, "other.tmp-1"), filepath.Join(dir, "events.db")}
	for _, name := range append(append([]string{}, stale...), kept...) {
		if err := os.WriteFile(name, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if s.Load(context.Background()) {
		t.Fatal("Load loaded a snapshot that is not there")
	}
	for _, name := range stale {
		if exists(name) {
			t.Errorf("%s: a stale temporary file was kept", name)
		}
	}
	for _, name := range kept {
		if !exists(name) {
			t.Errorf("%s: removed, but it is not a snapshot's temporary file", name)
		}
	}
}
