package deadlines

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/authz"
	"github.com/kinerja-ledger/kinerja/domain/skp"
)

// FinaliseRequest is the request with which the process manager records
// the finality of it's evaluation: the system principal, the firing's ID
// as causation and correlation, and the reason in words.
func FinaliseRequest(it Item, loc *time.Location) domain.Request {
	return domain.Request{Caller: authz.SystemDeadlines(), CausationID: it.FireID(), CorrelationID: it.FireID(),
		Reason: "objection window elapsed on " + it.Due.In(loc).Format(time.DateOnly) + " with no objection"}
}

// Finaliser returns a FinaliseFunc on the SKP service svc, for a process
// without the application layer (the projector): the event it appends has
// the firing's ID as its own, and the domain's Finalise changes nothing
// once the evaluation is final, so a repeated firing appends nothing.
// (kinerjad uses app.FinaliseAsSystem, keyed by the same ID.)
func Finaliser(svc *skp.Service) FinaliseFunc {
	return func(ctx context.Context, it Item) error {
		if it.Kind != FinaliseEvaluation {
			return errors.New("deadlines: only a finality item is finalised")
		}
		id, err := uuid.Parse(it.FireID())
		if err != nil {
			return err
		}
		h := *svc.Handler
		h.NewID = func() uuid.UUID { return id }
		s := *svc
		s.Handler = &h
		_, err = s.Finalise(ctx, FinaliseRequest(it, svc.Policy.Location), skp.Finalise{SKPID: it.SKPID, Period: it.Period})
		return err
	}
}
