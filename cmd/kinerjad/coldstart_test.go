package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"strconv"
	"testing"
	"time"

	"github.com/kinerja-ledger/kinerja/adapters/httpapi"
	"github.com/kinerja-ledger/kinerja/cmd/internal/memlimit"
	"github.com/kinerja-ledger/kinerja/domain/skp"
)

// TestCatchUpTinyCacheSameReadModels: a cold start whose catch-up keeps
// one SKP aggregate per projection (--catchup-cache-skps 1, so that the
// journey's SKPs evict each other and are replayed from the store) builds
// the same read models as one whose caches hold every SKP
// (--catchup-cache-skps 0), and logs the replays it cost.
func TestCatchUpTinyCacheSameReadModels(t *testing.T) {
	data := t.TempDir()
	s := startServer(t, data, "--snapshot-every", "0")
	journey(t, s)
	// Two drafts whose events interleave: with one aggregate per cache,
	// S's next event finds T's SKP in its place and replays S's stream.
	var vS, vT skp.View
	s.must(201, nipS, nil, "POST", "/v1/skps", httpapi.DraftBody{NIP: nipS, Year: 2025, Approach: "KUANTITATIF"}, &vS)
	s.must(201, nipT, nil, "POST", "/v1/skps", httpapi.DraftBody{NIP: nipT, Year: 2025, Approach: "KUANTITATIF"}, &vT)
	s.must(201, nipS, nil, "POST", "/v1/skps/"+vS.ID+"/rhk", httpapi.RHKBody{Text: "Tata kelola kesehatan", Kind: "UTAMA", PKRef: "PK-PEMKOT-2025-01"}, nil)
	s.must(201, nipT, nil, "POST", "/v1/skps/"+vT.ID+"/rhk", httpapi.RHKBody{Text: "Pembangunan kota", Kind: "UTAMA", PKRef: "PK-PEMKOT-2025-02"}, nil)
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	replays := func(s *server) int {
		t.Helper()
		l := logged(s, "read_models_caught_up")
		m := regexp.MustCompile(`"stream_replays":(\d+)`).FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("read_models_caught_up without stream_replays: %q", l)
		}
		n, _ := strconv.Atoi(m[1])
		return n
	}
	s = startServer(t, data, "--snapshot-every", "0", "--catchup-cache-skps", "0")
	want := readsOf(t, s)
	// The unbounded catch-up replays (almost) nothing: now and then one
	// stream (seen 1 in 4 runs under load, on main too; not explained), so
	// the bounded run is compared with it rather than with zero.
	unbounded := replays(s)
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	s = startServer(t, data, "--snapshot-every", "0", "--catchup-cache-skps", "1")
	if n := replays(s); n <= unbounded {
		t.Errorf("a catch-up with one aggregate per cache replayed %d streams, the unbounded one %d: the bound did not apply", n, unbounded)
	}
	sameReads(t, "catch-up with --catchup-cache-skps 1", want, readsOf(t, s))
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
}

// TestRaisedMemoryLimit: the soft limit follows a live heap that outgrows
// it (× 1.5) instead of staying below it, where the collector would run
// back to back; the configured limit stays the floor.
func TestRaisedMemoryLimit(t *testing.T) {
	const mib = 1 << 20
	for _, c := range []struct {
		floor, current, live, want int64
		raised                     bool
	}{
		{1536 * mib, 1536 * mib, 500 * mib, 1536 * mib, false},  // far below: unchanged
		{1536 * mib, 1536 * mib, 1300 * mib, 1950 * mib, true},  // above 4/5: 1.5 × live
		{1536 * mib, 1536 * mib, 3000 * mib, 4500 * mib, true},  // above the limit
		{1536 * mib, 4500 * mib, 3000 * mib, 4500 * mib, false}, // already there
		{1536 * mib, 1536 * mib, 0, 1536 * mib, false},          // no collection yet
	} {
		got, raised := raisedLimit(c.floor, c.current, c.live)
		if got != c.want || raised != c.raised {
			t.Errorf("raisedLimit(%d, %d, %d MiB) = %d MiB, %v; want %d MiB, %v", c.floor/mib, c.current/mib, c.live/mib, got/mib, raised, c.want/mib, c.raised)
		}
	}
	if got := settledLimit(1536*mib, 0, 400*mib); got != 1536*mib {
		t.Errorf("settledLimit over a small heap = %d MiB, want the configured 1536", got/mib)
	}
	if got := settledLimit(1536*mib, 0, 2000*mib); got != 3000*mib {
		t.Errorf("settledLimit over a 2000 MiB heap = %d MiB, want 3000", got/mib)
	}
	// An operator's GOMEMLIMIT is left alone, and 0 turns the limit off:
	// nothing follows the heap then.
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, l := range []*catchUpMemoryLimit{
		startCatchUpMemoryLimit(1536, 0, func(k string) string { return map[string]string{"GOMEMLIMIT": "2GiB"}[k] }, log),
		startCatchUpMemoryLimit(0, 0, func(string) string { return "" }, log),
	} {
		if l.cancel != nil {
			t.Error("the limit is followed although kinerjad did not set it")
		}
		l.stop()
	}
}

