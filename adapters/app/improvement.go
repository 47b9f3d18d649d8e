package app

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/authz"
	"github.com/kinerja-ledger/kinerja/projections/deadlines"
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

// ImprovementPlanUnit counts the plans of one unit.
type ImprovementPlanUnit struct {
	UnitID    string               `json:"unit_id"`
	PlansDue  int                  `json:"plans_due"`
	PlansOpen int                  `json:"plans_open"`
	Overdue   int                  `json:"overdue"`
	Plans     []ImprovementPlanRow `json:"plans"`
}

// ImprovementPlanReport is the open improvement plans per unit (issue 14).
type ImprovementPlanReport struct {
	// Unit is the unit asked for ("" for every unit).
	Unit  string                `json:"unit,omitempty"`
	AsOf  time.Time             `json:"as_of"`
	Units []ImprovementPlanUnit `json:"units"`
}

// ImprovementPlans reports, per unit (the employee's unit recorded on the
// SKP), the improvement plans due and open, from the deadline process
// manager's items, for a caller who may read reports. unit "" is every
// unit; otherwise that unit alone (not its subtree). Errors: a refusal
// (403); not found when the process manager does not run here.
func (a *App) ImprovementPlans(ctx context.Context, caller domain.Principal, unit string) (ImprovementPlanReport, error) {
	if err := allow(caller, authz.ReadReports); err != nil {
		return ImprovementPlanReport{}, err
	}
	if err := a.scopeUnit(ctx, caller, &unit); err != nil {
		return ImprovementPlanReport{}, err
	}
	kr, ok := a.cfg.Inbox.(deadlines.KindReader)
	if !ok {
		return ImprovementPlanReport{}, &domain.NotFoundError{Kind: "report", ID: "improvement-plans"}
	}
	items, err := kr.OfKinds(ctx, deadlines.OpenImprovementPlan, deadlines.ImprovementResult)
	if err != nil {
		return ImprovementPlanReport{}, err
	}
	now := a.cfg.Now()
	rep := ImprovementPlanReport{Unit: unit, AsOf: now, Units: []ImprovementPlanUnit{}}
	byUnit := map[string]*ImprovementPlanUnit{}
	for _, it := range items {
		if unit != "" && it.UnitID != unit {
			continue
		}
		row := ImprovementPlanRow{SKPID: it.SKPID, NIP: it.NIP, Name: it.Name, Period: it.Period, AppraiserNIP: it.Recipient, Due: it.Due, Overdue: now.After(it.Due)}
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
			u = &ImprovementPlanUnit{UnitID: it.UnitID, Plans: []ImprovementPlanRow{}}
			byUnit[it.UnitID] = u
		}
		if row.Stage == ImprovementPlanDue {
			u.PlansDue++
		} else {
			u.PlansOpen++
		}
		if row.Overdue {
			u.Overdue++
		}
		u.Plans = append(u.Plans, row)
	}
	for _, u := range byUnit {
		rep.Units = append(rep.Units, *u)
	}
	slices.SortFunc(rep.Units, func(x, y ImprovementPlanUnit) int { return strings.Compare(x.UnitID, y.UnitID) })
	return rep, nil
}
