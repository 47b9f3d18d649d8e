package httpapi

import (
	"net/http"
	"testing"
	"time"

	"github.com/kinerja-ledger/kinerja/domain/skp"
)

// An official without a NIP acts through the API under a token whose
// subject is "official:{id}" (issue 11 follow-up): the mayor, S's appraiser
// and appraiser's superior, establishes S's SKP, rates it once the year has
// ended and issues it. Another official, or a NIP that is no party, does not see it (404).
func TestOfficialActsThroughTheAPI(t *testing.T) {
	h := newHarness(t)
	h.cast()
	var o OfficialResponse
	h.must(http.StatusCreated, hr, "POST", "/v1/officials", OfficialBody{ID: "WALIKOTA", Kind: "MAYOR", Title: "Wali Kota"}).decode(t, &o)
	h.must(http.StatusCreated, hr, "POST", "/v1/officials", OfficialBody{ID: "GUBERNUR", Kind: "GOVERNOR", Title: "Gubernur"})
	if o.Identity != "official:WALIKOTA" {
		t.Fatalf("identity = %q", o.Identity)
	}
	mayor, governor := caller{o.Identity, nil}, caller{"official:GUBERNUR", nil}
	h.must(http.StatusOK, hr, "PUT", "/v1/employees/"+nipS+"/reporting-line",
		map[string]string{"appraiser_nip": o.Identity, "appraiser_superior_nip": o.Identity, "effective_from": "2026-01-01", "paper_ref": "SK 800/2/2026"})

	id := skpView(t, h.must(http.StatusCreated, supS, "POST", "/v1/skps", DraftBody{NIP: nipS, Year: 2026, Approach: "KUANTITATIF"})).ID
	var c Created
	h.must(http.StatusCreated, supS, "POST", "/v1/skps/"+id+"/rhk", RHKBody{Text: "Meningkatnya kinerja pemerintahan kota", Kind: "UTAMA", PKRef: "PK-PEMKOT-2026-01"}).decode(t, &c)
	h.must(http.StatusCreated, supS, "POST", "/v1/skps/"+id+"/rhk/"+c.RHKID+"/indicators",
		IndicatorBody{Aspect: "KUANTITAS", Text: "Nilai SAKIP", Target: TargetBody{Value: 80, Unit: "nilai"}})
	h.must(http.StatusOK, supS, "POST", "/v1/skps/"+id+"/submit", nil)
	h.refused(http.StatusNotFound, "not_found", &governor, "POST", "/v1/skps/"+id+"/establish", nil)
	if v := skpView(t, h.must(http.StatusOK, mayor, "POST", "/v1/skps/"+id+"/establish", nil)); v.Status != skp.StatusEstablished {
		t.Fatalf("established by the mayor: %s", v.Status)
	}

	rate := RateBody{WorkResult: "SESUAI_EKSPEKTASI", Behaviour: "SESUAI_EKSPEKTASI", Rationale: "Target kota tercapai"}
	h.clock.Set(time.Date(2027, 1, 8, 10, 0, 0, 0, time.UTC))
	h.refused(http.StatusNotFound, "not_found", &governor, "PUT", "/v1/skps/"+id+"/evaluations/2026", rate)
	h.refused(http.StatusNotFound, "not_found", &apprA, "PUT", "/v1/skps/"+id+"/evaluations/2026", rate)
	h.must(http.StatusOK, mayor, "PUT", "/v1/skps/"+id+"/evaluations/2026", rate)
	var ev EvaluationResponse
	h.must(http.StatusOK, mayor, "POST", "/v1/skps/"+id+"/evaluations/2026/issue", nil).decode(t, &ev)
	if ev.Status != skp.EvalIssued || ev.AppraiserNIP != o.Identity {
		t.Fatalf("issued by the mayor: %+v", ev)
	}
}
