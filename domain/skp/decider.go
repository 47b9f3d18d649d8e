package skp

import (
	"context"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/authz"
	"github.com/kinerja-ledger/kinerja/domain/nip"
)

// Who decides an objection when the appraiser's superior cannot (issue 11;
// domain.md §2.1 "Delegation", §5 invariant 6: "the Appraiser's Superior as
// of the filing date, or an official with a recorded delegation; never the
// original Appraiser"). Two recorded ways out, each an event:
//
//   - Delegation: the superior as of the filing date (or HR_ADMIN typing in
//     the decree) hands the decision to a Plt or Plh, citing the letter.
//   - Escalation: when the only eligible decider is the original appraiser
//     (the appraiser became the superior, or no superior is recorded), HR
//     or a grievance clerk records the escalation to the next level up —
//     the superior's own appraiser on the filing date.
//
// The decider recorded last is the one who requests explanations and
// decides; separation of duty still holds (never the original appraiser
// nor the employee).

// DeciderBasis says why an objection has a decider other than the
// appraiser's superior as of the filing date.
type DeciderBasis string

// Decider bases.
const (
	DeciderPlt        DeciderBasis = "DELEGATION_PLT"
	DeciderPlh        DeciderBasis = "DELEGATION_PLH"
	DeciderEscalation DeciderBasis = "ESCALATION"
)

// Valid reports whether b is a known basis.
func (b DeciderBasis) Valid() bool {
	return b == DeciderPlt || b == DeciderPlh || b == DeciderEscalation
}

// ObjectionDeciderAssigned records who decides an objection instead of the
// appraiser's superior as of the filing date. Stream skp-{id}.
type ObjectionDeciderAssigned struct {
	// ObjectionID and Period name the objection.
	ObjectionID string `json:"objection_id"`
	Period      string `json:"period"`
	// DeciderNIP is the new decider.
	DeciderNIP string `json:"decider_nip"`
	// Previous is the decider replaced.
	Previous string `json:"previous,omitempty"`
	// Basis is DELEGATION_PLT, DELEGATION_PLH or ESCALATION.
	Basis DeciderBasis `json:"basis"`
	// Ref cites the delegation letter or decree, or states why the
	// objection is escalated.
	Ref string `json:"ref"`
}

// EventType implements [domain.Event].
func (ObjectionDeciderAssigned) EventType() string { return "skp.objection_decider_assigned.v1" }

func (s *SKP) applyDecider(ev ObjectionDeciderAssigned) {
	if s.deciders == nil {
		s.deciders = map[string]ObjectionDeciderAssigned{}
	}
	s.deciders[ev.ObjectionID] = ev
	s.involve(ev.DeciderNIP)
}

// deciderOf returns the decider recorded for objection id, if any.
func (s *SKP) deciderOf(id string) (ObjectionDeciderAssigned, bool) {
	d, ok := s.deciders[id]
	return d, ok
}

// AssignObjectionDecider is the command to delegate or escalate the
// decision of the open objection to a period's evaluation.
type AssignObjectionDecider struct {
	// SKPID and Period name the evaluation.
	SKPID, Period string
	// DeciderNIP is the Plt/Plh for a delegation; for an escalation it may
	// be empty (the next level up is computed) or must name that official.
	DeciderNIP string
	// Basis is DELEGATION_PLT, DELEGATION_PLH or ESCALATION.
	Basis string
	// Ref cites the letter, or says why the objection is escalated.
	Ref string
}

