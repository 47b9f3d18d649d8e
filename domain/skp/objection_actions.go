package skp

import (
	"context"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/authz"
)

// AuthorizeObjection answers whether caller may do act to the objection to
// the evaluation of period of SKP id today, as the objection commands
// decide it: with the original appraiser of the evaluation, and for the
// actions on a filed objection (withdraw, request and give explanations,
// decide) the appraiser's superior in effect on the filing date rather
// than today's. It is what a page asks before it offers an objection form;
// the command decides again when it runs (and refuses what the state does
// not allow). Errors: not found (SKP, or not visible), a [*authz.Denied]
// matching forbidden.
func (s *Service) AuthorizeObjection(ctx context.Context, caller domain.Principal, id, period string, act authz.Action) error {
	sk, _, err := s.Load(ctx, id)
	if err != nil {
		return err
	}
	if sk == nil {
		return &domain.NotFoundError{Kind: "skp", ID: id}
	}
	l := s.lookups(ctx)
	subj, err := l.subject(sk, s.Policy.Date(s.Handler.Now()), caller)
	if err != nil {
		return err
	}
	if !authz.Visible(caller, subj) {
		return &authz.Denied{Caller: caller.ID, Action: act, Reason: "not a party"}
	}
	if act == authz.FileObjection {
		if e := sk.evals[period]; e != nil {
			subj.OriginalAppraiser = e.issuedBy
		}
	} else {
		adjust, err := l.objectionSubject(sk, period)
		if err != nil {
			return err
		}
		if adjust != nil {
			adjust(&subj)
		}
	}
	_, err = authz.Decide(caller, act, subj, s.options())
	return err
}
