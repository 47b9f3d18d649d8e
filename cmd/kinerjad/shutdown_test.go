package main

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kinerja-ledger/kinerja/adapters/memreadmodel"
	"github.com/kinerja-ledger/kinerja/cmd/internal/wiring"
)

// TestBackgroundJoinedAtShutdown: every background goroutine of serve (the
// projector, the signer, the snapshots, the deadline scheduler, the
// session sweep, the backup socket, the views' warm-up, the idempotency
// records' sweep) is waited for before serve closes the
// store and returns, even one still running well after the shutdown
// began.
func TestBackgroundJoinedAtShutdown(t *testing.T) {
	var mu sync.Mutex
	started := map[string]bool{}
	finished := map[string]bool{}
	t.Cleanup(func() { afterBackground = nil })
	afterBackground = func(name string) {
		mu.Lock()
		started[name] = true
		mu.Unlock()
		// Still running well after the shutdown began: without the join,
		// serve closes the store meanwhile and returns.
		time.Sleep(300 * time.Millisecond)
		mu.Lock()
		finished[name] = true
		mu.Unlock()
	}
	s := startServer(t, t.TempDir())
	journey(t, s)
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, name := range []string{"projector", "signer", "snapshots", "deadlines", "sessions", "backup", "memory-limit", "views_warm", "idempotency_sweep"} {
		if !started[name] {
			t.Errorf("%s: not started with goBackground (started: %v)", name, started)
		} else if !finished[name] {
			t.Errorf("kinerjad returned while its %s goroutine still ran", name)
		}
	}
}

// TestShutdownSnapshotOwnBudget: the snapshot written at a clean shutdown
// has a budget of its own (--snapshot-shutdown-timeout), so a slow write
// still completes after the HTTP drain used all of --shutdown-timeout
// (docs/benchmarks.md §46: a province's write was cut when both shared
// the 20 s).
func TestShutdownSnapshotOwnBudget(t *testing.T) {
	data := t.TempDir()
	const drain = 300 * time.Millisecond
	t.Cleanup(func() {
		writeAtShutdown = func(ctx context.Context, s *wiring.Snapshots) error { return s.WriteAtShutdown(ctx) }
	})
	var slowed atomic.Bool
	writeAtShutdown = func(ctx context.Context, s *wiring.Snapshots) error {
		// A province's write: longer than the whole drain bound.
		slowed.Store(true)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * drain):
		}
		return s.WriteAtShutdown(ctx)
	}
	s := startServer(t, data, "--shutdown-timeout", drain.String(), "--snapshot-shutdown-timeout", "30s")
	journey(t, s)
	// A connection that sent half a request keeps the drain waiting for
	// its whole bound.
	conn, err := net.Dial("tcp", strings.TrimPrefix(s.base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("GET /healthz HTTP/1.1\r\nHost: x\r\n")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // the server has read it: the connection is active
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	if logged(s, "http_shutdown") == "" {
		t.Fatalf("the drain did not use its whole bound (no http_shutdown warning): the test does not test what it says")
	}
	if !slowed.Load() {
		t.Fatal("the shutdown snapshot writer was not called")
	}
	if l := logged(s, "readmodel_snapshot_failed"); l != "" {
		t.Fatalf("the shutdown snapshot was cut: %s", l)
	}
	if logged(s, "readmodel_snapshot_written") == "" {
		t.Fatal("no snapshot written at shutdown")
	}
	if _, err := os.Stat(filepath.Join(data, memreadmodel.SnapshotFile)); err != nil {
		t.Fatal(err)
	}
}
