// Package consequences derives what a final evaluation means outside the
// ledger (issue 14): the Angka Kredit of a functional post, the TPP/tukin
// performance factor, and the recognition list of SANGAT_BAIK employees.
//
// A consequence is published only once the annual evaluation of an SKP is
// final: skp.evaluation_finalised.v1 (the deadline process manager, when
// the objection window elapsed), an objection decision (final by law; for
// CHANGED, with the rating revision of the same append), or an issue to
// which no objection is allowed. A later change of the predikat (a late
// objection decided CHANGED, a revision) is never a silent edit: it
// publishes a correction that names the publication it replaces; a
// cancellation after publication publishes a retraction naming it. The
// tables each year is computed with are those the ledger adopted for it
// (adoption.go), so a change of configuration never rewrites a published
// figure.
//
// Every publication is a pure function of its SKP's stream up to the event
// that triggered it, so it is computed again identically after a restart,
// on any backend; its ID is derived from the triggering event's ID, so a
// republish is recognised (JetStream's duplicate window, the read models'
// primary key). Each publication lists the events it was computed from
// (ID, stream, revision, global position, type), so an auditor can trace
// any amount to the ratings, the people and the dates.
package consequences

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/calendar"
	"github.com/kinerja-ledger/kinerja/domain/employee"
	"github.com/kinerja-ledger/kinerja/domain/period"
	"github.com/kinerja-ledger/kinerja/domain/rating"
	"github.com/kinerja-ledger/kinerja/domain/skp"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections"
)

// Policy is the projection's poison policy: a consequence must never be
// skipped (payroll would silently miss it), so Stop.
const Policy = projections.Stop

// Filter selects the events the projection reads: every SKP stream, and
// the adopted tables (TableSet).
func Filter() eventstore.Filter {
	return eventstore.Filter{StreamPrefixes: []string{domain.SKPStreamPrefix, domain.ConsequenceTablesStream}}
}

// Kind says whether a publication is the first of an evaluation or a
// correction of an earlier one.
type Kind string

// Kinds.
const (
	// Original is the first publication of a final evaluation.
	Original Kind = "ORIGINAL"
	// Correction replaces an earlier publication (Corrects).
	Correction Kind = "CORRECTION"
	// Retraction withdraws an earlier publication (Corrects) without
	// replacing it: the SKP was cancelled after its consequences were
	// published. It carries no figures (no predikat, no Angka Kredit, a
	// TPP factor of 0, no recognition); a payroll or promotion system
	// undoes what the publication it names granted.
	Retraction Kind = "RETRACTION"
)

// Source is an event a publication was computed from.
type Source struct {
	// EventID is the event's ID.
	EventID string `json:"event_id"`
	// Stream is its stream.
	Stream string `json:"stream"`
	// Revision is its revision in the stream.
	Revision uint64 `json:"revision"`
	// Position is its global position in the store.
	Position uint64 `json:"position"`
	// Type is its type.
	Type string `json:"type"`
	// OccurredAt is its business time.
	OccurredAt time.Time `json:"occurred_at"`
	// ActorID is who caused it.
	ActorID string `json:"actor_id"`
}

// Publication is one published consequence of a final annual evaluation.
type Publication struct {
	// ID is derived from the triggering event's ID (a UUID v5), so a
	// republish carries the same ID.
	ID string `json:"id"`
	// Kind is ORIGINAL, CORRECTION or RETRACTION.
	Kind Kind `json:"kind"`
	// Corrects is the ID of the publication this one replaces or
	// retracts ("" for an original).
	Corrects string `json:"corrects,omitempty"`
	// Reason is why a publication was retracted (the cancellation's
	// reason); empty otherwise.
	Reason string `json:"reason,omitempty"`
	// SKPID is the SKP evaluated.
	SKPID string `json:"skp_id"`
	// NIP is the employee's NIP.
	NIP string `json:"nip"`
	// Name is the employee's name (the SKP's snapshot).
	Name string `json:"name"`
	// UnitID is the employee's unit (the SKP's snapshot).
	UnitID string `json:"unit_id"`
	// Period is the annual period ("2025").
	Period string `json:"period"`
	// Predikat is the final predikat.
	Predikat rating.Predikat `json:"predikat"`
	// FinalReason says what made the evaluation final.
	FinalReason skp.FinalReason `json:"final_reason"`
	// PositionKind and PositionTitle are the post of the SKP's snapshot.
	PositionKind  employee.PositionKind `json:"position_kind"`
	PositionTitle string                `json:"position_title"`
	// Months is the number of months of the year the SKP covers (1–12).
	Months int `json:"months"`
	// Jenjang is the level of a functional post ("" for other posts, or a
	// JF title whose level the tables do not know).
	Jenjang string `json:"jenjang,omitempty"`
	// Coefficient is the level's coefficient (0 without a level).
	Coefficient Milli `json:"coefficient"`
	// AngkaKreditPercent is the percentage for the predikat.
	AngkaKreditPercent int `json:"angka_kredit_percent"`
	// AngkaKredit is months/12 × percent × coefficient, present only for a
	// functional post with a known level.
	AngkaKredit *Milli `json:"angka_kredit,omitempty"`
	// TPPFactorPercent is the TPP/tukin performance factor.
	TPPFactorPercent int `json:"tpp_factor_percent"`
	// Recognition is true for SANGAT_BAIK: the employee is on the
	// recognition list of the unit and period.
	Recognition bool `json:"recognition"`
	// TablesVersion names the tables used.
	TablesVersion string `json:"tables_version"`
	// PublishedAt is the triggering event's business time.
	PublishedAt time.Time `json:"published_at"`
	// Trigger is the event that made this publication.
	Trigger Source `json:"trigger"`
	// Sources are every event the figures come from: the SKP's draft (the
	// person, post and months), the rating(s) that set the predikat, the
	// issue, and what made it final.
	Sources []Source `json:"sources"`
}

