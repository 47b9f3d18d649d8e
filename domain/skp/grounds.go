package skp

import (
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/berakhlak"
	"github.com/kinerja-ledger/kinerja/domain/period"
	"github.com/kinerja-ledger/kinerja/domain/rating"
)

// Ratings with their grounds (issue 11; PermenPANRB 6/2022 forms B.1.x):
// the work-result rating of each RHK with its rationale, and a behaviour
// note per BerAKHLAK value, from which the appraiser gives the overall
// ratings. The overall ratings stay the appraiser's judgement (domain.md
// §4.1): nothing here derives them. The grounds are optional unless the
// policy's RequireRatingGrounds asks for every RHK of the version in effect
// and all seven values.
//
// Beside them, as evidence and never as a rating, the capaian of each
// indicator: its achievement against the target, computed from the
// realisations of the period ([SKP.Achievements]).

// RHKRating is the work-result rating of one RHK with its rationale.
type RHKRating struct {
	// RHKID is the RHK of the version in effect.
	RHKID string `json:"rhk_id"`
	// Rating is DI_ATAS_EKSPEKTASI, SESUAI_EKSPEKTASI or DI_BAWAH_EKSPEKTASI.
	Rating rating.Rating `json:"rating"`
	// Rationale explains it.
	Rationale string `json:"rationale"`
}

// ValueNote is the appraiser's behaviour note on one BerAKHLAK value.
type ValueNote struct {
	// Value is one of the seven BerAKHLAK values.
	Value berakhlak.Value `json:"value"`
	// Note is the observation.
	Note string `json:"note"`
}

// Grounds are the per-RHK ratings and per-value notes of a period's rating.
type Grounds struct {
	// WorkResults are the RHK ratings, in the order given.
	WorkResults []RHKRating `json:"work_results"`
	// BehaviourNotes are the value notes, in the order given.
	BehaviourNotes []ValueNote `json:"behaviour_notes"`
}

func (g Grounds) empty() bool { return len(g.WorkResults) == 0 && len(g.BehaviourNotes) == 0 }

func (g Grounds) equal(o Grounds) bool {
	return slices.Equal(g.WorkResults, o.WorkResults) && slices.Equal(g.BehaviourNotes, o.BehaviourNotes)
}

// RatingGroundsRecorded records the grounds of a period's rating, appended
// with the rating it supports (or alone, when only the grounds change
// before issue). The latest recorded grounds of a period are in effect.
// Stream skp-{id}.
type RatingGroundsRecorded struct {
	// Period is the period rated.
	Period string `json:"period"`
	// Grounds are the per-RHK ratings and per-value notes.
	Grounds
	// SKPVersion is the plan version whose RHK were rated.
	SKPVersion int `json:"skp_version"`
}

// EventType implements [domain.Event].
func (RatingGroundsRecorded) EventType() string { return "skp.rating_grounds_recorded.v1" }

// checkGrounds validates g against the plan version in effect and the
// policy, and returns it normalised (texts trimmed, empty slices non-nil).
func (s *Service) checkGrounds(v *domain.ValidationError, sk *SKP, g Grounds) Grounds {
	out := Grounds{WorkResults: []RHKRating{}, BehaviourNotes: []ValueNote{}}
	pv := sk.version()
	seen := map[string]bool{}
	for i, r := range g.WorkResults {
		f := func(name string) string { return "work_results[" + itoa(i) + "]." + name }
		switch {
		case pv == nil || !slices.ContainsFunc(pv.RHK, func(x RHK) bool { return x.ID == r.RHKID }):
			v.Add(f("rhk_id"), "no RHK %q in the version in effect", r.RHKID)
		case seen[r.RHKID]:
			v.Add(f("rhk_id"), "RHK %q is rated twice", r.RHKID)
		}
		seen[r.RHKID] = true
		if !r.Rating.Valid() {
			v.Add(f("rating"), "must be DI_ATAS_EKSPEKTASI, SESUAI_EKSPEKTASI or DI_BAWAH_EKSPEKTASI")
		}
		out.WorkResults = append(out.WorkResults, RHKRating{RHKID: r.RHKID, Rating: r.Rating,
			Rationale: text(v, f("rationale"), r.Rationale, MaxLongTextLen, true)})
	}
	seenV := map[berakhlak.Value]bool{}
	for i, n := range g.BehaviourNotes {
		f := func(name string) string { return "behaviour_notes[" + itoa(i) + "]." + name }
		switch {
		case !n.Value.Valid():
			v.Add(f("value"), "must be one of the seven BerAKHLAK values")
		case seenV[n.Value]:
			v.Add(f("value"), "%s is noted twice", n.Value)
		}
		seenV[n.Value] = true
		out.BehaviourNotes = append(out.BehaviourNotes, ValueNote{Value: n.Value, Note: text(v, f("note"), n.Note, MaxLongTextLen, true)})
	}
	if s.Policy.RequireRatingGrounds {
		if pv != nil {
			for _, r := range pv.RHK {
				if !seen[r.ID] {
					v.Add("work_results", "the policy requires a rating of every RHK: %q has none", r.ID)
				}
			}
		}
		for _, b := range berakhlak.Values() {
			if !seenV[b] {
				v.Add("behaviour_notes", "the policy requires a note on every BerAKHLAK value: %s has none", b)
			}
		}
	}
	return out
}

