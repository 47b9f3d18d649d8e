package skp

import (
	"context"
	"fmt"
	"time"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/authz"
	"github.com/kinerja-ledger/kinerja/domain/bizdate"
	"github.com/kinerja-ledger/kinerja/domain/calendar"
	"github.com/kinerja-ledger/kinerja/domain/policy"
	"github.com/kinerja-ledger/kinerja/domain/rating"
)

// WindowClosedError refuses an objection filed after its window. It
// matches [domain.ErrObjectionWindowClosed].
type WindowClosedError struct {
	// Period is the evaluation's period.
	Period string
	// Deadline is the window's last instant; FiledAt the filing date.
	Deadline, FiledAt time.Time
}

// Error gives the deadline and the filing date.
func (e *WindowClosedError) Error() string {
	return fmt.Sprintf("the objection window of %s closed at %s; filed at %s", e.Period,
		e.Deadline.Format(time.RFC3339), e.FiledAt.Format(time.RFC3339))
}

// Unwrap returns [domain.ErrObjectionWindowClosed].
func (e *WindowClosedError) Unwrap() error { return domain.ErrObjectionWindowClosed }

// ratedEvaluation returns the evaluation of period text ps, which must be
// rated (else not found). It returns v's problems first.
func (sk *SKP) ratedEvaluation(v *domain.ValidationError, ps string) (*evaluation, error) {
	p := sk.checkPeriod(v, ps)
	if err := v.Err(); err != nil {
		return nil, err
	}
	ev := sk.evals[p.String()]
	if ev == nil || len(ev.history) == 0 {
		return nil, &domain.NotFoundError{Kind: "evaluation", ID: sk.id + "/" + p.String()}
	}
	return ev, nil
}

// FileObjection is the command to file an objection (keberatan).
type FileObjection struct {
	// SKPID is the SKP.
	SKPID string
	// Period is the evaluation's period.
	Period string
	// Reasons are the employee's reasons.
	Reasons string
	// FiledAt is the filing date; zero means the request's occurred_at. It
	// may lie more than the tolerance back only in a grievance clerk's
	// backfill of a paper filing (paper_ref).
	FiledAt time.Time
}

// FileObjection files an objection to an issued evaluation and returns its
// id. The filing date (FiledAt, or occurred_at) is what counts for the
// window; it may not lie in the future nor before the delivery. The
// objection is addressed to the appraiser's superior in effect on the
// filing date. Errors: not found (SKP, or a period never rated), forbidden
// (not the employee nor a grievance clerk), validation (period, periodic
// evaluation when not allowed, reasons, filed_at), invalid state (not
// issued), conflict (an objection is open or was decided),
// objection window closed (a late filing, unless the policy records it).
func (s *Service) FileObjection(ctx context.Context, req domain.Request, cmd FileObjection) (string, domain.Committed, error) {
	var id string
	c, err := s.onSKP(ctx, cmd.SKPID, req, func(l *lookups, req domain.Request, sk *SKP) (domain.Change, error) {
		var ev *evaluation
		role, err := l.authorize(req, sk, authz.FileObjection, func(subj *authz.Subject) {
			if e := sk.evals[cmd.Period]; e != nil {
				subj.OriginalAppraiser = e.issuedBy
			}
		})
		if err != nil {
			return domain.Change{}, err
		}
		var v domain.ValidationError
		reasons := text(&v, "reasons", cmd.Reasons, MaxLongTextLen, true)
		// An employee's own filing counts by its recording (within the
		// tolerance); only a clerk's backfill from paper records an earlier
		// filing date (domain.md §10).
		filed, err := s.Handler.BusinessTime(req, "filed_at", domain.NormalTime(cmd.FiledAt))
		if err != nil {
			return domain.Change{}, err
		}
		var backfill *bizdate.Backfill
		if req.Backfill != nil {
			if role != domain.RoleGrievanceClerk {
				return domain.Change{}, domain.ErrBackfillRefused
			}
			if o := req.Backfill.OnBehalfOf; o != "" && o != sk.nip {
				return domain.Change{}, domain.Invalid("on_behalf_of", "an objection is the employee's (%s)", sk.nip)
			}
			backfill = &bizdate.Backfill{PaperRef: req.Backfill.PaperRef, RecordedBy: req.Caller.ID, OnBehalfOf: sk.nip}
		}
		if ev, err = sk.ratedEvaluation(&v, cmd.Period); err != nil {
			return domain.Change{}, err
		}
		if !ev.issued {
			return domain.Change{}, domain.InvalidState("file an objection", "DRAFT", "the evaluation of "+ev.period+" has not been issued")
		}
		deadline, allowed := ev.windowDeadline()
		if !allowed {
			return domain.Change{}, domain.Invalid("period", "objections are only allowed to annual evaluations")
		}
		for _, o := range ev.objections {
			switch {
			case o.decision != nil:
				return domain.Change{}, &domain.ConflictError{Kind: "objection", ID: o.id, Detail: "the objection to " + ev.period + " was decided; the decision is final"}
			case o.open():
				return domain.Change{}, &domain.ConflictError{Kind: "objection", ID: o.id, Detail: "an objection to " + ev.period + " is open"}
			}
		}
		if filed.Before(ev.deliveredAt) {
			return domain.Change{}, domain.Invalid("filed_at", "must not be before the delivery (%s)", ev.deliveredAt.Format(time.RFC3339))
		}
		addressed, _, err := l.lineOn(sk.nip, sk.servedDay(s.Policy.Date(filed)))
		if err != nil {
			return domain.Change{}, err
		}
		id = s.Handler.NewID().String()
		f := ObjectionFiled{ObjectionID: id, Period: ev.period, Reasons: reasons, FiledAt: filed, AddressedTo: addressed.Superior,
			AppraiserNIP: ev.issuedBy, Evaluation: ev.scores, Deadline: deadline}
		if role == domain.RoleGrievanceClerk {
			f.RecordedByClerk = req.Caller.ID
		}
		f.Backfill = backfill
		var e domain.Event = f
		switch {
		case ev.finalised:
			// Recorded finality is final: nothing is filed after it, late
			// or backfilled (domain.md §10).
			id = ""
			return domain.Change{}, &WindowClosedError{Period: ev.period, Deadline: deadline, FiledAt: filed}
		case !policy.WithinWindow(filed, deadline):
			if !s.Policy.RecordLateObjections {
				id = ""
				return domain.Change{}, &WindowClosedError{Period: ev.period, Deadline: deadline, FiledAt: filed}
			}
			e = ObjectionFiledLate{ObjectionFiled: f, DaysLate: max(1, daysLate(s.Policy, deadline, filed))}
		}
		ch, err := one(role, e)
		ch.Backfill = backfill != nil
		return ch, err
	})
	return id, c, err
}

