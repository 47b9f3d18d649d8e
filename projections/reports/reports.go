// Package reports computes the reports of the HTTP API from the read
// models: the SKP progress board of a unit and its sub-units, the predikat
// distribution of a unit and period checked against the distribution
// pattern through the domain's policy, and the objection register. The
// functions are pure over the readers they are given, take the clock as an
// argument where the answer depends on it, and hold no state. Each report's
// Table is its flat shape for CSV and Excel; the HTTP layers add
// authorisation, the file formats and the projection position header.
package reports

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/kinerja-ledger/kinerja/domain/distribution"
	"github.com/kinerja-ledger/kinerja/domain/period"
	"github.com/kinerja-ledger/kinerja/domain/policy"
	"github.com/kinerja-ledger/kinerja/domain/rating"
	"github.com/kinerja-ledger/kinerja/domain/skp"
	"github.com/kinerja-ledger/kinerja/projections/directory"
	"github.com/kinerja-ledger/kinerja/projections/evaluations"
	"github.com/kinerja-ledger/kinerja/projections/objections"
	"github.com/kinerja-ledger/kinerja/projections/skps"
)

// Statuses lists the SKP states a progress board counts, in lifecycle
// order; every one is present in ProgressCounts.ByStatus.
func Statuses() []string {
	return []string{string(skp.StatusDraft), string(skp.StatusSubmitted), string(skp.StatusEstablished),
		string(skp.StatusAmendment), string(skp.StatusCancelled), string(skp.StatusClosed)}
}

// ProgressCounts are the SKP counts of a set of employees for a year.
type ProgressCounts struct {
	// Employees is the number of employees (by their current unit).
	Employees int `json:"employees"`
	// SKPs is the number of SKPs of the year drafted in the units, whatever
	// their status; ByStatus splits them (every status present).
	SKPs     int            `json:"skps"`
	ByStatus map[string]int `json:"by_status"`
	// Late is the number of SKPs, not cancelled, whose first version was
	// established after the deadline.
	Late int `json:"late"`
	// Missing is the number of employees of the units without an SKP for
	// the year that is not cancelled (in any unit).
	Missing int `json:"missing"`
}

func newCounts() ProgressCounts {
	c := ProgressCounts{ByStatus: map[string]int{}}
	for _, s := range Statuses() {
		c.ByStatus[s] = 0
	}
	return c
}

func (c *ProgressCounts) add(o ProgressCounts) {
	c.Employees += o.Employees
	c.SKPs += o.SKPs
	c.Late += o.Late
	c.Missing += o.Missing
	for k, v := range o.ByStatus {
		c.ByStatus[k] += v
	}
}

// UnitProgress is one row of the progress board.
type UnitProgress struct {
	UnitID   string `json:"unit_id"`
	Name     string `json:"name"`
	ParentID string `json:"parent_id,omitempty"`
	// Depth is 0 for the unit asked for, 1 for its children, and so on.
	Depth int `json:"depth"`
	// ProgressCounts are those of the unit's own employees and SKPs.
	ProgressCounts
	// MissingNIPs are the unit's own employees counted as missing, by NIP.
	MissingNIPs []string `json:"missing_nips"`
	// Subtree counts the unit and every unit below it.
	Subtree ProgressCounts `json:"including_subunits"`
}

// ProgressReport is the answer of GET /v1/reports/progress.
type ProgressReport struct {
	Unit string `json:"unit"`
	Year int    `json:"year"`
	// AsOf names the past state the report was computed at (an RFC 3339
	// instant, or a ledger position); empty for the current state.
	AsOf string `json:"as_of,omitempty"`
	// Units are the unit and its sub-units, depth first in id order.
	Units []UnitProgress `json:"units"`
	// Total counts the unit and its sub-units together (Units[0].Subtree).
	Total ProgressCounts `json:"total"`
}

