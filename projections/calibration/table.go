package calibration

import (
	"strconv"
	"strings"

	"github.com/kinerja-ledger/kinerja/domain/calendar"
	"github.com/kinerja-ledger/kinerja/domain/rating"
	"github.com/kinerja-ledger/kinerja/projections/reports"
)

// Restrict keeps the appraisers whose unit keep accepts (a unit leader's
// view of their subtree). The statistics stay the agency's: an index is
// always measured against the whole agency.
func (r Report) Restrict(keep func(unitID string) bool) Report {
	out := r
	out.Appraisers = nil
	for _, a := range r.Appraisers {
		if keep(a.UnitID) {
			out.Appraisers = append(out.Appraisers, a)
		}
	}
	return out
}

// InSubtree reports whether unit lies in root's subtree (by the units the
// collector has seen).
func (c *Collector) InSubtree(unit, root string) bool { return c.inSubtree(unit, root) }

// HeadOf returns the NIP of unit's head on day: the assignment with the
// latest effective date on or before day (of two with the same date, the
// later one corrects the earlier), or "" (vacant, or an unknown unit).
func (c *Collector) HeadOf(unit string, day calendar.Date) string {
	head, best := "", calendar.Date{}
	for _, h := range c.heads[unit] {
		if !h.EffectiveFrom.After(day) && !h.EffectiveFrom.Before(best) {
			head, best = h.HeadNIP, h.EffectiveFrom
		}
	}
	return head
}

// HasUnit reports whether unit was registered.
func (c *Collector) HasUnit(unit string) bool {
	_, ok := c.parent[unit]
	return ok
}

func f3(v float64) string { return strconv.FormatFloat(v, 'f', 3, 64) }

// Table flattens the view: one row per appraiser, with the counts they
// gave, the comparison means, the index and its interval, the flag, the
// objection and revision counts, and the rating events counted.
func (r Report) Table() reports.Table {
	t := reports.Table{Columns: []string{"appraiser_nip", "name", "unit_id", "compare_unit_id", "ratings"}}
	for _, p := range rating.Predikats() {
		t.Columns = append(t.Columns, "given_"+strings.ToLower(string(p)))
	}
	t.Columns = append(t.Columns, "given_mean", "unit_mean", "agency_mean", "raw_index", "index", "low", "high", "weight", "flag",
		"objections", "changed_on_objection", "revised_before_issue", "revised_after_delivery", "evidence_event_ids")
	for _, a := range r.Appraisers {
		row := []string{a.NIP, a.Name, a.UnitID, a.CompareUnitID, strconv.Itoa(a.Given.N)}
		for _, p := range rating.Predikats() {
			row = append(row, strconv.Itoa(a.Given.Counts[p]))
		}
		var ev []string
		for _, e := range a.Evidence {
			ev = append(ev, e.EventID)
		}
		flag := string(a.Flag)
		if flag == "" {
			flag = "NONE" // never an empty cell, which would read as unknown
		}
		row = append(row, f3(a.Given.Mean), f3(a.Unit.Mean), f3(a.Agency.Mean), f3(a.Raw), f3(a.Index), f3(a.Low), f3(a.High), f3(a.Weight), flag,
			strconv.Itoa(a.Objections), strconv.Itoa(a.ChangedOnObjection), strconv.Itoa(a.RevisedBeforeIssue), strconv.Itoa(a.RevisedAfterDelivery),
			strings.Join(ev, " "))
		t.Rows = append(t.Rows, row)
	}
	return t
}
