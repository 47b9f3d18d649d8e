package web

import (
	"net/http/httptest"
	"strings"
	"testing"
)

// "Cari pegawai" in a real browser: reached from the navigation, the form
// typed and sent (no script involved), accents and case ignored, the unit
// covering its sub-units (screenshot cari-pegawai).
func TestBrowserPeopleSearch(t *testing.T) {
	chromium(t)
	h := seeded(t)
	srv := httptest.NewServer(h.handler)
	defer srv.Close()
	b := newTab(t, srv.URL, screenshotDir(t))
	b.signInAs(h, auditor)
	b.click(`nav a[href="/pegawai"]`)
	b.expectAt("/pegawai")
	b.fill("#p-q", "RÍNA")
	b.choose("#p-unit", "DINKES")
	b.choose("#p-kind", "PELAKSANA")
	b.click("#people-search")
	b.expectAt("/pegawai?")
	if got := b.text("#people tbody"); !strings.Contains(got, "Rina Marlina") || !strings.Contains(got, "Puskesmas Sukamaju") || strings.Contains(got, "Budi") {
		t.Errorf("results = %q; want Rina Marlina of the puskesmas below DINKES only", got)
	}
	if v := eval[string](b, `document.querySelector("#p-q").value`); v != "RÍNA" {
		t.Errorf("the form forgot the name typed: %q", v)
	}
	b.screenshot("cari-pegawai")

	// By SKP status (issue 13): nobody in DINKES lacks an SKP of 2026;
	// Rudi Hartono of BAPPEDA does.
	b.fill("#p-q", "")
	b.choose("#p-unit", "")
	b.choose("#p-kind", "")
	b.choose("#p-skp", "NONE")
	b.choose("#p-year", "2026")
	b.click("#people-search")
	if got := b.text("#people tbody"); !strings.Contains(got, "Rudi Hartono") || strings.Contains(got, "Budi Santoso") {
		t.Errorf("without an SKP of 2026 = %q; want Rudi Hartono and not Budi Santoso", got)
	}
	if v := eval[string](b, `document.querySelector("#p-skp").value`); v != "NONE" {
		t.Errorf("the form forgot the SKP status chosen: %q", v)
	}
	b.screenshot("cari-pegawai-tanpa-skp")

	// The start page opens on the latest year with data, and its SKP
	// list sorts by a column header link (no script needed).
	b.open("/")
	b.click(`#skp th a.sort[href*="skp_sort=name"]`)
	if got := eval[string](b, `document.querySelector("#skp th[aria-sort]").getAttribute("aria-sort")`); got != "ascending" {
		t.Errorf("after the name header link, aria-sort = %q", got)
	}
}
