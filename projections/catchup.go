package projections

import (
	"context"
	"errors"
	"slices"
	"sync"

	"github.com/kinerja-ledger/kinerja/eventstore"
)

// CatchUpOptions tunes a catch-up.
type CatchUpOptions struct {
	// Batch is how many events one Sink.Apply carries (default 2,000).
	Batch int
	// Until stops the catch-up after this position (0: the store's head
	// when the catch-up starts).
	Until eventstore.Position
	// Progress, when set, is called after each batch with the position
	// reached and the number of events read so far.
	Progress func(pos eventstore.Position, read int)
}

// ErrStopped matches the error of a Stop projection held at a poison
// event: it stops before it, as the policy requires.
var ErrStopped = errors.New("projections: stopped at a poison event")

// CatchUp feeds every projection of the group (not the relays) from one
// read of the store, in batches and outside any message router: the fast
// path of a start-up. Each event is admitted once (Admit) and each batch
// is applied to every projection that reads it and has not applied it
// yet, the projections concurrently, by the same runner code as live
// delivery, with the same policies.
//
// No event can make CatchUp fail: a Stop projection that meets a poison
// event stalls before it (State.Stall names it) and drops out of the
// catch-up, and one whose batch fails with a transient error
// CatchUpTries times drops out too; both are left to live delivery, which
// keeps retrying, while the others go on. CatchUp fails only when the
// store cannot be read or ctx ends. It returns the number of events read.
func (g *Group) CatchUp(ctx context.Context, opts CatchUpOptions) (int, error) {
	if opts.Batch <= 0 {
		opts.Batch = 2000
	}
	until := opts.Until
	if until == 0 {
		h, err := g.cfg.Store.Head(ctx)
		if err != nil {
			return 0, err
		}
		until = h
	}
	var active []*Runner
	var cps []eventstore.Position
	from := until
	for _, s := range g.States() {
		if s.Relay || s.Stall != nil {
			continue
		}
		active = append(active, g.byName[s.Name])
		cps = append(cps, s.Checkpoint)
		from = min(from, s.Checkpoint)
	}
	if len(active) == 0 || from >= until {
		return 0, nil
	}
	read := 0
	batch := make([]Event, 0, opts.Batch)
	flush := func() {
		if len(batch) == 0 {
			return
		}
		var wg sync.WaitGroup
		ok := make([]bool, len(active))
		for i, r := range active {
			wg.Go(func() { ok[i] = r.catchUp(ctx, cps[i], batch) == nil })
		}
		wg.Wait()
		last := batch[len(batch)-1].Position
		keep := 0
		for i := range active {
			if ok[i] {
				active[keep], cps[keep] = active[i], max(cps[i], last)
				keep++
			}
		}
		active, cps = active[:keep], cps[:keep]
		if opts.Progress != nil {
			opts.Progress(last, read)
		}
		batch = batch[:0]
	}
	for ev, err := range g.cfg.Store.ReadAll(ctx, eventstore.ReadAllOptions{After: from}) {
		if err != nil {
			return read, err
		}
		if ev.Position > until || len(active) == 0 {
			break
		}
		read++
		batch = append(batch, g.Admit(ctx, ev))
		if len(batch) == opts.Batch {
			flush()
		}
	}
	flush()
	return read, ctx.Err()
}

// catchUp applies to the runner's Sink the events of batch it reads and
// has not applied (after cp): poison takes the policy, a transient
// failure is tried CatchUpTries times. It returns nil when the runner may
// go on with the next batch.
func (r *Runner) catchUp(ctx context.Context, cp eventstore.Position, batch []Event) error {
	// The selection is counted first and made once, of its size: grown by
	// doubling, its copies of the events were 6 % of a rebuild's client CPU
	// (seven runners, each its own selection of every batch). A runner
	// that reads the whole batch (the audit trail) takes it as it is:
	// nothing modifies a batch's events (the Sink contract: Apply neither
	// keeps nor modifies them), and clipped, an append to it cannot write
	// into the shared batch.
	n := 0
	for _, ev := range batch {
		if ev.Position > cp && r.filter.Match(ev.Stream, ev.Type) {
			n++
		}
	}
	sel := slices.Clip(batch)
	if n < len(batch) {
		sel = make([]Event, 0, n)
		for _, ev := range batch {
			if ev.Position > cp && r.filter.Match(ev.Stream, ev.Type) {
				sel = append(sel, ev)
			}
		}
	}
	r.bmu.Lock()
	defer r.bmu.Unlock()
	backoff := r.g.cfg.RetryInterval
	for tries := 1; len(sel) > 0; tries++ {
		n, err := r.applyOnce(ctx, sel)
		sel = sel[n:]
		if err == nil {
			continue
		}
		r.failed(err)
		var stopped *stoppedError
		if errors.As(err, &stopped) || tries >= r.g.cfg.CatchUpTries {
			return err
		}
		if err := r.g.wait(ctx, backoff); err != nil {
			return err
		}
		backoff = min(2*backoff, r.g.cfg.MaxBackoff)
	}
	if len(batch) > 0 {
		r.queued = max(r.queued, batch[len(batch)-1].Position)
	}
	return nil
}

// CatchUp applies to sink every event after its checkpoint up to
// opts.Until, with the group runner's code: the path of rebuilds and
// tools, which must finish or fail. A poison event is dead-lettered
// (DeadLetter) or stops the catch-up with an error matching ErrStopped
// and naming the event (Stop); a transient failure that persists is
// returned. It returns the number of events applied.
func CatchUp(ctx context.Context, store eventstore.Store, sink Sink, opts CatchUpOptions) (int, error) {
	g, err := NewGroup(ctx, GroupConfig{Store: store, Sinks: []Sink{sink}})
	if err != nil {
		return 0, err
	}
	defer g.Close()
	if _, err := g.CatchUp(ctx, opts); err != nil {
		return g.runners[0].appliedCount(), err
	}
	return g.runners[0].appliedCount(), g.failure()
}

// CatchUpAll is CatchUp for several sinks at once: one read of the store
// for all. Unlike Group.CatchUp, it fails when any sink stopped or kept
// failing. It returns the events read.
func CatchUpAll(ctx context.Context, store eventstore.Store, sinks []Sink, opts CatchUpOptions) (int, error) {
	g, err := NewGroup(ctx, GroupConfig{Store: store, Sinks: sinks})
	if err != nil {
		return 0, err
	}
	defer g.Close()
	n, err := g.CatchUp(ctx, opts)
	if err != nil {
		return n, err
	}
	return n, g.failure()
}

// failure joins the errors of the projections that did not catch up.
func (g *Group) failure() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	var errs []error
	for _, r := range g.runners {
		if r.st.Stalled && r.lastErr != nil {
			errs = append(errs, r.lastErr)
		}
	}
	return errors.Join(errs...)
}

func (r *Runner) appliedCount() int {
	r.g.mu.Lock()
	defer r.g.mu.Unlock()
	return r.st.Applied
}
