// Package memlimit keeps the Go runtime's soft memory limit above the
// live heap. A soft limit below the live heap cannot be met: the garbage
// collector then runs back to back (up to the runtime's cap of about half
// the CPU), and a province's first start, whose live heap outgrew the
// 1.5 GiB default while its read models filled, was not ready after an
// hour (docs/benchmarks.md §35). Follow raises the limit to Headroom × the
// live heap whenever the live heap nears it; the configured limit stays
// the floor, so a process that fits under it keeps it. kinerjad follows
// during its catch-up and while it serves; kinerjactl's seed and rebuild,
// which set a limit of their own, follow while they run.
//
// A budget (bytes; 0: none) bounds the headroom over the live heap
// (Within): 1.5 × the live heap while that fits the budget, then the
// budget itself while it leaves the live heap at least an eighth more,
// then the live heap and an eighth (the budget cannot be kept; a
// narrower headroom would make the collector run nearly back to back).
// The headroom thus shrinks from a half to an eighth as the live heap
// nears the budget: kinerjad's default budget keeps a province's start,
// whose live heap reaches ≈ 1.5 GiB, under the 2 GiB of issue 15, where
// 1.5 × would take the heap to ≈ 2.3 GiB (docs/benchmarks.md §67).
//
// Every raise stops at 90 % of the hard memory limit of the process's
// cgroup (v2 or v1, cgroup.go), never under the configured floor.
package memlimit

import (
	"context"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"time"
)

// mu makes each raise (read the limit, set a higher one) whole: Follow
// and RaiseTo may run at once, and neither may set a limit below the
// other's.
var mu sync.Mutex

const (
	// headroom is the limit over the live heap it is raised to (1.5: the
	// collector runs when the heap grew by half of the live heap).
	headroomNum, headroomDen = 3, 2
	// near is when a raise is due: the live heap above 4/5 of the limit.
	nearNum, nearDen = 4, 5
	// minHeadroom is the least headroom a budget leaves (9/8: the
	// collector runs when the heap grew by an eighth of the live heap).
	minHeadroomNum, minHeadroomDen = 9, 8
)

// Within returns the limit for a live heap of live bytes under a budget
// (0: none): 1.5 × live while it is at most budget, else the larger of
// budget and 9/8 × live.
func Within(live, budget int64) int64 {
	want := live / headroomDen * headroomNum
	if budget <= 0 || want <= budget {
		return want
	}
	return max(budget, live/minHeadroomDen*minHeadroomNum)
}

// Raised returns the soft limit for a live heap of live bytes under a
// current limit and a configured floor (bytes), and whether it differs
// from current: current while the live heap is below 4/5 of it, else
// max(floor, 1.5 × live), that at most 90 % of the cgroup's limit (but
// not under floor).
func Raised(floor, current, live int64) (int64, bool) {
	return RaisedWithin(floor, 0, current, live)
}

// RaisedWithin is Raised under a budget: the raise is to Within(live,
// budget), not 1.5 × live.
func RaisedWithin(floor, budget, current, live int64) (int64, bool) {
	if live <= 0 || live < current/nearDen*nearNum {
		return current, false
	}
	want := capped(Within(live, budget), floor)
	return want, want != current
}

// Settled returns the configured floor unless the live heap needs more:
// max(floor, 1.5 × live), the latter at most 90 % of the cgroup's limit.
func Settled(floor, live int64) int64 {
	return SettledWithin(floor, 0, live)
}

// SettledWithin is Settled under a budget: max(floor, Within(live,
// budget)), the latter at most 90 % of the cgroup's limit.
func SettledWithin(floor, budget, live int64) int64 {
	return capped(Within(live, budget), floor)
}

// LiveHeap returns the heap the last collection marked live, in bytes.
func LiveHeap() int64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return int64(s[0].Value.Uint64())
}

// Follow samples the live heap every poll until ctx ends and raises the
// soft limit (never lowers it) as Raised says, calling raised (when not
// nil) after each raise with the new limit and the live heap.
func Follow(ctx context.Context, floor int64, poll time.Duration, raised func(limit, live int64)) {
	FollowWatch(ctx, floor, poll, raised, nil)
}

// FollowWatch is Follow, and calls watch (when not nil) after every
// sample with the limit then in effect and the live heap: a caller can
// tell when the live heap passed Cap, where no raise follows it.
func FollowWatch(ctx context.Context, floor int64, poll time.Duration, raised, watch func(limit, live int64)) {
	FollowWithin(ctx, floor, 0, poll, raised, watch)
}

// FollowWithin is FollowWatch under a budget (RaisedWithin).
func FollowWithin(ctx context.Context, floor, budget int64, poll time.Duration, raised, watch func(limit, live int64)) {
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		mu.Lock()
		current, live := debug.SetMemoryLimit(-1), LiveHeap()
		next, ok := RaisedWithin(floor, budget, current, live)
		if ok = ok && next > current; ok {
			debug.SetMemoryLimit(next)
		}
		mu.Unlock()
		if ok && raised != nil {
			raised(next, live)
		}
		if watch != nil {
			if !ok {
				next = current
			}
			watch(next, live)
		}
	}
}

// RaiseTo raises the soft limit towards limit bytes, at most to 90 % of
// the cgroup's limit, and never lowers it. It returns the limit before,
// the one set and whether it was raised.
func RaiseTo(limit int64) (prev, set int64, raised bool) {
	mu.Lock()
	defer mu.Unlock()
	prev = debug.SetMemoryLimit(-1)
	limit = capped(limit, prev)
	if limit <= prev {
		return prev, prev, false
	}
	debug.SetMemoryLimit(limit)
	return prev, limit, true
}

// Tune sets GOGC to gcPercent and the soft limit to limit bytes, followed
// by Follow every second, unless the environment sets GOGC or GOMEMLIMIT
// (the operator's choice wins). The returned function stops the following
// and restores both settings.
func Tune(getenv func(string) string, gcPercent int, limit int64) (restore func()) {
	if getenv("GOGC") != "" || getenv("GOMEMLIMIT") != "" {
		return func() {}
	}
	gc, old := debug.SetGCPercent(gcPercent), debug.SetMemoryLimit(limit)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); Follow(ctx, limit, time.Second, nil) }()
	return func() {
		cancel()
		<-done
		debug.SetGCPercent(gc)
		debug.SetMemoryLimit(old)
	}
}