// openObjection returns the open objection of the evaluation of period, or
// the errors the objection commands share: not found (no objection),
// invalid state (decided or withdrawn).
func (sk *SKP) openObjection(v *domain.ValidationError, ps string) (*evaluation, *objection, error) {
	ev, err := sk.ratedEvaluation(v, ps)
	if err != nil {
		return nil, nil, err
	}
	o := ev.current()
	switch {
	case o == nil:
		return nil, nil, &domain.NotFoundError{Kind: "objection", ID: sk.id + "/" + ev.period}
	case o.decision != nil:
		return nil, nil, domain.InvalidState("act on the objection", "DECIDED", "the decision is final")
	case o.withdrawn != nil:
		return nil, nil, domain.InvalidState("act on the objection", "WITHDRAWN", "")
	}
	return ev, o, nil
}

// objectionSubject names, for objection actions, the superior in effect on
// the filing date and the original appraiser.
func (l *lookups) objectionSubject(sk *SKP, period string) (func(*authz.Subject), error) {
	ev := sk.evals[period]
	if ev == nil || ev.current() == nil {
		return nil, nil
	}
	o := ev.current()
	ln, _, err := l.lineOn(sk.nip, sk.servedDay(l.s.Policy.Date(o.filedAt)))
	if err != nil {
		return nil, err
	}
	decider := ln.Superior
	if d, ok := sk.deciderOf(o.id); ok {
		decider = d.DeciderNIP // a recorded delegation or escalation (decider.go)
	}
	return func(subj *authz.Subject) {
		if subj.Superior != "" && subj.Superior != decider {
			subj.Involved = append(subj.Involved, subj.Superior) // today's superior still sees the SKP
		}
		subj.Superior, subj.OriginalAppraiser = decider, o.appraiser
	}, nil
}

// servedDay is d, or for an SKP closed for a position change before d the
// last day served: the line of that day decides its evaluation.
func (sk *SKP) servedDay(d calendar.Date) calendar.Date {
	if sk.closedFrom != nil && !d.Before(*sk.closedFrom) {
		return sk.closedFrom.AddDays(-1)
	}
	return d
}

// RequestExplanation is the command to ask a party for an explanation.
type RequestExplanation struct {
	// SKPID and Period name the evaluation.
	SKPID, Period string
	// From is APPRAISER or EMPLOYEE.
	From string
	// DueAt is an optional deadline for the answer.
	DueAt *time.Time
}

