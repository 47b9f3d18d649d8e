package main

import (
	"context"
	"log/slog"
	"math"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kinerja-ledger/kinerja/cmd/internal/memlimit"
	"github.com/kinerja-ledger/kinerja/eventstore"
)

// The soft memory limit (--memory-limit-mb) makes the garbage collector
// run more often as the heap nears it. Below the live heap it cannot be
// met at all: the collector then runs back to back (up to the runtime's
// cap of about half the CPU), and a province's first start, whose live
// heap outgrows 1.5 GiB while the read models fill, was not ready after
// an hour (docs/benchmarks.md §35). So during the start-up catch-up
// kinerjad raises the limit to headroom × the live heap whenever the
// live heap nears it, and after the catch-up sets it to the larger of
// the configured limit and headroom × the live heap, logging every raise
// (memory_limit_raised). The configured limit stays the floor: a process
// whose read models fit under it keeps it.
//
// The memory budget (--memory-budget-mb, default 1,792 MiB, 7/8 of the
// 2 GiB of issue 15: the rest is for the mapped pages of the bbolt files
// and the runtime's overshoot) bounds every raise above the floor: the
// headroom over the live heap shrinks from a half to a quarter as the
// live heap nears it (memlimit.Within). A live heap past 4/5 of the
// budget (or within 128 MiB of it) takes the limit past it, to
// memlimit.MinHeadroom (5/4 × the heap, memory_budget_exceeded, WARN,
// once): a narrower headroom keeps the process smaller but makes the
// collector run nearly back to back (at 9/8 × a standalone program spent
// 60–70 % of its CPU in it). At a province the live heap reaches
// ≈ 1.5 GiB, and 1.5 × it took the history check after ready, under the
// serving GC target, to 2.76 GB (docs/benchmarks.md §67); under the
// budget the limit is 5/4 × it, ≈ 1.9 GiB. The snapshot load's own
// headroom is 5/4 already, so the budget no longer lowers it.
// The budget applies only to a limit kinerjad sets and follows
// (--memory-limit-mb > 0, no GOMEMLIMIT), and only above that limit: a
// --memory-limit-mb at or above the budget is the operator's larger
// choice, and the budget is then none (1.5 ×, no memory_budget_exceeded).
const (
	// limitPoll is how often the catch-up samples the live heap.
	limitPoll = 250 * time.Millisecond
	// servePoll is how often it is sampled once kinerjad serves.
	servePoll = 5 * time.Second
)

// raisedLimit, settledLimit and liveHeap are memlimit's (shared with
// kinerjactl's seed and rebuild).
var (
	raisedLimit  = memlimit.Raised
	settledLimit = memlimit.SettledWithin
	liveHeap     = memlimit.LiveHeap
	heapCap      = memlimit.Cap
)

// catchUpMemoryLimit follows the live heap during a catch-up (see above).
type catchUpMemoryLimit struct {
	floor  int64 // the configured limit in bytes; 0: the limit is not ours
	budget int64 // --memory-budget-mb in bytes; 0: none (1.5 × the live heap)
	// overBudget logs memory_budget_exceeded once.
	overBudget sync.Once
	// logged is the last raise the follower logged (stepLogged) in the
	// phase under way: stop resets it for serve.
	logged atomic.Int64
	log    *slog.Logger
	once   sync.Once
	cancel context.CancelFunc // ends the catch-up's following; nil: the limit is not ours
	done   chan struct{}
	// capped is set, and memory_limit_capped logged once, when the live
	// heap passed the cgroup's cap (checkCap).
	capped     atomic.Bool
	cappedOnce sync.Once
}

// checkCap notices a live heap above memlimit.Cap (90 % of the cgroup's
// memory limit) with the soft limit below it: no raise follows it (every
// raise stops at the cap), so the collector runs back to back, and before
// this nothing said so. It logs memory_limit_capped once (WARN) and sets
// the kinerja_memory_limit_capped gauge.
func (l *catchUpMemoryLimit) checkCap(limit, live int64) {
	c, ok := heapCap()
	if !ok || live <= c || limit >= live {
		return
	}
	l.capped.Store(true)
	l.cappedOnce.Do(func() {
		l.log.Warn("memory_limit_capped", "live_heap_mib", live>>20, "cap_mib", c>>20, "limit_mib", limit>>20, "configured_mib", l.floor>>20,
			"reason", "the live heap is above 90 % of the cgroup's memory limit, where every raise of the soft limit stops: the garbage collector runs continuously; give the container more memory (docs/operations.md, \"Memory\")")
	})
}

// collector is the kinerja_memory_limit_capped gauge: 1 once the live
// heap passed the cgroup's cap (checkCap).
func (l *catchUpMemoryLimit) collector() prometheus.Collector {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "kinerja", Name: "memory_limit_capped",
		Help: "1 once the live heap passed 90 % of the cgroup's memory limit, where the soft memory limit stops rising (memory_limit_capped in the log)."},
		func() float64 {
			if l.capped.Load() {
				return 1
			}
			return 0
		})
}

