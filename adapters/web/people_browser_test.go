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
}
