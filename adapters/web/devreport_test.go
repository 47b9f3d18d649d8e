package web

import (
	"net/http"
	"strings"
	"testing"

	"github.com/kinerja-ledger/kinerja/domain/berakhlak"
	"github.com/kinerja-ledger/kinerja/domain/rating"
	"github.com/kinerja-ledger/kinerja/domain/skp"
)

// The development report page (/pengembangan-unit): an overdue action with
// its days overdue, the most frequent gaps with their share, both
// languages, the export, the navigation offered to its readers only, and
// bad parameters refused.
func TestDevelopmentReportPage(t *testing.T) {
	h := seeded(t)
	appr := req(caller{nipA, nil})
	for _, c := range []string{"Analisis data", " analisis  DATA", "Menulis <laporan>"} {
		if _, _, err := h.skps.IdentifyGap(h.ctx, appr, skp.IdentifyGap{SKPID: h.ag.skpE, Competency: c}); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := h.skps.PlanDevelopment(h.ctx, appr, skp.PlanDevelopment{SKPID: h.ag.skpE, Kind: "TRAINING", Title: "Pelatihan <b>analisis</b>", DueDate: "2026-12-31"}); err != nil {
		t.Fatal(err)
	}
	today := h.clock.Now().In(start.Location())
	p := h.must200(analyst, "/pengembangan-unit?year=2026")
	for _, want := range []string{"Laporan pengembangan kompetensi", "Pelatihan &lt;b&gt;analisis&lt;/b&gt;", "Menulis &lt;laporan&gt;", "66,7%", "2026-12-31",
		`id="fig-overdue">1<`, `href="/pengembangan-unit/ekspor?format=csv&amp;year=2026"`, `href="/pengembangan-unit"`, today.Format("2006-01-02")} {
		if !strings.Contains(p.body, want) {
			t.Errorf("/pengembangan-unit lacks %q", want)
		}
	}
	if en := h.must200(analyst, "/pengembangan-unit?year=2026&lang=en"); !strings.Contains(en.body, "Most frequent competency gaps") {
		t.Error("no English")
	}
	if csv := h.must200(hrAdmin, "/pengembangan-unit/ekspor?year=2026&format=csv"); !strings.Contains(csv.body, "OVERDUE_ACTION") || !strings.Contains(csv.body, "COMPETENCY_GAP") {
		t.Errorf("the export:\n%s", csv.body)
	}
	if e := h.must200(auditor, "/pengembangan-unit?year=2025"); !strings.Contains(e.body, `id="no-overdue"`) {
		t.Error("an empty year does not say so")
	}
	if emp := h.must200(empE, "/"); strings.Contains(emp.body, `href="/pengembangan-unit"`) {
		t.Error("the navigation offers the report to an employee")
	}
	for _, c := range []struct {
		who    caller
		path   string
		status int
	}{
		{empE, "/pengembangan-unit?year=2026", http.StatusForbidden},
		{clerk, "/pengembangan-unit?year=2026", http.StatusForbidden},
		{analyst, "/pengembangan-unit?year=abc", http.StatusBadRequest},
		{analyst, "/pengembangan-unit?year=1999", http.StatusBadRequest},
		{analyst, "/pengembangan-unit?year=2026&unit=NOPE", http.StatusNotFound},
		{analyst, "/pengembangan-unit?year=2026&unit=%00%1b", http.StatusNotFound},
		{analyst, "/pengembangan-unit/ekspor?year=2026&format=pdf", http.StatusBadRequest},
	} {
		if r := h.get(&c.who, c.path); r.status != c.status {
			t.Errorf("%s as %s = %d, want %d", c.path, c.who.sub, r.status, c.status)
		}
	}
	if strings.Contains(h.logs.String(), `"level":"ERROR"`) {
		t.Errorf("errors were logged:\n%s", h.logs.String())
	}
}

// closedRound opens a 360° round of SKP id for 2026-Q4 with the employee
// and three peers, has all four answer, and closes it: the peers' group is
// shown as an aggregate.
func closedRound(t *testing.T, h *harness, id string) {
	t.Helper()
	apprA := caller{nipA, nil}
	round, _, err := h.skps.OpenFeedbackRound(h.ctx, req(apprA), skp.OpenFeedbackRound{SKPID: id, Period: "2026-Q4", Invitees: []skp.RoundInvitee{
		{NIP: nipE, Group: skp.GroupSelf}, {NIP: nipP, Group: skp.GroupPeer}, {NIP: nipX, Group: skp.GroupPeer}, {NIP: nipQ, Group: skp.GroupPeer}}})
	if err != nil {
		t.Fatal(err)
	}
	for i, giver := range []string{nipE, nipP, nipX, nipQ} {
		var answers []skp.ValueAnswer
		for j, v := range berakhlak.Values() {
			r := rating.MeetsExpectation
			if (i+j)%3 == 0 {
				r = rating.AboveExpectation
			}
			answers = append(answers, skp.ValueAnswer{Value: v, Rating: r, Comment: "Konsisten dan rapi"})
		}
		if _, err := h.skps.AnswerFeedbackRound(h.ctx, req(caller{giver, nil}), skp.AnswerFeedbackRound{SKPID: id, RoundID: round, Answers: answers}); err != nil {
			t.Fatalf("answer of %s: %v", giver, err)
		}
	}
	if _, err := h.skps.CloseFeedbackRound(h.ctx, req(apprA), id, round); err != nil {
		t.Fatal(err)
	}
}

// A closed round with enough peers renders its aggregates (the values
// table once failed with a template error: a 500 for every reader).
func TestFeedback360AggregatePage(t *testing.T) {
	h := seeded(t)
	closedRound(t, h, h.ag.skpE)
	p := h.must200(empE, "/skp/"+h.ag.skpE+"/umpan-balik-360")
	for _, want := range []string{`<table class="values" data-group="PEER">`, `data-group="overall"`, "2,33"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("the 360° page lacks %q", want)
		}
	}
	if strings.Contains(p.body, "Dewi Lestari") || strings.Contains(p.body, nipP) {
		t.Error("the aggregate names a peer")
	}
}

