package app

import (
	"context"
	"errors"
	"slices"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/authz"
	"github.com/kinerja-ledger/kinerja/domain/employee"
	"github.com/kinerja-ledger/kinerja/eventstore"
	"github.com/kinerja-ledger/kinerja/projections/directory"
	"github.com/kinerja-ledger/kinerja/projections/evaluations"
	"github.com/kinerja-ledger/kinerja/projections/objections"
	"github.com/kinerja-ledger/kinerja/projections/scores"
	"github.com/kinerja-ledger/kinerja/projections/skps"
	"github.com/kinerja-ledger/kinerja/projections/timeline"
)

// The reads both edges serve that need an access decision beyond the
// domain services' own (which authorise the reads of one SKP or employee):
// each asks authz first, then reads.

// Can reports whether caller may do a, an action decided by token role
// alone (reports, the registers, the audit trail, operations): what a page
// asks before it offers a link, and the edges ask before an answer that no
// App method guards.
func (a *App) Can(caller domain.Principal, act authz.Action) bool {
	return authz.Allowed(caller, act, authz.Subject{}, authz.Options{})
}

// Authorize returns authz's refusal of act for caller (an action decided by
// token role alone), or nil.
func (a *App) Authorize(caller domain.Principal, act authz.Action) error { return allow(caller, act) }

// ListSKPs lists SKPs matching q: every SKP for the roles that see all of
// them, else only those the caller is a party to (q.Party is set to the
// caller).
//
// Within one agency the list holds what the agency reads: the SKPs drafted
// in its units, and the earlier SKPs of the people who moved in from
// another agency (history follows the person; docs/security.md
// "Agencies"). A unit filter (q.Units) selects by the unit that drafted
// the SKP, so it keeps to the SKPs drafted in the agency's units, as the
// unit reports do.
func (a *App) ListSKPs(ctx context.Context, caller domain.Principal, q skps.Query) ([]skps.Summary, string, error) {
	q.Employees = nil
	if !a.Can(caller, authz.ListAllSKPs) {
		q.Party = caller.ID
	} else if r := ReachOf(caller); !r.All && authz.HasAgencyRole(caller) {
		units, err := a.cfg.Directory.Subtree(ctx, r.Agency)
		if errors.Is(err, directory.ErrNotFound) {
			return []skps.Summary{}, "", nil
		}
		if err != nil {
			return nil, "", err
		}
		if len(q.Units) > 0 {
			units = slices.DeleteFunc(slices.Clone(q.Units), func(u string) bool { return !slices.Contains(units, u) })
			if len(units) == 0 {
				return []skps.Summary{}, "", nil
			}
		} else if q.Employees, err = a.movedIn(ctx, r.Agency); err != nil {
			return nil, "", err
		}
		q.Units = units
	}
	return a.cfg.SKPList.List(ctx, q)
}

// ObjectionList lists the objections of the register (filtered by q and,
// when unit is not "", to its subtree) for a caller who may read the
// register.
func (a *App) ObjectionList(ctx context.Context, caller domain.Principal, q objections.Query, unit string) ([]objections.Objection, error) {
	if a.cfg.Objections == nil {
		return nil, &domain.NotFoundError{Kind: "route", ID: "objections"}
	}
	if err := allow(caller, authz.ReadObjectionRegister); err != nil {
		return nil, err
	}
	if err := a.scopeUnit(ctx, caller, &unit); err != nil {
		return nil, err
	}
	units, err := a.subtree(ctx, unit)
	if err != nil {
		return nil, err
	}
	q.Units = units
	if q.Now.IsZero() {
		q.Now = a.cfg.Now()
	}
	return a.cfg.Objections.List(ctx, q)
}

