package httpapi

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kinerja-ledger/kinerja/adapters/app"
	"github.com/kinerja-ledger/kinerja/adapters/httpapi/authkey"
	"github.com/kinerja-ledger/kinerja/projections/skps"
)

// issuedAnnual rates and issues the annual evaluation of SKP id (as A).
func (h *harness) issuedAnnual(id string) {
	h.t.Helper()
	h.clock.Set(time.Date(2027, 1, 8, 10, 0, 0, 0, time.UTC))
	h.must(http.StatusOK, apprA, "PUT", "/v1/skps/"+id+"/evaluations/2026", RateBody{WorkResult: "SESUAI_EKSPEKTASI", Behaviour: "SESUAI_EKSPEKTASI", Rationale: "Baik"})
	h.must(http.StatusOK, apprA, "POST", "/v1/skps/"+id+"/evaluations/2026/issue", nil)
}

// TestErrorTable provokes every row of the contract's error table.
func TestErrorTable(t *testing.T) {
	h := newHarness(t)
	h.cast()
	_, rhkA := h.establishedA()
	id, _, ind := h.establishedE(rhkA)
	skpURL := "/v1/skps/" + id

	t.Run("400 invalid_request", func(t *testing.T) {
		h.t = t
		h.refused(400, "invalid_request", &hr, "POST", "/v1/units", `{"id": "X",`)
		if p := h.refused(400, "invalid_request", &hr, "POST", "/v1/units", `{"id":"X","name":"X","colour":"red"}`); p.Errors[0].Field != "colour" {
			t.Errorf("unknown field problem = %+v", p)
		}
		if p := h.refused(400, "invalid_request", &empE, "POST", "/v1/skps", `{"nip":"`+nipE+`","year":"2026","approach":"KUANTITATIF"}`); p.Errors[0].Field != "year" {
			t.Errorf("wrong type problem = %+v", p)
		}
		h.refused(400, "invalid_request", &hr, "POST", "/v1/units", `{"id":"X","name":"X"} {}`)
		h.refused(400, "invalid_request", &hr, "POST", "/v1/units", ``)
		h.refused(400, "invalid_request", &hr, "POST", "/v1/units", `[1,2]`)
		if p := h.refused(400, "invalid_request", &empE, "GET", skpURL+"?as_of=yesterday", nil); p.Errors[0].Field != "as_of" {
			t.Errorf("bad query problem = %+v", p)
		}
		h.refused(400, "invalid_request", &empE, "GET", skpURL+"?revision=-1", nil)
		h.refused(400, "invalid_request", &empE, "GET", skpURL+"?revision=1&as_of=2026-01-01T00:00:00Z", nil)
		h.refused(400, "invalid_request", &hr, "GET", "/v1/skps?limit=100000", nil)
		h.refused(400, "invalid_request", &empE, "POST", skpURL+"/realisations", RealisationBody{Period: "2026-Q1", IndicatorID: ind, Value: 1}, "If-Match", "abc")
		h.refused(400, "invalid_request", &empE, "POST", skpURL+"/realisations", RealisationBody{Period: "2026-Q1", IndicatorID: ind, Value: 1},
			"Idempotency-Key", strings.Repeat("k", 201))
		h.refused(400, "invalid_request", &analyst, "GET", "/v1/reports/progress?unit=PEMKOT&format=pdf", nil)
		h.refused(400, "invalid_request", &empE, "PUT", "/v1/employees/"+nipE+"/reporting-line", `{"effective_from":"31-01-2026"}`)
	})

	t.Run("401 unauthenticated", func(t *testing.T) {
		h.t = t
		h.refused(401, "unauthenticated", nil, "GET", skpURL, nil)
		r := h.request(nil, "GET", skpURL, nil, "Authorization", "Bearer not-a-jwt")
		if r.status != 401 || !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("bad token = %d %v", r.status, r.header)
		}
		expired, _ := h.key.Sign(authkey.Claims{Subject: nipE, IssuedAt: h.clock.Now().Add(-3 * time.Hour), TTL: time.Hour})
		if p := h.refused(401, "unauthenticated", nil, "GET", skpURL, nil, "Authorization", "Bearer "+expired); strings.Contains(p.Detail, "token is expired") {
			t.Errorf("the problem tells why the token failed: %q", p.Detail)
		}
		other, _ := authkey.LoadOrCreate(t.TempDir())
		forged, _ := other.Sign(authkey.Claims{Subject: nipE, IssuedAt: h.clock.Now()})
		h.refused(401, "unauthenticated", nil, "GET", skpURL, nil, "Authorization", "Bearer "+forged)
		h.refused(401, "unauthenticated", nil, "GET", skpURL, nil, "Authorization", "Basic dXNlcjpwYXNz")
	})

	t.Run("403 forbidden", func(t *testing.T) {
		h.t = t
		h.refused(403, "forbidden", &hr, "PUT", skpURL+"/evaluations/2026-Q1", RateBody{WorkResult: "SESUAI_EKSPEKTASI", Behaviour: "SESUAI_EKSPEKTASI", Rationale: "x"})
		h.refused(403, "forbidden", &empE, "POST", "/v1/units", CreateUnitBody{ID: "NEW", Name: "New"})
		h.refused(403, "forbidden", &empE, "GET", "/v1/audit", nil)
	})

	t.Run("404 not_found", func(t *testing.T) {
		h.t = t
		h.refused(404, "not_found", &outX, "GET", skpURL, nil)
		h.refused(404, "not_found", &hr, "GET", "/v1/skps/"+nipE+"-2031", nil)
		h.refused(404, "not_found", &hr, "GET", "/v1/units/NOPE", nil)
		h.refused(404, "not_found", &hr, "GET", "/v1/employees/123", nil)
		h.refused(404, "not_found", &hr, "GET", "/v1/nothing-here", nil)
		h.refused(404, "not_found", &empE, "GET", skpURL+"?revision=9999", nil)
		h.refused(404, "not_found", &empE, "GET", skpURL+"?as_of=2025-01-01T00:00:00%2B07:00", nil)
		h.refused(404, "not_found", &analyst, "GET", "/v1/reports/progress?unit=NOPE", nil)
	})

	t.Run("405 method_not_allowed", func(t *testing.T) {
		h.t = t
		h.refused(405, "method_not_allowed", &hr, "PATCH", "/v1/units", nil)
	})

	t.Run("409 conflict", func(t *testing.T) {
		h.t = t
		h.refused(409, "conflict", &hr, "POST", "/v1/units", CreateUnitBody{ID: "PEMKOT", Name: "Again"})
		h.refused(409, "conflict", &empE, "POST", "/v1/skps", DraftBody{NIP: nipE, Year: 2026, Approach: "KUANTITATIF"})
		h.refused(409, "conflict", &hr, "POST", "/v1/employees", CreateEmployeeBody{NIP: nipE, Name: "Again", UnitID: "DINKES", Position: PositionBody{Kind: "PELAKSANA", Title: "x"}})
	})

	t.Run("409 invalid_state", func(t *testing.T) {
		h.t = t
		h.refused(409, "invalid_state", &empE, "POST", skpURL+"/rhk", RHKBody{Text: "Late addition", Kind: "TAMBAHAN"})
		h.refused(409, "invalid_state", &apprA, "POST", skpURL+"/establish", nil)
	})

	t.Run("412 revision_mismatch", func(t *testing.T) {
		h.t = t
		before := h.streamLen("skp-" + id)
		h.refused(412, "revision_mismatch", &empE, "POST", skpURL+"/realisations", RealisationBody{Period: "2026-Q1", IndicatorID: ind, Value: 1}, "If-Match", `"1"`)
		if after := h.streamLen("skp-" + id); after != before {
			t.Errorf("a stale If-Match appended: %d → %d events", before, after)
		}
		v := skpView(t, h.must(200, empE, "GET", skpURL, nil))
		h.must(201, empE, "POST", skpURL+"/realisations", RealisationBody{Period: "2026-Q1", IndicatorID: ind, Value: 1}, "If-Match", etag(v.Revision))
	})

	t.Run("413 payload_too_large", func(t *testing.T) {
		h.t = t
		big := `{"id":"BIG","name":"` + strings.Repeat("x", 1<<20) + `"}`
		h.refused(413, "payload_too_large", &hr, "POST", "/v1/units", big)
		h.refused(413, "payload_too_large", &hr, "POST", "/v1/units", big, "Idempotency-Key", "big-1")
	})

	t.Run("422 validation_failed", func(t *testing.T) {
		h.t = t
		p := h.refused(422, "validation_failed", &hr, "POST", "/v1/employees", CreateEmployeeBody{NIP: "1234", Name: "", UnitID: "DINKES", Position: PositionBody{Kind: "BOSS", Title: "x"}})
		fields := map[string]bool{}
		for _, f := range p.Errors {
			fields[f.Field] = true
		}
		if !fields["nip"] || !fields["name"] || !fields["position.kind"] {
			t.Errorf("validation fields = %+v", p.Errors)
		}
		p = h.refused(422, "validation_failed", &empE, "POST", skpURL+"/realisations",
			map[string]any{"period": "2026-Q1", "indicator_id": ind, "value": 1, "occurred_at": h.clock.Now().Add(time.Hour)})
		if p.Errors[0].Field != "occurred_at" {
			t.Errorf("future occurred_at problem = %+v", p)
		}
		h.refused(422, "validation_failed", &hr, "PUT", "/v1/employees/"+nipE+"/reporting-line",
			ReportingLineBody{AppraiserNIP: nipE, AppraiserSuperiorNIP: nipS, EffectiveFrom: mustDate("2026-02-01")})
		h.refused(422, "validation_failed", &empE, "POST", skpURL+"/realisations", RealisationBody{Period: "2027-Q1", IndicatorID: ind, Value: 1})
	})

	t.Run("422 objection_window_closed", func(t *testing.T) {
		h.t = t
		h.issuedAnnual(id)
		h.clock.Advance(20 * 24 * time.Hour)
		h.refused(422, "objection_window_closed", &empE, "POST", skpURL+"/evaluations/2026/objection", ObjectionBody{Reasons: "Terlambat"})
	})

	t.Run("422 idempotency_key_reused", func(t *testing.T) {
		h.t = t
		h.must(201, hr, "POST", "/v1/units", CreateUnitBody{ID: "K1", Name: "Unit K1", ParentID: "PEMKOT"}, "Idempotency-Key", "reuse-1")
		h.refused(422, "idempotency_key_reused", &hr, "POST", "/v1/units", CreateUnitBody{ID: "K2", Name: "Unit K2", ParentID: "PEMKOT"}, "Idempotency-Key", "reuse-1")
	})
}