// Progress returns the progress board of unit and its sub-units for year.
// An unknown unit is directory.ErrNotFound.
func Progress(ctx context.Context, dir directory.Reader, sr skps.Reader, unit string, year int) (ProgressReport, error) {
	// The subtree from the one read of every unit (Subtree would read them
	// all again: a tenth of the board's cost at ten thousand units).
	all, err := dir.Units(ctx)
	if err != nil {
		return ProgressReport{}, err
	}
	units, err := directory.SubtreeOf(all, unit)
	if err != nil {
		return ProgressReport{}, err
	}
	info := make(map[string]directory.Unit, len(all))
	for _, u := range all {
		info[u.ID] = u
	}
	rows := make(map[string]*UnitProgress, len(units))
	out := ProgressReport{Unit: unit, Year: year, Total: newCounts()}
	depth := map[string]int{unit: 0}
	for _, id := range units {
		u := info[id]
		if id != unit {
			depth[id] = depth[u.ParentID] + 1
		}
		rows[id] = &UnitProgress{UnitID: id, Name: u.Name, ParentID: u.ParentID, Depth: depth[id], ProgressCounts: newCounts(), MissingNIPs: []string{}}
	}
	if t := tallyOf(sr); t != nil {
		ok := t.progress(units, year, func(id string, employees, late int, byStatus map[string]int, missing map[string]struct{}) {
			r := rows[id]
			r.Employees, r.Late, r.Missing = employees, late, len(missing)
			for st, n := range byStatus {
				if n != 0 {
					r.SKPs += n
					r.ByStatus[st] += n
				}
			}
			for nip := range missing {
				r.MissingNIPs = append(r.MissingNIPs, nip)
			}
		})
		if ok {
			return progressTotals(out, rows, info, units, unit), nil
		}
	}
	if err := progressCounts(ctx, dir, sr, rows, units, year); err != nil {
		return ProgressReport{}, err
	}
	return progressTotals(out, rows, info, units, unit), nil
}

// tallyOf returns the Tally a reader keeps, or nil.
func tallyOf(r any) *Tally {
	if x, ok := r.(Tallier); ok {
		return x.Tally()
	}
	return nil
}

// UnitEmployees are a unit's own employees for a progress board: how many,
// and the NIPs of those without an SKP of the year that is not cancelled
// (in any unit).
type UnitEmployees struct {
	Employees int
	Missing   []string
}

// BoardCounter is an SKP reader whose store also holds the directory's
// employees (adapters/pgreadmodel): it answers each unit's employees and
// missing NIPs itself, in one query that returns the counts and the
// missing NIPs only, where the full computation reads every employee of
// the units and every NIP with an SKP of the year. It answers ok = false
// when dir is not a reader of its own store; then the board is computed in
// full.
type BoardCounter interface {
	EmployeesAndMissing(ctx context.Context, dir directory.Reader, units []string, year int) (map[string]UnitEmployees, bool, error)
}

// progressCounts fills each row's own counts from the read models (the
// full computation: every employee and SKP of the units, unless the SKP
// reader is a BoardCounter).
func progressCounts(ctx context.Context, dir directory.Reader, sr skps.Reader, rows map[string]*UnitProgress, units []string, year int) error {
	counts, err := countForYear(ctx, sr, units, year)
	if err != nil {
		return err
	}
	for _, c := range counts {
		r := rows[c.UnitID]
		if r == nil {
			continue
		}
		r.SKPs += c.N
		r.ByStatus[c.Status] += c.N
		if c.Status != string(skp.StatusCancelled) {
			r.Late += c.Late
		}
	}
	if bc, ok := sr.(BoardCounter); ok {
		got, ok, err := bc.EmployeesAndMissing(ctx, dir, units, year)
		if err != nil {
			return err
		}
		if ok {
			for id, u := range got {
				r := rows[id]
				if r == nil {
					continue
				}
				r.Employees += u.Employees
				r.Missing += len(u.Missing)
				r.MissingNIPs = append(r.MissingNIPs, u.Missing...)
			}
			return nil
		}
	}
	return employeeCounts(ctx, dir, sr, rows, units, year)
}

// employeeCounts fills each row's employees and missing ones from every
// employee of the units and every NIP with an SKP of the year.
func employeeCounts(ctx context.Context, dir directory.Reader, sr skps.Reader, rows map[string]*UnitProgress, units []string, year int) error {
	emps, err := dir.EmployeesIn(ctx, units)
	if err != nil {
		return err
	}
	// Whether an employee has an SKP of the year that is not cancelled is
	// asked of every SKP of the year, wherever it was drafted: an employee
	// who moved in during the year may have drafted it in the old unit.
	var nips []string
	for _, e := range emps {
		nips = append(nips, e.NIP)
	}
	covered, err := coveredNIPs(ctx, sr, nips, year)
	if err != nil {
		return err
	}
	for _, e := range emps {
		r := rows[e.UnitID]
		if r == nil {
			continue
		}
		r.Employees++
		if !covered[e.NIP] {
			r.Missing++
			r.MissingNIPs = append(r.MissingNIPs, e.NIP)
		}
	}
	return nil
}

