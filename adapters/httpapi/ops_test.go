package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
)

func TestOpsProjections(t *testing.T) {
	h := newHarness(t)
	h.refused(http.StatusNotFound, "not_found", &aud, "GET", "/v1/ops/projections", nil)
	h = newHarness(t, func(c *settings) {
		c.Projections = func(context.Context) ([]ProjectionState, error) {
			return []ProjectionState{{Name: "scores", Policy: "stop", Checkpoint: 7, Head: 9, LagEvents: 2, Stalled: true, LastError: "x"}}, nil
		}
	})
	var list ProjectionList
	h.must(http.StatusOK, aud, "GET", "/v1/ops/projections", nil).decode(t, &list)
	if len(list.Items) != 1 || list.Items[0].Name != "scores" || !list.Items[0].Stalled || list.Items[0].LagEvents != 2 {
		t.Errorf("GET /v1/ops/projections = %+v", list)
	}
	h.must(http.StatusOK, hr, "GET", "/v1/ops/projections", nil)
	h.refused(http.StatusForbidden, "forbidden", &empE, "GET", "/v1/ops/projections", nil)
	h.refused(http.StatusUnauthorized, "unauthenticated", nil, "GET", "/v1/ops/projections", nil)
}

func TestReadyzReadiness(t *testing.T) {
	stalled := ProjectionReadiness{Name: "scores", Policy: "stop", Condition: "stalled", Checkpoint: 41,
		StalledAt: &StalledEvent{Position: 42, EventID: "e-42", Type: "skp.rating_assigned.v1", Reason: "decode"}}
	tests := []struct {
		name   string
		rd     Readiness
		status int
	}{
		{"ready", Readiness{Status: ReadyOK, Projections: []ProjectionReadiness{{Name: "skps", Condition: "ok"}}}, http.StatusOK},
		{"degraded serves", Readiness{Status: ReadyDegraded, Reasons: []string{"projection scores stopped"}, Projections: []ProjectionReadiness{stalled}}, http.StatusOK},
		{"not ready", Readiness{Status: ReadyNot, Reasons: []string{"projection skps is failing"}, Projections: []ProjectionReadiness{stalled}}, http.StatusServiceUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, func(c *settings) { c.Readiness = func(context.Context) Readiness { return tt.rd } })
			r := h.request(nil, "GET", "/readyz", nil)
			if r.status != tt.status {
				t.Fatalf("readyz = %d %s, want %d", r.status, r.body, tt.status)
			}
			var got struct {
				Status      any                   `json:"status"`
				Readiness   string                `json:"readiness"`
				Code        string                `json:"code"`
				Reasons     []string              `json:"reasons"`
				Projections []ProjectionReadiness `json:"projections"`
			}
			if err := json.Unmarshal(r.body, &got); err != nil {
				t.Fatal(err)
			}
			state := got.Readiness
			if tt.status == http.StatusOK {
				state, _ = got.Status.(string)
			} else if got.Code != "unavailable" || got.Status != float64(503) {
				t.Errorf("503 body = %s, want a problem with code unavailable", r.body)
			}
			if state != tt.rd.Status || len(got.Projections) != len(tt.rd.Projections) || len(got.Reasons) != len(tt.rd.Reasons) {
				t.Errorf("readyz body = %s, want %+v", r.body, tt.rd)
			}
			for _, p := range got.Projections {
				if p.Name == "scores" && (p.StalledAt == nil || p.StalledAt.Position != 42 || p.StalledAt.EventID != "e-42") {
					t.Errorf("stalled projection = %+v", p)
				}
			}
		})
	}
}