// TestMemoryLimitFollowedWhileServing: once kinerjad serves, the soft
// limit is still raised when the live heap nears it (traffic refills the
// caches after the catch-up settled the limit); fails if serve is gone or
// stops following.
func TestMemoryLimitFollowedWhileServing(t *testing.T) {
	old := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(old) })
	hold := make([]byte, 8<<20) // a live heap well above the 1 MiB limit below
	runtime.GC()
	l := &catchUpMemoryLimit{floor: 1 << 20, log: slog.New(slog.NewTextHandler(io.Discard, nil)), cancel: func() {}}
	debug.SetMemoryLimit(1 << 20)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); l.serve(ctx, 5*time.Millisecond) }()
	deadline := time.Now().Add(10 * time.Second)
	for debug.SetMemoryLimit(-1) <= 1<<20 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	if got := debug.SetMemoryLimit(-1); got <= 1<<20 {
		t.Errorf("limit while serving = %d with a live heap of %d, want it raised", got, liveHeap())
	}
	runtime.KeepAlive(hold)
	// A limit that is not kinerjad's (GOMEMLIMIT, or none) is left alone.
	debug.SetMemoryLimit(1 << 20)
	(&catchUpMemoryLimit{}).serve(context.Background(), time.Millisecond) // returns at once
	if got := debug.SetMemoryLimit(-1); got != 1<<20 {
		t.Errorf("a limit not ours was changed to %d", got)
	}
	debug.SetMemoryLimit(old)
}

// TestMemoryLimitRaisedForSnapshotLoad: before a snapshot loads, the limit
// is raised at once to what the heap it builds needs (1.8 × its size, ×
// 1.25), not in steps as the live heap grows past it; the configured limit
// stays the floor, and a limit that is not kinerjad's is left alone.
func TestMemoryLimitRaisedForSnapshotLoad(t *testing.T) {
	const mib = 1 << 20
	t.Cleanup(memlimit.StubCgroupLimit(0, false)) // the box's cgroup must not cap the raises
	old := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(old) })
	snap := filepath.Join(t.TempDir(), "readmodels.snapshot")
	if err := os.WriteFile(snap, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(snap, 1000*mib); err != nil { // sparse: no disk used
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	l := startCatchUpMemoryLimit(1536, 0, func(string) string { return "" }, log)
	debug.SetMemoryLimit(1536 * mib)
	l.expectSnapshot(snap)
	if got, want := debug.SetMemoryLimit(-1), int64(1000*mib/5*9/4*5); got != want {
		t.Errorf("limit for a 1000 MiB snapshot = %d MiB, want %d MiB", got/mib, want/mib)
	}
	l.expectSnapshot(filepath.Join(t.TempDir(), "none")) // no snapshot: unchanged
	debug.SetMemoryLimit(1536 * mib)
	if err := os.Truncate(snap, 10*mib); err != nil {
		t.Fatal(err)
	}
	l.expectSnapshot(snap)
	if got := debug.SetMemoryLimit(-1); got != 1536*mib {
		t.Errorf("limit for a 10 MiB snapshot = %d MiB, want the configured 1536", got/mib)
	}
	l.stop()
	debug.SetMemoryLimit(1 * mib)
	g := startCatchUpMemoryLimit(1536, 0, func(k string) string { return map[string]string{"GOMEMLIMIT": "1MiB"}[k] }, log)
	g.expectSnapshot(snap)
	if got := debug.SetMemoryLimit(-1); got != 1*mib {
		t.Errorf("an operator's GOMEMLIMIT was changed to %d MiB", got/mib)
	}
	g.stop()
}
