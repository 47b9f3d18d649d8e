package main

import (
	"strings"
	"testing"
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
