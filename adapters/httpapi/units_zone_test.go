package httpapi

import (
	"net/http"
	"strings"
	"testing"
)

// PUT /v1/units/{id}/zone sets the time zone a unit works in (issue 13):
// HR only, WIB, WITA or WIT (nothing else: other zones, IANA names,
// control characters, huge input), an existing unit; once per
// Idempotency-Key; the same zone again appends nothing.
func TestSetUnitZone(t *testing.T) {
	h := newHarness(t)
	h.at(stageCast)
	h.refused(http.StatusForbidden, "forbidden", &analyst, "PUT", "/v1/units/DINKES/zone", SetUnitZoneBody{Zone: "WITA"})
	for _, bad := range []string{"", "CET", "Asia/Makassar", "WIT\x00", "UTC+8", strings.Repeat("W", 100000)} {
		h.refused(http.StatusUnprocessableEntity, "validation_failed", &hr, "PUT", "/v1/units/DINKES/zone", SetUnitZoneBody{Zone: bad})
	}
	h.refused(http.StatusNotFound, "not_found", &hr, "PUT", "/v1/units/NOPE/zone", SetUnitZoneBody{Zone: "WIT"})
	before := h.streamLen("unit-DINKES")
	body := SetUnitZoneBody{Zone: "WITA"}
	first := h.must(http.StatusOK, hr, "PUT", "/v1/units/DINKES/zone", body, "Idempotency-Key", "zone-1")
	h.must(http.StatusOK, hr, "PUT", "/v1/units/DINKES/zone", body, "Idempotency-Key", "zone-1")
	h.must(http.StatusOK, hr, "PUT", "/v1/units/DINKES/zone", SetUnitZoneBody{Zone: "wita"}, "Idempotency-Key", "zone-2")
	if n := h.streamLen("unit-DINKES"); n != before+1 {
		t.Errorf("setting the same zone again appended %d events, want 1", n-before)
	}
	var u UnitResponse
	first.decode(t, &u)
	if u.Zone != "WITA" || u.ParentID != "PEMKOT" {
		t.Errorf("unit after the zone = %+v", u)
	}
}