// progressTotals adds the subtree totals to the rows and returns the
// board.
func progressTotals(out ProgressReport, rows map[string]*UnitProgress, info map[string]directory.Unit, units []string, unit string) ProgressReport {
	// Subtree totals: units are depth first, so a unit's descendants follow
	// it; from the last, each row's total is its own counts and its
	// children's totals, added to its parent's once (every ancestor's in
	// turn cost the depth of the tree per row: a third of a board read from
	// the Tally at ten thousand units).
	for _, id := range units {
		rows[id].Subtree = newCounts()
	}
	for i := len(units) - 1; i >= 0; i-- {
		id := units[i]
		r := rows[id]
		r.Subtree.add(r.ProgressCounts)
		if id == unit {
			continue
		}
		if p := rows[info[id].ParentID]; p != nil {
			p.Subtree.add(r.Subtree)
		}
	}
	out.Units = make([]UnitProgress, 0, len(units))
	for _, id := range units {
		slices.Sort(rows[id].MissingNIPs)
		out.Units = append(out.Units, *rows[id])
	}
	out.Total = rows[unit].Subtree
	return out
}

// countForYear counts the SKPs of year in units by unit and status: the
// reader's own aggregate when it has one (skps.Counter), else from every
// row of ForYear.
func countForYear(ctx context.Context, sr skps.Reader, units []string, year int) ([]skps.UnitYearCount, error) {
	if c, ok := sr.(skps.Counter); ok {
		return c.CountForYear(ctx, units, year)
	}
	list, err := sr.ForYear(ctx, units, year)
	if err != nil {
		return nil, err
	}
	out := make([]skps.UnitYearCount, 0, len(list))
	for _, s := range list {
		c := skps.UnitYearCount{UnitID: s.UnitID, Status: s.Status, N: 1}
		if s.Late {
			c.Late = 1
		}
		out = append(out, c)
	}
	return out, nil
}

// coveredNIPs returns which of nips have an SKP of year that is not
// cancelled: from the reader's own query when it is a skps.Counter, else
// from a page through every SKP of the year.
func coveredNIPs(ctx context.Context, sr skps.Reader, nips []string, year int) (map[string]bool, error) {
	out := make(map[string]bool, len(nips))
	want := make(map[string]bool, len(nips))
	for _, n := range nips {
		want[n] = true
	}
	if c, ok := sr.(skps.Counter); ok {
		got, err := c.CoveredForYear(ctx, year)
		if err != nil {
			return nil, err
		}
		for _, n := range got {
			if want[n] {
				out[n] = true
			}
		}
		return out, nil
	}
	q := skps.Query{Year: year, Limit: skps.MaxLimit}
	for {
		page, next, err := sr.List(ctx, q)
		if err != nil {
			return nil, err
		}
		for _, s := range page {
			if want[s.NIP] && s.Status != string(skp.StatusCancelled) {
				out[s.NIP] = true
			}
		}
		if next == "" {
			return out, nil
		}
		q.Cursor = next
	}
}

// DistributionReport is the answer of GET /v1/reports/distribution: the
// distribution.Result (org_predikat, population, counts, shares, policy,
// violations) with what was counted and what is justified.
type DistributionReport struct {
	Unit   string `json:"unit"`
	Period string `json:"period"`
	// AsOf names the past state the report was computed at (an RFC 3339
	// instant, or a ledger position); empty for the current state.
	AsOf string `json:"as_of,omitempty"`
	distribution.Result
	// CountedBy is the population rule (policy.DistributionPopulation) and
	// Units the units whose employees were counted.
	CountedBy policy.Population `json:"population_rule"`
	Units     []string          `json:"units"`
	// Mode is the policy's DistributionMode.
	Mode policy.DistributionMode `json:"mode"`
	// Justification is the latest recorded justification, if any, and
	// Unjustified the violations it does not cover (all of them in BLOCK
	// mode), as distribution.Gate decides.
	Justification *directory.Justification `json:"justification,omitempty"`
	Unjustified   []distribution.Violation `json:"unjustified"`
}

// DistributionInput is what Distribution reads.
type DistributionInput struct {
	Directory   directory.Reader
	SKPs        skps.Reader
	Evaluations evaluations.Reader
	// Justifications, when set, supplies recorded justifications.
	Justifications directory.JustificationReader
	// Policy decides the population and mode; Pattern checks the counts
	// (distribution.SE3_2023 when nil).
	Policy  policy.Policy
	Pattern distribution.Pattern
	// AppraiserUnit, when set, returns the unit an appraiser was in for
	// period p (APPRAISER_IN_UNIT counts by it); without it the
	// appraiser's current unit is used.
	AppraiserUnit func(ctx context.Context, nip string, p period.Period) (string, error)
}

