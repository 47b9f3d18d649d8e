package httpapi

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/kinerja-ledger/kinerja/domain/policy"
	"github.com/kinerja-ledger/kinerja/projections/development"
)

// TestDevelopmentReportAPI reads the development report through the API on
// the bbolt and the PostgreSQL store: overdue is decided by the day in the
// agency's zone, an outcome takes an action off the list, who may read
// which unit, exports, and refusals of bad input.
func TestDevelopmentReportAPI(t *testing.T) {
	for _, backend := range []string{"bolt", "postgres"} {
		t.Run(backend, func(t *testing.T) { developmentReport(t, newHarnessOn(t, backend)) })
	}
}

func developmentReport(t *testing.T, h *harness) {
	h.cast()
	_, rhkA := h.establishedA()
	id, _, _ := h.establishedE(rhkA)
	h.must(http.StatusOK, hr, "PUT", "/v1/units/DINKES/head", AssignHeadBody{HeadNIP: nipA, EffectiveFrom: mustDate("2026-01-05")})
	base := "/v1/skps/" + id
	var gap, late, soon, done DevelopmentCreated
	h.must(http.StatusCreated, apprA, "POST", base+"/competency-gaps", GapBody{Competency: "Analisis  Data"}).decode(t, &gap)
	h.must(http.StatusCreated, apprA, "POST", base+"/competency-gaps", GapBody{Competency: "analisis data"})
	h.must(http.StatusCreated, apprA, "POST", base+"/competency-gaps", GapBody{Competency: "Menulis laporan"})
	h.must(http.StatusCreated, apprA, "POST", base+"/development-actions",
		DevelopmentActionBody{GapID: gap.ID, Kind: "TRAINING", Title: "Pelatihan analisis data", DueDate: "2026-01-05"}).decode(t, &late)
	h.must(http.StatusCreated, apprA, "POST", base+"/development-actions",
		DevelopmentActionBody{Kind: "MENTORING", Title: "Mentoring", DueDate: "2026-01-06"}).decode(t, &soon)
	h.must(http.StatusCreated, apprA, "POST", base+"/development-actions",
		DevelopmentActionBody{Kind: "ASSIGNMENT", Title: "Penugasan", DueDate: "2026-01-05"}).decode(t, &done)

	read := func(who caller, q string) development.Report {
		t.Helper()
		var r development.Report
		h.must(http.StatusOK, who, "GET", "/v1/reports/development?"+q, nil).decode(t, &r)
		return r
	}
	// Today (2026-01-05) nothing is overdue; the gaps are counted.
	r := read(analyst, "year=2026")
	if len(r.Overdue) != 0 || r.Actions != 3 || r.Open != 3 || r.GapTotal != 3 || len(r.Gaps) != 2 || r.Gaps[0].Count != 2 ||
		r.Gaps[0].SharePercent != 66.7 || r.AsOf != "2026-01-05" {
		t.Fatalf("on the due day: %+v", r)
	}
	// 2026-01-06 23:30 in the agency's zone (16:30 UTC): the action due on
	// the 6th is not overdue yet; the two due on the 5th are, one day.
	h.clock.Set(time.Date(2026, 1, 6, 23, 30, 0, 0, policy.WIB))
	r = read(hr, "year=2026")
	if len(r.Overdue) != 2 || r.Overdue[0].DaysOverdue != 1 || r.AsOf != "2026-01-06" {
		t.Fatalf("on the 6th: %+v", r.Overdue)
	}
	// Concluded after its due date: off the list.
	h.must(http.StatusOK, apprA, "POST", base+"/development-actions/"+done.ID+"/outcome", OutcomeBody{Outcome: "COMPLETED"})
	// Half an hour later it is the 7th in the agency's zone, still the 6th in UTC.
	h.clock.Set(time.Date(2026, 1, 7, 0, 0, 0, 0, policy.WIB))
	r = read(aud, "year=2026")
	if len(r.Overdue) != 2 || r.Open != 2 || r.Overdue[0].ActionID != late.ID || r.Overdue[0].DaysOverdue != 2 ||
		r.Overdue[0].Competency != "Analisis Data" || r.Overdue[0].UnitID != "DINKES" || r.Overdue[1].ActionID != soon.ID || r.Overdue[1].DaysOverdue != 1 {
		t.Fatalf("on the 7th: %+v", r)
	}
	// The unit's head reads the unit; the report of a sibling unit is empty
	// for HR and refused to the head.
	leader := caller{nipA, nil}
	if mine := read(leader, "year=2026&unit=DINKES"); len(mine.Overdue) != 2 || mine.UnitID != "DINKES" {
		t.Errorf("the head of DINKES: %+v", mine)
	}
	if other := read(hr, "year=2026&unit=BAPPEDA"); len(other.Overdue) != 0 || other.GapTotal != 0 {
		t.Errorf("BAPPEDA: %+v", other)
	}
	if other := read(hr, "year=2025"); len(other.Overdue) != 0 || other.Actions != 0 {
		t.Errorf("2025: %+v", other)
	}
	csv := string(h.must(http.StatusOK, analyst, "GET", "/v1/reports/development?year=2026&format=csv", nil).body)
	if lines := strings.Count(csv, "\n"); lines != 1+2+2 || !strings.Contains(csv, "OVERDUE_ACTION") || !strings.Contains(csv, "COMPETENCY_GAP") {
		t.Errorf("CSV:\n%s", csv)
	}
	h.must(http.StatusOK, hr, "GET", "/v1/reports/development?year=2026&format=xlsx", nil)

	for _, c := range []struct {
		who    caller
		q      string
		status int
	}{
		{leader, "year=2026", 403},
		{leader, "year=2026&unit=BAPPEDA", 403},
		{empE, "year=2026", 403},
		{clerk, "year=2026", 403},
		{outX, "year=2026&unit=DINKES", 403},
		{analyst, "year=2026&unit=NOPE", 404},
		{analyst, "", 400},
		{analyst, "year=1999", 400},
		{analyst, "year=2026-S1", 400},
		{analyst, "year=" + url.QueryEscape("20\x0026"), 400},
		{analyst, "year=2026&unit=" + strings.Repeat("U", 5000), 400},
		{analyst, "year=2026&unit=" + url.QueryEscape("DINKES\n"), 404}, // no such unit
		{analyst, "year=2026&format=pdf", 400},
	} {
		if r := h.request(&c.who, "GET", "/v1/reports/development?"+c.q, nil); r.status != c.status {
			t.Errorf("%s %q: %d, want %d: %s", c.who.sub, c.q, r.status, c.status, r.body)
		}
	}
}
