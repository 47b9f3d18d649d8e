package main

import (
	"context"
	"encoding/json"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock is a clock for one worker: sleeping moves it to the wake-up
// time, a request moves it by its service time.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) sleepUntil(_ context.Context, t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.After(c.t) {
		c.t = t
	}
}
func (c *fakeClock) advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func TestOpenLoopTickets(t *testing.T) {
	for _, c := range []struct {
		rate float64
		d    time.Duration
		want int
	}{
		{1000, 10 * time.Second, 10_000},
		{3, time.Second, 3},   // due at 0, 1/3, 2/3 s
		{2.5, time.Second, 3}, // due at 0, 0.4, 0.8 s
		{1000, time.Millisecond, 1},
		{0.5, time.Second, 1}, // due at 0 only
		{1500, 20 * time.Second, 30_000},
		{0, time.Second, 0},
		{-5, time.Second, 0},
		{math.NaN(), time.Second, 0},
		{math.Inf(1), time.Second, math.MaxInt32},
	} {
		if got := (openLoop{rate: c.rate, duration: c.d}).tickets(); got != c.want {
			t.Errorf("tickets(rate %v, %s) = %d, want %d", c.rate, c.d, got, c.want)
		}
	}
	for _, c := range []struct {
		rate           float64
		warmup, d      time.Duration
		first, measure int
	}{
		{1000, 3 * time.Second, 10 * time.Second, 3000, 10_000},
		{3, time.Second, time.Second, 3, 3},                       // measured: due at 1, 4/3, 5/3 s
		{2.5, time.Second, time.Second, 3, 2},                     // warm-up 0, 0.4, 0.8; measured 1.2, 1.6
		{0.5, time.Second, time.Second, 1, 0},                     // due at 0 only: none measured
		{0.5, 0, time.Second, 0, 1},                               // due at 0, measured
		{1000, 0, time.Millisecond, 0, 1},                         // no warm-up: every ticket measured
		{0, time.Second, time.Second, 0, 0},                       // no rate, nothing due
		{math.Inf(1), time.Second, time.Second, math.MaxInt32, 0}, // clamped
	} {
		o := openLoop{rate: c.rate, warmup: c.warmup, duration: c.d}
		if o.firstMeasured() != c.first || o.measured() != c.measure {
			t.Errorf("rate %v, warm-up %s, %s: first measured %d, measured %d, want %d, %d", c.rate, c.warmup, c.d, o.firstMeasured(), o.measured(), c.first, c.measure)
		}
	}
	o := openLoop{rate: 3}
	for i, want := range []time.Duration{0, 333333333, 666666666, time.Second} {
		if got := o.due(i); got != want {
			t.Errorf("due(%d) at 3/s = %v, want %v", i, got, want)
		}
	}
	if got := (openLoop{rate: 1000}).due(29_999); got != 29_999*time.Millisecond {
		t.Errorf("due(29,999) at 1,000/s = %v", got)
	}
}

// TestOpenLoopCountsTheQueue: one connection, requests due every 10 ms,
// each served in 30 ms. A closed-loop client would report 30 ms for every
// request; from the due times, request i waits behind the i before it:
// sent at 30·i ms, answered at 30·(i+1), due at 10·i, so its latency is
// 30 + 20·i ms and its send lag 20·i ms. The failed request (the 5th) is
// counted, and its latency is not the successes'.
func TestOpenLoopCountsTheQueue(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	o := openLoop{rate: 100, duration: 100 * time.Millisecond, workers: 1}
	var order []int
	tally := o.run(context.Background(), clk, func(w, i int) string {
		order = append(order, i)
		clk.advance(30 * time.Millisecond)
		if i == 4 {
			return "boom"
		}
		return ""
	})
	if !slices.Equal(order, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}) {
		t.Fatalf("sent %v, want the 10 tickets in order", order)
	}
	if tally.sent() != 10 || len(tally.latency) != 9 {
		t.Fatalf("%d sent, %d successes' latencies, want 10 and 9", tally.sent(), len(tally.latency))
	}
	for j, i := range []int{0, 1, 2, 3, 5, 6, 7, 8, 9} {
		if want := time.Duration(30+20*i) * time.Millisecond; tally.latency[j] != want {
			t.Errorf("latency of request %d = %v, want %v", i, tally.latency[j], want)
		}
	}
	for i := range 10 {
		if want := time.Duration(20*i) * time.Millisecond; tally.lag[i] != want {
			t.Errorf("lag[%d] = %v, want %v", i, tally.lag[i], want)
		}
	}
	if tally.errs != 1 || tally.sample != "boom" || tally.elapsed != 300*time.Millisecond {
		t.Errorf("errs %d sample %q elapsed %v, want 1, boom, 300ms", tally.errs, tally.sample, tally.elapsed)
	}
	if r := tally.okRate(); r != 30 { // 9 successes in 0.3 s
		t.Errorf("successes at %v/s, want 30", r)
	}
	l := summarise(tally.latency, true)
	if l.P50 != 130 || l.Max != 210 { // the 5th of the 9 successes: 30 + 20·5
		t.Errorf("p50 %v max %v, want 130 and 210 ms", l.P50, l.Max)
	}

	// Below saturation (served in 4 ms of every 10) nothing queues: the
	// latency is the service time and the lag 0.
	clk = &fakeClock{t: time.Unix(1_700_000_000, 0)}
	tally = o.run(context.Background(), clk, func(int, int) string { clk.advance(4 * time.Millisecond); return "" })
	for i := range tally.latency {
		if tally.latency[i] != 4*time.Millisecond || tally.lag[i] != 0 {
			t.Fatalf("request %d: latency %v lag %v, want 4ms and 0", i, tally.latency[i], tally.lag[i])
		}
	}
	if len(tally.latency) != 10 || tally.elapsed != 94*time.Millisecond {
		t.Errorf("%d requests in %v, want 10 in 94ms", len(tally.latency), tally.elapsed)
	}
}

