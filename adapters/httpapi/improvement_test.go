package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/kinerja-ledger/kinerja/adapters/app"
)

// POST …/improvement-plan and …/result (issue 14): refused before
// finality, for a good predikat, to the employee and to outsiders, with
// old or far follow-up dates; once per Idempotency-Key; a second plan and
// a result before the plan are 409; the plan shows in the evaluation.
func TestImprovementPlanRoutes(t *testing.T) {
	h := newHarness(t)
	h.cast()
	_, rhkA := h.establishedA()
	id, _, _ := h.establishedE(rhkA)
	base := "/v1/skps/" + id + "/evaluations/2026-Q1"
	plan := ImprovementPlanBody{Goals: "Laporan tepat waktu", Actions: "Pendampingan mingguan"}
	result := ImprovementResultBody{Result: "NOT_IMPROVED", Note: "Masih terlambat"}

	h.refused(http.StatusNotFound, "not_found", &apprA, "POST", base+"/improvement-plan", plan) // not rated
	h.refused(http.StatusConflict, "invalid_state", &apprA, "POST", base+"/improvement-plan/result", result)
	poorQuarter(h)
	h.refused(http.StatusConflict, "invalid_state", &apprA, "POST", base+"/improvement-plan/result", result)
	h.refused(http.StatusForbidden, "forbidden", &empE, "POST", base+"/improvement-plan", plan)
	h.refused(http.StatusNotFound, "not_found", &outX, "POST", base+"/improvement-plan", plan)
	h.refused(http.StatusNotFound, "not_found", &apprA, "POST", "/v1/skps/"+nipX+"-2026/evaluations/2026-Q1/improvement-plan", plan)
	h.refused(http.StatusBadRequest, "invalid_request", &apprA, "POST", base+"/improvement-plan", `{"goals":"g","actions":"a","follow_up_on":"2026-02-30"}`)
	for field, body := range map[string]string{
		"follow_up_on": `{"goals":"g","actions":"a","follow_up_on":"1999-01-01"}`,
		"goals":        `{"goals":" ","actions":"a"}`,
		"actions":      `{"goals":"g","actions":"a\u0007b"}`,
	} {
		p := h.refused(http.StatusUnprocessableEntity, "validation_failed", &apprA, "POST", base+"/improvement-plan", body)
		if len(p.Errors) == 0 || p.Errors[0].Field != field {
			t.Errorf("problem = %+v, want the field %s", p, field)
		}
	}
	before := h.streamLen("skp-" + id)
	first := h.must(http.StatusCreated, apprA, "POST", base+"/improvement-plan", plan, "Idempotency-Key", "ip-1")
	again := h.must(http.StatusCreated, apprA, "POST", base+"/improvement-plan", plan, "Idempotency-Key", "ip-1")
	if string(first.body) != string(again.body) || h.streamLen("skp-"+id) != before+1 {
		t.Errorf("a repeat with the same key appended again or answered differently: %s / %s", first.body, again.body)
	}
	h.refused(http.StatusConflict, "invalid_state", &apprA, "POST", base+"/improvement-plan", plan, "Idempotency-Key", "ip-2")
	var ev EvaluationResponse
	if err := json.Unmarshal(first.body, &ev); err != nil || ev.ImprovementPlan == nil || ev.ImprovementPlan.FollowUpOn.String() != "2026-10-02" || ev.ImprovementPlan.Predikat != "BUTUH_PERBAIKAN" {
		t.Fatalf("the evaluation's plan: %s (%v)", first.body, err)
	}
	h.refused(http.StatusUnprocessableEntity, "validation_failed", &apprA, "POST", base+"/improvement-plan/result", `{"result":"BETTER","note":"x"}`)
	h.must(http.StatusOK, hr, "POST", base+"/improvement-plan/result", result)
	h.refused(http.StatusConflict, "invalid_state", &apprA, "POST", base+"/improvement-plan/result", result)
}

