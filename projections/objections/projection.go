package objections

import (
	"context"
	"slices"
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
	// PutObjection stores o, replacing the row of o.ID.
	PutObjection(ctx context.Context, o Objection) error
}

// Projection derives one Objection per objection from the domain's replay
// of the SKP's stream. It is not safe for concurrent use: its Sink applies
// one batch at a time.
type Projection struct {
	cache *projections.Cache[*skp.SKP]
	sla   int
}

// New returns the projection. h rebuilds SKPs the cache does not hold;
// cacheSize bounds the cache (≤ 0: projections.DefaultCacheSize, growing only when
// a projections.BoundedHistory enables it, see projections.Cache);
// decisionSLADays is the policy's ObjectionDecisionSLADays, from which
// DecisionDue is computed.
func New(h projections.History, cacheSize, decisionSLADays int) *Projection {
	return &Projection{cache: projections.NewCache(h, cacheSize, fold), sla: decisionSLADays}
}

// Reset forgets every cached SKP (a Sink calls it when it resets).
func (p *Projection) Reset() { p.cache.Reset() }

// Apply projects ev: when ev concerns an objection, its row after ev.
func (p *Projection) Apply(ctx context.Context, s Store, ev projections.Event) error {
	if !strings.HasPrefix(ev.Stream, domain.SKPStreamPrefix) || ev.Payload == nil {
		return nil
	}
	sk, err := p.cache.Advance(ctx, ev)
	if err != nil {
		p.cache.Forget(ev.Stream)
		return err
	}
	id := IDOf(ev.Payload)
	if sk == nil || id == "" {
		return nil
	}
	v := sk.View(time.Time{})
	for _, e := range v.Evaluations {
		for _, o := range e.Objections {
			if o.ID == id {
				return s.PutObjection(ctx, Of(v, e.Period, o, p.sla))
			}
		}
	}
	return nil
}

// IDOf returns the objection e concerns, or "".
func IDOf(e domain.Event) string {
	switch e := e.(type) {
	case skp.ObjectionFiled:
		return e.ObjectionID
	case skp.ObjectionFiledLate:
		return e.ObjectionID
	case skp.ExplanationRequested:
		return e.ObjectionID
	case skp.ExplanationSubmitted:
		return e.ObjectionID
	case skp.ObjectionDecided:
		return e.ObjectionID
	case skp.ObjectionWithdrawn:
		return e.ObjectionID
	case skp.ObjectionDeciderAssigned:
		return e.ObjectionID
	}
	return ""
}

// relevant are the events the projection applies to its SKP: the draft,
// the ratings (the domain's view lists only rated periods) and the
// objection events. A test holds every row equal to the domain's full
// replay at every prefix of a journey.
func relevant(e domain.Event) bool {
	switch e.(type) {
	case skp.Drafted, skp.RatingAssigned, skp.RatingRevised:
		return true
	}
	return IDOf(e) != ""
}

func fold(sk *skp.SKP, ev projections.Event) *skp.SKP {
	if ev.Payload == nil {
		return sk
	}
	if sk == nil {
		if _, ok := ev.Payload.(skp.Drafted); ok {
			return skp.Replay([]domain.Stored{ev.Stored()})
		}
		return nil
	}
	if relevant(ev.Payload) {
		sk.Apply(ev.Stored())
	}
	return sk
}

// Of returns the row of objection o to the evaluation of period of the SKP
// viewed as v, with a decision due slaDays after filing.
func Of(v skp.View, period string, o skp.ObjectionView, slaDays int) Objection {
	row := Objection{
		ID: o.ID, SKPID: v.ID, NIP: v.NIP, Name: v.Employee.Name, UnitID: v.Employee.UnitID, Period: period,
		Status: string(o.Status), FiledAt: o.FiledAt, WindowDeadline: o.Deadline, DecisionDue: o.FiledAt.AddDate(0, 0, slaDays),
		Late: o.Late, Backfill: o.Backfill, AppraiserNIP: o.AppraiserNIP, AddressedTo: o.AddressedTo,
		ExplanationsRequested: []string{}, ExplanationsGiven: []string{},
		PredikatBefore: string(o.Evaluation.Predikat),
	}
	if o.Decider != nil {
		row.AddressedTo = o.Decider.DeciderNIP // delegated or escalated
	}
	for _, r := range o.Requests {
		if !slices.Contains(row.ExplanationsRequested, string(r.From)) {
			row.ExplanationsRequested = append(row.ExplanationsRequested, string(r.From))
		}
	}
	for _, x := range o.Explanations {
		if !slices.Contains(row.ExplanationsGiven, string(x.By)) {
			row.ExplanationsGiven = append(row.ExplanationsGiven, string(x.By))
		}
	}
	if d := o.Decision; d != nil {
		at := d.DecidedAt
		row.Outcome, row.DecidedAt, row.DecidedBy, row.PredikatAfter = string(d.Outcome), &at, d.DecidedBy, string(d.Result.Predikat)
	}
	return row
}

// Match reports whether o passes q's filters. Every backend filters with it
// or with its exact equivalent.
func (q Query) Match(o Objection) bool {
	if q.Units != nil && !slices.Contains(q.Units, o.UnitID) {
		return false
	}
	if q.Status != "" && o.Status != q.Status {
		return false
	}
	if q.SKPID != "" && o.SKPID != q.SKPID {
		return false
	}
	if q.Overdue != nil && o.OverdueAt(q.Now) != *q.Overdue {
		return false
	}
	return true
}

// Less orders objections as List returns them: by filing time, then id.
func Less(a, b Objection) bool {
	if !a.FiledAt.Equal(b.FiledAt) {
		return a.FiledAt.Before(b.FiledAt)
	}
	return a.ID < b.ID
}
