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
//
// The warm-up is the schedule's first part, not a run of its own: one
// schedule runs over warmup + duration and only the tickets due at or
// after the warm-up's end are measured. A backlog the warm-up built (a
// rate above what the service serves) is still queued when the measured
// tickets come due, and counts in their latency, as it would in service;
// a warm-up drained before measuring would hide it.
type openLoop struct {
	rate     float64 // requests per second, > 0
	warmup   time.Duration
	duration time.Duration
	workers  int
	// measuring, if set, is called once, by the worker that sends the
	// first measured ticket, when that ticket is due (before it is sent):
	// where a caller starts counting its CPU.
	measuring func()
}

// ticketsWithin is the number of tickets due within d of the start: those
// with i/rate < d.
func (o openLoop) ticketsWithin(d time.Duration) int {
	n := math.Ceil(o.rate * d.Seconds())
	if n < 0 || math.IsNaN(n) {
		return 0
	}
	if n > math.MaxInt32 {
		return math.MaxInt32
	}
	return int(n)
}

// tickets is the number of requests due within the warm-up and the
// duration.
func (o openLoop) tickets() int { return o.ticketsWithin(o.warmup + o.duration) }

// firstMeasured is the first ticket due at or after the warm-up's end.
func (o openLoop) firstMeasured() int { return o.ticketsWithin(o.warmup) }

// measured is the number of measured tickets: those due within the
// duration after the warm-up.
func (o openLoop) measured() int { return o.tickets() - o.firstMeasured() }

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

// openTally is what an open loop measured, of the measured tickets only
// (the warm-up's are sent and not counted).
type openTally struct {
	// latency is the successes' (from the due time); a failure's time
	// says little of the service's (a refused connection is quick, a
	// timeout long), so failures are only counted, in errs.
	latency []time.Duration
	// lag is every sent request's delay behind its due time.
	lag    []time.Duration
	errs   int
	sample string
	// elapsed runs from the first measured send to the last measured
	// answer: successes over it are the rate served.
	elapsed time.Duration
}

// sent is the number of measured requests sent.
func (t openTally) sent() int { return len(t.lag) }

// okRate is the successes per second over elapsed.
func (t openTally) okRate() float64 {
	if t.elapsed <= 0 {
		return 0
	}
	return float64(len(t.latency)) / t.elapsed.Seconds()
}

// run sends every ticket with do (w the worker, i the ticket) and returns
// the tally of the measured ones; do returns an error message ("" for
// success). A ticket not yet sent when ctx ends is not sent and not
// counted.
func (o openLoop) run(ctx context.Context, clk openClock, do func(w, i int) string) openTally {
	n, first := o.tickets(), o.firstMeasured()
	type part struct {
		latency, lag []time.Duration
		errs         int
		sample       string
		from, to     time.Time // the first measured send, the last answer
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
				if i == first && o.measuring != nil {
					o.measuring()
				}
				sent := clk.now()
				msg := do(w, i)
				done := clk.now()
				if i < first {
					continue
				}
				if p.from.IsZero() || sent.Before(p.from) {
					p.from = sent
				}
				if done.After(p.to) {
					p.to = done
				}
				p.lag = append(p.lag, sent.Sub(at))
				if msg == "" {
					p.latency = append(p.latency, done.Sub(at))
					continue
				}
				p.errs++
				if p.sample == "" {
					p.sample = msg
				}
			}
		}()
	}
	wg.Wait()
	var t openTally
	var from, to time.Time
	for _, p := range parts {
		t.latency = append(t.latency, p.latency...)
		t.lag = append(t.lag, p.lag...)
		t.errs += p.errs
		if t.sample == "" {
			t.sample = p.sample
		}
		if !p.from.IsZero() && (from.IsZero() || p.from.Before(from)) {
			from = p.from
		}
		if p.to.After(to) {
			to = p.to
		}
	}
	if !from.IsZero() {
		t.elapsed = to.Sub(from)
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
