package web

import (
	"html"
	"net/http"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kinerja-ledger/kinerja/adapters/app/document"
	"github.com/kinerja-ledger/kinerja/domain/orgunit"
	"github.com/kinerja-ledger/kinerja/domain/policy"
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

// The unit's zone on every surface of a unit's data (issue 13): once
// DINKES works in WITA, an SKP's form pages show WITA and name it beside
// the typed time, which is read in WITA (a time typed in WITA records the
// instant meant, not one an hour later); the objection register shows a
// DINKES objection's times in WITA (+08:00, an hour later on the clock
// than in WIB), the register's export of DINKES writes them in WITA and
// names it in the header; the printed SKP names WITA; the unit page's
// as-of control reads a typed time in WITA.
func TestUnitZoneEverywhere(t *testing.T) {
	h := seeded(t)
	filedISO := regexp.MustCompile(`<td><time datetime="([^"]+)">`)
	reg := h.must200(clerk, "/keberatan?unit=DINKES").body
	m := filedISO.FindStringSubmatch(reg)
	if m == nil {
		t.Fatal("the register of DINKES lists no objection")
	}
	filed, err := time.Parse(time.RFC3339Nano, html.UnescapeString(m[1]))
	if err != nil || !strings.HasSuffix(html.UnescapeString(m[1]), "+07:00") {
		t.Fatalf("the filing time before the zone = %q, %v; want WIB", m[1], err)
	}
	csvWIB := h.must200(clerk, "/ekspor/keberatan?unit=DINKES&format=csv").body
	wita := time.FixedZone("WITA", 8*3600)
	if !strings.Contains(csvWIB, filed.In(policy.WIB).Format("2006-01-02 15:04:05")) || !strings.Contains(csvWIB, "(WIB)") {
		t.Fatalf("the export before the zone is not in WIB:\n%.400s", csvWIB)
	}

	// Zones are per unit (not inherited): Q works in PKM-SUKAMAJU.
	for _, u := range []string{"DINKES", "PKM-SUKAMAJU"} {
		if _, err := h.units.SetZone(h.ctx, req(hrAdmin), orgunit.SetZone{UnitID: u, Zone: "WITA"}); err != nil {
			t.Fatal(err)
		}
	}
	h.catchUp()

	// The register: the row's times in WITA, the clock an hour on.
	reg = h.must200(clerk, "/keberatan?unit=DINKES").body
	if m := filedISO.FindStringSubmatch(reg); m == nil || html.UnescapeString(m[1]) != filed.In(wita).Format(time.RFC3339Nano) ||
		!strings.Contains(reg, filed.In(wita).Format("15.04")+" WITA") {
		t.Errorf("the register's filing time after the zone = %v, want %s (WITA)", m, filed.In(wita).Format(time.RFC3339))
	}
	// The whole agency's register: the DINKES row in WITA too.
	if all := h.must200(clerk, "/keberatan").body; !strings.Contains(all, filed.In(wita).Format("15.04")+" WITA") {
		t.Errorf("the agency's register does not show the DINKES objection in WITA")
	}
	// The export of DINKES's register.
	csv := h.must200(clerk, "/ekspor/keberatan?unit=DINKES&format=csv").body
	if !strings.Contains(csv, filed.In(wita).Format("2006-01-02 15:04:05")) || !strings.Contains(csv, "(WITA)") ||
		strings.Contains(csv, filed.In(policy.WIB).Format("2006-01-02 15:04:05")) {
		t.Errorf("the export after the zone is not in WITA:\n%.400s", csv)
	}

	// A form page of the SKP names WITA beside the typed time, and the
	// time typed in WITA is the instant recorded.
	p := "/skp/" + h.ag.skpQ + "/penilaian/2026/terbitkan"
	form := h.must200(apprA, p)
	if !strings.Contains(form.body, "zona WITA.") || !strings.Contains(form.body, `<span class="zone">(WITA)</span>`) {
		t.Fatalf("the issue form does not name WITA")
	}
	deliveredAt := h.clock.Now().Add(-5 * time.Minute).Truncate(time.Minute)
	if r := h.post(&apprA, p, formOf(t, form.body, "delivered_at", deliveredAt.In(wita).Format("2006-01-02T15:04"))); r.status != http.StatusSeeOther {
		t.Fatalf("issue with a time typed in WITA = %d\n%s", r.status, r.body)
	}
	v, err := h.skps.Evaluation(h.ctx, apprA.principal(), h.ag.skpQ, "2026")
	if err != nil || v.DeliveredAt == nil || !v.DeliveredAt.Equal(deliveredAt) {
		t.Fatalf("delivered at %v (%v), typed %s in WITA", v.DeliveredAt, err, deliveredAt.In(wita).Format(time.RFC3339))
	}
	for _, path := range []string{"/skp/" + h.ag.skpE + "/rencana", "/skp/" + h.ag.skpQ + "/penilaian/2026/keberatan/ajukan"} {
		if r := h.get(&empE, path); r.status == http.StatusOK && !strings.Contains(r.body, "zona WITA.") {
			t.Errorf("%s is not in WITA", path)
		}
	}

	// The printed SKP names WITA.
	if _, err := exec.LookPath("pdftotext"); err == nil {
		pdf := h.must200(empE, "/skp/"+h.ag.skpE+"/dokumen.pdf")
		text, err := document.ExtractText(h.ctx, []byte(pdf.body))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(text, "WITA") || strings.Contains(text, " WIB") {
			t.Errorf("the printed SKP is not in WITA:\n%.600s", text)
		}
	}

	// The unit page's as-of control: a typed local time is WITA's. (An
	// as-of page waits for the read models to read up to the head seen
	// once the instant settled: caught up first.)
	h.catchUp()
	at := h.clock.Now().Add(-time.Hour).Truncate(time.Second)
	unit := h.must200(hrAdmin, "/unit/DINKES?as_of="+at.In(wita).Format("2006-01-02T15:04:05")).body
	if !strings.Contains(unit, `value="`+at.In(wita).Format("2006-01-02T15:04:05")+`"`) ||
		!strings.Contains(unit, `datetime="`+strings.ReplaceAll(at.Add(time.Second-time.Nanosecond).In(wita).Format(time.RFC3339Nano), "+", "&#43;")+`"`) {
		t.Errorf("the as-of time typed in WITA is not read in WITA")
	}
}