// RequestExplanation records the superior's request for an explanation
// (PP 30/2019 Art. 59(3)) and returns its id. Errors: not found (SKP,
// evaluation, objection), forbidden (not the appraiser's superior as of the
// filing date, or the original appraiser), validation (from, due_at before
// the request), invalid state (objection decided or withdrawn).
func (s *Service) RequestExplanation(ctx context.Context, req domain.Request, cmd RequestExplanation) (string, domain.Committed, error) {
	var id string
	c, err := s.onSKP(ctx, cmd.SKPID, req, func(l *lookups, req domain.Request, sk *SKP) (domain.Change, error) {
		adjust, err := l.objectionSubject(sk, cmd.Period)
		if err != nil {
			return domain.Change{}, err
		}
		role, err := l.authorize(req, sk, authz.RequestExplanation, adjust)
		if err != nil {
			return domain.Change{}, err
		}
		var v domain.ValidationError
		from := Party(cmd.From)
		if !from.Valid() {
			v.Add("from", "must be APPRAISER or EMPLOYEE")
		}
		var due *time.Time
		if cmd.DueAt != nil {
			d := domain.NormalTime(*cmd.DueAt)
			if d.Before(req.OccurredAt) {
				v.Add("due_at", "must not be before the request")
			}
			due = &d
		}
		_, o, err := sk.openObjection(&v, cmd.Period)
		if err != nil {
			return domain.Change{}, err
		}
		id = s.Handler.NewID().String()
		return one(role, ExplanationRequested{ObjectionID: o.id, RequestID: id, From: from, DueAt: due})
	})
	return id, c, err
}

// SubmitExplanation is the command to answer a request for an explanation.
type SubmitExplanation struct {
	// SKPID and Period name the evaluation.
	SKPID, Period string
	// Text is the explanation.
	Text string
}

// SubmitExplanation records an explanation by the party asked: the employee
// or the appraiser who issued the evaluation, only after they were asked.
// Errors: not found, forbidden (neither party), validation (text), invalid
// state (not asked; objection decided or withdrawn).
func (s *Service) SubmitExplanation(ctx context.Context, req domain.Request, cmd SubmitExplanation) (domain.Committed, error) {
	return s.onSKP(ctx, cmd.SKPID, req, func(l *lookups, req domain.Request, sk *SKP) (domain.Change, error) {
		adjust, err := l.objectionSubject(sk, cmd.Period)
		if err != nil {
			return domain.Change{}, err
		}
		role, err := l.authorize(req, sk, authz.Explain, adjust)
		if err != nil {
			return domain.Change{}, err
		}
		var v domain.ValidationError
		body := text(&v, "text", cmd.Text, MaxLongTextLen, true)
		_, o, err := sk.openObjection(&v, cmd.Period)
		if err != nil {
			return domain.Change{}, err
		}
		by := PartyEmployee
		if role == domain.RoleAppraiser {
			by = PartyAppraiser
		}
		var request string
		for _, r := range o.requests {
			if r.From == by {
				request = r.ID // answer the latest request to this party
			}
		}
		if request == "" {
			return domain.Change{}, domain.InvalidState("explain", "NOT_ASKED", fmt.Sprintf("no explanation was requested from the %s", by))
		}
		return one(role, ExplanationSubmitted{ObjectionID: o.id, RequestID: request, By: by, Text: body})
	})
}

// DecideObjection is the command to decide an objection.
type DecideObjection struct {
	// SKPID and Period name the evaluation.
	SKPID, Period string
	// Outcome is UPHELD or CHANGED.
	Outcome string
	// WorkResult and Behaviour are the new ratings, for CHANGED only.
	WorkResult, Behaviour string
	// DecisionText gives the grounds.
	DecisionText string
	// WaiverReason, when a party was not asked to explain, records why
	// (domain.md §5 invariant 4); without it both must have been asked.
	WaiverReason string
}

