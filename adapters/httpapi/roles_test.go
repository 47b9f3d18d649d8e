package httpapi

import (
	"net/http"
	"testing"
	"time"
)

// TestRolesRefused checks that every role is refused where it has no
// right: 403 where the caller may see the resource, 404 where it may not
// even know it exists.
func TestRolesRefused(t *testing.T) {
	h := newHarness(t)
	h.cast()
	_, rhkA := h.establishedA()
	id, _, ind := h.establishedE(rhkA)
	skpURL := "/v1/skps/" + id
	rate := RateBody{WorkResult: "DI_ATAS_EKSPEKTASI", Behaviour: "DI_ATAS_EKSPEKTASI", Rationale: "Sangat baik"}

	// Before any objection.
	for _, tc := range []struct {
		name   string
		who    caller
		method string
		path   string
		body   any
		status int
	}{
		{"employee rates themself", empE, "PUT", skpURL + "/evaluations/2026-Q1", rate, 403},
		{"HR_ADMIN rates", hr, "PUT", skpURL + "/evaluations/2026-Q1", rate, 403},
		{"HR_ADMIN rates the appraiser", hr, "PUT", "/v1/skps/" + nipA + "-2026/evaluations/2026", rate, 403},
		{"auditor rates", aud, "PUT", skpURL + "/evaluations/2026-Q1", rate, 403},
		{"peer rates", peerP, "PUT", skpURL + "/evaluations/2026-Q1", rate, 404},
		{"superior rates (not the appraiser)", supS, "PUT", skpURL + "/evaluations/2026-Q1", rate, 403},
		{"auditor writes a realisation", aud, "POST", skpURL + "/realisations", RealisationBody{Period: "2026-Q1", IndicatorID: ind, Value: 1}, 403},
		{"auditor registers a unit", aud, "POST", "/v1/units", CreateUnitBody{ID: "AUD", Name: "Audit"}, 403},
		{"auditor assigns a reporting line", aud, "PUT", "/v1/employees/" + nipE + "/reporting-line",
			ReportingLineBody{AppraiserNIP: nipA, AppraiserSuperiorNIP: nipS, EffectiveFrom: mustDate("2026-03-01")}, 403},
		{"analyst writes", analyst, "POST", skpURL + "/feedback", FeedbackBody{Text: "x"}, 403},
		{"appraiser opens an amendment (allowed; sets up the next row)", apprA, "POST", skpURL + "/amendment", ActionBody{common{Reason: "x"}}, 200},
		{"appraiser adds the employee's RHK", apprA, "POST", skpURL + "/rhk", RHKBody{Text: "x", Kind: "TAMBAHAN"}, 403},
		{"appraiser signs the amended plan for the employee", apprA, "POST", skpURL + "/plan-acknowledgement", nil, 403},
		{"appraiser establishes before the employee signed", apprA, "POST", skpURL + "/establish", nil, 409},
		{"employee registers an employee", empE, "POST", "/v1/employees",
			CreateEmployeeBody{NIP: "199505052020121005", Name: "Baru", UnitID: "DINKES", Position: PositionBody{Kind: "PELAKSANA", Title: "x"}}, 403},
		{"employee drafts another's SKP", empE, "POST", "/v1/skps", DraftBody{NIP: nipP, Year: 2026, Approach: "KUANTITATIF"}, 403},
		{"stranger reads the SKP", outX, "GET", skpURL, nil, 404},
		{"stranger reads its events", outX, "GET", skpURL + "/events", nil, 404},
		{"stranger reads its score history", outX, "GET", skpURL + "/score-history", nil, 404},
		{"stranger reads an evaluation", outX, "GET", skpURL + "/evaluations/2026-Q1", nil, 404},
		{"stranger reads the employee", outX, "GET", "/v1/employees/" + nipE, nil, 404},
		{"stranger writes feedback", outX, "POST", skpURL + "/feedback", FeedbackBody{Text: "x"}, 404},
		{"peer reads the SKP", peerP, "GET", skpURL, nil, 404},
		{"analyst reads the events", analyst, "GET", skpURL + "/events", nil, 403},
		{"employee reads the audit trail", empE, "GET", "/v1/audit", nil, 403},
		{"analyst verifies the trail", analyst, "POST", "/v1/audit/verify", nil, 403},
		{"employee reads a report", empE, "GET", "/v1/reports/progress?unit=PEMKOT", nil, 403},
		{"clerk reads a report", clerk, "GET", "/v1/reports/distribution?unit=PEMKOT&period=2026", nil, 403},
		{"employee reads the objection register", empE, "GET", "/v1/objections", nil, 403},
		{"appraiser reads the employee's timeline", apprA, "GET", "/v1/employees/" + nipE + "/timeline", nil, 403},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h.t = t
			r := h.request(&tc.who, tc.method, tc.path, tc.body)
			if r.status != tc.status {
				t.Fatalf("%s %s as %s = %d %s, want %d", tc.method, tc.path, tc.who.sub, r.status, r.body, tc.status)
			}
			if tc.status >= 400 {
				if p := r.problem(t); (tc.status == 403) != (p.Code == "forbidden") {
					t.Errorf("problem = %+v", p)
				}
			}
		})
	}
	h.t = t

	// Re-establish after the amendment above, then issue the annual
	// evaluation and object.
	h.must(http.StatusOK, empE, "POST", skpURL+"/submit", nil)
	h.must(http.StatusOK, apprA, "POST", skpURL+"/establish", nil)
	h.issuedAnnual(id)
	h.clock.Advance(2 * 24 * time.Hour)
	// The appraiser cannot object on the employee's behalf; a clerk
	// backfills a paper filing with its date and the paper's reference.
	h.refused(403, "forbidden", &apprA, "POST", skpURL+"/evaluations/2026/objection", ObjectionBody{Reasons: "x"})
	filed := h.clock.Now().Add(-24 * time.Hour)
	ref := "Agenda keberatan 17/2026"
	var ob ObjectionResponse
	h.must(http.StatusCreated, clerk, "POST", skpURL+"/evaluations/2026/objection",
		ObjectionBody{common: common{PaperRef: &ref}, Reasons: "Diajukan tertulis", FiledAt: &filed}).decode(t, &ob)
	if ob.RecordedByClerk != clerk.sub || !ob.FiledAt.Equal(filed.UTC().Truncate(time.Microsecond)) || ob.Backfill == nil || ob.Backfill.PaperRef != ref {
		t.Errorf("paper objection = %+v", ob)
	}
	for _, who := range []caller{apprA, clerk, hr, empE} {
		h.refused(403, "forbidden", &who, "POST", skpURL+"/evaluations/2026/objection/explanation-requests", ExplanationRequestBody{From: "EMPLOYEE"})
	}
	h.must(http.StatusCreated, supS, "POST", skpURL+"/evaluations/2026/objection/explanation-requests", ExplanationRequestBody{From: "APPRAISER"})
	h.must(http.StatusCreated, supS, "POST", skpURL+"/evaluations/2026/objection/explanation-requests", ExplanationRequestBody{From: "EMPLOYEE"})
	decision := DecisionBody{Outcome: "UPHELD", DecisionText: "Tetap"}
	// The appraiser decides an objection on their own rating: refused.
	h.refused(403, "forbidden", &apprA, "POST", skpURL+"/evaluations/2026/objection/decision", decision)
	h.refused(403, "forbidden", &clerk, "POST", skpURL+"/evaluations/2026/objection/decision", decision)
	h.refused(403, "forbidden", &empE, "POST", skpURL+"/evaluations/2026/objection/decision", decision)
	h.refused(404, "not_found", &outX, "POST", skpURL+"/evaluations/2026/objection/decision", decision)
	// The superior may, once both were asked.
	h.must(http.StatusOK, supS, "POST", skpURL+"/evaluations/2026/objection/decision", decision)
	// The decision is final.
	h.refused(409, "invalid_state", &supS, "POST", skpURL+"/evaluations/2026/objection/decision", decision)
	h.refused(409, "invalid_state", &empE, "POST", skpURL+"/evaluations/2026/objection/withdrawal", nil)
}