// GET /v1/reports/improvement-plans: the plan due once the poor quarter is
// final, then open once opened, then gone with its result; for the
// report roles only; 404 without the process manager.
func TestImprovementPlanReport(t *testing.T) {
	h := newInboxHarness(t)
	h.cast()
	_, rhkA := h.establishedA()
	id, _, _ := h.establishedE(rhkA)
	poorQuarter(h.harness)
	report := func() ImprovementPlanReportPage {
		h.t.Helper()
		h.inbox(apprA, "") // catch the process manager up
		var rep ImprovementPlanReportPage
		h.must(http.StatusOK, hr, "GET", "/v1/reports/improvement-plans?unit=DINKES", nil).decode(t, &rep)
		return rep
	}
	if page := h.inbox(apprA, ""); !slices.Contains(kindsOf(page), "OPEN_IMPROVEMENT_PLAN 2026-Q1") {
		t.Errorf("the appraiser's inbox: %v", kindsOf(page))
	}
	rep := report()
	if len(rep.Units) != 1 || rep.Units[0].UnitID != "DINKES" || rep.Units[0].PlansDue != 1 || rep.Units[0].PlansOpen != 0 || rep.Plans[0].SKPID != id {
		t.Fatalf("before the plan: %+v", rep)
	}
	h.refused(http.StatusForbidden, "forbidden", &empE, "GET", "/v1/reports/improvement-plans", nil)
	h.must(http.StatusCreated, apprA, "POST", "/v1/skps/"+id+"/evaluations/2026-Q1/improvement-plan", ImprovementPlanBody{Goals: "g", Actions: "a"})
	if rep = report(); len(rep.Units) != 1 || rep.Units[0].PlansDue != 0 || rep.Units[0].PlansOpen != 1 || rep.Plans[0].FollowUpFrom == nil {
		t.Fatalf("after opening: %+v", rep)
	}
	h.must(http.StatusOK, apprA, "POST", "/v1/skps/"+id+"/evaluations/2026-Q1/improvement-plan/result", ImprovementResultBody{Result: "IMPROVED", Note: "ok"})
	if rep = report(); len(rep.Units) != 0 {
		t.Fatalf("after the result: %+v", rep)
	}
	plain := newHarness(t)
	plain.cast()
	plain.refused(http.StatusNotFound, "not_found", &hr, "GET", "/v1/reports/improvement-plans", nil)
}