func TestInternalErrorIsGeneric(t *testing.T) {
	secret := "pq: password authentication failed for user kinerja at 10.0.0.7"
	h := newHarness(t, func(c *settings) { c.SKPList = failingSKPs{err: errors.New(secret)} })
	h.cast()
	p := h.refused(500, "internal", &analyst, "GET", "/v1/reports/progress?unit=PEMKOT", nil)
	if strings.Contains(p.Detail, "password") || p.RequestID == "" {
		t.Errorf("500 problem = %+v", p)
	}
	if !strings.Contains(h.logs.String(), secret) || !strings.Contains(h.logs.String(), p.RequestID) {
		t.Errorf("the real error is not logged with the request ID: %s", h.logs.String())
	}
}

func TestReadyz(t *testing.T) {
	h := newHarness(t, func(c *settings) {
		c.Ready = func(context.Context) error { return errors.New("projections 120 events behind") }
	})
	r := h.request(nil, "GET", "/readyz", nil)
	if r.status != 503 || r.problem(t).Code != "unavailable" {
		t.Errorf("readyz = %d %s", r.status, r.body)
	}
}

// failingSKPs is an SKP list whose reads fail with err.
type failingSKPs struct {
	skps.Reader
	err error
}

func (f failingSKPs) ForYear(context.Context, []string, int) ([]skps.Summary, error) {
	return nil, f.err
}
func (f failingSKPs) List(context.Context, skps.Query) ([]skps.Summary, string, error) {
	return nil, "", f.err
}

func TestConfigValidate(t *testing.T) {
	_, err := New(Config{MaxBodyBytes: 10})
	if err == nil {
		t.Fatal("New(empty config) succeeded")
	}
	for _, want := range []string{"App", "Authenticator", "MaxBodyBytes"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("New(empty config) = %v; does not name %s", err, want)
		}
	}
	_, err = app.New(app.Config{IdempotencyRetention: time.Hour})
	for _, want := range []string{"Units", "Employees", "SKPs", "Distribution", "Store", "Directory", "SKPList", "Audit",
		"Verifier", "Idempotency", "IdempotencyRetention"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("app.New(empty config) = %v; does not name %s", err, want)
		}
	}
}
