package web

import (
	"strings"
	"testing"

	"github.com/kinerja-ledger/kinerja/domain/orgunit"
)

// A unit's time zone (issue 13): once HR sets DINKES to WIT, the unit page
// and the pages of an SKP of an employee of DINKES (the SKP, its
// evaluations, an objection) show their times in WIT
// (the footer names it, the SKP's times carry +09:00); the
// parent unit's page stays in the agency's zone (WIB).
func TestPagesInTheUnitsZone(t *testing.T) {
	h := seeded(t)
	for _, path := range []string{"/unit/DINKES", "/skp/" + h.ag.skpE} {
		if b := h.must200(hrAdmin, path).body; !strings.Contains(b, "zona WIB.") || strings.Contains(b, "&#43;09:00") {
			t.Errorf("%s before the zone: not in WIB", path)
		}
	}
	if _, err := h.units.SetZone(h.ctx, req(hrAdmin), orgunit.SetZone{UnitID: "DINKES", Zone: "WIT"}); err != nil {
		t.Fatal(err)
	}
	h.catchUp()
	if b := h.must200(hrAdmin, "/unit/DINKES").body; !strings.Contains(b, "zona WIT.") {
		t.Errorf("the unit page after the zone: not in WIT")
	}
	// The SKP's timeline: every time in WIT, none in WIB.
	if b := h.must200(hrAdmin, "/skp/"+h.ag.skpE).body; !strings.Contains(b, "zona WIT.") || !strings.Contains(b, `&#43;09:00"`) || strings.Contains(b, `&#43;07:00"`) {
		t.Errorf("the SKP page after the zone: not in WIT")
	}
	// The SKP's evaluation overview and P's objection page (P is in DINKES).
	for _, path := range []string{"/skp/" + h.ag.skpE + "/penilaian", "/skp/" + h.ag.skpP + "/penilaian/2026/keberatan"} {
		if b := h.must200(hrAdmin, path).body; !strings.Contains(b, "zona WIT.") || strings.Contains(b, `&#43;07:00"`) {
			t.Errorf("%s after the zone: not in WIT", path)
		}
	}
	if b := h.must200(hrAdmin, "/unit/PEMKOT").body; !strings.Contains(b, "zona WIB.") {
		t.Errorf("the parent unit took DINKES's zone")
	}
	if b := h.must200(hrAdmin, "/skp/"+h.ag.skpE+"?lang=en").body; !strings.Contains(b, "zone WIT.") {
		t.Errorf("the English SKP page is not in WIT")
	}
}
