// Package development is the development report of a unit and year
// (issue 14): the development actions that are overdue (the due date has
// passed in the agency's zone and no outcome is recorded), with the
// employee, the action, its due date and the days overdue; and the
// competency gaps that occur most often, with their count and share, as
// input for the BKD's training plan.
//
// It is a pure fold of the SKP streams (Fold), kept in memory by the app
// layer and advanced with the store, like the consequences register and
// the calibration view; there is no read-model table. Build makes the
// report of a year as of a day from the folded states.
package development

import (
	"cmp"
	"iter"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/kinerja-ledger/kinerja/domain/calendar"
	"github.com/kinerja-ledger/kinerja/domain/skp"
	"github.com/kinerja-ledger/kinerja/projections"
	"github.com/kinerja-ledger/kinerja/projections/reports"
)

// action is what the fold remembers of a planned development action.
type action struct {
	id, gapID, title, due string
	kind                  skp.DevelopmentKind
	outcome               skp.DevelopmentOutcome
}

// gap is an identified competency gap.
type gap struct {
	id, key, label string
}

// State is the fold of one SKP stream: the employee of its draft, its
// year, its competency gaps and development actions.
type State struct {
	skpID, nip, name, unitID string
	year                     int
	gaps                     []gap
	actions                  []*action
}

// Fold returns the fold of an SKP stream: skp.drafted.v1 makes the state;
// the gap and development events fill it; other events change nothing.
func Fold() projections.Fold[*State] {
	return func(s *State, ev projections.Event) *State {
		if ev.Payload == nil {
			return s
		}
		if d, ok := ev.Payload.(skp.Drafted); ok && s == nil {
			return &State{skpID: d.SKPID, nip: d.NIP, name: d.Employee.Name, unitID: d.Employee.UnitID, year: d.PeriodStart.Year()}
		}
		if s == nil {
			return nil
		}
		s.apply(ev)
		return s
	}
}

func (s *State) apply(ev projections.Event) {
	switch e := ev.Payload.(type) {
	case skp.CompetencyGapIdentified:
		key := skp.NormalizeCompetency(e.Competency)
		if key != "" {
			s.gaps = append(s.gaps, gap{id: e.GapID, key: key, label: strings.Join(strings.Fields(e.Competency), " ")})
		}
	case skp.DevelopmentActionPlanned:
		s.actions = append(s.actions, &action{id: e.ActionID, gapID: e.GapID, title: e.Title, due: e.DueDate, kind: e.Kind})
	case skp.DevelopmentActionConcluded:
		for _, a := range s.actions {
			if a.id == e.ActionID && a.outcome == "" {
				a.outcome = e.Outcome
			}
		}
	}
}

// OverdueAction is a development action whose due date has passed with no
// outcome.
type OverdueAction struct {
	// SKPID is the SKP the action belongs to.
	SKPID string `json:"skp_id"`
	// NIP and Name are the employee's (the SKP's snapshot).
	NIP  string `json:"nip"`
	Name string `json:"name"`
	// UnitID is the employee's unit (the SKP's snapshot).
	UnitID string `json:"unit_id"`
	// ActionID identifies the action in its SKP.
	ActionID string `json:"action_id"`
	// Kind is TRAINING, MENTORING or ASSIGNMENT.
	Kind skp.DevelopmentKind `json:"kind"`
	// Title says what the action is.
	Title string `json:"title"`
	// Competency is the gap the action addresses ("" when none).
	Competency string `json:"competency,omitempty"`
	// DueDate is when it was due (YYYY-MM-DD).
	DueDate string `json:"due_date"`
	// DaysOverdue counts the days from the due date to the report's day
	// (at least 1).
	DaysOverdue int `json:"days_overdue"`
}

// GapCount is how often a competency gap was identified.
type GapCount struct {
	// Competency is the grouping key: trimmed, spaces collapsed, lower
	// case (skp.NormalizeCompetency).
	Competency string `json:"competency"`
	// Label is the first spelling recorded, for display.
	Label string `json:"label"`
	// Count is the number of gaps identified with it.
	Count int `json:"count"`
	// Employees is the number of distinct employees with it.
	Employees int `json:"employees"`
	// SharePercent is Count over all gaps of the report, in percent,
	// rounded to one decimal.
	SharePercent float64 `json:"share_percent"`
}

