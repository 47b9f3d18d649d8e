package httpapi

import (
	"context"
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