// TestOpenLoopWarmupKeepsItsBacklog: the warm-up is the schedule's first
// part. One connection, requests due every 10 ms (100/s) for a 100 ms
// warm-up and 100 ms measured, each served in 20 ms (50/s): the warm-up's
// 10 tickets leave a 100 ms backlog, and the measured tickets (10 to 19)
// queue behind it: sent at 20·i ms, answered at 20·(i+1), due at 10·i, so
// a latency of 20 + 10·i ms (120 to 210), not the 20 to 110 ms of a
// warm-up drained before measuring. The measured window runs from the
// first measured send (200 ms) to the last answer (400 ms).
func TestOpenLoopWarmupKeepsItsBacklog(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	clk := &fakeClock{t: t0}
	var marked []time.Duration
	o := openLoop{rate: 100, warmup: 100 * time.Millisecond, duration: 100 * time.Millisecond, workers: 1,
		measuring: func() { marked = append(marked, clk.now().Sub(t0)) }}
	if o.tickets() != 20 || o.firstMeasured() != 10 || o.measured() != 10 {
		t.Fatalf("tickets %d, first measured %d, measured %d, want 20, 10, 10", o.tickets(), o.firstMeasured(), o.measured())
	}
	var order []int
	tally := o.run(context.Background(), clk, func(_, i int) string {
		order = append(order, i)
		clk.advance(20 * time.Millisecond)
		return ""
	})
	if len(order) != 20 || order[0] != 0 || order[19] != 19 {
		t.Fatalf("sent %v, want the 20 tickets, warm-up included", order)
	}
	if tally.sent() != 10 || len(tally.latency) != 10 {
		t.Fatalf("%d measured, %d latencies, want the 10 due after the warm-up", tally.sent(), len(tally.latency))
	}
	for j := range 10 {
		i := 10 + j
		if want := time.Duration(20+10*i) * time.Millisecond; tally.latency[j] != want {
			t.Errorf("latency of request %d = %v, want %v", i, tally.latency[j], want)
		}
		if want := time.Duration(10*i) * time.Millisecond; tally.lag[j] != want {
			t.Errorf("lag of request %d = %v, want %v", i, tally.lag[j], want)
		}
	}
	if tally.elapsed != 200*time.Millisecond || tally.okRate() != 50 {
		t.Errorf("window %v at %v/s, want 200ms at 50/s (the rate served)", tally.elapsed, tally.okRate())
	}
	if !slices.Equal(marked, []time.Duration{200 * time.Millisecond}) {
		t.Errorf("measuring called at %v, want once, at 200ms (the first measured send)", marked)
	}

	// Below saturation (served in 4 ms of every 10) the warm-up leaves
	// nothing queued: the measured latency is the service time, and the
	// measuring starts at the warm-up's end.
	clk = &fakeClock{t: t0}
	marked = nil
	tally = o.run(context.Background(), clk, func(int, int) string { clk.advance(4 * time.Millisecond); return "" })
	if tally.sent() != 10 || tally.elapsed != 94*time.Millisecond || !slices.Equal(marked, []time.Duration{100 * time.Millisecond}) {
		t.Errorf("%d measured over %v, measuring at %v; want 10 over 94ms, at 100ms", tally.sent(), tally.elapsed, marked)
	}
	for j := range tally.latency {
		if tally.latency[j] != 4*time.Millisecond || tally.lag[j] != 0 {
			t.Fatalf("request %d: latency %v lag %v, want 4ms and 0", 10+j, tally.latency[j], tally.lag[j])
		}
	}
}

