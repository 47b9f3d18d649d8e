package wiring

import (
	"context"
	"slices"

	"github.com/kinerja-ledger/kinerja/projections"
)

// Halt returns sinks with the ones named in names halted by cause: each
// refuses every event after its checkpoint as poison (so its runner stops
// it, as its Stop policy says, and reports cause), and the others as they
// are. kinerjad halts the audit and score projections when the history
// below the witnessed checkpoint does not give the signed root: what they
// would add to could not be trusted.
func Halt(sinks []projections.Sink, cause error, names ...string) []projections.Sink {
	out := make([]projections.Sink, len(sinks))
	for i, s := range sinks {
		out[i] = s
		if slices.Contains(names, s.Name()) {
			out[i] = halted{Sink: s, cause: cause}
		}
	}
	return out
}

type halted struct {
	projections.Sink
	cause error
}

// Apply refuses the first event after the checkpoint.
func (h halted) Apply(ctx context.Context, events ...projections.Event) error {
	cp, err := h.Checkpoint(ctx)
	if err != nil {
		return err
	}
	for _, ev := range events {
		if ev.Position > cp {
			return projections.Poison(ev.Event, h.cause)
		}
	}
	return nil
}