// DecideObjection records the final decision of the appraiser's superior as
// of the filing date (never the original appraiser). Explanations must have
// been requested from both the appraiser and the employee, unless a waiver
// reason is given. CHANGED appends a [RatingRevised] with source OBJECTION
// and the values it replaces; the predikat is recomputed by the matrix. A
// late filing (recorded when the policy allows) can only be rejected, with
// UPHELD. Errors: not found, forbidden, validation (outcome, ratings,
// decision text, CHANGED without a change), invalid state (decided,
// withdrawn, explanations not requested).
func (s *Service) DecideObjection(ctx context.Context, req domain.Request, cmd DecideObjection) (domain.Committed, error) {
	return s.onSKP(ctx, cmd.SKPID, req, func(l *lookups, req domain.Request, sk *SKP) (domain.Change, error) {
		adjust, err := l.objectionSubject(sk, cmd.Period)
		if err != nil {
			return domain.Change{}, err
		}
		role, err := l.authorize(req, sk, authz.DecideObjection, adjust)
		if err != nil {
			return domain.Change{}, err
		}
		var v domain.ValidationError
		outcome := Outcome(cmd.Outcome)
		var result Scores
		switch outcome {
		case Upheld:
			if cmd.WorkResult != "" || cmd.Behaviour != "" {
				v.Add("outcome", "UPHELD keeps the ratings; work_result and behaviour are only for CHANGED")
			}
		case Changed:
			if result.WorkResult, err = rating.ParseRating(cmd.WorkResult); err != nil {
				v.Add("work_result", "%v", err)
			}
			if result.Behaviour, err = rating.ParseRating(cmd.Behaviour); err != nil {
				v.Add("behaviour", "%v", err)
			}
		default:
			v.Add("outcome", "must be UPHELD or CHANGED")
		}
		decision := text(&v, "decision_text", cmd.DecisionText, MaxLongTextLen, true)
		waiver := text(&v, "waiver_reason", cmd.WaiverReason, MaxLongTextLen, false)
		ev, o, err := sk.openObjection(&v, cmd.Period)
		if err != nil {
			return domain.Change{}, err
		}
		for _, x := range o.explanations {
			if req.OccurredAt.Before(x.OccurredAt) {
				return domain.Change{}, domain.Invalid("occurred_at", "the decision must not be dated before the explanation of the %s (%s): explanations ≤ decision",
					x.By, x.OccurredAt.Format(time.RFC3339))
			}
		}
		if outcome == Upheld {
			result = ev.scores
		}
		result.Predikat = rating.Derive(result.WorkResult, result.Behaviour)
		switch {
		case o.late && outcome != Upheld:
			return domain.Change{}, domain.Invalid("outcome", "a late filing can only be rejected (UPHELD)")
		case outcome == Changed && result == ev.scores:
			return domain.Change{}, domain.Invalid("outcome", "CHANGED needs ratings different from the evaluation; use UPHELD to keep them")
		}
		if !o.late && waiver == "" {
			asked := map[Party]bool{}
			for _, r := range o.requests {
				asked[r.From] = true
			}
			if !asked[PartyAppraiser] || !asked[PartyEmployee] {
				return domain.Change{}, domain.InvalidState("decide", "EXPLANATIONS_PENDING",
					"explanations must be requested from both the APPRAISER and the EMPLOYEE (or a waiver reason recorded) before a decision")
			}
		}
		events := []domain.Event{ObjectionDecided{ObjectionID: o.id, Period: ev.period, Outcome: outcome, DecisionText: decision,
			Previous: ev.scores, Result: result, WaiverReason: waiver, Final: true}}
		if outcome == Changed {
			events = append(events, RatingRevised{Period: ev.period, Previous: ev.scores, Scores: result, Source: SourceObjection,
				Rationale: decision, Reason: decision, ObjectionID: o.id, SupersedesEventID: ev.ratingEvent,
				AppraiserNIP: req.Caller.ID, PolicyVersion: s.Policy.Version})
		}
		return domain.Change{Role: role, Events: events, Reason: decision}, nil
	})
}

// WithdrawObjection is the command to withdraw an objection.
type WithdrawObjection struct {
	// SKPID and Period name the evaluation.
	SKPID, Period string
	// Reason is optional; the request's reason is used when empty.
	Reason string
}

// WithdrawObjection records the employee's withdrawal before a decision.
// Errors: not found, forbidden (not the employee), invalid state (decided
// or already withdrawn).
func (s *Service) WithdrawObjection(ctx context.Context, req domain.Request, cmd WithdrawObjection) (domain.Committed, error) {
	return s.onSKP(ctx, cmd.SKPID, req, func(l *lookups, req domain.Request, sk *SKP) (domain.Change, error) {
		role, err := l.authorize(req, sk, authz.WithdrawObjection, nil)
		if err != nil {
			return domain.Change{}, err
		}
		var v domain.ValidationError
		reason := reasonOf(&v, cmd.Reason, req)
		ev, o, err := sk.openObjection(&v, cmd.Period)
		if err != nil {
			return domain.Change{}, err
		}
		return reasoned(role, reason, ObjectionWithdrawn{ObjectionID: o.id, Period: ev.period, Reason: reason})
	})
}
