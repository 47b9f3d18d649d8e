package web

import (
	"net/http"
	"strings"
	"testing"
)

// The consequences and calibration pages over a generated agency: the
// figures with their source events, the recognition list, the flags'
// evidence, both languages, the navigation offered to those who may read
// them only, and bad parameters refused.
func TestConsequencesAndCalibrationPages(t *testing.T) {
	h := newHarness(t)
	st := h.seedAgency(60)
	hr := caller{st.Cast.HRAdmin, []string{"HR_ADMIN"}}

	csq := h.must200(hr, "/konsekuensi?year=2025")
	for _, want := range []string{"Konsekuensi hasil penilaian", `id="pub-`, "skp.drafted.v1", "skp.evaluation_issued.v1", `href="/konsekuensi/ekspor?format=csv&amp;year=2025"`} {
		if !strings.Contains(csq.body, want) {
			t.Errorf("/konsekuensi lacks %q", want)
		}
	}
	if en := h.must200(hr, "/konsekuensi?year=2025&lang=en"); !strings.Contains(en.body, "Consequences of the results") {
		t.Error("no English")
	}
	if csv := h.must200(hr, "/konsekuensi/ekspor?year=2025&format=csv"); !strings.Contains(csv.body, "skp.drafted.v1@") {
		t.Error("the export does not name the source events")
	}
	cal := h.must200(analyst, "/kalibrasi?year=2025")
	for _, want := range []string{"Kalibrasi penilai", `class="ci"`, "docs/calibration.md"} {
		if !strings.Contains(cal.body, want) {
			t.Errorf("/kalibrasi lacks %q", want)
		}
	}
	if !strings.Contains(cal.body, `href="/kalibrasi"`) || !strings.Contains(csq.body, `href="/konsekuensi"`) {
		t.Error("the navigation does not offer the pages to their readers")
	}
	emp := h.must200(caller{st.Cast.Employee, nil}, "/")
	if strings.Contains(emp.body, `href="/kalibrasi"`) || strings.Contains(emp.body, `href="/konsekuensi"`) {
		t.Error("the navigation offers the pages to an employee")
	}
	for _, c := range []struct {
		who    caller
		path   string
		status int
	}{
		{hr, "/kalibrasi?year=2025", http.StatusForbidden},
		{caller{st.Cast.Employee, nil}, "/konsekuensi?year=2025", http.StatusForbidden},
		{hr, "/konsekuensi?year=abc", http.StatusBadRequest},
		{hr, "/konsekuensi?year=1999", http.StatusBadRequest},
		{analyst, "/kalibrasi?year=2025&unit=NOPE", http.StatusNotFound},
		{hr, "/konsekuensi/ekspor?year=2025&format=pdf", http.StatusBadRequest},
		// The paginated lists refuse a bad sort or a forged cursor.
		{hr, "/konsekuensi?year=2025&pub_sort=nip%00", http.StatusBadRequest},
		{hr, "/konsekuensi?year=2025&rec_at=AAAAAAAAAAAAAAAAAAAA", http.StatusBadRequest},
		{hr, "/konsekuensi?year=2025&cor_dir=sideways", http.StatusBadRequest},
	} {
		if r := h.get(&c.who, c.path); r.status != c.status {
			t.Errorf("%s as %s = %d, want %d", c.path, c.who.sub, r.status, c.status)
		}
	}
	if strings.Contains(h.logs.String(), `"level":"ERROR"`) {
		t.Errorf("errors were logged:\n%s", h.logs.String())
	}
}
