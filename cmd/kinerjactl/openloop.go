package main

import (
	"context"
	"math"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// openLoop is a fixed arrival rate (open loop): request i is due at
// start + i/rate, whether or not the earlier ones have been answered, and
// its latency is measured from that intended moment, not from when a
// client got round to sending it. A closed-loop client sends less when the
// service slows, so its slowest moments are sampled least (coordinated
// omission); here a stall shows as the latency of every request due during
// it.
//
// Requests are tickets taken in order by workers (the connections): a
// worker takes the next ticket, waits until it is due, sends it and
// records the answer's time minus the due time. When every worker is busy
// a due ticket waits for the next free one, and that wait is part of its
// latency; Lag measures it alone (send start minus due time), so a run
// whose client could not keep up says so.
type openLoop struct {
	rate     float64 // requests per second, > 0
	duration time.Duration
	workers  int
}

// tickets is the number of requests due within the duration: those with
// i/rate < duration.
func (o openLoop) tickets() int {
	n := math.Ceil(o.rate * o.duration.Seconds())
	if n < 0 || math.IsNaN(n) {
		return 0
	}
	if n > math.MaxInt32 {
		return math.MaxInt32
	}
	return int(n)
}

// due is ticket i's offset from the start.
func (o openLoop) due(i int) time.Duration {
	return time.Duration(float64(i) * float64(time.Second) / o.rate)
}

// openClock is the open loop's clock: the real one, or a test's.
type openClock interface {
	now() time.Time
	// sleepUntil returns at t or later, or when ctx ends.
	sleepUntil(ctx context.Context, t time.Time)
}

type realClock struct{}

func (realClock) now() time.Time { return time.Now() }
func (realClock) sleepUntil(ctx context.Context, t time.Time) {
	d := time.Until(t)
	if d <= 0 {
		return
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-ctx.Done():
	case <-tm.C:
	}
}

// openTally is what an open-loop run measured: per sent request, the
// latency from its due time and the lag of its send behind it.
type openTally struct {
	latency, lag []time.Duration
	errs         int
	sample       string
	// elapsed runs from the start to the last answer.
	elapsed time.Duration
}

// run sends every ticket with do (w the worker, i the ticket) and returns
// the tally; do returns an error message ("" for success). A ticket not
// yet sent when ctx ends is not sent and not counted.
func (o openLoop) run(ctx context.Context, clk openClock, do func(w, i int) string) openTally {
	n := o.tickets()
	type part struct {
		latency, lag []time.Duration
		errs         int
		sample       string
	}
	parts := make([]part, o.workers)
	var next atomic.Int64
	start := clk.now()
	var wg sync.WaitGroup
	for w := range o.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := &parts[w]
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				at := start.Add(o.due(i))
				clk.sleepUntil(ctx, at)
				if ctx.Err() != nil {
					return
				}
				sent := clk.now()
				msg := do(w, i)
				done := clk.now()
				p.lag = append(p.lag, sent.Sub(at))
				p.latency = append(p.latency, done.Sub(at))
				if msg != "" {
					p.errs++
					if p.sample == "" {
						p.sample = msg
					}
				}
			}
		}()
	}
	wg.Wait()
	t := openTally{elapsed: clk.now().Sub(start)}
	for _, p := range parts {
		t.latency = append(t.latency, p.latency...)
		t.lag = append(t.lag, p.lag...)
		t.errs += p.errs
		if t.sample == "" {
			t.sample = p.sample
		}
	}
	return t
}

// processCPU is the CPU time (user + system) this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
