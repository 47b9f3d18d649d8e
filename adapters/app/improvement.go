package app

import (
	"cmp"
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/authz"
	"github.com/kinerja-ledger/kinerja/projections/deadlines"
	"github.com/kinerja-ledger/kinerja/projections/reports"
)

// Stages of an improvement plan in the report.
const (
	// ImprovementPlanDue: the evaluation is final with a predikat of
	// BUTUH_PERBAIKAN or worse, and no plan is opened yet.
	ImprovementPlanDue = "PLAN_DUE"
	// ImprovementPlanOpen: the plan is open, its result not recorded.
	ImprovementPlanOpen = "OPEN"
)

// ImprovementPlanRow is one plan due or open.
type ImprovementPlanRow struct {
	// UnitID is the employee's unit recorded on the SKP.
	UnitID string `json:"unit_id"`
	SKPID  string `json:"skp_id"`
	NIP    string `json:"nip"`
	Name   string `json:"name"`
	Period string `json:"period"`
	// Stage is PLAN_DUE or OPEN.
	Stage string `json:"stage"`
	// AppraiserNIP is whom it waits for.
	AppraiserNIP string `json:"appraiser_nip"`
	// FollowUpFrom is when the follow-up is due (OPEN only): the start of
	// the follow-up day.
	FollowUpFrom *time.Time `json:"follow_up_from,omitempty"`
	// Due is the deadline of what waits: the plan's opening, or the
	// result; Overdue is true once it passed.
	Due     time.Time `json:"due"`
	Overdue bool      `json:"overdue"`
}

// ImprovementPlanUnit counts the plans of one unit (the unit itself, not
// its sub-units: each sub-unit has its own row).
type ImprovementPlanUnit struct {
	UnitID    string `json:"unit_id"`
	PlansDue  int    `json:"plans_due"`
	PlansOpen int    `json:"plans_open"`
	Overdue   int    `json:"overdue"`
}

// ImprovementPlanReport is the improvement plans due and open of a unit's
// subtree (issue 14): the counts per unit and every plan, by unit, due
// date, SKP and period.
type ImprovementPlanReport struct {
	// Unit is the unit asked for, with its sub-units ("" for the agency).
	Unit string    `json:"unit,omitempty"`
	AsOf time.Time `json:"as_of"`
	// Units are the counts per unit, by unit ID.
	Units []ImprovementPlanUnit `json:"units"`
	// PlansDue, PlansOpen and Overdue are the totals of the subtree.
	PlansDue  int `json:"plans_due"`
	PlansOpen int `json:"plans_open"`
	Overdue   int `json:"overdue"`
	// Plans are every plan due or open (the API pages them).
	Plans []ImprovementPlanRow `json:"plans"`
}

// Table flattens the report for the exports: one row per plan.
func (r ImprovementPlanReport) Table() reports.Table {
	t := reports.Table{Columns: []string{"unit_id", "skp_id", "nip", "name", "period", "stage", "appraiser_nip", "follow_up_from", "due", "overdue"}}
	for _, p := range r.Plans {
		follow := ""
		if p.FollowUpFrom != nil {
			follow = p.FollowUpFrom.UTC().Format(time.RFC3339)
		}
		t.Rows = append(t.Rows, []string{p.UnitID, p.SKPID, p.NIP, p.Name, p.Period, p.Stage, p.AppraiserNIP, follow,
			p.Due.UTC().Format(time.RFC3339), strconv.FormatBool(p.Overdue)})
	}
	return t
}

// ImprovementPlans reports the improvement plans due and open of unit's
// subtree ("" for the agency), from the deadline process manager's items;
// a plan belongs to the employee's unit recorded on the SKP. For a caller
// who may read the development report (authz.ReadDevelopment: the report
// roles, and a unit's leader for its subtree). Errors: a refusal (403);
// not found for an unknown unit, and when the process manager does not
// run here.
func (a *App) ImprovementPlans(ctx context.Context, caller domain.Principal, unit string) (Report[ImprovementPlanReport], error) {
	if err := a.scopeUnit(ctx, caller, &unit); err != nil {
		return Report[ImprovementPlanReport]{}, err
	}
	kr, ok := a.cfg.Inbox.(deadlines.KindReader)
	if !ok {
		if err := allow(caller, authz.ReadDevelopment); err != nil {
			return Report[ImprovementPlanReport]{}, err
		}
		return Report[ImprovementPlanReport]{}, &domain.NotFoundError{Kind: "report", ID: "improvement-plans"}
	}
	var in func(string) bool
	err := a.withViews(ctx, func(v *viewsCache) error {
		var err error
		in, err = unitScope(v, caller, authz.ReadDevelopment, unit, a.Today())
		return err
	})
	if err != nil {
		return Report[ImprovementPlanReport]{}, err
	}
	items, err := kr.OfKinds(ctx, deadlines.OpenImprovementPlan, deadlines.ImprovementResult)
	if err != nil {
		return Report[ImprovementPlanReport]{}, err
	}
	now := a.cfg.Now()
	rep := ImprovementPlanReport{Unit: unit, AsOf: now, Units: []ImprovementPlanUnit{}, Plans: []ImprovementPlanRow{}}
	byUnit := map[string]*ImprovementPlanUnit{}
	for _, it := range items {
		if in != nil && !in(it.UnitID) {
			continue
		}
		row := ImprovementPlanRow{UnitID: it.UnitID, SKPID: it.SKPID, NIP: it.NIP, Name: it.Name, Period: it.Period, AppraiserNIP: it.Recipient,
			Due: it.Due, Overdue: now.After(it.Due)}
		switch it.Kind {
		case deadlines.OpenImprovementPlan:
			if it.From.After(now) {
				continue // not final yet
			}
			row.Stage = ImprovementPlanDue
		default:
			from := it.From
			row.Stage, row.FollowUpFrom = ImprovementPlanOpen, &from
		}
		u := byUnit[it.UnitID]
		if u == nil {
			u = &ImprovementPlanUnit{UnitID: it.UnitID}
			byUnit[it.UnitID] = u
		}
		if row.Stage == ImprovementPlanDue {
			u.PlansDue++
			rep.PlansDue++
		} else {
			u.PlansOpen++
			rep.PlansOpen++
		}
		if row.Overdue {
			u.Overdue++
			rep.Overdue++
		}
		rep.Plans = append(rep.Plans, row)
	}
	for _, u := range byUnit {
		rep.Units = append(rep.Units, *u)
	}
	slices.SortFunc(rep.Units, func(x, y ImprovementPlanUnit) int { return strings.Compare(x.UnitID, y.UnitID) })
	slices.SortFunc(rep.Plans, CompareImprovementPlans)
	// Computed each time: what is due depends on the clock, and the items
	// are the process manager's, not the store's.
	return cached(nil, "", nil, func() (ImprovementPlanReport, reports.Table, error) { return rep, rep.Table(), nil })
}

// CompareImprovementPlans orders plans by unit, due date, SKP and period
// (the report's order and its pages' keys).
func CompareImprovementPlans(x, y ImprovementPlanRow) int {
	return cmp.Or(strings.Compare(x.UnitID, y.UnitID), x.Due.Compare(y.Due), strings.Compare(x.SKPID, y.SKPID), strings.Compare(x.Period, y.Period))
}
