package evaluations

import (
	"context"
	"strings"
	"time"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/skp"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections"
)

// Policy is the projection's poison policy: a dashboard, so DeadLetter.
const Policy = projections.DeadLetter

// Filter selects the events the projection reads: every SKP stream.
func Filter() eventstore.Filter {
	return eventstore.Filter{StreamPrefixes: []string{domain.SKPStreamPrefix}}
}

// Store is what the projection needs from its backend. A Sink calls it
// inside the transaction that also stores the checkpoint.
type Store interface {
	// PutEvaluation stores e, replacing the row of (e.SKPID, e.Period).
	PutEvaluation(ctx context.Context, e Evaluation) error
}

// Projection derives one Evaluation per SKP and period from the domain's
// replay of the SKP's stream. It is not safe for concurrent use: its Sink
// applies one batch at a time.
type Projection struct {
	cache *projections.Cache[*state]
}

// state is what the projection keeps of one SKP: per period, the domain's
// SKP rebuilt from the draft and the events of that period only. Each
// view then holds one period, which the domain's view sorts and parses
// for nothing; periods never influence each other's evaluation (the
// suite's prefix test holds every row equal to the full replay).
type state struct {
	draft   domain.Stored
	periods map[string]*skp.SKP
}

// New returns the projection. h rebuilds SKPs the cache does not hold;
// cacheSize bounds the cache (≤ 0: projections.DefaultCacheSize, growing only when
// a projections.BoundedHistory enables it, see projections.Cache).
func New(h projections.History, cacheSize int) *Projection {
	return &Projection{cache: projections.NewCache(h, cacheSize, fold)}
}

// Reset forgets every cached SKP (a Sink calls it when it resets).
func (p *Projection) Reset() { p.cache.Reset() }

// Apply projects ev: when ev changes a period's evaluation, the row of that
// period after ev.
func (p *Projection) Apply(ctx context.Context, s Store, ev projections.Event) error {
	if !strings.HasPrefix(ev.Stream, domain.SKPStreamPrefix) || ev.Payload == nil {
		return nil
	}
	st, err := p.cache.Advance(ctx, ev)
	if err != nil {
		p.cache.Forget(ev.Stream)
		return err
	}
	period := PeriodOf(ev.Payload)
	if st == nil || period == "" {
		return nil
	}
	// The zero instant reads the recorded status: no window has elapsed
	// at the beginning of time, so FINAL comes only from recorded facts.
	v := st.periods[period].View(time.Time{})
	for _, e := range v.Evaluations {
		if e.Period == period {
			return s.PutEvaluation(ctx, Of(v, e, ev.Revision))
		}
	}
	return nil
}

// PeriodOf returns the period whose evaluation e changes, or "" when e
// changes none. Only these events (and the draft, which names the SKP) are
// applied to the projection's SKP; a test holds every row equal to the
// domain's full replay at every prefix of a journey.
func PeriodOf(e domain.Event) string {
	switch e := e.(type) {
	case skp.RatingAssigned:
		return e.Period
	case skp.RatingRevised:
		return e.Period
	case skp.EvaluationIssued:
		return e.Period
	case skp.EvaluationFinalised:
		return e.Period
	case skp.ReceiptAcknowledged:
		return e.Period
	case skp.ObjectionFiled:
		return e.Period
	case skp.ObjectionFiledLate:
		return e.Period
	case skp.ObjectionDecided:
		return e.Period
	case skp.ObjectionWithdrawn:
		return e.Period
	}
	return ""
}

func fold(st *state, ev projections.Event) *state {
	if ev.Payload == nil {
		return st
	}
	if st == nil {
		if _, ok := ev.Payload.(skp.Drafted); ok {
			return &state{draft: ev.Stored(), periods: map[string]*skp.SKP{}}
		}
		return nil
	}
	if p := PeriodOf(ev.Payload); p != "" {
		sk := st.periods[p]
		if sk == nil {
			sk = skp.Replay([]domain.Stored{st.draft})
			st.periods[p] = sk
		}
		sk.Apply(ev.Stored())
	}
	return st
}

// Of returns the row of evaluation e of the SKP viewed as v; revision is
// the SKP's revision that last changed it.
func Of(v skp.View, e skp.EvaluationView, revision uint64) Evaluation {
	return Evaluation{
		SKPID: v.ID, NIP: v.NIP, UnitID: v.Employee.UnitID, Year: v.Year, Period: e.Period,
		WorkResult: string(e.WorkResult), Behaviour: string(e.Behaviour), Predikat: string(e.Predikat),
		Status: string(e.Status), FinalityRecorded: e.FinalityRecorded,
		DeliveredAt: e.DeliveredAt, ObjectionDeadline: e.ObjectionDeadline,
		AppraiserNIP: e.AppraiserNIP, RatedAt: e.RatedAt, Revision: revision,
	}
}

// Rebuild returns the rows the projection holds for one SKP after the
// events evs of its stream (in order, from its draft), by period: what
// the reports read as of an earlier moment (the stream cut there).
func Rebuild(evs []projections.Event) map[string]Evaluation {
	var st *state
	last := map[string]uint64{}
	for _, ev := range evs {
		st = fold(st, ev)
		if p := PeriodOf(ev.Payload); p != "" && st != nil {
			last[p] = ev.Revision
		}
	}
	out := map[string]Evaluation{}
	if st == nil {
		return out
	}
	for p, sk := range st.periods {
		v := sk.View(time.Time{})
		for _, e := range v.Evaluations {
			if e.Period == p {
				out[p] = Of(v, e, last[p])
			}
		}
	}
	return out
}