// startCatchUpMemoryLimit starts following the live heap when kinerjad set
// the limit (--memory-limit-mb > 0 and no GOMEMLIMIT: an operator's
// GOMEMLIMIT is left alone, as applyMemoryLimit does).
// budgetMB is --memory-budget-mb (0: none); it is none, and said so
// once (memory_budget_ignored), when the limit is not kinerjad's or is at
// least the budget.
func startCatchUpMemoryLimit(mb, budgetMB int, getenv func(string) string, log *slog.Logger) *catchUpMemoryLimit {
	l := &catchUpMemoryLimit{log: log}
	if mb <= 0 || getenv("GOMEMLIMIT") != "" {
		if budgetMB > 0 {
			log.Info("memory_budget_ignored", "budget_mib", budgetMB,
				"reason", "--memory-budget-mb bounds only the raises of a limit kinerjad sets: none with --memory-limit-mb 0 or GOMEMLIMIT set (docs/operations.md, \"Memory\")")
		}
		return l
	}
	ctx, cancel := context.WithCancel(context.Background())
	l.floor, l.budget, l.cancel, l.done = int64(mb)<<20, int64(max(budgetMB, 0))<<20, cancel, make(chan struct{})
	if l.budget > 0 && l.floor >= l.budget {
		log.Info("memory_budget_ignored", "budget_mib", budgetMB, "configured_mib", mb,
			"reason", "--memory-limit-mb is at least --memory-budget-mb: the raises above it are 1.5 × the live heap (docs/operations.md, \"Memory\")")
		l.budget = 0
	}
	heap := liveHeap
	go func() {
		defer close(l.done)
		memlimit.FollowWithin(ctx, l.floor, l.budget, limitPoll, heap, func(next, live int64) {
			l.checkBudget(next, "live_heap_mib", live)
			if l.stepLogged(next) {
				l.log.Info("memory_limit_raised", "phase", "catch-up", "mib", next>>20, "live_heap_mib", live>>20, "configured_mib", l.floor>>20, "budget_mib", l.budget>>20)
			}
		}, l.checkCap)
	}()
	return l
}

// stepLogged reports whether a raise to limit is to be logged: past the
// budget the limit follows the live heap at its minimum headroom and is
// raised at every poll the heap grew (at 9/8, at 20,000 employees scaled
// to a province, a WARN every 5 s through the history check), so a raise
// is logged only when it is the phase's first or 1/16 above the last one
// logged.
func (l *catchUpMemoryLimit) stepLogged(limit int64) bool {
	for {
		last := l.logged.Load()
		if last > 0 && limit < last+last/16 {
			return false
		}
		if l.logged.CompareAndSwap(last, limit) {
			return true
		}
	}
}

// checkBudget logs memory_budget_exceeded (WARN) the first time a raise
// takes the limit above the budget (and above the configured floor: an
// operator's limit above the budget is theirs), with the heap it was
// raised for under heapKey: live_heap_mib, or expected_heap_mib before a
// snapshot loads.
func (l *catchUpMemoryLimit) checkBudget(limit int64, heapKey string, heap int64) {
	if l.budget <= 0 || limit <= l.budget || limit <= l.floor {
		return
	}
	l.overBudget.Do(func() {
		l.log.Warn("memory_budget_exceeded", "limit_mib", limit>>20, heapKey, heap>>20, "budget_mib", l.budget>>20,
			"reason", "the heap is above 4/5 of --memory-budget-mb (or within 128 MiB of it): the limit follows it at 5/4 × (docs/operations.md, \"Memory\")")
	})
}

// snapshotHeapNum/Den is the live heap a read-model snapshot's load
// builds per byte of its file: the read models alone hold 1.69–1.76 × it
// at 2,000 and 20,000 employees, kinerjad as a whole 1.86–1.97 × at
// 20,000 (docs/benchmarks.md §55; the read models before that section
// held 2.4 ×). 1.8 is, at a province (a 916 MB file), 1,573 MiB of heap.
const snapshotHeapNum, snapshotHeapDen = 9, 5

// snapshotLoadHeadroom is the limit over that heap during the load (1.25:
// less than the follower's 1.5, the load's garbage is short-lived). It is
// the budget's minimum headroom (memlimit.MinHeadroom) too, so the budget
// does not lower it: at a province, 1,966 MiB.
const snapshotLoadNum, snapshotLoadDen = 5, 4

