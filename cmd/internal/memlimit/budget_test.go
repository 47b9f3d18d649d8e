package memlimit

import (
	"context"
	"runtime/debug"
	"testing"
	"time"
)

const mib = int64(1) << 20

// TestWithinShrinksTheHeadroom: under a budget the limit is 1.5 × the
// live heap while that fits, then the budget while it leaves the minimum
// headroom, then the larger of 5/4 × the live heap and the live heap and
// 128 MiB (never 9/8 ×, where the collector runs nearly back to back);
// no budget is 1.5 × always. The raises and the settled limit follow
// it, under the cgroup's cap and over the floor.
func TestWithinShrinksTheHeadroom(t *testing.T) {
	old := hardLimit
	hardLimit = func() (int64, bool) { return 0, false }
	defer func() { hardLimit = old }()
	const budget = 1792 * mib
	for _, c := range []struct{ live, budget, want int64 }{
		{800 * mib, budget, 1200 * mib},   // 1.5 × fits
		{1194 * mib, budget, 1791 * mib},  // 1.5 × just fits
		{1300 * mib, budget, budget},      // 1.5 × (1950) does not: the budget, a headroom of 492
		{1433 * mib, budget, budget},      // 5/4 × 1433 = 1791: the budget still
		{1500 * mib, budget, 1875 * mib},  // a province's live heap at ready: 5/4 ×, past the budget
		{1700 * mib, budget, 2125 * mib},  // 5/4, not 9/8 (1912)
		{300 * mib, 400 * mib, 428 * mib}, // a small heap: 128 MiB over it, more than 5/4 × (375)
		{1500 * mib, 0, 2250 * mib},       // no budget: as before
		{0, budget, 0},
	} {
		if got := Within(c.live, c.budget); got/mib != c.want/mib {
			t.Errorf("Within(%d MiB, %d MiB) = %d MiB, want %d", c.live/mib, c.budget/mib, got/mib, c.want/mib)
		}
	}
	// The follower's raise: not due below 4/5 of the limit; due above, to
	// Within, and none when Within is the current limit already.
	if got, ok := RaisedWithin(1536*mib, budget, 1536*mib, 1200*mib); ok || got != 1536*mib {
		t.Errorf("RaisedWithin below 4/5 = %d MiB, %v", got/mib, ok)
	}
	if got, ok := RaisedWithin(1536*mib, budget, 1536*mib, 1300*mib); !ok || got != budget {
		t.Errorf("RaisedWithin(live 1300) = %d MiB, %v; want the budget (Raised gives %d)", got/mib, ok, func() int64 { l, _ := Raised(1536*mib, 1536*mib, 1300*mib); return l / mib }())
	}
	if got, ok := RaisedWithin(1536*mib, budget, budget, 1400*mib); ok || got != budget {
		t.Errorf("RaisedWithin at the budget = %d MiB, %v; want no raise", got/mib, ok)
	}
	if got := SettledWithin(1536*mib, budget, 1400*mib); got != budget {
		t.Errorf("SettledWithin(live 1400) = %d MiB, want the budget", got/mib)
	}
	if got := SettledWithin(1536*mib, budget, 400*mib); got != 1536*mib {
		t.Errorf("SettledWithin over a small heap = %d MiB, want the floor", got/mib)
	}
	if got := SettledWithin(2048*mib, budget, 1500*mib); got != 2048*mib {
		t.Errorf("SettledWithin under a floor above the budget = %d MiB, want the floor", got/mib)
	}
	// A cgroup of 1.5 GiB caps the budget's limit at 90 % of it.
	hardLimit = func() (int64, bool) { return 1536 * mib, true }
	if got := SettledWithin(1024*mib, budget, 1300*mib); got != 1536*mib/10*9 {
		t.Errorf("SettledWithin under a 1536 MiB cgroup = %d MiB, want 1382", got/mib)
	}
}

// TestFollowWithinStopsAtTheBudget: the follower, given a budget, raises
// a limit the live heap nears to the budget, not to 1.5 × the heap, and
// samples the live heap it is given.
func TestFollowWithinStopsAtTheBudget(t *testing.T) {
	old, oldLimit := hardLimit, debug.SetMemoryLimit(-1)
	hardLimit = func() (int64, bool) { return 0, false }
	defer func() { hardLimit = old; debug.SetMemoryLimit(oldLimit) }()
	// A live heap above 4/5 of the limit, and a budget below 1.5 × it but
	// above its minimum headroom (5/4 ×, 1500 MiB).
	const live, budget = 1200 * mib, 1600 * mib
	debug.SetMemoryLimit(1350 * mib)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var got, sampled int64
	FollowWithin(ctx, 0, budget, 10*time.Millisecond, func() int64 { return live }, func(limit, l int64) { got, sampled = limit, l; cancel() }, nil)
	if got == 0 {
		t.Fatal("no raise")
	}
	if lim := debug.SetMemoryLimit(-1); got != budget || lim != got || sampled != live {
		t.Errorf("raised to %d MiB (limit %d MiB) over a live heap of %d MiB; want the budget, %d MiB, over %d MiB", got/mib, lim/mib, sampled/mib, budget/mib, live/mib)
	}
}

// TestBatchLimit: a batch job's limit follows 3 × its live heap (a
// province rebuild's 2.5 GB heap gets 7.5 GB on a 24 GiB machine), at
// most half of the machine's memory but never under 1.5 × the live heap
// nor the floor.
func TestBatchLimit(t *testing.T) {
	const gib = int64(1) << 30
	for _, c := range []struct{ live, floor, total, want int64 }{
		{0, 2 * gib, 24 * gib, 2 * gib},                // no collection yet: the floor
		{gib / 2, 2 * gib, 24 * gib, 2 * gib},          // 3 × 0.5 GiB under the floor
		{5 * gib / 2, 2 * gib, 24 * gib, 15 * gib / 2}, // a province: 3 ×
		{5 * gib, 2 * gib, 24 * gib, 12 * gib},         // half of the machine
		{5 * gib, 2 * gib, 8 * gib, 15 * gib / 2},      // never under 1.5 × the live heap
		{5 * gib / 2, 2 * gib, 0, 15 * gib / 2},        // memory unknown: 3 ×
		{gib, 2 * gib, 3 * gib, 2 * gib},               // half a small machine is under the floor
	} {
		if got := BatchLimit(c.live, c.floor, c.total, 3, 1); got != c.want {
			t.Errorf("BatchLimit(live %d MiB, floor %d MiB, total %d MiB) = %d MiB, want %d MiB",
				c.live>>20, c.floor>>20, c.total>>20, got>>20, c.want>>20)
		}
	}
	if memTotal() <= 0 {
		t.Log("no /proc/meminfo MemTotal here")
	}
}
