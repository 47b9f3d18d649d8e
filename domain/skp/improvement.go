package skp

import (
	"context"
	"time"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/authz"
	"github.com/kinerja-ledger/kinerja/domain/calendar"
	"github.com/kinerja-ledger/kinerja/domain/rating"
)

// Improvement plans (issue 14, PP 30/2019 Art. 56–58): a FINAL evaluation
// whose predikat is BUTUH_PERBAIKAN or worse calls for an improvement plan.
// The appraiser (or HR_ADMIN) opens it once the evaluation is final — not
// at issue, because an objection may still change the predikat — with
// goals, actions and a follow-up date (by default
// [DefaultFollowUpMonths] after the evaluation became final), and later
// records its result. The deadline process manager (projections/deadlines)
// reminds of each step.

// DefaultFollowUpMonths is the default time from finality to the
// follow-up of an improvement plan (issue 14: a 6-month follow-up).
const DefaultFollowUpMonths = 6

// MaxFollowUpMonths bounds how far after finality a follow-up may be set.
const MaxFollowUpMonths = 12

// ImprovementResult is the recorded result of an improvement plan.
type ImprovementResult string

// Improvement results.
const (
	// Improved: the performance reached the expectation.
	Improved ImprovementResult = "IMPROVED"
	// PartlyImproved: some of the plan's goals were reached.
	PartlyImproved ImprovementResult = "PARTLY_IMPROVED"
	// NotImproved: the goals were not reached.
	NotImproved ImprovementResult = "NOT_IMPROVED"
)

// ImprovementResults returns every result.
func ImprovementResults() []ImprovementResult {
	return []ImprovementResult{Improved, PartlyImproved, NotImproved}
}

// Valid reports whether r is a known result.
func (r ImprovementResult) Valid() bool {
	return r == Improved || r == PartlyImproved || r == NotImproved
}

// NeedsImprovementPlan reports whether a final predikat calls for an
// improvement plan: BUTUH_PERBAIKAN, KURANG_MISCONDUCT and SANGAT_KURANG.
func NeedsImprovementPlan(p rating.Predikat) bool {
	return p == rating.ButuhPerbaikan || p == rating.KurangMisconduct || p == rating.SangatKurang
}

// ImprovementPlan is an improvement plan of a period's evaluation.
type ImprovementPlan struct {
	// Period is the evaluation's period.
	Period string `json:"period"`
	// Predikat is the final predikat that called for the plan.
	Predikat rating.Predikat `json:"predikat"`
	// Goals and Actions are the plan.
	Goals   string `json:"goals"`
	Actions string `json:"actions"`
	// FollowUpOn is the follow-up date.
	FollowUpOn calendar.Date `json:"follow_up_on"`
	// OpenedBy opened it at OpenedAt (business time).
	OpenedBy string    `json:"opened_by"`
	OpenedAt time.Time `json:"opened_at"`
	// Result, ResultNote, ResultBy and ResultAt are the recorded result,
	// empty while the plan is open.
	Result     ImprovementResult `json:"result,omitempty"`
	ResultNote string            `json:"result_note,omitempty"`
	ResultBy   string            `json:"result_by,omitempty"`
	ResultAt   *time.Time        `json:"result_at,omitempty"`
}

// Open reports whether the plan waits for its result.
func (p ImprovementPlan) Open() bool { return p.Result == "" }

// ImprovementPlans returns the SKP's improvement plans, by period.
func (s *SKP) ImprovementPlans() []ImprovementPlan {
	out := make([]ImprovementPlan, 0, len(s.improvements))
	for _, p := range s.improvements {
		out = append(out, *p)
	}
	return out
}

// ImprovementPlanOf returns the improvement plan of period, if any.
func (s *SKP) ImprovementPlanOf(period string) (ImprovementPlan, bool) {
	for _, p := range s.improvements {
		if p.Period == period {
			return *p, true
		}
	}
	return ImprovementPlan{}, false
}

