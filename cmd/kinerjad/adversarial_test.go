package main

import (
	"strings"
	"testing"

	"github.com/kinerja-ledger/kinerja/adapters/httpapi"
)

// With the PostgreSQL store and read models, no read answers 5xx to an
// adversarial ID in its path or value in its query: control characters
// (PostgreSQL refuses a NUL anywhere in a parameter), invalid UTF-8,
// overlong values, someone else's IDs.
func TestAdversarialReadsPostgres(t *testing.T) {
	s := startServer(t, t.TempDir(), "--store", "postgres", "--postgres-url", postgresURL(t), "--migrate")
	id, _, _ := established(t, s)
	values := []string{"%00", "%FF", "%01x", "a%20b", "%E2%80%AE", strings.Repeat("a", 300), "..", "%27%3B--", nipE + "-2026"}
	paths := []string{"/v1/skps/X", "/v1/skps/X/events", "/v1/skps/X/score-history", "/v1/skps/X/evaluations/X", "/v1/employees/X",
		"/v1/employees/X/timeline", "/v1/employees/X/score-history", "/v1/units/X",
		"/v1/skps?nip=X", "/v1/skps?unit=X", "/v1/skps?status=X", "/v1/skps?cursor=X", "/v1/skps?year=X",
		"/v1/skps/" + id + "?as_of=X", "/v1/skps/" + id + "?revision=X", "/v1/skps/" + id + "/events?cursor=X",
		"/v1/audit?stream=X", "/v1/audit?actor=X", "/v1/audit?type=X", "/v1/audit?after=X", "/v1/audit/proof?seq=X",
		"/v1/reports/progress?unit=X", "/v1/reports/distribution?unit=X&period=2026", "/v1/reports/objections?unit=X",
		"/v1/objections?unit=X", "/v1/objections?status=X", "/v1/objections?skp_id=X", "/v1/evaluations?unit=X&period=X",
		"/v1/employees/" + nipE + "/timeline?before=X"}
	for _, p := range paths {
		for _, v := range values {
			path := strings.ReplaceAll(p, "X", v)
			for _, who := range []struct {
				sub   string
				roles []string
			}{{"auditor-1", auditor}, {"hr-admin", hrAdmin}, {nipA, nil}} {
				if a := s.call(who.sub, who.roles, "GET", path, nil); a.status >= 500 {
					t.Errorf("GET %s as %s = %d %s", path, who.sub, a.status, a.body)
				}
			}
		}
	}
}

// The same for writes: adversarial IDs in the path, and text PostgreSQL
// cannot hold in the body, are 4xx and write nothing.
func TestAdversarialWritesPostgres(t *testing.T) {
	s := startServer(t, t.TempDir(), "--store", "postgres", "--postgres-url", postgresURL(t), "--migrate")
	id, rhkE, _ := established(t, s)
	var before struct {
		Revision uint64 `json:"revision"`
	}
	s.must(200, nipA, nil, "GET", "/v1/skps/"+id, nil, &before)
	values := []string{"%00", "%FF", "%01x", "a%20b", strings.Repeat("a", 300), "%27%3B--"}
	writes := []struct {
		method, path string
		body         any
	}{
		{"POST", "/v1/skps/X/feedback", httpapi.FeedbackBody{Text: "Halo"}},
		{"POST", "/v1/skps/X/realisations", httpapi.RealisationBody{Period: "2026-Q1", IndicatorID: "X", Value: 1}},
		{"PUT", "/v1/skps/X/evaluations/X", httpapi.RateBody{WorkResult: "SESUAI_EKSPEKTASI", Behaviour: "SESUAI_EKSPEKTASI", Rationale: "x"}},
		{"POST", "/v1/skps/X/evaluations/2026/objection", httpapi.ObjectionBody{Reasons: "x"}},
		{"PUT", "/v1/units/X/head", map[string]string{"head_nip": nipA, "effective_from": "2026-01-01"}},
		{"PUT", "/v1/units/X/performance/2026", map[string]string{"predikat": "BAIK"}},
		{"POST", "/v1/units/X/distribution/2026/justifications", map[string]any{"counts": map[string]int{"BAIK": 1}, "justification": "x"}},
		{"PUT", "/v1/employees/X/reporting-line", map[string]string{"appraiser_nip": nipA, "appraiser_superior_nip": nipS, "effective_from": "2026-01-01"}},
	}
	for _, w := range writes {
		for _, v := range values {
			path := strings.ReplaceAll(w.path, "X", v)
			if a := s.call("hr-admin", hrAdmin, w.method, path, w.body); a.status >= 500 {
				t.Errorf("%s %s = %d %s", w.method, path, a.status, a.body)
			}
		}
	}
	// Escapes as a client sends them, and a raw byte that is not UTF-8.
	for _, text := range []string{`a\u0000b`, `\u001b[2J`, `a\ud800`, "a\xffb"} {
		body := []byte(`{"about":{"rhk_id":"` + rhkE + `"},"text":"` + text + `"}`)
		if a := s.call(nipA, nil, "POST", "/v1/skps/"+id+"/feedback", body); a.status != 422 {
			t.Errorf("feedback %q = %d %s, want 422", text, a.status, a.body)
		}
	}
	var after struct {
		Revision uint64 `json:"revision"`
	}
	s.must(200, nipA, nil, "GET", "/v1/skps/"+id, nil, &after)
	if after.Revision != before.Revision {
		t.Errorf("the refused writes appended to %s: revision %d → %d", id, before.Revision, after.Revision)
	}
	if a := s.call("", nil, "GET", "/readyz", nil); a.status != 200 {
		t.Errorf("/readyz = %d %s after the refused writes", a.status, a.body)
	}
}