// The improvement plans beside the development report (issue 14): without
// the process manager the section says it is not available; with it, a
// final BUTUH_PERBAIKAN quarter of A (DINKES) shows as a plan not yet
// opened in the agency's and in PEMKOT's subtree (not in BAPPEDA's), with
// both exports (the NIP as a text cell in the CSV); a bad page cursor is
// refused, and the employee may not export.
func TestDevelopmentReportImprovementPlans(t *testing.T) {
	h := seeded(t)
	poorQuarterA(h)
	if p := h.must200(analyst, "/pengembangan-unit?year=2026"); !strings.Contains(p.body, `id="plans-unavailable"`) {
		t.Error("without the process manager the section does not say so")
	}
	withInbox(h)
	p := h.must200(analyst, "/pengembangan-unit?year=2026&unit=PEMKOT")
	for _, want := range []string{"Rencana perbaikan kinerja", `id="fig-plans-due">1<`, `href="/skp/` + h.ag.skpA + `"`, "2026-Q1", "Rencana belum dibuat",
		`href="/pengembangan-unit/rencana-perbaikan/ekspor?format=csv&amp;unit=PEMKOT"`} {
		if !strings.Contains(p.body, want) {
			t.Errorf("the improvement plans lack %q", want)
		}
	}
	if b := h.must200(analyst, "/pengembangan-unit?year=2026&unit=BAPPEDA"); !strings.Contains(b.body, `id="no-plans"`) || !strings.Contains(b.body, `id="fig-plans-due">0<`) {
		t.Error("BAPPEDA shows A's plan")
	}
	if en := h.must200(analyst, "/pengembangan-unit?year=2026&lang=en"); !strings.Contains(en.body, "Improvement plans") || !strings.Contains(en.body, "Plan not yet opened") {
		t.Error("no English")
	}
	csv := h.must200(hrAdmin, "/pengembangan-unit/rencana-perbaikan/ekspor?format=csv&unit=PEMKOT")
	if !strings.HasPrefix(csv.body, "\ufeff") || !strings.Contains(csv.body, `"=""`+nipA+`"""`) || !strings.Contains(csv.body, "Rencana perbaikan belum dibuat") {
		t.Errorf("the CSV export:\n%s", csv.body)
	}
	if x := h.must200(hrAdmin, "/pengembangan-unit/rencana-perbaikan/ekspor?format=xlsx"); len(x.body) < 100 {
		t.Error("no workbook")
	}
	for _, c := range []struct {
		who    caller
		path   string
		status int
	}{
		{empE, "/pengembangan-unit/rencana-perbaikan/ekspor?format=csv", http.StatusForbidden},
		{analyst, "/pengembangan-unit/rencana-perbaikan/ekspor?format=pdf", http.StatusBadRequest},
		{analyst, "/pengembangan-unit/rencana-perbaikan/ekspor?format=csv&unit=NOPE", http.StatusNotFound},
		{analyst, "/pengembangan-unit?year=2026&plan_at=bm9wZQ", http.StatusBadRequest},
	} {
		if r := h.get(&c.who, c.path); r.status != c.status {
			t.Errorf("%s as %s = %d, want %d", c.path, c.who.sub, r.status, c.status)
		}
	}
}