// namespace derives publication IDs (UUID v5) from event IDs.
var namespace = uuid.MustParse("5b0c6f8e-3c1d-5a7e-9f43-6b1d2c8e4a10")

// IDFor returns the ID of the publication triggered by event id.
func IDFor(eventID uuid.UUID) string {
	return uuid.NewSHA1(namespace, []byte("consequence:"+eventID.String())).String()
}

// evaluation is what the projection remembers of one annual period.
type evaluation struct {
	predikat  rating.Predikat
	rating    []Source // the rating events that set the predikat, in order
	issued    *Source
	final     bool
	pending   *Source // an objection decided CHANGED waits for its revision
	published *Publication
}

// State is the projection's fold of one SKP stream.
type State struct {
	drafted   *Source
	year      int
	skpID     string
	nip       string
	snap      skp.Snapshot
	start     calendar.Date
	end       calendar.Date
	evals     map[string]*evaluation
	published []Publication // by the last event folded
}

// Published returns the publications of the last event folded.
func (s *State) Published() []Publication {
	if s == nil {
		return nil
	}
	return s.published
}

func sourceOf(ev projections.Event) Source {
	return Source{EventID: ev.ID.String(), Stream: ev.Stream, Revision: ev.Revision, Position: uint64(ev.Position),
		Type: ev.Type, OccurredAt: ev.OccurredAt, ActorID: ev.Actor.ID}
}

// Fold returns the fold of an SKP stream with tables t for every year.
func Fold(t Tables) projections.Fold[*State] { return FoldSet(Fixed(t)) }

// FoldSet returns the fold of an SKP stream with the tables of ts for the
// SKP's year, for a projections.Cache; the state after an event holds
// what that event published (State.Published).
func FoldSet(ts *TableSet) projections.Fold[*State] {
	return func(s *State, ev projections.Event) *State {
		if s != nil {
			s.published = nil
		}
		if ev.Payload == nil {
			return s
		}
		if d, ok := ev.Payload.(skp.Drafted); ok && s == nil {
			src := sourceOf(ev)
			return &State{drafted: &src, year: d.Year, skpID: d.SKPID, nip: d.NIP, snap: d.Employee, start: d.PeriodStart, end: d.PeriodEnd,
				evals: map[string]*evaluation{}}
		}
		if s == nil {
			return nil
		}
		t, _ := ts.For(s.year)
		s.apply(t, ev)
		return s
	}
}

func annual(p string) bool {
	per, err := period.Parse(p)
	return err == nil && per.IsAnnual()
}

func (s *State) eval(p string) *evaluation {
	e := s.evals[p]
	if e == nil {
		e = &evaluation{}
		s.evals[p] = e
	}
	return e
}

