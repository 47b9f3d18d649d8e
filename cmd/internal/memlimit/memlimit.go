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
// budget itself while it leaves the live heap its minimum headroom, then
// that minimum: the larger of 5/4 × the live heap and the live heap and
// 128 MiB (the budget cannot be kept). The minimum is the trade-off: a
// narrower headroom keeps the process smaller but makes the collector
// run nearly back to back (at 9/8 × a standalone allocating program spent
// 60–70 % of its CPU in it), and 5/4 is where the follower's next raise
// is due (the live heap at 4/5 of the limit). The headroom thus shrinks
// from a half to a quarter as the live heap nears the budget: kinerjad's
// default budget (1,792 MiB) holds while the live heap is at most
// 1,433 MiB; a province's, ≈ 1.5 GiB, gets 5/4 × it (≈ 1.9 GiB) where
// 1.5 × took the heap to ≈ 2.3 GiB (docs/benchmarks.md §67).
//
// Every raise stops at 90 % of the hard memory limit of the process's
// cgroup (v2 or v1, cgroup.go), never under the configured floor.
package memlimit

import (
	"context"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
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
	// minHeadroom is the least headroom a budget leaves: 5/4 × the live
	// heap (the collector runs when the heap grew by a quarter of it; the
	// inverse of near, so a limit there is where the next raise is due),
	// and at least minHeadroomBytes over it (a small heap's quarter is
	// too few bytes to keep the collector from running back to back).
	minHeadroomNum, minHeadroomDen = 5, 4
	minHeadroomBytes               = 128 << 20
)

// MinHeadroom returns the least limit a budget leaves a live heap of
// live bytes: the larger of 5/4 × live and live + 128 MiB.
func MinHeadroom(live int64) int64 {
	return max(live/minHeadroomDen*minHeadroomNum, live+minHeadroomBytes)
}

// Within returns the limit for a live heap of live bytes under a budget
// (0: none): 1.5 × live while it is at most budget, else the larger of
// budget and MinHeadroom(live).
func Within(live, budget int64) int64 {
	want := live / headroomDen * headroomNum
	if budget <= 0 || want <= budget {
		return want
	}
	return max(budget, MinHeadroom(live))
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
	FollowWithin(ctx, floor, 0, poll, nil, raised, watch)
}

// FollowWithin is FollowWatch under a budget (RaisedWithin), sampling
// the live heap with heap (nil: LiveHeap).
func FollowWithin(ctx context.Context, floor, budget int64, poll time.Duration, heap func() int64, raised, watch func(limit, live int64)) {
	if heap == nil {
		heap = LiveHeap
	}
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		mu.Lock()
		current, live := debug.SetMemoryLimit(-1), heap()
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
	return tune(getenv, gcPercent, limit, func(ctx context.Context) { Follow(ctx, limit, time.Second, nil) })
}

// tune sets GOGC and the soft limit unless the environment sets either,
// runs follow until the returned restore, and then puts both back.
func tune(getenv func(string) string, gcPercent int, limit int64, follow func(ctx context.Context)) (restore func()) {
	if getenv("GOGC") != "" || getenv("GOMEMLIMIT") != "" {
		return func() {}
	}
	gc, old := debug.SetGCPercent(gcPercent), debug.SetMemoryLimit(limit)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); follow(ctx) }()
	return func() {
		cancel()
		<-done
		debug.SetGCPercent(gc)
		debug.SetMemoryLimit(old)
	}
}

// TuneBatch is Tune for a batch job whose live heap is large and whose
// collections are its main overhead (kinerjactl's projection rebuild): the
// soft limit follows num/den × the live heap instead of Headroom × it.
// At a province a rebuild's live heap is ≈ 2.5 GB; following it at 1.5 ×
// made the collector mark that heap every 1.25 GB allocated, and the
// client's CPU fell from 173 to 90 s (2 ×) and 74 s (3.2 ×) with a larger
// limit (docs/benchmarks.md §76).
// The limit stays at most half of the machine's memory (MemTotal; not
// below limit, and never under Headroom × the live heap, the old rule),
// and under 90 % of the cgroup's limit as every raise.
func TuneBatch(getenv func(string) string, gcPercent int, limit, num, den int64) (restore func()) {
	return tune(getenv, gcPercent, limit, func(ctx context.Context) {
		total := memTotal()
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			RaiseTo(BatchLimit(LiveHeap(), limit, total, num, den))
		}
	})
}

// BatchLimit is the limit TuneBatch raises to over a live heap of live
// bytes: num/den × live, at most half of total (the machine's memory,
// bytes; 0: unknown, no such bound) but not below floor, and never below
// Headroom × live (Follow's rule).
func BatchLimit(live, floor, total, num, den int64) int64 {
	if live <= 0 {
		return floor
	}
	want := live / den * num
	if total > 0 {
		want = min(want, max(floor, total/2))
	}
	return max(want, live/headroomDen*headroomNum, floor)
}

// memTotal reads MemTotal from /proc/meminfo, in bytes (0: unknown).
func memTotal() int64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			f := strings.Fields(rest)
			if len(f) == 0 {
				return 0
			}
			kb, err := strconv.ParseInt(f[0], 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}
