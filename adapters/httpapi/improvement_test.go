package httpapi

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"

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
	if len(rep.Units) != 1 || rep.Units[0].UnitID != "DINKES" || rep.Units[0].PlansDue != 1 || rep.Units[0].PlansOpen != 0 || rep.Units[0].Plans[0].SKPID != id {
		t.Fatalf("before the plan: %+v", rep)
	}
	h.refused(http.StatusForbidden, "forbidden", &empE, "GET", "/v1/reports/improvement-plans", nil)
	h.must(http.StatusCreated, apprA, "POST", "/v1/skps/"+id+"/evaluations/2026-Q1/improvement-plan", ImprovementPlanBody{Goals: "g", Actions: "a"})
	if rep = report(); len(rep.Units) != 1 || rep.Units[0].PlansDue != 0 || rep.Units[0].PlansOpen != 1 || rep.Units[0].Plans[0].FollowUpFrom == nil {
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

// ImprovementPlanReportPage decodes the report.
type ImprovementPlanReportPage = app.ImprovementPlanReport
