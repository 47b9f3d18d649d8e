package skp

import (
	"context"
	"fmt"
	"time"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/authz"
	"github.com/kinerja-ledger/kinerja/domain/calendar"
	"github.com/kinerja-ledger/kinerja/domain/period"
	"github.com/kinerja-ledger/kinerja/domain/policy"
	"github.com/kinerja-ledger/kinerja/domain/rating"
)

// Rate is the command to rate a period (PUT …/evaluations/{period}).
type Rate struct {
	// SKPID is the SKP.
	SKPID string
	// Period is "2026", or a period of the SKP's cadence in its year.
	Period string
	// WorkResult is the work-result rating. It may be empty when the
	// employee heads a unit with an organisation predikat for the period:
	// then it is derived from it.
	WorkResult string
	// Behaviour is the behaviour rating.
	Behaviour string
	// Rationale explains the ratings.
	Rationale string
	// Reason is required to replace an earlier rating; the request's reason
	// is used when empty.
	Reason string
	// Grounds are the optional per-RHK ratings and per-value notes from
	// which the overall ratings are given (grounds.go).
	Grounds Grounds
}

// Rate records the appraiser's ratings of a period; the predikat is derived
// by the matrix of domain.md §4.2, never supplied. A first rating is a
// [RatingAssigned]; replacing it before issue needs a reason and is a
// [RatingRevised] with source APPRAISER and the values it replaces;
// repeating the ratings in effect changes nothing. When the employee heads
// a unit, the work result follows the unit's organisation predikat through
// the policy's mapping. Errors: not found, forbidden (not the appraiser in
// effect; HR_ADMIN never rates), validation (period, ratings, rationale,
// reason, a work result contradicting the unit head rule), invalid state
// (SKP not established, evaluation issued, organisation predikat missing
// when required).
func (s *Service) Rate(ctx context.Context, req domain.Request, cmd Rate) (domain.Committed, error) {
	return s.onSKP(ctx, cmd.SKPID, req, func(l *lookups, req domain.Request, sk *SKP) (domain.Change, error) {
		role, err := l.authorize(req, sk, authz.Rate, nil)
		if err != nil {
			return domain.Change{}, err
		}
		var v domain.ValidationError
		p := sk.checkPeriod(&v, cmd.Period)
		var wr, bh rating.Rating
		if cmd.WorkResult != "" {
			if wr, err = rating.ParseRating(cmd.WorkResult); err != nil {
				v.Add("work_result", "%v", err)
			}
		}
		if bh, err = rating.ParseRating(cmd.Behaviour); err != nil {
			v.Add("behaviour", "%v", err)
		}
		rationale := text(&v, "rationale", cmd.Rationale, MaxLongTextLen, true)
		reason := reasonOf(&v, cmd.Reason, req)
		grounds := s.checkGrounds(&v, sk, cmd.Grounds)
		if err := v.Err(); err != nil {
			return domain.Change{}, err
		}
		if err := inEffect(sk, "rate"); err != nil {
			return domain.Change{}, err
		}
		ev := sk.evals[p.String()]
		if ev != nil && ev.issued {
			return domain.Change{}, domain.InvalidState("rate", "ISSUED", "the evaluation of "+p.String()+" is issued; ratings are locked")
		}
		basis, derived, err := l.unitHeadRating(sk, p, req.OccurredAt)
		if err != nil {
			return domain.Change{}, err
		}
		switch {
		case basis != nil && wr == "":
			wr = derived
		case basis != nil && wr != derived:
			return domain.Change{}, domain.Invalid("work_result", "the employee heads unit %s, whose predikat for %s is %s: the work result is %s",
				basis.UnitID, p, basis.OrgPredikat, derived)
		case wr == "":
			return domain.Change{}, domain.Invalid("work_result", "required")
		}
		scores := Scores{WorkResult: wr, Behaviour: bh, Predikat: rating.Derive(wr, bh)}
		if ev == nil || len(ev.history) == 0 {
			return withGrounds(domain.Change{Role: role, Events: []domain.Event{RatingAssigned{Period: p.String(), Scores: scores, Rationale: rationale, AppraiserNIP: req.Caller.ID,
				UnitHead: basis, PolicyVersion: s.Policy.Version}}}, sk, p.String(), grounds), nil
		}
		if ev.scores == scores && ev.rationale == rationale {
			return withGrounds(domain.Change{Role: role}, sk, p.String(), grounds), nil
		}
		if reason == "" {
			return domain.Change{}, domain.Invalid("reason", "required to replace the rating of %s", p)
		}
		c, err := reasoned(role, reason, RatingRevised{Period: p.String(), Previous: ev.scores, Scores: scores, Source: SourceAppraiser,
			Rationale: rationale, Reason: reason, SupersedesEventID: ev.ratingEvent, AppraiserNIP: req.Caller.ID,
			UnitHead: basis, PolicyVersion: s.Policy.Version})
		return withGrounds(c, sk, p.String(), grounds), err
	})
}

