package httpapi

import (
	"net/http"
	"testing"
)

// PUT /v1/units/{id}/name corrects a unit's name: HR only, a name that
// is there, an existing unit; once per Idempotency-Key; the unit keeps its
// id and parent.
func TestRenameUnit(t *testing.T) {
	h := newHarness(t)
	h.at(stageCast)
	h.refused(http.StatusForbidden, "forbidden", &analyst, "PUT", "/v1/units/DINKES/name", RenameUnitBody{Name: "X"})
	h.refused(http.StatusUnprocessableEntity, "validation_failed", &hr, "PUT", "/v1/units/DINKES/name", RenameUnitBody{Name: "  "})
	h.refused(http.StatusNotFound, "not_found", &hr, "PUT", "/v1/units/NOPE/name", RenameUnitBody{Name: "Unit"})
	before := h.streamLen("unit-DINKES")
	body := RenameUnitBody{Name: "Dinas Kesehatan Kota Sukamaju"}
	first := h.must(http.StatusOK, hr, "PUT", "/v1/units/DINKES/name", body, "Idempotency-Key", "rename-1")
	h.must(http.StatusOK, hr, "PUT", "/v1/units/DINKES/name", body, "Idempotency-Key", "rename-1")
	if n := h.streamLen("unit-DINKES"); n != before+1 {
		t.Errorf("a repeated rename appended %d events, want 1", n-before)
	}
	var u UnitResponse
	first.decode(t, &u)
	if u.Name != body.Name || u.ParentID != "PEMKOT" {
		t.Errorf("renamed unit = %+v", u)
	}
}