// Distribution returns the predikat distribution of unit for period
// ("2026", "2026-Q1", ...) checked against the pattern. It counts the
// population of [Population]. Without an organisation predikat for the
// period the result is undetermined (Result.Undetermined), never "no
// violations". An unknown unit is directory.ErrNotFound; a bad period an
// error.
func Distribution(ctx context.Context, in DistributionInput, unit, per string) (DistributionReport, error) {
	p, err := period.Parse(per)
	if err != nil {
		return DistributionReport{}, fmt.Errorf("reports: distribution: period %q: %w", per, err)
	}
	pattern := in.Pattern
	if pattern == nil {
		pattern = distribution.SE3_2023
	}
	u, err := in.Directory.Unit(ctx, unit)
	if err != nil {
		return DistributionReport{}, err
	}
	rep := DistributionReport{Unit: unit, Period: p.String(), CountedBy: in.Policy.DistributionPopulation, Mode: in.Policy.DistributionMode}
	if rep.CountedBy == "" {
		rep.CountedBy = policy.UnitAndSubunits
	}
	units, counts, err := populationCounts(ctx, in, unit, p)
	if err != nil {
		return DistributionReport{}, err
	}
	rep.Units = units
	org := rating.OrgPredikat(u.Performance[p.String()])
	rep.Result = distribution.Evaluate(pattern, org, counts)
	var justified []distribution.Violation
	if in.Justifications != nil {
		j, ok, err := in.Justifications.Justification(ctx, unit, p.String())
		if err != nil {
			return DistributionReport{}, err
		}
		if ok {
			rep.Justification = &j
			justified = j.Violations
		}
	}
	mode := rep.Mode
	if mode == "" {
		mode = policy.Warn
	}
	rep.Unjustified = []distribution.Violation{}
	if err := distribution.Gate(mode, rep.Result, justified); err != nil {
		var d *distribution.DeviationError
		if errors.As(err, &d) {
			rep.Unjustified = d.Violations
		}
	}
	return rep, nil
}

// populationCounts returns the predikat counts of Population and the
// units counted: from the Tally the SKP and evaluation readers keep when
// they keep one and the rule is UNIT_AND_SUBUNITS (O(units)), else from
// Population.
func populationCounts(ctx context.Context, in DistributionInput, unit string, p period.Period) ([]string, distribution.Counts, error) {
	counts := distribution.Counts{}
	// The rule first: asking a reader for its Tally builds it, and every
	// later write then pays its hooks, for nothing under another rule.
	if rule := in.Policy.DistributionPopulation; rule == "" || rule == policy.UnitAndSubunits {
		if t := tallyOf(in.Evaluations); t != nil && t == tallyOf(in.SKPs) {
			units, err := in.Directory.Subtree(ctx, unit)
			if err != nil {
				return nil, nil, err
			}
			if c, _, ok := t.population(units, p.String()); ok {
				for k, n := range c {
					counts[rating.Predikat(k)] += n
				}
				return units, counts, nil
			}
		}
	}
	if rule := in.Policy.DistributionPopulation; rule == "" || rule == policy.UnitAndSubunits {
		if pc, ok := in.Evaluations.(PopulationCounter); ok {
			units, err := in.Directory.Subtree(ctx, unit)
			if err != nil {
				return nil, nil, err
			}
			c, ok, err := pc.PopulationCounts(ctx, in.SKPs, units, p)
			if err != nil {
				return nil, nil, err
			}
			if ok {
				for k, n := range c {
					counts[rating.Predikat(k)] += n
				}
				return units, counts, nil
			}
		}
	}
	units, perNIP, err := Population(ctx, in, unit, p)
	if err != nil {
		return nil, nil, err
	}
	for _, e := range perNIP {
		counts[rating.Predikat(e.Predikat)]++
	}
	return units, counts, nil
}

// PopulationCounter is an evaluation reader whose store also holds the SKP
// summaries (adapters/pgreadmodel): it counts the predikat of the
// population Population finds under UNIT_AND_SUBUNITS for units (every
// unit counted) and p itself, in one query that returns the counts only,
// where Population reads every evaluation of the units and every SKP of
// their year. It answers ok = false when sr is not a reader of its own
// store; then Population counts.
type PopulationCounter interface {
	PopulationCounts(ctx context.Context, sr skps.Reader, units []string, p period.Period) (map[string]int, bool, error)
}