func (s *State) apply(t Tables, ev projections.Event) {
	src := sourceOf(ev)
	switch e := ev.Payload.(type) {
	case skp.ClosedForPositionChange:
		// The SKP's months end with the old post: later publications count
		// the months up to the closing. The domain refuses to close an SKP
		// whose annual evaluation is final, but a stream that holds such a
		// closing anyway (an import, an earlier version) must not change a
		// published figure silently: a correction with the new months.
		if end, ok := closingDay(e); ok && end.Before(s.end) {
			s.end = end
			for _, per := range s.publishedPeriods() {
				v := s.evals[per]
				if Months(s.start, s.end) != v.published.Months {
					s.publish(t, per, v, v.published.FinalReason, src)
				}
			}
		}
	case skp.Cancelled:
		// The domain refuses to cancel an SKP whose annual evaluation is
		// final; a cancellation found after a publication anyway (an
		// import, an earlier version, a later rule) retracts it, never
		// silently.
		for _, per := range s.publishedPeriods() {
			s.retract(t, per, s.evals[per], e.Reason, src)
		}
	case skp.RatingAssigned:
		if annual(e.Period) {
			v := s.eval(e.Period)
			v.predikat, v.rating = e.Predikat, []Source{src}
		}
	case skp.RatingRevised:
		if !annual(e.Period) {
			return
		}
		v := s.eval(e.Period)
		v.predikat, v.rating = e.Predikat, append(v.rating, src)
		switch {
		case v.pending != nil:
			decided := *v.pending
			v.pending, v.final = nil, true
			if v.published == nil || v.published.Predikat != e.Predikat {
				s.publish(t, e.Period, v, skp.ObjectionDecidedFinal, src, decided)
			}
		case v.published != nil && v.published.Predikat != e.Predikat:
			s.publish(t, e.Period, v, v.published.FinalReason, src)
		}
	case skp.EvaluationIssued:
		if !annual(e.Period) {
			return
		}
		v := s.eval(e.Period)
		v.issued, v.predikat = &src, e.Predikat
		if e.ObjectionDeadline == nil && !v.final {
			v.final = true
			s.publish(t, e.Period, v, skp.NoObjectionAllowed, src)
		}
	case skp.EvaluationFinalised:
		if !annual(e.Period) {
			return
		}
		v := s.eval(e.Period)
		if !v.final {
			v.final = true
			s.publish(t, e.Period, v, e.Reason, src)
		}
	case skp.ObjectionDecided:
		if !annual(e.Period) {
			return
		}
		v := s.eval(e.Period)
		if e.Outcome == skp.Changed {
			// CHANGED: the revision of the same append carries the new
			// rating; publish with it.
			v.pending = &src
			return
		}
		if !v.final {
			v.final = true
			s.publish(t, e.Period, v, skp.ObjectionDecidedFinal, src)
		}
	}
}

// publishedPeriods returns, sorted, the periods whose latest publication
// is in effect (published and not retracted).
func (s *State) publishedPeriods() []string {
	var out []string
	for per, v := range s.evals {
		if v.published != nil && v.published.Kind != Retraction {
			out = append(out, per)
		}
	}
	slices.Sort(out)
	return out
}

// retract publishes the retraction of period's publication, triggered by
// src (the cancellation) for reason.
func (s *State) retract(t Tables, per string, v *evaluation, reason string, trigger Source) {
	prev := v.published
	p := Publication{ID: idFor(trigger.EventID, per, len(s.evals)), Kind: Retraction, Corrects: prev.ID, Reason: reason,
		SKPID: s.skpID, NIP: s.nip, Name: s.snap.Name, UnitID: s.snap.UnitID, Period: per,
		PositionKind: s.snap.Position.Kind, PositionTitle: s.snap.Position.Title, TablesVersion: t.Version,
		PublishedAt: trigger.OccurredAt, Trigger: trigger}
	if s.drafted != nil {
		p.Sources = append(p.Sources, *s.drafted)
	}
	p.Sources = append(p.Sources, prev.Trigger, trigger)
	v.published = &p
	s.published = append(s.published, p)
}

// idFor is the ID of the publication of period triggered by eventID: the
// ID of the trigger alone (IDFor) when the SKP has one evaluation with a
// consequence, as every SKP (one year, one annual period); with the period
// too otherwise, so that one event never gives two publications one ID.
func idFor(eventID, per string, evals int) string {
	id := uuid.MustParse(eventID)
	if evals <= 1 {
		return IDFor(id)
	}
	return uuid.NewSHA1(namespace, []byte("consequence:"+id.String()+":"+per)).String()
}

// closingDay reads the last day of an SKP closed for a position change:
// the day before the new post.
func closingDay(e skp.ClosedForPositionChange) (calendar.Date, bool) {
	if e.EffectiveFrom.IsZero() {
		return calendar.Date{}, false
	}
	return e.EffectiveFrom.AddDays(-1), true
}

// Months returns the number of calendar months from start to end, both
// included (a month counts when any day of it is covered), clamped to
// 0–12: the months/12 share of the Angka Kredit formula.
func Months(start, end calendar.Date) int {
	if end.Before(start) {
		return 0
	}
	m := (end.Year()-start.Year())*12 + int(end.Month()) - int(start.Month()) + 1
	return min(max(m, 0), 12)
}

