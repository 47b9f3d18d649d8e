package skp

import (
	"context"
	"fmt"
	"time"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/authz"
	"github.com/kinerja-ledger/kinerja/domain/bizdate"
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
		role, err := l.authorize(req, sk, authz.Rate, l.servedLine(sk))
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
		if err := evaluable(sk, p, "rate"); err != nil {
			return domain.Change{}, err
		}
		if err := s.periodOver(sk, p, req.OccurredAt, "rated"); err != nil {
			return domain.Change{}, err
		}
		if n := len(sk.versions); n > 0 && req.OccurredAt.Before(sk.versions[n-1].EstablishedAt) {
			return domain.Change{}, domain.Invalid("occurred_at", "the rating must not be dated before the establishment (%s): establish ≤ rating",
				sk.versions[n-1].EstablishedAt.Format(time.RFC3339))
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

// evaluable refuses action on the evaluation of period p unless the SKP is
// established and either still open, or closed for a position change
// after p began: the close opens the evaluation of the months served
// (issue 11 "Timing"), and only of those.
func evaluable(sk *SKP, p period.Period, action string) error {
	switch {
	case sk.version() == nil:
		return domain.InvalidState(action, string(sk.status), "the SKP must be established")
	case sk.status.Open():
		return nil
	case sk.status == StatusClosed && sk.closedFrom != nil && p.Start().Before(*sk.closedFrom):
		return nil
	case sk.status == StatusClosed:
		return domain.InvalidState(action, string(sk.status), fmt.Sprintf("the SKP was closed from %s; %s was not served", sk.closedFrom, p))
	}
	return domain.InvalidState(action, string(sk.status), "the SKP must be established and not ended")
}

// EvaluationOpens returns the first day (in the policy zone) on which the
// evaluation of period p of sk may be rated and issued: the day after p's
// last day (issue 11 Timing, "a period is rated only after it ends"), or,
// for an SKP closed for a position change within or before p, the first day
// in the new post when that is earlier: the close opens the evaluation of
// the months served. The annual period and the last periodic period of the
// year (Q4, December) end on the same day and open together on 1 January;
// neither waits for the other (docs/domain-model.md).
func EvaluationOpens(sk *SKP, p period.Period) calendar.Date {
	opens := p.End().AddDays(1)
	if sk != nil && sk.status == StatusClosed && sk.closedFrom != nil && sk.closedFrom.Before(opens) {
		opens = *sk.closedFrom
	}
	return opens
}

// ClosedFrom returns the first day in the new post of an SKP closed for a
// position change, and false for any other SKP.
func (s *SKP) ClosedFrom() (calendar.Date, bool) {
	if s.status != StatusClosed || s.closedFrom == nil {
		return calendar.Date{}, false
	}
	return *s.closedFrom, true
}

// periodOver refuses (422, field period) to rate or issue the evaluation
// of p on a business date at before the evaluation opens.
func (s *Service) periodOver(sk *SKP, p period.Period, at time.Time, verb string) error {
	day := s.Policy.Date(at)
	opens := EvaluationOpens(sk, p)
	if !day.Before(opens) {
		return nil
	}
	if sk.status == StatusClosed && sk.closedFrom != nil && opens == *sk.closedFrom {
		return domain.Invalid("period", "%s is %s only from %s, the first day in the new post (the SKP is closed for a position change); the business date is %s (%s)",
			p, verb, opens, day, s.Policy.Location)
	}
	return domain.Invalid("period", "%s ends on %s: a period is %s only after it ends, from %s; the business date is %s (%s)",
		p, p.End(), verb, opens, day, s.Policy.Location)
}

// servedLine, for an SKP closed for a position change, makes the parties
// of its evaluation those in effect on the last day served (the employee's
// line may point elsewhere since the move); nil otherwise.
func (l *lookups) servedLine(sk *SKP) func(*authz.Subject) {
	if sk.status != StatusClosed || sk.closedFrom == nil {
		return nil
	}
	ln, ok, err := l.lineOn(sk.nip, sk.closedFrom.AddDays(-1))
	if err != nil || !ok {
		return nil
	}
	return func(s *authz.Subject) {
		if s.Appraiser != "" && s.Appraiser != ln.Appraiser {
			s.Involved = append(s.Involved, s.Appraiser)
		}
		s.Appraiser, s.Superior = ln.Appraiser, ln.Superior
	}
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
	// request's occurred_at. More than the tolerance back only in a
	// backfill by a grievance clerk (domain.md §10).
	DeliveredAt time.Time
}

// Issue locks the ratings of a period and records their delivery; the
// objection window (if objections to the period are allowed) runs from the
// delivery, or from the employee's later acknowledgement of receipt, and
// its deadline is recorded. The appraiser in effect issues, dated at most
// the tolerance back. A delivery done on paper earlier is a backfill: a
// grievance clerk records it with paper_ref for the appraiser who signed it
// (on_behalf_of, who must have been the appraiser on the delivery date);
// the window then runs from that delivery. Errors: not found (SKP, or no
// rating for the period), forbidden (not the appraiser in effect on both
// dates; a backfill by another role), validation (period; delivered_at in
// the future, beyond the tolerance or maximum age, or before the rating;
// on_behalf_of missing), invalid state (already issued, SKP ended),
// distribution blocked (BLOCK mode: issuing would break the unit's
// pattern, see the service's Distribution gate).
func (s *Service) Issue(ctx context.Context, req domain.Request, cmd Issue) (domain.Committed, error) {
	return s.onSKP(ctx, cmd.SKPID, req, func(l *lookups, req domain.Request, sk *SKP) (domain.Change, error) {
		delivered := domain.NormalTime(cmd.DeliveredAt)
		if delivered.IsZero() {
			delivered = req.OccurredAt
		}
		role, signer, backfill, err := l.issuer(req, sk, delivered)
		if err != nil {
			return domain.Change{}, err
		}
		if delivered, err = s.Handler.BusinessTime(req, "delivered_at", delivered); err != nil {
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
		if err := evaluable(sk, p, "issue"); err != nil {
			return domain.Change{}, err
		}
		if err := s.periodOver(sk, p, delivered, "issued"); err != nil {
			return domain.Change{}, err
		}
		if delivered.Before(ev.ratedAt) {
			return domain.Change{}, domain.Invalid("delivered_at", "must not be before the rating (%s): rating ≤ delivery", ev.ratedAt.Format(time.RFC3339))
		}
		if err := l.checkDistribution(sk, ev, req.Caller.ID, delivered); err != nil {
			return domain.Change{}, err
		}
		var deadline *time.Time
		if s.Policy.ObjectionsAllowed(p) {
			d := s.Policy.ObjectionDeadline(delivered)
			deadline = &d
		}
		ch, err := one(role, EvaluationIssued{Period: p.String(), Scores: ev.scores, DeliveredAt: delivered, ObjectionDeadline: deadline,
			AppraiserNIP: signer, PolicyVersion: s.Policy.Version, Backfill: backfill})
		ch.Backfill = backfill != nil
		return ch, err
	})
}

// issuer authorises an Issue: the appraiser in effect on both dates, or a
// grievance clerk backfilling a paper delivery for the appraiser who signed
// it. It returns the caller's role, the appraiser to record and the paper.
func (l *lookups) issuer(req domain.Request, sk *SKP, delivered time.Time) (domain.Role, string, *bizdate.Backfill, error) {
	if req.Backfill == nil || !authz.Allowed(req.Caller, authz.RecordPaper, authz.Subject{}, authz.Options{}) {
		role, err := l.authorize(req, sk, authz.Issue, l.servedLine(sk))
		if err == nil && req.Backfill != nil {
			err = domain.ErrBackfillRefused
		}
		return role, req.Caller.ID, nil, err
	}
	if _, err := l.authorizeOn(req.Caller, sk, authz.ReadSKP, l.s.Policy.Date(l.s.Handler.Now()), nil); err != nil {
		return "", "", nil, err
	}
	signer := req.Backfill.OnBehalfOf
	if signer == "" {
		return "", "", nil, domain.Invalid("on_behalf_of", "required: the appraiser who signed the delivery")
	}
	if _, err := l.authorizeOn(domain.Principal{ID: signer}, sk, authz.Issue, l.s.Policy.Date(delivered), l.servedLine(sk)); err != nil {
		return "", "", nil, fmt.Errorf("%w: %s was not the appraiser in effect on the delivery date", domain.ErrForbidden, signer)
	}
	return domain.RoleGrievanceClerk, signer, &bizdate.Backfill{PaperRef: req.Backfill.PaperRef, RecordedBy: req.Caller.ID, OnBehalfOf: signer}, nil
}

// AcknowledgeReceipt is the command to record the employee's
// acknowledgement of receipt of an issued evaluation.
type AcknowledgeReceipt struct {
	// SKPID and Period name the evaluation.
	SKPID, Period string
	// ReceivedAt is when the result was received; zero means the request's
	// occurred_at. More than the tolerance back only in a clerk's backfill.
	ReceivedAt time.Time
}

// AcknowledgeReceipt records that the employee received the issued result
// (domain.md §10). Unless the delivery was a clerk's backfill from paper,
// the objection window then runs from the later of the delivery and the
// receipt: it never moves against the employee. The employee acknowledges;
// a grievance clerk may backfill a paper acknowledgement (paper_ref) for
// the employee. Acknowledging again changes nothing. Errors: not found,
// forbidden, validation (period, received_at), invalid state (not issued,
// final, the window already closed).
func (s *Service) AcknowledgeReceipt(ctx context.Context, req domain.Request, cmd AcknowledgeReceipt) (domain.Committed, error) {
	return s.onSKP(ctx, cmd.SKPID, req, func(l *lookups, req domain.Request, sk *SKP) (domain.Change, error) {
		role, err := l.authorize(req, sk, authz.AcknowledgeReceipt, nil)
		if err != nil {
			return domain.Change{}, err
		}
		received, err := s.Handler.BusinessTime(req, "received_at", domain.NormalTime(cmd.ReceivedAt))
		if err != nil {
			return domain.Change{}, err
		}
		var backfill *bizdate.Backfill
		switch {
		case req.Backfill != nil && role == domain.RoleGrievanceClerk:
			if o := req.Backfill.OnBehalfOf; o != "" && o != sk.nip {
				return domain.Change{}, domain.Invalid("on_behalf_of", "an acknowledgement is the employee's (%s)", sk.nip)
			}
			backfill = &bizdate.Backfill{PaperRef: req.Backfill.PaperRef, RecordedBy: req.Caller.ID, OnBehalfOf: sk.nip}
		case req.Backfill != nil:
			return domain.Change{}, domain.ErrBackfillRefused
		case role == domain.RoleGrievanceClerk:
			return domain.Change{}, fmt.Errorf("%w: a grievance clerk only backfills an acknowledgement signed on paper (paper_ref)", domain.ErrForbidden)
		}
		var v domain.ValidationError
		ev, err := sk.ratedEvaluation(&v, cmd.Period)
		if err != nil {
			return domain.Change{}, err
		}
		if !ev.issued {
			return domain.Change{}, domain.InvalidState("acknowledge receipt", "DRAFT", "the evaluation of "+ev.period+" has not been issued")
		}
		if ev.receivedAt != nil {
			return domain.Change{Backfill: backfill != nil}, nil
		}
		if received.Before(ev.deliveredAt) {
			return domain.Change{}, domain.Invalid("received_at", "must not be before the delivery (%s)", ev.deliveredAt.Format(time.RFC3339))
		}
		if st, _ := ev.status(s.Handler.Now()); ev.finalised || (st == EvalFinal && ev.deadline == nil) {
			return domain.Change{}, domain.InvalidState("acknowledge receipt", string(EvalFinal), "the evaluation of "+ev.period+" is final")
		}
		deadline := ev.deadline
		if deadline != nil && !policy.WithinWindow(received, *deadline) {
			return domain.Change{}, domain.InvalidState("acknowledge receipt", "WINDOW_CLOSED",
				"the objection window of "+ev.period+" closed at "+deadline.Format(time.RFC3339)+", before this receipt")
		}
		if deadline != nil && ev.delivery == nil {
			if d := s.Policy.ObjectionDeadline(received); d.After(*deadline) {
				deadline = &d
			}
		}
		ch, err := one(role, ReceiptAcknowledged{Period: ev.period, ReceivedAt: received, ObjectionDeadline: deadline, Backfill: backfill})
		ch.Backfill = backfill != nil
		return ch, err
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
