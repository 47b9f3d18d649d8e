package main

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kinerja-ledger/kinerja/adapters/deadlinestore"
)

// holdDeadlines opens DATA/deadlines.db as a running kinerjad does (bbolt
// takes the file lock; a second open, in this process too, waits for it)
// and shortens the wait of the command under test.
func holdDeadlines(t *testing.T, data string) {
	t.Helper()
	b, err := deadlinestore.OpenBolt(filepath.Join(data, "deadlines.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	old := deadlinestore.LockTimeout
	deadlinestore.LockTimeout = 200 * time.Millisecond
	t.Cleanup(func() { deadlinestore.LockTimeout = old })
}

// expectRefused checks that a rebuild was refused because the file is
// held, with an error that says so and names kinerjad.
func expectRefused(t *testing.T, err error, out string) {
	t.Helper()
	if err == nil || !errors.Is(err, deadlinestore.ErrInUse) || !strings.Contains(err.Error(), "deadlines.db is held by another process") ||
		!strings.Contains(err.Error(), "is kinerjad") {
		t.Fatalf("rebuild of a held deadlines.db = %v\n%s", err, out)
	}
	if strings.Contains(out, `"checkpoint"`) {
		t.Fatalf("the refused rebuild reported a result: %s", out)
	}
}

// TestDeadlinesRebuildRefusesAHeldFile: embedded mode, DATA/deadlines.db
// held (kinerjad runs), the event store free: the rebuild refuses before
// it reads the log, saying why.
func TestDeadlinesRebuildRefusesAHeldFile(t *testing.T) {
	data := t.TempDir()
	mustCtl(t, "seed", "--data", data, "--employees", "8", "--year", "2025", "--seed", "1")
	holdDeadlines(t, data)
	out, err := ctl(t, "projections", "rebuild", "deadlines", "--data", data)
	expectRefused(t, err, out)
}

// TestDeadlinesRebuildRefusesWhileKinerjadRuns: kinerjad itself running
// on the data directory: refused (by the event store's lock or the
// deadline file's, whichever is asked first), naming kinerjad.
func TestDeadlinesRebuildRefusesWhileKinerjadRuns(t *testing.T) {
	data := t.TempDir()
	mustCtl(t, "seed", "--data", data, "--employees", "8", "--year", "2025", "--seed", "1")
	startKinerjad(t, data)
	out, err := ctl(t, "projections", "rebuild", "deadlines", "--data", data)
	if err == nil || !strings.Contains(err.Error(), "kinerjad") || strings.Contains(out, `"checkpoint"`) {
		t.Fatalf("rebuild while kinerjad runs = %v\n%s", err, out)
	}
}

// TestDeadlinesRebuildOnPostgresStoreWithEmbeddedState: kinerjad on a
// PostgreSQL event store with in-memory read models keeps the process
// manager in DATA/deadlines.db, and no lock guards the event store: the
// rebuild (--read-models memory, as kinerjad's) rebuilds that file and
// refuses while it is held; --read-models postgres without a URL is a
// usage error.
func TestDeadlinesRebuildOnPostgresStoreWithEmbeddedState(t *testing.T) {
	pg := postgresURL(t)
	data := t.TempDir()
	flags := []string{"--store", "postgres", "--postgres-url", pg, "--data", data}
	mustCtl(t, "migrate", "--postgres-url", pg)
	mustCtl(t, append([]string{"seed", "--employees", "8", "--year", "2025"}, flags...)...)
	out := mustCtl(t, append([]string{"projections", "rebuild", "deadlines", "--read-models", "memory"}, flags...)...)
	if !strings.Contains(out, `"checkpoint"`) {
		t.Fatalf("rebuild into DATA/deadlines.db printed %s", out)
	}
	holdDeadlines(t, data)
	out, err := ctl(t, append([]string{"projections", "rebuild", "deadlines", "--read-models", "memory"}, flags...)...)
	expectRefused(t, err, out)
	if _, err := ctl(t, "projections", "rebuild", "deadlines", "--data", data, "--read-models", "postgres"); err == nil {
		t.Error("--read-models postgres without --postgres-url was accepted")
	}
}

// TestDeadlinesRebuildPostgresRefusesAConcurrentOne: --read-models
// postgres has no file to lock; a rebuild holding the database's rebuild
// lock makes a second one refuse before it resets anything, saying why,
// and once released the next rebuild runs.
func TestDeadlinesRebuildPostgresRefusesAConcurrentOne(t *testing.T) {
	pg := postgresURL(t)
	data := t.TempDir()
	flags := []string{"--store", "postgres", "--postgres-url", pg, "--data", data, "--read-models", "postgres"}
	mustCtl(t, "migrate", "--postgres-url", pg)
	mustCtl(t, append([]string{"seed", "--employees", "8", "--year", "2025"}, flags[:6]...)...)
	first := mustCtl(t, append([]string{"projections", "rebuild", "deadlines"}, flags...)...)
	pool, err := pgxpool.New(context.Background(), pg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	unlock, err := lockDeadlinesRebuild(context.Background(), pool) // a rebuild under way
	if err != nil {
		t.Fatal(err)
	}
	out, err := ctl(t, append([]string{"projections", "rebuild", "deadlines"}, flags...)...)
	if !errors.Is(err, errDeadlinesRebuildRunning) || !strings.Contains(err.Error(), "another rebuild") || strings.Contains(out, `"checkpoint"`) {
		t.Fatalf("a concurrent rebuild = %v\n%s", err, out)
	}
	unlock()
	again := mustCtl(t, append([]string{"projections", "rebuild", "deadlines"}, flags...)...)
	if !strings.Contains(again, `"checkpoint"`) || !strings.Contains(first, `"checkpoint"`) {
		t.Fatalf("rebuilds printed %s and %s", first, again)
	}
}
