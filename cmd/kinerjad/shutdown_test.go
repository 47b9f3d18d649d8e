package main

import (
	"sync"
	"testing"
	"time"
)

// TestBackgroundJoinedAtShutdown: every background goroutine of serve (the
// projector, the signer, the snapshots, the deadline scheduler, the
// session sweep, the backup socket, the views' warm-up) is waited for before serve closes the
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
	for _, name := range []string{"projector", "signer", "snapshots", "deadlines", "sessions", "backup", "memory-limit", "views_warm"} {
		if !started[name] {
			t.Errorf("%s: not started with goBackground (started: %v)", name, started)
		} else if !finished[name] {
			t.Errorf("kinerjad returned while its %s goroutine still ran", name)
		}
	}
}
