package reports

import (
	"strconv"
	"strings"
	"time"

	"github.com/kinerja-ledger/kinerja/domain/rating"
)

// Table is a report in the flat shape of its CSV and Excel exports: a
// header and rows of text cells. The API (?format=csv|xlsx) and the
// dashboard's downloads both use it, so their files read alike.
type Table struct {
	Columns []string
	Rows    [][]string
}

// Table flattens the board: one row per unit, its counts by status, and
// its subtree's.
func (rep ProgressReport) Table() Table {
	t := Table{Columns: []string{"unit_id", "unit_name", "parent_id", "depth", "employees", "skps"}}
	t.Columns = append(t.Columns, Statuses()...)
	t.Columns = append(t.Columns, "late", "missing", "missing_nips", "subtree_employees", "subtree_skps", "subtree_late", "subtree_missing")
	for _, u := range rep.Units {
		row := []string{u.UnitID, u.Name, u.ParentID, strconv.Itoa(u.Depth), strconv.Itoa(u.Employees), strconv.Itoa(u.SKPs)}
		for _, s := range Statuses() {
			row = append(row, strconv.Itoa(u.ByStatus[s]))
		}
		row = append(row, strconv.Itoa(u.Late), strconv.Itoa(u.Missing), strings.Join(u.MissingNIPs, " "),
			strconv.Itoa(u.Subtree.Employees), strconv.Itoa(u.Subtree.SKPs), strconv.Itoa(u.Subtree.Late), strconv.Itoa(u.Subtree.Missing))
		t.Rows = append(t.Rows, row)
	}
	return t
}

// Table flattens the distribution: one row per predikat, with the unit's
// figures and violations repeated on each (UNDETERMINED when the unit has
// no organisation predikat for the period).
func (rep DistributionReport) Table() Table {
	t := Table{Columns: []string{"unit", "period", "org_predikat", "policy", "population", "predikat", "count", "share", "violations"}}
	var viol []string
	for _, v := range rep.Violations {
		viol = append(viol, v.Rule+": "+v.Detail)
	}
	if rep.Undetermined {
		// Never an empty cell, which would read as "no violations".
		viol = []string{"UNDETERMINED: no organisation predikat for the period"}
	}
	for _, p := range rating.Predikats() {
		t.Rows = append(t.Rows, []string{rep.Unit, rep.Period, string(rep.OrgPredikat), rep.Pattern, strconv.Itoa(rep.Population),
			string(p), strconv.Itoa(rep.Counts[p]), strconv.FormatFloat(rep.Shares[p], 'f', 4, 64), strings.Join(viol, "; ")})
	}
	return t
}

// Table flattens the register: one row per objection.
func (reg ObjectionRegister) Table() Table {
	t := Table{Columns: []string{"objection_id", "skp_id", "nip", "name", "unit_id", "period", "status", "filed_at", "window_deadline",
		"decision_due", "overdue", "late", "backfill_paper_ref", "outcome", "decided_at", "predikat_before", "predikat_after"}}
	for _, o := range reg.Items {
		decided, paper := "", ""
		if o.DecidedAt != nil {
			decided = o.DecidedAt.Format(time.RFC3339)
		}
		if o.Backfill != nil {
			paper = o.Backfill.PaperRef
		}
		t.Rows = append(t.Rows, []string{o.ID, o.SKPID, o.NIP, o.Name, o.UnitID, o.Period, o.Status, o.FiledAt.Format(time.RFC3339),
			o.WindowDeadline.Format(time.RFC3339), o.DecisionDue.Format(time.RFC3339), strconv.FormatBool(o.Overdue),
			strconv.FormatBool(o.Late), paper, o.Outcome, decided, o.PredikatBefore, o.PredikatAfter})
	}
	return t
}