// unitHeadRating returns, when the employee heads their unit for period p,
// the unit's predikat and the work result it maps to. It also enforces the
// policy's RequireOrgPredikat. A head whose unit has no predikat for p is an
// invalid state: the work result cannot be determined yet.
func (l *lookups) unitHeadRating(sk *SKP, p period.Period, at time.Time) (*UnitHeadBasis, rating.Rating, error) {
	day := l.s.Policy.Date(at)
	if end := p.End(); end.Before(day) {
		day = end
	}
	emp, err := l.employee(sk.nip)
	if err != nil || emp == nil {
		return nil, "", err
	}
	unitID := emp.UnitOn(day)
	u, err := l.unit(unitID)
	if err != nil || u == nil {
		return nil, "", err
	}
	org, hasOrg := u.Predikat(p.String())
	if l.s.Policy.RequireOrgPredikat && !hasOrg {
		return nil, "", domain.InvalidState("rate", "NO_ORG_PREDIKAT", fmt.Sprintf("the organisation predikat of unit %s for %s is not set", unitID, p))
	}
	if head, ok := u.HeadOn(day); !ok || head != sk.nip {
		return nil, "", nil
	}
	if !hasOrg {
		return nil, "", domain.InvalidState("rate", "NO_ORG_PREDIKAT",
			fmt.Sprintf("the employee heads unit %s; the work result follows its organisation predikat for %s, which is not set", unitID, p))
	}
	r, _ := l.s.Policy.UnitHeadWorkResult(org)
	return &UnitHeadBasis{UnitID: unitID, OrgPredikat: org}, r, nil
}

// Issue is the command to issue a period's evaluation.
type Issue struct {
	// SKPID is the SKP.
	SKPID string
	// Period is the period.
	Period string
	// DeliveredAt is when the employee received the result; zero means the
	// request's occurred_at.
	DeliveredAt time.Time
}

// Issue locks the ratings of a period and records their delivery; the
// objection window (if objections to the period are allowed) runs from the
// delivery and its deadline is recorded. Errors: not found (SKP, or no
// rating for the period), forbidden (not the appraiser in effect),
// validation (period; delivered_at in the future or before the rating),
// invalid state (already issued, SKP ended), distribution blocked (BLOCK
// mode: issuing would break the unit's pattern, see the service's
// Distribution gate).
func (s *Service) Issue(ctx context.Context, req domain.Request, cmd Issue) (domain.Committed, error) {
	return s.onSKP(ctx, cmd.SKPID, req, func(l *lookups, req domain.Request, sk *SKP) (domain.Change, error) {
		role, err := l.authorize(req, sk, authz.Issue, nil)
		if err != nil {
			return domain.Change{}, err
		}
		var v domain.ValidationError
		ev, err := sk.ratedEvaluation(&v, cmd.Period)
		if err != nil {
			return domain.Change{}, err
		}
		p := period.MustParse(ev.period)
		if ev.issued {
			return domain.Change{}, domain.InvalidState("issue", "ISSUED", "the evaluation of "+p.String()+" is already issued")
		}
		if !sk.status.Open() {
			return domain.Change{}, domain.InvalidState("issue", string(sk.status), "")
		}
		delivered := domain.NormalTime(cmd.DeliveredAt)
		if delivered.IsZero() {
			delivered = req.OccurredAt
		}
		switch {
		case delivered.After(s.Handler.Now()):
			return domain.Change{}, domain.Invalid("delivered_at", "must not be in the future")
		case delivered.Before(ev.ratedAt):
			return domain.Change{}, domain.Invalid("delivered_at", "must not be before the rating (%s)", ev.ratedAt.Format(time.RFC3339))
		}
		if err := l.checkDistribution(sk, ev, req.Caller.ID, delivered); err != nil {
			return domain.Change{}, err
		}
		var deadline *time.Time
		if s.Policy.ObjectionsAllowed(p) {
			d := s.Policy.ObjectionDeadline(delivered)
			deadline = &d
		}
		return one(role, EvaluationIssued{Period: p.String(), Scores: ev.scores, DeliveredAt: delivered, ObjectionDeadline: deadline,
			AppraiserNIP: req.Caller.ID, PolicyVersion: s.Policy.Version})
	})
}

// Finalise is the command to record that an evaluation's objection window
// elapsed.
type Finalise struct {
	// SKPID is the SKP.
	SKPID string
	// Period is the period.
	Period string
}

// Finalise records [EvaluationFinalised] for an issued evaluation whose
// objection window has passed (by the injected clock) without an open
// objection. An evaluation already final by a decision, by an earlier
// Finalise, or because objections to it are not allowed, changes nothing.
// Finality does not depend on this command: views derive it from the
// clock; the event makes it visible to projections. Errors: not found,
// forbidden, validation (period), invalid state (not issued, window still
// open, objection open).
func (s *Service) Finalise(ctx context.Context, req domain.Request, cmd Finalise) (domain.Committed, error) {
	return s.onSKP(ctx, cmd.SKPID, req, func(l *lookups, req domain.Request, sk *SKP) (domain.Change, error) {
		role, err := l.authorize(req, sk, authz.Finalise, nil)
		if err != nil {
			return domain.Change{}, err
		}
		var v domain.ValidationError
		ev, err := sk.ratedEvaluation(&v, cmd.Period)
		if err != nil {
			return domain.Change{}, err
		}
		st, why := ev.status(s.Handler.Now())
		switch {
		case st == EvalFinal && (ev.finalised || why != WindowElapsed):
			return domain.Change{}, nil
		case st != EvalFinal:
			return domain.Change{}, domain.InvalidState("finalise", string(st), "the objection window has not passed or an objection is open")
		}
		return one(role, EvaluationFinalised{Period: ev.period, Reason: WindowElapsed})
	})
}

// windowDeadline is the objection deadline of an issued evaluation, or false
// when objections to it are not allowed.
func (ev *evaluation) windowDeadline() (time.Time, bool) {
	if ev.deadline == nil {
		return time.Time{}, false
	}
	return *ev.deadline, true
}

// daysLate counts the days from the deadline's day to the filing's day.
func daysLate(pol policy.Policy, deadline, filed time.Time) int {
	return calendar.Of(deadline, pol.Location).DaysUntil(calendar.Of(filed, pol.Location))
}