// Population returns the population of unit's distribution for period p,
// one evaluation per employee (the evaluation in effect of the period, of
// an SKP that is not cancelled, rated; the latest rated when an employee
// has two), by NIP, and the units whose employees were counted. With
// UNIT_AND_SUBUNITS (the default) it counts the employees whose SKP was
// drafted in unit or a unit below it; with APPRAISER_IN_UNIT those whose
// appraiser was in unit for the period: in.AppraiserUnit decides (the unit
// in effect on the period's last day), or, without it, the appraiser's
// current unit in the directory.
func Population(ctx context.Context, in DistributionInput, unit string, p period.Period) ([]string, map[string]evaluations.Evaluation, error) {
	rule := in.Policy.DistributionPopulation
	var evals []evaluations.Evaluation
	var units []string
	switch rule {
	case policy.AppraiserInUnit:
		all, err := in.Directory.Units(ctx)
		if err != nil {
			return nil, nil, err
		}
		ids := make([]string, len(all))
		for i, x := range all {
			ids[i] = x.ID
		}
		every, err := in.Evaluations.ForPeriod(ctx, ids, p.String())
		if err != nil {
			return nil, nil, err
		}
		unitOf := map[string]string{}
		for _, e := range every {
			if _, ok := unitOf[e.AppraiserNIP]; !ok {
				var u string
				if in.AppraiserUnit != nil {
					if u, err = in.AppraiserUnit(ctx, e.AppraiserNIP, p); err != nil {
						return nil, nil, err
					}
				} else {
					a, err := in.Directory.Employee(ctx, e.AppraiserNIP)
					if err != nil && !errors.Is(err, directory.ErrNotFound) {
						return nil, nil, err
					}
					u = a.UnitID
				}
				unitOf[e.AppraiserNIP] = u
			}
			if unitOf[e.AppraiserNIP] == unit {
				evals = append(evals, e)
			}
		}
		units = []string{unit}
	default:
		var err error
		if units, err = in.Directory.Subtree(ctx, unit); err != nil {
			return nil, nil, err
		}
		if evals, err = in.Evaluations.ForPeriod(ctx, units, p.String()); err != nil {
			return nil, nil, err
		}
	}
	// Evaluations of cancelled SKPs do not count.
	skpUnits := map[string]bool{}
	for _, e := range evals {
		skpUnits[e.UnitID] = true
	}
	status := map[string]string{}
	if len(evals) > 0 {
		list, err := in.SKPs.ForYear(ctx, keys(skpUnits), p.Year())
		if err != nil {
			return nil, nil, err
		}
		for _, s := range list {
			status[s.ID] = s.Status
		}
	}
	perNIP := map[string]evaluations.Evaluation{}
	for _, e := range evals {
		if e.Predikat == "" || status[e.SKPID] == string(skp.StatusCancelled) {
			continue
		}
		if cur, ok := perNIP[e.NIP]; !ok || e.RatedAt.After(cur.RatedAt) {
			perNIP[e.NIP] = e
		}
	}
	return units, perNIP, nil
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// ObjectionItem is one row of the objection register.
type ObjectionItem struct {
	objections.Objection
	// Overdue is Objection.OverdueAt(the register's Now).
	Overdue bool `json:"overdue"`
}

// ObjectionRegister is the answer of GET /v1/reports/objections.
type ObjectionRegister struct {
	// Unit, Status and Overdue are the filters ("" and nil: none).
	Unit    string `json:"unit,omitempty"`
	Status  string `json:"status,omitempty"`
	Overdue *bool  `json:"overdue,omitempty"`
	// Now is the instant overdue is judged at.
	Now   time.Time       `json:"now"`
	Items []ObjectionItem `json:"items"`
}

// Objections returns the objection register: the objections of unit and
// its sub-units (every unit when unit is ""), with status (OPEN, DECIDED,
// WITHDRAWN; "" for all) and, when overdue is set, only those whose
// decision is (or is not) overdue at now. Items are ordered by filing time.
func Objections(ctx context.Context, dir directory.Reader, r objections.Reader, unit, status string, overdue *bool, now time.Time) (ObjectionRegister, error) {
	q := objections.Query{Status: status, Overdue: overdue, Now: now}
	if unit != "" {
		units, err := dir.Subtree(ctx, unit)
		if err != nil {
			return ObjectionRegister{}, err
		}
		q.Units = units
	}
	list, err := r.List(ctx, q)
	if err != nil {
		return ObjectionRegister{}, err
	}
	out := ObjectionRegister{Unit: unit, Status: status, Overdue: overdue, Now: now, Items: make([]ObjectionItem, len(list))}
	for i, o := range list {
		out.Items[i] = ObjectionItem{Objection: o, Overdue: o.OverdueAt(now)}
	}
	return out, nil
}
