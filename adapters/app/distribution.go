package app

import (
	"context"
	"fmt"

	"github.com/kinerja-ledger/kinerja/domain/distribution"
	"github.com/kinerja-ledger/kinerja/domain/period"
	"github.com/kinerja-ledger/kinerja/domain/policy"
	"github.com/kinerja-ledger/kinerja/domain/rating"
	"github.com/kinerja-ledger/kinerja/projections/reports"
)

// The distribution gate of BLOCK mode (issue 11): the SKP service asks it
// before an evaluation is issued ([distribution.IssueGate]); New installs
// the App as its SKP service's gate when the policy's mode is BLOCK.
//
// Which patterns an evaluation counts in: with UNIT_AND_SUBUNITS, the
// pattern of every unit from the SKP's unit up to the root that has an
// organisation predikat for the period (each such unit's report counts the
// evaluation); with APPRAISER_IN_UNIT, the pattern of the unit the
// appraiser was in for the period. The organisation predikat, the units'
// parents, the appraiser's unit and the justifications are read from the
// ledger (fresh); the population from the read models, after they have
// caught up with the store's head when Config.WaitForProjections is set.
//
// A known limit: two evaluations of one unit issued at the same instant,
// in two SKP streams, are each checked against a population that does not
// yet count the other one as issued; both count the other's rating, which
// is what the check is over, so the race matters only when a rating is
// changed at that instant too.

// CheckIssue implements [distribution.IssueGate].
func (a *App) CheckIssue(ctx context.Context, c distribution.Candidate) error {
	if a.cfg.Policy.DistributionMode != policy.Block || a.cfg.Evaluations == nil {
		return nil
	}
	p, err := period.Parse(c.Period)
	if err != nil {
		return fmt.Errorf("app: distribution gate: %w", err)
	}
	if a.cfg.WaitForProjections != nil && a.cfg.Store != nil {
		head, err := a.cfg.Store.Head(ctx)
		if err != nil {
			return err
		}
		if err := a.cfg.WaitForProjections(ctx, head); err != nil {
			return err
		}
	}
	var units []string
	switch a.cfg.Policy.DistributionPopulation {
	case policy.AppraiserInUnit:
		u, err := a.appraiserUnit(ctx, c.AppraiserNIP, p)
		if err != nil {
			return err
		}
		units = []string{u}
	default:
		for id, seen := c.UnitID, map[string]bool{}; id != "" && !seen[id]; {
			seen[id] = true
			units = append(units, id)
			u, err := a.cfg.Units.Load(ctx, id)
			if err != nil {
				return err
			}
			if u == nil {
				break
			}
			id = u.Parent()
		}
	}
	in := a.distributionInput()
	for _, id := range units {
		if id == "" {
			continue
		}
		u, err := a.cfg.Units.Load(ctx, id)
		if err != nil {
			return err
		}
		if u == nil {
			continue
		}
		org, ok := u.Predikat(p.String())
		if !ok {
			continue // undetermined: nothing to check against
		}
		_, perNIP, err := reports.Population(ctx, in, id, p)
		if err != nil {
			return err
		}
		counts := distribution.Counts{}
		for nip, e := range perNIP {
			if nip != c.NIP {
				counts[rating.Predikat(e.Predikat)]++
			}
		}
		counts[c.Predikat]++
		rec, err := a.cfg.Distribution.Load(ctx, id, p.String())
		if err != nil {
			return err
		}
		if err := distribution.CheckCandidate(a.cfg.Pattern, id, p.String(), org, counts, c.Predikat, rec.Justified()); err != nil {
			return err
		}
	}
	return nil
}

// appraiserUnit returns the unit nip was in for period p: on the period's
// last day, or today while the period runs. An unknown employee has none.
func (a *App) appraiserUnit(ctx context.Context, nip string, p period.Period) (string, error) {
	e, err := a.cfg.Employees.Load(ctx, nip)
	if err != nil || e == nil {
		return "", err
	}
	day := p.End()
	if today := a.Today(); today.Before(day) {
		day = today
	}
	return e.UnitOn(day), nil
}

// distributionInput is what the distribution report and the gate read.
func (a *App) distributionInput() reports.DistributionInput {
	return reports.DistributionInput{
		Directory: a.cfg.Directory, SKPs: a.cfg.SKPList, Evaluations: a.cfg.Evaluations, Justifications: a.cfg.Justifications,
		Policy: a.cfg.Policy, Pattern: a.cfg.Pattern, AppraiserUnit: a.appraiserUnit,
	}
}