func itoa(i int) string { return strconv.Itoa(i) }

// withGrounds adds to a rating change the grounds event, when grounds are
// given and differ from those in effect.
func withGrounds(c domain.Change, sk *SKP, per string, g Grounds) domain.Change {
	if g.empty() || g.equal(sk.grounds[per]) {
		return c
	}
	version := 0
	if pv := sk.version(); pv != nil {
		version = pv.Version
	}
	c.Events = append(c.Events, RatingGroundsRecorded{Period: per, Grounds: g, SKPVersion: version})
	return c
}

func (s *SKP) applyGrounds(ev RatingGroundsRecorded) {
	if s.grounds == nil {
		s.grounds = map[string]Grounds{}
	}
	s.grounds[ev.Period] = ev.Grounds
}

// GroundsOf returns the grounds in effect for period, if any.
func (s *SKP) GroundsOf(per string) (Grounds, bool) {
	g, ok := s.grounds[per]
	return g, ok
}

// Direction says whether more or less of an indicator is better.
type Direction string

// Directions.
const (
	// HigherIsBetter: more is better (r/t).
	HigherIsBetter Direction = "HIGHER_IS_BETTER"
	// LowerIsBetter: less is better (2 − r/t).
	LowerIsBetter Direction = "LOWER_IS_BETTER"
)

// Valid reports whether d is a direction.
func (d Direction) Valid() bool { return d == HigherIsBetter || d == LowerIsBetter }

// DirectionOf returns the direction of an aspect [D]: time (WAKTU) and cost
// (BIAYA) are better when lower — finishing sooner, spending less against
// the target — quantity and quality when higher.
func DirectionOf(a Aspect) Direction {
	if a == Waktu || a == Biaya {
		return LowerIsBetter
	}
	return HigherIsBetter
}

// Capaian returns the achievement in percent of realisation r against
// target t in direction d, or false when it cannot be computed (a target of
// 0). Higher is better: r/t × 100. Lower is better: (2 − r/t) × 100, floored
// at 0 — the formula of the government performance accountability reports
// (SAKIP) for indicators whose lower value is better: on target is 100 %,
// half the target 150 %, double the target 0 %. Rounded to two decimals.
func Capaian(r, t float64, d Direction) (float64, bool) {
	if t <= 0 || math.IsNaN(r) || math.IsInf(r, 0) || math.IsNaN(t) || math.IsInf(t, 0) {
		return 0, false
	}
	q := r / t
	if d == LowerIsBetter {
		q = max(2-q, 0)
	}
	return math.Round(q*10000) / 100, true
}

// Achievement is one indicator's capaian for a period, shown beside the
// rating as evidence; it never replaces the appraiser's judgement.
type Achievement struct {
	// RHKID and IndicatorID name the indicator of the version in effect;
	// Aspect and Direction say how it is read.
	RHKID       string    `json:"rhk_id"`
	IndicatorID string    `json:"indicator_id"`
	Aspect      Aspect    `json:"aspect"`
	Direction   Direction `json:"direction"`
	// Target is the indicator's target.
	Target Target `json:"target"`
	// Realisation is the latest realisation recorded for the period (or a
	// period within it), nil when none is.
	Realisation *float64 `json:"realisation"`
	// RealisedAt is the business time of that realisation.
	RealisedAt *time.Time `json:"realised_at,omitempty"`
	// Percent is the capaian in percent, nil when there is no realisation
	// or the target is 0.
	Percent *float64 `json:"percent"`
}

// Achievements returns the capaian of every indicator of the plan version
// in effect for period per (domain.md §4.1 leaves the formula open [U]; the
// decision is in docs/domain-model.md): realisations are cumulative to
// date, so the latest one recorded for the period, or for a period within
// it (a quarter within the year), counts.
func (s *SKP) Achievements(per string) []Achievement {
	out := []Achievement{}
	pv := s.version()
	p, err := period.Parse(per)
	if pv == nil || err != nil {
		return out
	}
	within := func(q string) bool {
		x, err := period.Parse(q)
		return err == nil && p.Contains(x.Start()) && p.Contains(x.End())
	}
	for _, r := range pv.RHK {
		for _, ind := range r.Indicators {
			a := Achievement{RHKID: r.ID, IndicatorID: ind.ID, Aspect: ind.Aspect, Direction: ind.EffectiveDirection(), Target: ind.Target}
			var latest *Realisation
			for i := range s.realisations {
				x := &s.realisations[i]
				if x.IndicatorID == ind.ID && within(x.Period) && (latest == nil || !x.OccurredAt.Before(latest.OccurredAt)) {
					latest = x
				}
			}
			if latest != nil {
				val, at := latest.Value, latest.OccurredAt
				a.Realisation, a.RealisedAt = &val, &at
				if pc, ok := Capaian(val, ind.Target.Value, a.Direction); ok {
					a.Percent = &pc
				}
			}
			out = append(out, a)
		}
	}
	return out
}
