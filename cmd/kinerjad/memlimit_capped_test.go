package main

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

// TestMemoryLimitCapped (review of warmstart, finding 4): a live heap
// above the cgroup's cap, where the soft limit stops rising, is logged
// once (memory_limit_capped, with the live heap and the cap) and sets
// the gauge's flag; below the cap, or with a limit above the heap, nothing.
func TestMemoryLimitCapped(t *testing.T) {
	const mib = int64(1) << 20
	old := heapCap
	heapCap = func() (int64, bool) { return 900 * mib, true }
	defer func() { heapCap = old }()
	var buf bytes.Buffer
	l := &catchUpMemoryLimit{floor: 512 * mib, log: slog.New(slog.NewJSONHandler(&buf, nil))}
	l.checkCap(900*mib, 800*mib)  // under the cap
	l.checkCap(2000*mib, 950*mib) // above it, but an operator's limit above the heap
	if buf.Len() != 0 || l.capped.Load() {
		t.Fatalf("capped under the cap or with room: %s", buf.String())
	}
	l.checkCap(900*mib, 1000*mib)
	l.checkCap(900*mib, 1100*mib)
	if n := strings.Count(buf.String(), "memory_limit_capped"); n != 1 {
		t.Errorf("memory_limit_capped logged %d times, want once: %s", n, buf.String())
	}
	if !strings.Contains(buf.String(), `"live_heap_mib":1000`) || !strings.Contains(buf.String(), `"cap_mib":900`) {
		t.Errorf("memory_limit_capped without the live heap and the cap: %s", buf.String())
	}
	if !l.capped.Load() {
		t.Error("kinerja_memory_limit_capped not set")
	}
	heapCap = func() (int64, bool) { return 0, false } // no cgroup limit: never capped
	l2 := &catchUpMemoryLimit{log: slog.New(slog.NewJSONHandler(&buf, nil))}
	l2.checkCap(1, 1<<40)
	if l2.capped.Load() {
		t.Error("capped without a cgroup limit")
	}
}