// GET /v1/reports/improvement-plans over a subtree, paged and exported:
// ?unit=PEMKOT counts DINKES's plans (the sub-unit's own row), BAPPEDA
// none, an unknown unit is 404; the JSON pages the plans with a sealed
// cursor (another unit's, an edited or a made-up cursor is 400); the CSV
// (UTF-8 BOM, ";", Indonesian headers, ?sep=, ?codes=1) and the XLSX
// carry every plan with the NIP as text.
func TestImprovementPlanReportSubtreeExport(t *testing.T) {
	h := newInboxHarness(t)
	h.cast()
	_, rhkA := h.establishedA()
	id, _, _ := h.establishedE(rhkA)
	poorQuarter(h.harness)
	h.clock.Set(time.Date(2026, 7, 2, 10, 0, 0, 0, time.UTC))
	h.must(http.StatusOK, apprA, "PUT", "/v1/skps/"+id+"/evaluations/2026-Q2",
		RateBody{WorkResult: "DI_BAWAH_EKSPEKTASI", Behaviour: "SESUAI_EKSPEKTASI", Rationale: "Target tidak tercapai lagi"})
	h.must(http.StatusOK, apprA, "POST", "/v1/skps/"+id+"/evaluations/2026-Q2/issue", nil)
	h.inbox(apprA, "")

	var all ImprovementPlanReportPage
	h.must(http.StatusOK, hr, "GET", "/v1/reports/improvement-plans?unit=PEMKOT", nil).decode(t, &all)
	if all.Unit != "PEMKOT" || len(all.Units) != 1 || all.Units[0].UnitID != "DINKES" || all.PlansDue != 2 || len(all.Plans) != 2 || all.NextCursor != "" {
		t.Fatalf("the subtree of PEMKOT: %+v", all)
	}
	var none ImprovementPlanReportPage
	h.must(http.StatusOK, hr, "GET", "/v1/reports/improvement-plans?unit=BAPPEDA", nil).decode(t, &none)
	if len(none.Plans) != 0 || len(none.Units) != 0 || none.PlansDue != 0 {
		t.Fatalf("BAPPEDA: %+v", none)
	}
	h.refused(http.StatusNotFound, "not_found", &hr, "GET", "/v1/reports/improvement-plans?unit=NOPE", nil)
	h.refused(http.StatusBadRequest, "invalid_request", &hr, "GET", "/v1/reports/improvement-plans?unit=A%07B", nil)
	h.refused(http.StatusBadRequest, "invalid_request", &hr, "GET", "/v1/reports/improvement-plans?unit="+strings.Repeat("x", 101), nil)
	h.refused(http.StatusBadRequest, "invalid_request", &hr, "GET", "/v1/reports/improvement-plans?limit=0", nil)
	h.refused(http.StatusBadRequest, "invalid_request", &hr, "GET", "/v1/reports/improvement-plans?format=pdf", nil)

	// Pages of one: the same plans in the same order, then no cursor.
	var got []app.ImprovementPlanRow
	next := ""
	for range 3 {
		var page ImprovementPlanReportPage
		h.must(http.StatusOK, hr, "GET", "/v1/reports/improvement-plans?unit=PEMKOT&limit=1&cursor="+next, nil).decode(t, &page)
		if page.PlansDue != 2 || len(page.Plans) > 1 {
			t.Fatalf("a page: %+v", page)
		}
		got = append(got, page.Plans...)
		if next = page.NextCursor; next == "" {
			break
		}
	}
	if len(got) != 2 || got[0].Period != all.Plans[0].Period || got[1].Period != all.Plans[1].Period || got[0].Period == got[1].Period {
		t.Fatalf("paged %+v, whole %+v", got, all.Plans)
	}
	var first ImprovementPlanReportPage
	h.must(http.StatusOK, hr, "GET", "/v1/reports/improvement-plans?unit=PEMKOT&limit=1", nil).decode(t, &first)
	for _, c := range []string{first.NextCursor + "x", "bm90IGEgY3Vyc29y", strings.Repeat("A", 1001)} {
		h.refused(http.StatusBadRequest, "invalid_request", &hr, "GET", "/v1/reports/improvement-plans?unit=PEMKOT&limit=1&cursor="+c, nil)
	}
	h.refused(http.StatusBadRequest, "invalid_request", &hr, "GET", "/v1/reports/improvement-plans?unit=DINKES&limit=1&cursor="+first.NextCursor, nil)

	csv := h.must(http.StatusOK, hr, "GET", "/v1/reports/improvement-plans?unit=PEMKOT&format=csv", nil)
	body := string(csv.body)
	if !strings.HasPrefix(body, "\ufeff") || !strings.Contains(body, ";") || !strings.Contains(body, "NIP") || strings.Count(body, ";\"=\"\""+nipE) != 2 ||
		!strings.Contains(body, "Rencana perbaikan belum dibuat") {
		t.Fatalf("CSV:\n%s", body)
	}
	comma := string(h.must(http.StatusOK, hr, "GET", "/v1/reports/improvement-plans?unit=PEMKOT&format=csv&sep=,&codes=1", nil).body)
	if !strings.Contains(comma, "unit_id,skp_id,nip,name,period,stage,appraiser_nip,follow_up_from,due,overdue") {
		t.Fatalf("CSV with codes and commas:\n%s", comma)
	}
	x := h.must(http.StatusOK, hr, "GET", "/v1/reports/improvement-plans?unit=PEMKOT&format=xlsx", nil)
	f, err := excelize.OpenReader(bytes.NewReader(x.body))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sheet := f.GetSheetName(0)
	if v, _ := f.GetCellValue(sheet, "C2"); v != nipE {
		t.Errorf("XLSX C2 = %q, want the NIP", v)
	}
	if typ, _ := f.GetCellType(sheet, "C2"); typ != excelize.CellTypeSharedString && typ != excelize.CellTypeInlineString {
		t.Errorf("the NIP is not text: %v", typ)
	}
	if panes, err := f.GetPanes(sheet); err != nil || !panes.Freeze {
		t.Errorf("the header is not frozen: %+v %v", panes, err)
	}
	h.refused(http.StatusForbidden, "forbidden", &empE, "GET", "/v1/reports/improvement-plans?unit=PEMKOT&format=csv", nil)
}