// AssignObjectionDecider records a delegation or an escalation of an open
// objection's decision. A delegation comes from the decider in effect (the
// superior as of the filing date, or the last delegate) or HR_ADMIN; an
// escalation from HR_ADMIN or a grievance clerk, only when the decider in
// effect is the original appraiser or none is recorded. Errors: not found
// (SKP, evaluation, objection), forbidden, validation (basis, NIP, ref, a
// decider who is the original appraiser or the employee, an escalation
// naming someone other than the next level up), invalid state (no open
// objection, nothing stuck to escalate, no one above to escalate to).
func (s *Service) AssignObjectionDecider(ctx context.Context, req domain.Request, cmd AssignObjectionDecider) (domain.Committed, error) {
	var v domain.ValidationError
	basis := DeciderBasis(cmd.Basis)
	if !basis.Valid() {
		v.Add("basis", "must be DELEGATION_PLT, DELEGATION_PLH or ESCALATION")
	}
	var named string
	if cmd.DeciderNIP != "" || basis != DeciderEscalation {
		info, err := nip.Parse(cmd.DeciderNIP)
		v.Merge("decider_nip", err)
		named = string(info.NIP)
	}
	ref := strings.TrimSpace(cmd.Ref)
	if ref == "" || utf8.RuneCountInString(ref) > MaxLongTextLen || strings.ContainsFunc(ref, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\t' && r != '\r' }) {
		v.Add("ref", "required: the delegation letter, or why the objection is escalated (at most %d characters)", MaxLongTextLen)
	}
	if err := v.Err(); err != nil {
		return domain.Committed{}, err
	}
	return s.onSKP(ctx, cmd.SKPID, req, func(l *lookups, req domain.Request, sk *SKP) (domain.Change, error) {
		ev := sk.evals[cmd.Period]
		if ev == nil || len(ev.history) == 0 {
			return domain.Change{}, &domain.NotFoundError{Kind: "evaluation", ID: cmd.SKPID + "/" + cmd.Period}
		}
		o := ev.current()
		adjust, err := l.objectionSubject(sk, cmd.Period)
		if err != nil {
			return domain.Change{}, err
		}
		subj, err := l.subject(sk, l.s.Policy.Date(req.OccurredAt), req.Caller)
		if err != nil {
			return domain.Change{}, err
		}
		if adjust != nil {
			adjust(&subj)
		}
		current := subj.Superior // the decider in effect
		action := authz.DelegateDecision
		if basis == DeciderEscalation {
			action = authz.EscalateDecision
		}
		role, err := authz.Decide(req.Caller, action, subj, l.s.options())
		if err != nil {
			return domain.Change{}, err
		}
		if o == nil || !o.open() {
			return domain.Change{}, domain.InvalidState("assign a decider", "NO_OPEN_OBJECTION", "the evaluation of "+cmd.Period+" has no open objection")
		}
		decider := named
		if basis == DeciderEscalation {
			if current != "" && current != o.appraiser {
				return domain.Change{}, domain.InvalidState("escalate", "DECIDER_AVAILABLE",
					"the decider in effect ("+current+") is not the original appraiser; escalation is for an objection no one else may decide")
			}
			up, err := l.nextLevelUp(sk, o)
			if err != nil {
				return domain.Change{}, err
			}
			if up == "" {
				return domain.Change{}, domain.InvalidState("escalate", "NO_LEVEL_UP", "no official is recorded above the appraiser's superior on the filing date")
			}
			if named != "" && named != up {
				return domain.Change{}, domain.Invalid("decider_nip", "the next level up on the filing date is %s", up)
			}
			decider = up
		}
		switch {
		case decider == o.appraiser:
			return domain.Change{}, domain.Invalid("decider_nip", "separation of duty: the decider cannot be the original appraiser")
		case decider == sk.nip:
			return domain.Change{}, domain.Invalid("decider_nip", "separation of duty: the employee cannot decide their own objection")
		case decider == current:
			return domain.Change{}, nil // already the decider
		}
		e, err := l.employee(decider)
		if err != nil {
			return domain.Change{}, err
		}
		if e == nil {
			return domain.Change{}, domain.Invalid("decider_nip", "employee %s is not registered", decider)
		}
		return one(role, ObjectionDeciderAssigned{ObjectionID: o.id, Period: cmd.Period, DeciderNIP: decider, Previous: current, Basis: basis, Ref: ref})
	})
}

// nextLevelUp returns the official one level above the appraiser's
// superior as of o's filing date: the superior's own appraiser then; when
// no superior is recorded, the appraiser's own appraiser.
func (l *lookups) nextLevelUp(sk *SKP, o *objection) (string, error) {
	d := l.s.Policy.Date(o.filedAt)
	ln, _, err := l.lineOn(sk.nip, d)
	if err != nil {
		return "", err
	}
	from := ln.Superior
	if from == "" {
		from = o.appraiser
	}
	up, _, err := l.lineOn(from, d)
	if err != nil {
		return "", err
	}
	if up.Appraiser == o.appraiser || up.Appraiser == sk.nip {
		return up.Superior, nil
	}
	return up.Appraiser, nil
}
