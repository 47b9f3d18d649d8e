package wiring

import (
	"context"
	"fmt"
	"time"

	"github.com/kinerja-ledger/kinerja/adapters/httpapi"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections"
)

// Readiness is /readyz of kinerjad and the projector (docs/operations.md,
// "/readyz"): not ready (503) while the store is unreachable, or a
// projection fails (its store is down) or lags more than maxLag —
// conditions of this instance that another may not share; degraded (200)
// while a projection is stopped at a poison event, or a relay to outside
// consumers fails or lags: every instance over the same store would be
// held the same way, so taking this one out of rotation would only take
// the service down while fixing nothing. Every projection's state is in
// the answer. g may be nil (projections run elsewhere).
func Readiness(ctx context.Context, store eventstore.Store, g *projections.Group, maxLag time.Duration) httpapi.Readiness {
	rd := httpapi.Readiness{Status: httpapi.ReadyOK}
	worsen := func(status, reason string) {
		if status == httpapi.ReadyNot || rd.Status == httpapi.ReadyOK {
			rd.Status = status
		}
		rd.Reasons = append(rd.Reasons, reason)
	}
	if _, err := store.Head(ctx); err != nil {
		worsen(httpapi.ReadyNot, fmt.Sprintf("store: %v", err))
	}
	if g == nil {
		return rd
	}
	for _, h := range g.Health(ctx, maxLag) {
		pr := httpapi.ProjectionReadiness{Name: h.Name, Policy: h.Policy.String(), Condition: string(h.Condition),
			Checkpoint: uint64(h.Checkpoint), LagSeconds: h.Lag.Seconds(), LastError: h.LastError}
		// A relay's trouble is its broker's: the API serves regardless.
		instance := httpapi.ReadyNot
		if h.Relay {
			instance = httpapi.ReadyDegraded
		}
		switch h.Condition {
		case projections.Stopped:
			st := h.Stall
			pr.StalledAt = &httpapi.StalledEvent{Position: uint64(st.Position), EventID: st.EventID, Type: st.Type,
				Reason: st.Reason, Since: st.Since}
			worsen(httpapi.ReadyDegraded, fmt.Sprintf("projection %s stopped at event %d (%s)", h.Name, st.Position, st.Type))
		case projections.Failing:
			worsen(instance, fmt.Sprintf("projection %s is failing", h.Name))
		case projections.Lagging:
			worsen(instance, fmt.Sprintf("projection %s is %v behind", h.Name, h.Lag.Round(time.Millisecond)))
		}
		rd.Projections = append(rd.Projections, pr)
	}
	return rd
}