// publish records a publication of period's evaluation triggered by src;
// extra are further sources (the objection decision of a revision).
func (s *State) publish(t Tables, per string, v *evaluation, reason skp.FinalReason, trigger Source, extra ...Source) {
	p := Compute(t, Input{Months: Months(s.start, s.end), Predikat: v.predikat, Position: s.snap.Position})
	p.ID, p.Kind = idFor(trigger.EventID, per, len(s.evals)), Original
	if v.published != nil {
		p.Kind, p.Corrects = Correction, v.published.ID
	}
	p.SKPID, p.NIP, p.Name, p.UnitID, p.Period = s.skpID, s.nip, s.snap.Name, s.snap.UnitID, per
	p.FinalReason, p.PublishedAt, p.Trigger = reason, trigger.OccurredAt, trigger
	if s.drafted != nil {
		p.Sources = append(p.Sources, *s.drafted)
	}
	p.Sources = append(p.Sources, v.rating...)
	if v.issued != nil {
		p.Sources = append(p.Sources, *v.issued)
	}
	p.Sources = append(p.Sources, extra...)
	if last := p.Sources[len(p.Sources)-1]; last.EventID != trigger.EventID {
		p.Sources = append(p.Sources, trigger)
	}
	v.published = &p
	s.published = append(s.published, p)
}

// Input is what the figures of a publication are computed from.
type Input struct {
	// Months is the months of the year covered (clamped to 0–12).
	Months int
	// Predikat is the final predikat.
	Predikat rating.Predikat
	// Position is the employee's post.
	Position employee.Position
}

// Compute returns the figures for in under t (the identifying fields of
// the result are left empty).
func Compute(t Tables, in Input) Publication {
	p := Publication{
		Predikat: in.Predikat, Months: min(max(in.Months, 0), 12), PositionKind: in.Position.Kind, PositionTitle: in.Position.Title,
		AngkaKreditPercent: t.AngkaKreditPercent[in.Predikat], TPPFactorPercent: t.TPPFactorPercent[in.Predikat],
		Recognition: in.Predikat == rating.SangatBaik, TablesVersion: t.Version,
	}
	if in.Position.Kind == employee.JF {
		if j, ok := t.JenjangOf(in.Position.Title); ok {
			ak := AngkaKredit(p.Months, p.AngkaKreditPercent, j.Coefficient)
			p.Jenjang, p.Coefficient, p.AngkaKredit = j.Name, j.Coefficient, &ak
		}
	}
	return p
}

// Store is what the projection needs from its backend; a Sink calls it
// inside the transaction that also stores the checkpoint.
type Store interface {
	// PutPublication stores p under p.ID (a second put of the same ID
	// changes nothing).
	PutPublication(ctx context.Context, p Publication) error
}

// Projection turns SKP events into publications. It is not safe for
// concurrent use: its Sink applies one batch at a time.
type Projection struct {
	cache  *projections.Cache[*State]
	tables *TableSet
}

// New returns the projection with tables t for every year; h rebuilds SKP
// streams the cache does not hold.
func New(t Tables, h projections.History, cacheSize int) *Projection {
	return NewWithSet(Fixed(t), h, cacheSize)
}

// NewWithSet returns the projection with the tables ts adopted for each
// year (usually LoadTableSet's), which it keeps up with the adoptions it
// is given.
func NewWithSet(ts *TableSet, h projections.History, cacheSize int) *Projection {
	return &Projection{cache: projections.NewCache(h, cacheSize, FoldSet(ts)), tables: ts}
}

// Reset forgets every cached SKP.
func (p *Projection) Reset() { p.cache.Reset() }

// Apply projects ev and returns what it published (also stored in s when
// s is not nil).
func (p *Projection) Apply(ctx context.Context, s Store, ev projections.Event) ([]Publication, error) {
	if ev.Stream == domain.ConsequenceTablesStream {
		return nil, p.tables.Apply(ev)
	}
	if !strings.HasPrefix(ev.Stream, domain.SKPStreamPrefix) || ev.Payload == nil {
		return nil, nil
	}
	st, err := p.cache.Advance(ctx, ev)
	if err != nil {
		p.cache.Forget(ev.Stream)
		return nil, err
	}
	out := st.Published()
	if s != nil {
		for _, pub := range out {
			if err := s.PutPublication(ctx, pub); err != nil {
				p.cache.Forget(ev.Stream)
				return nil, err
			}
		}
	}
	return out, nil
}