// Evaluations lists the evaluations of unit's subtree for period, with
// their status now, for a caller who may read reports.
func (a *App) Evaluations(ctx context.Context, caller domain.Principal, unit, period string) ([]evaluations.Evaluation, error) {
	if a.cfg.Evaluations == nil {
		return nil, &domain.NotFoundError{Kind: "route", ID: "evaluations"}
	}
	if err := allow(caller, authz.ReadReports); err != nil {
		return nil, err
	}
	if err := a.scopeUnit(ctx, caller, &unit); err != nil {
		return nil, err
	}
	units, err := a.subtree(ctx, unit)
	if err != nil {
		return nil, err
	}
	items, err := a.cfg.Evaluations.ForPeriod(ctx, units, period)
	if err != nil {
		return nil, err
	}
	now := a.cfg.Now()
	for i := range items {
		items[i].Status = items[i].StatusAt(now)
	}
	return items, nil
}

// subtree returns unit and its sub-units, or nil for "" (all).
func (a *App) subtree(ctx context.Context, unit string) ([]string, error) {
	if unit == "" {
		return nil, nil
	}
	return a.cfg.Directory.Subtree(ctx, unit)
}

// employeeSubject reads employee nip as caller may see it (not found
// otherwise) and returns the authorisation subject with the reporting line
// in effect today.
func (a *App) employeeSubject(ctx context.Context, caller domain.Principal, nip string) (employee.View, authz.Subject, error) {
	v, err := a.cfg.Employees.Read(ctx, caller, nip)
	if err != nil {
		return v, authz.Subject{}, err
	}
	subj := authz.Subject{Employee: v.NIP}
	if l := v.ReportingLine; l != nil {
		subj.Appraiser, subj.Superior = l.Appraiser, l.Superior
	}
	return v, subj, nil
}

// Timeline returns up to limit items of employee nip's timeline before
// position before (0: from the newest), for the employee and auditors.
func (a *App) Timeline(ctx context.Context, caller domain.Principal, nip string, before eventstore.Position, limit int) ([]timeline.Item, error) {
	if a.cfg.Timeline == nil {
		return nil, &domain.NotFoundError{Kind: "route", ID: "timeline"}
	}
	v, subj, err := a.employeeSubject(ctx, caller, nip)
	if err != nil {
		return nil, err
	}
	if _, err := authz.Decide(caller, authz.ReadTimeline, subj, authz.Options{}); err != nil {
		return nil, err
	}
	return a.cfg.Timeline.ForEmployee(ctx, v.NIP, before, limit)
}

// ScoreHistory returns every rating of every SKP of employee nip, for the
// parties of the employee's appraisal and auditors.
func (a *App) ScoreHistory(ctx context.Context, caller domain.Principal, nip string) ([]scores.Entry, error) {
	if a.cfg.Scores == nil {
		return nil, &domain.NotFoundError{Kind: "route", ID: "score-history"}
	}
	v, subj, err := a.employeeSubject(ctx, caller, nip)
	if err != nil {
		return nil, err
	}
	if _, err := authz.Decide(caller, authz.ReadHistory, subj, authz.Options{}); err != nil {
		return nil, err
	}
	return a.cfg.Scores.ForEmployee(ctx, v.NIP)
}

// SKPActions reports which of acts caller may take on SKP id, as the
// reporting lines in effect today decide (authz, through the domain
// service): what a page offers. The command decides again when it runs
// (and refuses what the SKP's state does not allow). An SKP the caller may
// not see is not found.
func (a *App) SKPActions(ctx context.Context, caller domain.Principal, id string, acts ...authz.Action) (map[authz.Action]bool, error) {
	if _, _, _, err := a.cfg.SKPs.Authorize(ctx, caller, id, authz.ReadSKP); err != nil {
		return nil, err
	}
	out := make(map[authz.Action]bool, len(acts))
	for _, act := range acts {
		_, _, _, err := a.cfg.SKPs.Authorize(ctx, caller, id, act)
		var denied *authz.Denied
		switch {
		case err == nil:
			out[act] = true
		case errors.As(err, &denied):
			out[act] = false
		default:
			return nil, err
		}
	}
	return out, nil
}