// expectSnapshot raises the limit before a snapshot of size bytes loads
// (at path) to what the heap it builds needs: raised only in steps as the live
// heap grows, a limit below it makes the collector run back to back
// through the load (a province's warm start was GC-bound, §46). The
// following then goes on, and stop settles the limit on the live heap.
// memlimit caps the raise under the cgroup's memory limit, as every raise.
func (l *catchUpMemoryLimit) expectSnapshot(path string) {
	fi, err := os.Stat(path)
	if l.cancel == nil || err != nil || fi.Size() <= 0 {
		return // no limit of ours, or no snapshot to load
	}
	size := fi.Size()
	heap := size / snapshotHeapDen * snapshotHeapNum
	want := heap / snapshotLoadDen * snapshotLoadNum
	if l.budget > 0 && want > l.budget {
		want = memlimit.Within(heap, l.budget)
	}
	want = max(l.floor, want)
	if prev, set, ok := memlimit.RaiseTo(want); ok {
		l.log.Info("memory_limit_raised", "phase", "snapshot-load", "mib", set>>20, "previous_mib", prev>>20,
			"expected_heap_mib", heap>>20, "wanted_mib", want>>20, "snapshot_bytes", size, "configured_mib", l.floor>>20, "budget_mib", l.budget>>20)
		l.checkBudget(set, "expected_heap_mib", heap)
	}
}

// stop ends the following and settles the limit on the live heap of the
// last collection (kinerjad collects after dropping the catch-up's caches,
// so that it is the read models'). Calling it again does nothing.
func (l *catchUpMemoryLimit) stop() {
	l.once.Do(func() {
		if l.cancel == nil {
			return
		}
		l.cancel()
		<-l.done
		// serve's first raise is logged, however high the catch-up's were.
		l.logged.Store(0)
		live := liveHeap()
		next := settledLimit(l.floor, l.budget, live)
		if prev := debug.SetMemoryLimit(next); prev != next {
			if next > l.floor {
				l.log.Warn("memory_limit_raised", "phase", "serving", "mib", next>>20, "live_heap_mib", live>>20, "configured_mib", l.floor>>20, "budget_mib", l.budget>>20,
					"reason", "the live heap is above the configured limit: under it the garbage collector would run continuously")
				l.checkBudget(next, "live_heap_mib", live)
			} else {
				l.log.Info("memory_limit", "source", "--memory-limit-mb", "mib", next>>20, "live_heap_mib", live>>20)
			}
		}
		l.checkCap(next, live)
	})
}

// serve goes on following the live heap after the catch-up, every poll
// (servePoll when 0), until ctx ends: traffic refills the read caches and
// the projections' aggregate caches, and at a province the live heap can
// pass the limit stop settled on, where the collector would run back to
// back as it did in the catch-up. It only raises (memory_limit_raised,
// WARN, phase serving); it does nothing when the limit is not kinerjad's.
func (l *catchUpMemoryLimit) serve(ctx context.Context, poll time.Duration) {
	if l.cancel == nil {
		return
	}
	if poll <= 0 {
		poll = servePoll
	}
	memlimit.FollowWithin(ctx, l.floor, l.budget, poll, liveHeap, func(next, live int64) {
		l.checkBudget(next, "live_heap_mib", live)
		if !l.stepLogged(next) {
			return
		}
		l.log.Warn("memory_limit_raised", "phase", "serving", "mib", next>>20, "live_heap_mib", live>>20, "configured_mib", l.floor>>20, "budget_mib", l.budget>>20,
			"reason", "the live heap is near the limit: under it the garbage collector would run continuously")
	}, l.checkCap)
}

// catchUpProgress logs the start-up catch-up's progress every 10 s
// (read_models_catching_up): a province's first start reads millions of
// events, and an operator must be able to tell a slow start from a stuck
// one.
func catchUpProgress(log *slog.Logger, h interface{ Replays() uint64 }) func(pos eventstore.Position, read int) {
	last := time.Now()
	return func(pos eventstore.Position, read int) {
		if time.Since(last) < 10*time.Second {
			return
		}
		last = time.Now()
		log.Info("read_models_catching_up", "events_read", read, "position", uint64(pos), "stream_replays", h.Replays(),
			"live_heap_mib", liveHeap()>>20, "memory_limit_mib", debug.SetMemoryLimit(-1)>>20)
	}
}

// applyServingGC sets the garbage collector's target to percent
// (--serving-gc-percent) once the start-up is done, and returns the
// percent in effect. It leaves the runtime's alone when GOGC is set in the
// environment (the operator's wins), when percent is 0, and when no soft
// memory limit is in effect: the limit is what keeps a higher target from
// letting the heap grow to (1 + percent/100) × the live heap unbounded.
// The start-up (snapshot load, catch-up) keeps the runtime's target, so
// its memory is as measured before.
func applyServingGC(percent int, getenv func(string) string, log *slog.Logger) int {
	current := debug.SetGCPercent(-1)
	debug.SetGCPercent(current) // read, then put back
	switch {
	case getenv("GOGC") != "":
		log.Info("gc_percent", "source", "GOGC", "value", getenv("GOGC"))
		return current
	case percent <= 0:
		return current
	case debug.SetMemoryLimit(-1) == math.MaxInt64:
		log.Info("gc_percent", "source", "runtime", "percent", current, "reason", "no soft memory limit: --serving-gc-percent applies only under one")
		return current
	}
	debug.SetGCPercent(percent)
	log.Info("gc_percent", "source", "--serving-gc-percent", "percent", percent, "memory_limit_mib", debug.SetMemoryLimit(-1)>>20)
	return percent
}
