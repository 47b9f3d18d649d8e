package projections

import (
	"context"
	"errors"
	"fmt"

	"github.com/kinerja-ledger/kinerja/eventstore"
)

// CatchUpOptions tunes CatchUp.
type CatchUpOptions struct {
	// Batch is how many events one Sink.Apply carries (default 1,000).
	Batch int
	// Until stops the catch-up after this position (0: the store's head
	// when CatchUp starts).
	Until eventstore.Position
	// Progress, when set, is called after each batch with the position
	// reached and the number of events applied so far.
	Progress func(pos eventstore.Position, applied int)
}

// ErrStopped is returned by CatchUp when a projection whose policy is Stop
// meets a poison event: it stops before it, as the policy requires.
var ErrStopped = errors.New("projections: stopped at a poison event")

// CatchUp applies to sink, in batches and outside any message router, every
// event after its checkpoint up to opts.Until: the fast path for an
// embedded start-up and for rebuilds. It keeps the projection's policy: a
// poison event is dead-lettered (DeadLetter) or stops the catch-up with an
// error matching ErrStopped and naming the event (Stop). A failed batch is
// applied again one event at a time to find the poison event. It returns
// the number of events applied.
func CatchUp(ctx context.Context, store eventstore.Store, sink Sink, opts CatchUpOptions) (int, error) {
	if opts.Batch <= 0 {
		opts.Batch = 1000
	}
	until := opts.Until
	if until == 0 {
		h, err := store.Head(ctx)
		if err != nil {
			return 0, err
		}
		until = h
	}
	after, err := sink.Checkpoint(ctx)
	if err != nil {
		return 0, err
	}
	applied := 0
	batch := make([]Event, 0, opts.Batch)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		n, err := len(batch), sink.Apply(ctx, batch...)
		if err != nil && IsPoison(err) {
			n, err = applyOneByOne(ctx, sink, batch)
		}
		if err != nil {
			return err
		}
		applied += n
		if opts.Progress != nil {
			opts.Progress(batch[len(batch)-1].Position, applied)
		}
		batch = batch[:0]
		return nil
	}
	for ev, err := range store.ReadAll(ctx, eventstore.ReadAllOptions{After: after, Filter: sink.Filter()}) {
		if err != nil {
			return applied, err
		}
		if ev.Position > until {
			break
		}
		pev, err := Decode(ev)
		if err != nil {
			if err := flush(); err != nil {
				return applied, err
			}
			if err := poisoned(ctx, sink, pev, err); err != nil {
				return applied, err
			}
			continue
		}
		batch = append(batch, pev)
		if len(batch) == opts.Batch {
			if err := flush(); err != nil {
				return applied, err
			}
		}
	}
	return applied, flush()
}

// applyOneByOne applies a batch that failed as a whole one event at a time,
// giving the poison event to the policy. It returns how many it applied.
func applyOneByOne(ctx context.Context, sink Sink, batch []Event) (int, error) {
	n := 0
	for _, ev := range batch {
		err := sink.Apply(ctx, ev)
		if err == nil {
			n++
			continue
		}
		if !IsPoison(err) {
			return n, err
		}
		if err := poisoned(ctx, sink, ev, err); err != nil {
			return n, err
		}
	}
	return n, nil
}

func poisoned(ctx context.Context, sink Sink, ev Event, cause error) error {
	if sink.Policy() == DeadLetter {
		return sink.DeadLetter(ctx, ev, cause)
	}
	return fmt.Errorf("%w: projection %s: %w", ErrStopped, sink.Name(), cause)
}

// CatchUpAll is CatchUp for several sinks at once: it reads the store and
// decodes each event once, from the lowest checkpoint, and applies each
// batch to every sink that reads the event and has not applied it yet, the
// sinks concurrently. This is the start-up path of embedded mode, where
// every read model is rebuilt from the store. It returns the events read.
func CatchUpAll(ctx context.Context, store eventstore.Store, sinks []Sink, opts CatchUpOptions) (int, error) {
	if opts.Batch <= 0 {
		opts.Batch = 2000
	}
	until := opts.Until
	if until == 0 {
		h, err := store.Head(ctx)
		if err != nil {
			return 0, err
		}
		until = h
	}
	cps := make([]eventstore.Position, len(sinks))
	from := until
	for i, s := range sinks {
		cp, err := s.Checkpoint(ctx)
		if err != nil {
			return 0, err
		}
		cps[i], from = cp, min(from, cp)
	}
	read := 0
	batch := make([]Event, 0, opts.Batch)
	var poison []error // per event of batch: its decode error
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		errs := make([]error, len(sinks))
		done := make(chan int, len(sinks))
		for i, s := range sinks {
			go func() {
				errs[i] = applyTo(ctx, s, cps[i], batch, poison)
				done <- i
			}()
		}
		for range sinks {
			<-done
		}
		if err := errors.Join(errs...); err != nil {
			return err
		}
		last := batch[len(batch)-1].Position
		for i := range cps {
			cps[i] = max(cps[i], last)
		}
		if opts.Progress != nil {
			opts.Progress(last, read)
		}
		batch, poison = batch[:0], poison[:0]
		return nil
	}
	for ev, err := range store.ReadAll(ctx, eventstore.ReadAllOptions{After: from}) {
		if err != nil {
			return read, err
		}
		if ev.Position > until {
			break
		}
		read++
		pev, derr := Decode(ev)
		batch, poison = append(batch, pev), append(poison, derr)
		if len(batch) == opts.Batch {
			if err := flush(); err != nil {
				return read, err
			}
		}
	}
	return read, flush()
}

// applyTo gives sink the events of batch it reads and has not applied
// (after cp), keeping its policy for the undecodable ones (poison[i]).
func applyTo(ctx context.Context, sink Sink, cp eventstore.Position, batch []Event, poison []error) error {
	f := sink.Filter()
	var run []Event
	flush := func() error {
		if len(run) == 0 {
			return nil
		}
		err := sink.Apply(ctx, run...)
		if err != nil && IsPoison(err) {
			_, err = applyOneByOne(ctx, sink, run)
		}
		run = run[:0]
		return err
	}
	for i, ev := range batch {
		if ev.Position <= cp || !f.Match(ev.Stream, ev.Type) {
			continue
		}
		if poison[i] != nil {
			if err := flush(); err != nil {
				return err
			}
			if err := poisoned(ctx, sink, ev, poison[i]); err != nil {
				return err
			}
			continue
		}
		run = append(run, ev)
	}
	return flush()
}