// FinalSince returns the instant from which the evaluation of period is
// final on the SKP's recorded facts: the decision of a timely objection,
// the delivery when objections are not allowed, else the first instant
// after the objection window. It returns false while the evaluation is not
// issued or under objection.
func (s *SKP) FinalSince(period string) (time.Time, bool) {
	ev := s.evals[period]
	if ev == nil || !ev.issued {
		return time.Time{}, false
	}
	var decided time.Time
	for _, o := range ev.objections {
		if o.decision != nil && !o.late && (decided.IsZero() || o.decision.DecidedAt.Before(decided)) {
			decided = o.decision.DecidedAt
		}
	}
	switch o := ev.current(); {
	case !decided.IsZero():
		return decided, true
	case o != nil && o.open() && !o.late:
		return time.Time{}, false
	case ev.deadline == nil:
		return ev.deliveredAt, true
	}
	return ev.deadline.Add(time.Second), true
}

// FollowUpDefault returns the default follow-up date of an improvement
// plan of an evaluation final since t.
func (s *Service) FollowUpDefault(finalSince time.Time) calendar.Date {
	return s.Policy.Date(finalSince.In(s.Policy.Location).AddDate(0, DefaultFollowUpMonths, 0))
}

// OpenImprovementPlan is the command to open the improvement plan of a
// final evaluation.
type OpenImprovementPlan struct {
	// SKPID and Period name the evaluation.
	SKPID, Period string
	// Goals and Actions are the plan (both required).
	Goals, Actions string
	// FollowUpOn is the follow-up date; zero means DefaultFollowUpMonths
	// after the evaluation became final.
	FollowUpOn calendar.Date
}

// OpenImprovementPlan records [ImprovementPlanOpened]: the appraiser in
// effect (or HR_ADMIN) opens the improvement plan of a FINAL evaluation
// whose predikat is BUTUH_PERBAIKAN or worse. Errors: not found, forbidden,
// validation (period, goals, actions, a follow-up date not after the
// opening's day or more than MaxFollowUpMonths after finality), invalid
// state (not rated, not final, a predikat that needs no plan, a plan
// already opened).
func (s *Service) OpenImprovementPlan(ctx context.Context, req domain.Request, cmd OpenImprovementPlan) (domain.Committed, error) {
	var v domain.ValidationError
	goals := cleanText(&v, "goals", cmd.Goals)
	actions := cleanText(&v, "actions", cmd.Actions)
	return s.onSKP(ctx, cmd.SKPID, req, func(l *lookups, req domain.Request, sk *SKP) (domain.Change, error) {
		role, err := l.authorize(req, sk, authz.OpenImprovementPlan, nil)
		if err != nil {
			return domain.Change{}, err
		}
		vv := domain.ValidationError{Fields: append([]domain.FieldError(nil), v.Fields...)}
		p := sk.checkPeriod(&vv, cmd.Period)
		if err := vv.Err(); err != nil {
			return domain.Change{}, err
		}
		const act = "open an improvement plan"
		ev := sk.evals[p.String()]
		if ev == nil {
			return domain.Change{}, &domain.NotFoundError{Kind: "evaluation", ID: cmd.SKPID + "/" + p.String()}
		}
		if st, _ := ev.status(req.OccurredAt); st != EvalFinal {
			return domain.Change{}, domain.InvalidState(act, string(st), "the evaluation of "+p.String()+" is not final")
		}
		if !NeedsImprovementPlan(ev.scores.Predikat) {
			return domain.Change{}, domain.InvalidState(act, string(ev.scores.Predikat), "a predikat of "+string(ev.scores.Predikat)+" needs no improvement plan")
		}
		if _, ok := sk.ImprovementPlanOf(p.String()); ok {
			return domain.Change{}, domain.InvalidState(act, "PLAN_OPEN", "the improvement plan of "+p.String()+" is already open")
		}
		final, _ := sk.FinalSince(p.String())
		if final.IsZero() || final.After(req.OccurredAt) {
			final = req.OccurredAt
		}
		follow := cmd.FollowUpOn
		if follow.IsZero() {
			follow = s.FollowUpDefault(final)
		}
		today := s.Policy.Date(req.OccurredAt)
		latest := s.Policy.Date(final.In(s.Policy.Location).AddDate(0, MaxFollowUpMonths, 0))
		switch {
		case !follow.After(today):
			return domain.Change{}, domain.Invalid("follow_up_on", "must be after the opening's day (%s)", today)
		case follow.After(latest):
			return domain.Change{}, domain.Invalid("follow_up_on", "must be at most %d months after the evaluation became final (%s)", MaxFollowUpMonths, latest)
		}
		return one(role, ImprovementPlanOpened{Period: p.String(), Predikat: ev.scores.Predikat, Goals: goals, Actions: actions,
			FollowUpOn: follow, AppraiserNIP: req.Caller.ID})
	})
}

