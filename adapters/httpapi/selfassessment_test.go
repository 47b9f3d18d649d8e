package httpapi

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// POST /v1/skps/{id}/self-assessments: the employee's, validated field by
// field, refused to others, once per Idempotency-Key, shown in the SKP.
func TestSelfAssessmentRoute(t *testing.T) {
	h := newHarness(t)
	h.cast()
	_, rhkA := h.establishedA()
	id, rhk, _ := h.establishedE(rhkA)
	url := "/v1/skps/" + id + "/self-assessments"
	good := SelfAssessmentBody{Period: "2026-Q1", Text: "Target triwulan tercapai", RHKNotes: []RHKNoteBody{{RHKID: rhk, Note: "Dua posyandu baru"}}}

	h.refused(http.StatusForbidden, "forbidden", &apprA, "POST", url, good)
	h.refused(http.StatusNotFound, "not_found", &outX, "POST", url, good)
	h.refused(http.StatusBadRequest, "invalid_request", &empE, "POST", url, `{"period":"2026-Q1","text":"x","score":5}`)
	for field, body := range map[string]SelfAssessmentBody{
		"text":                {Period: "2026-Q1", Text: "  "},
		"period":              {Period: "2027", Text: "x"},
		"rhk_notes[0].rhk_id": {Period: "2026-Q1", Text: "x", RHKNotes: []RHKNoteBody{{RHKID: "bukan", Note: "y"}}},
	} {
		p := h.refused(http.StatusUnprocessableEntity, "validation_failed", &empE, "POST", url, body)
		if len(p.Errors) == 0 || p.Errors[0].Field != field {
			t.Errorf("problem = %+v, want the field %s", p, field)
		}
	}
	h.refused(http.StatusUnprocessableEntity, "validation_failed", &empE, "POST", url, `{"period":"2026-Q1","text":"a\u0000b"}`)
	before := h.streamLen("skp-" + id)
	first := h.must(http.StatusCreated, empE, "POST", url, good, "Idempotency-Key", "sa-1")
	again := h.must(http.StatusCreated, empE, "POST", url, good, "Idempotency-Key", "sa-1")
	if string(first.body) != string(again.body) || h.streamLen("skp-"+id) != before+1 {
		t.Errorf("a repeat with the same key appended again or answered differently: %s / %s", first.body, again.body)
	}
	v := skpView(t, h.must(http.StatusOK, apprA, "GET", "/v1/skps/"+id, nil))
	sa := v.SelfAssessment("2026-Q1")
	if sa == nil || sa.Text != good.Text || len(sa.RHKNotes) != 1 || sa.RHKNotes[0].RHKID != rhk {
		b, _ := json.Marshal(v.SelfAssessments)
		t.Errorf("the appraiser sees self-assessments %s", b)
	}
	if !strings.Contains(string(h.must(http.StatusOK, apprA, "GET", "/v1/skps/"+id, nil).body), `"self_assessments"`) {
		t.Error("the SKP's JSON has no self_assessments")
	}
}
