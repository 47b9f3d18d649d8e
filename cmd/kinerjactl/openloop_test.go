package main

import (
	"context"
	"encoding/json"
	"math"
	"slices"
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
// 30 + 20·i ms and its send lag 20·i ms.
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
	for i := range 10 {
		if want := time.Duration(30+20*i) * time.Millisecond; tally.latency[i] != want {
			t.Errorf("latency[%d] = %v, want %v", i, tally.latency[i], want)
		}
		if want := time.Duration(20*i) * time.Millisecond; tally.lag[i] != want {
			t.Errorf("lag[%d] = %v, want %v", i, tally.lag[i], want)
		}
	}
	if tally.errs != 1 || tally.sample != "boom" || tally.elapsed != 300*time.Millisecond {
		t.Errorf("errs %d sample %q elapsed %v, want 1, boom, 300ms", tally.errs, tally.sample, tally.elapsed)
	}
	l := summarise(tally.latency, true)
	if l.P50 != 110 || l.Max != 210 { // the 5th of 10: 30 + 20·4
		t.Errorf("p50 %v max %v, want 110 and 210 ms", l.P50, l.Max)
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
	}{{0, 4, true}, {500, 4, true}, {500, 0, false}, {-1, 4, false}, {math.NaN(), 4, false}, {math.Inf(1), 4, false}, {0, 0, true}} {
		cfg := base
		cfg.rate, cfg.openConns = c.rate, c.conns
		if err := cfg.validate(); (err == nil) != c.ok {
			t.Errorf("--rate %v --open-conns %d: err %v, want ok %v", c.rate, c.conns, err, c.ok)
		}
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
	if r.Mode != "open" || r.Requests != 100 || r.Errors != 0 || r.RateAsked != 400 || r.P99 <= 0 || r.P50 > r.P99 || r.CPUUS <= 0 {
		t.Fatalf("open-loop appends = %+v, want 100 sent without error", r)
	}
	if _, err := ctl(t, "bench", "store", "--data", data, "--rate", "-1"); err == nil {
		t.Fatal("--rate -1 accepted")
	}
}