// TestOpenLoopSendsEachTicketOnce: many connections take every ticket
// once; a cancelled run sends nothing more.
func TestOpenLoopSendsEachTicketOnce(t *testing.T) {
	o := openLoop{rate: 1e6, duration: 5 * time.Millisecond, workers: 8}
	var mu sync.Mutex
	seen := map[int]int{}
	tally := o.run(context.Background(), realClock{}, func(w, i int) string {
		mu.Lock()
		seen[i]++
		mu.Unlock()
		return ""
	})
	if len(seen) != 5000 || len(tally.latency) != 5000 || len(tally.lag) != 5000 {
		t.Fatalf("%d tickets seen, %d latencies, want 5,000", len(seen), len(tally.latency))
	}
	for i, n := range seen {
		if n != 1 || i < 0 || i >= 5000 {
			t.Fatalf("ticket %d sent %d times", i, n)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	tally = (openLoop{rate: 10, duration: time.Hour, workers: 4}).run(ctx, realClock{}, func(int, int) string {
		t.Error("sent after the context ended")
		return ""
	})
	if len(tally.latency) != 0 {
		t.Errorf("%d requests after the context ended", len(tally.latency))
	}
}

func TestBenchAPIRateFlags(t *testing.T) {
	base := apiConfig{url: "http://127.0.0.1:1", concurrency: 1, duration: time.Second, contentionItems: 1, asOfEvents: 2, asOfSample: 1,
		scenarios: []string{"mutation"}, role: "HR_ADMIN", openConns: 4}
	for _, c := range []struct {
		rate  float64
		conns int
		ok    bool
	}{{0, 4, true}, {500, 4, true}, {500, 0, false}, {-1, 4, false}, {math.NaN(), 4, false}, {math.Inf(1), 4, false}, {0, 0, true}, {0.5, 4, true}} {
		cfg := base
		cfg.rate, cfg.openConns = c.rate, c.conns
		if err := cfg.validate(); (err == nil) != c.ok {
			t.Errorf("--rate %v --open-conns %d: err %v, want ok %v", c.rate, c.conns, err, c.ok)
		}
	}
	// 0.5/s: the one request due in 1 s is the warm-up's, none measured.
	cfg := base
	cfg.rate, cfg.warmup = 0.5, time.Second
	if err := cfg.validate(); err == nil {
		t.Error("--rate 0.5 --warmup 1s --duration 1s accepted: no request is measured")
	}
}

// TestBenchStoreOpenLoop: `bench store --rate` sends every due append
// (rate × duration) into streams of --events-per-stream events, each with
// its exact expected revision (a wrong one would fail), and refuses a
// negative rate.
func TestBenchStoreOpenLoop(t *testing.T) {
	data := t.TempDir()
	out := mustCtl(t, "bench", "store", "--data", data, "--rate", "400", "--duration", "250ms", "--warmup", "50ms", "--open-conns", "3", "--events-per-stream", "4")
	var r openAppendResult
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if r.Mode != "open" || r.Requests != 100 || r.OK != 100 || r.Errors != 0 || r.RateAsked != 400 || r.P99 <= 0 || r.P50 > r.P99 || r.CPUUS <= 0 {
		t.Fatalf("open-loop appends = %+v, want 100 sent without error", r)
	}
	for _, bad := range [][]string{
		{"--rate", "-1"},
		{"--rate", "100", "--open-conns", "0"},
		{"--rate", "0.5", "--warmup", "1s", "--duration", "1s"}, // the one append due is the warm-up's
	} {
		if _, err := ctl(t, append([]string{"bench", "store", "--data", data}, bad...)...); err == nil {
			t.Errorf("bench store %v accepted", bad)
		}
	}
	// Without --rate, --open-conns is not used, and 0 is not refused (as
	// in bench api).
	out = mustCtl(t, "bench", "store", "--data", data, "--open-conns", "0", "--writers", "1", "--streams-per-writer", "2", "--events-per-stream", "2", "--read=false")
	var closed struct {
		Bench string `json:"bench"`
	}
	if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &closed); err != nil || closed.Bench != "append" {
		t.Errorf("bench store --open-conns 0 (closed loop) printed %s (%v)", out, err)
	}
}