// RecordImprovementResult is the command to record the result of an
// improvement plan.
type RecordImprovementResult struct {
	// SKPID and Period name the evaluation whose plan it is.
	SKPID, Period string
	// Result is IMPROVED, PARTLY_IMPROVED or NOT_IMPROVED.
	Result ImprovementResult
	// Note explains the result (required).
	Note string
}

// RecordImprovementResult records [ImprovementPlanResultRecorded]: the
// appraiser in effect (or HR_ADMIN) records the result of an open
// improvement plan. Errors: not found, forbidden, validation (period,
// result, note), invalid state (no plan opened, a result already recorded).
func (s *Service) RecordImprovementResult(ctx context.Context, req domain.Request, cmd RecordImprovementResult) (domain.Committed, error) {
	var v domain.ValidationError
	if !cmd.Result.Valid() {
		v.Add("result", "want IMPROVED, PARTLY_IMPROVED or NOT_IMPROVED")
	}
	note := cleanText(&v, "note", cmd.Note)
	return s.onSKP(ctx, cmd.SKPID, req, func(l *lookups, req domain.Request, sk *SKP) (domain.Change, error) {
		role, err := l.authorize(req, sk, authz.RecordImprovementResult, nil)
		if err != nil {
			return domain.Change{}, err
		}
		vv := domain.ValidationError{Fields: append([]domain.FieldError(nil), v.Fields...)}
		p := sk.checkPeriod(&vv, cmd.Period)
		if err := vv.Err(); err != nil {
			return domain.Change{}, err
		}
		const act = "record an improvement result"
		plan, ok := sk.ImprovementPlanOf(p.String())
		switch {
		case !ok:
			return domain.Change{}, domain.InvalidState(act, "NO_PLAN", "no improvement plan of "+p.String()+" is open")
		case !plan.Open():
			return domain.Change{}, domain.InvalidState(act, string(plan.Result), "the result of the improvement plan of "+p.String()+" is recorded")
		case req.OccurredAt.Before(plan.OpenedAt):
			return domain.Change{}, domain.Invalid("occurred_at", "must not be before the plan was opened (%s)", plan.OpenedAt.Format(time.RFC3339))
		}
		return one(role, ImprovementPlanResultRecorded{Period: p.String(), Result: cmd.Result, Note: note, AppraiserNIP: req.Caller.ID})
	})
}

// cleanText is a required long text free of control characters.
func cleanText(v *domain.ValidationError, field, s string) string {
	s = text(v, field, s, MaxLongTextLen, true)
	if p := domain.TextProblem(s); p != "" {
		v.Add(field, "%s", p)
	}
	return s
}

// openImprovement folds [ImprovementPlanOpened].
func (s *SKP) openImprovement(ev ImprovementPlanOpened, at time.Time) {
	s.improvements = append(s.improvements, &ImprovementPlan{Period: ev.Period, Predikat: ev.Predikat, Goals: ev.Goals, Actions: ev.Actions,
		FollowUpOn: ev.FollowUpOn, OpenedBy: ev.AppraiserNIP, OpenedAt: at})
	s.involve(ev.AppraiserNIP)
}

// recordImprovement folds [ImprovementPlanResultRecorded].
func (s *SKP) recordImprovement(ev ImprovementPlanResultRecorded, at time.Time) {
	for _, p := range s.improvements {
		if p.Period == ev.Period {
			t := at
			p.Result, p.ResultNote, p.ResultBy, p.ResultAt = ev.Result, ev.Note, ev.AppraiserNIP, &t
		}
	}
}