// Report is the development report of a year and unit.
type Report struct {
	// Period is the year ("2026"): the SKPs of that performance year.
	Period string `json:"period"`
	// UnitID limits the report to a unit's subtree ("" for the agency).
	UnitID string `json:"unit_id,omitempty"`
	// AsOf is the day (agency zone) that decides what is overdue.
	AsOf string `json:"as_of"`
	// Actions counts the development actions planned; Open those without
	// an outcome (overdue or not).
	Actions int `json:"actions"`
	Open    int `json:"open"`
	// Overdue are the overdue actions, the most overdue first.
	Overdue []OverdueAction `json:"overdue"`
	// GapTotal counts the competency gaps identified.
	GapTotal int `json:"gap_total"`
	// Gaps are the competencies, the most frequent first.
	Gaps []GapCount `json:"gaps"`
}

// Build returns the report of year (a 4-digit year) as of today from the
// folded states, keeping the SKPs whose unit keep accepts (nil keeps all).
// It reads the states only; the result shares nothing with them.
func Build(states iter.Seq[*State], year, unit string, today calendar.Date, keep func(unitID string) bool) Report {
	r := Report{Period: year, UnitID: unit, AsOf: today.String(), Overdue: []OverdueAction{}, Gaps: []GapCount{}}
	y, err := strconv.Atoi(year)
	if err != nil {
		return r
	}
	type agg struct {
		label string
		count int
		nips  map[string]bool
	}
	byKey := map[string]*agg{}
	for s := range states {
		if s == nil || s.year != y || (keep != nil && !keep(s.unitID)) {
			continue
		}
		gapKey := map[string]string{}
		for _, g := range s.gaps {
			gapKey[g.id] = g.label
			a := byKey[g.key]
			if a == nil {
				a = &agg{label: g.label, nips: map[string]bool{}}
				byKey[g.key] = a
			}
			a.count++
			a.nips[s.nip] = true
			r.GapTotal++
		}
		for _, a := range s.actions {
			r.Actions++
			if a.outcome != "" {
				continue
			}
			r.Open++
			due, err := calendar.Parse(a.due)
			if err != nil || !today.After(due) {
				continue
			}
			r.Overdue = append(r.Overdue, OverdueAction{SKPID: s.skpID, NIP: s.nip, Name: s.name, UnitID: s.unitID, ActionID: a.id,
				Kind: a.kind, Title: a.title, Competency: gapKey[a.gapID], DueDate: a.due, DaysOverdue: due.DaysUntil(today)})
		}
	}
	slices.SortFunc(r.Overdue, func(a, b OverdueAction) int {
		return cmp.Or(cmp.Compare(b.DaysOverdue, a.DaysOverdue), strings.Compare(a.UnitID, b.UnitID), strings.Compare(a.Name, b.Name),
			strings.Compare(a.SKPID, b.SKPID), strings.Compare(a.ActionID, b.ActionID))
	})
	for k, a := range byKey {
		r.Gaps = append(r.Gaps, GapCount{Competency: k, Label: a.label, Count: a.count, Employees: len(a.nips),
			SharePercent: math.Round(float64(a.count)*1000/float64(r.GapTotal)) / 10})
	}
	slices.SortFunc(r.Gaps, func(a, b GapCount) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(b.Employees, a.Employees), strings.Compare(a.Competency, b.Competency))
	})
	return r
}

// Table flattens the report for CSV and XLSX: one row per overdue action
// (section OVERDUE_ACTION), then one per competency (section
// COMPETENCY_GAP); the columns the other section does not use are empty.
func (r Report) Table() reports.Table {
	t := reports.Table{Columns: []string{"section", "skp_id", "nip", "name", "unit_id", "action_id", "kind", "title", "due_date",
		"days_overdue", "competency", "count", "employees", "share_percent"}}
	for _, o := range r.Overdue {
		t.Rows = append(t.Rows, []string{"OVERDUE_ACTION", o.SKPID, o.NIP, o.Name, o.UnitID, o.ActionID, string(o.Kind), o.Title, o.DueDate,
			strconv.Itoa(o.DaysOverdue), o.Competency, "", "", ""})
	}
	for _, g := range r.Gaps {
		t.Rows = append(t.Rows, []string{"COMPETENCY_GAP", "", "", "", "", "", "", "", "", "", g.Label, strconv.Itoa(g.Count),
			strconv.Itoa(g.Employees), strconv.FormatFloat(g.SharePercent, 'f', 1, 64)})
	}
	return t
}
