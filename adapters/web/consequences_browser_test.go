package web

import (
	"context"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// The consequences and calibration pages in a real browser over a
// generated agency: reached from the navigation, no serious or critical
// axe-core violation, no horizontal scroll at a phone's width (screenshots
// konsekuensi, kalibrasi and kalibrasi-375).
func TestBrowserConsequencesAndCalibration(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("KINERJA_REQUIRE_BROWSER") == "1" {
			t.Fatalf("KINERJA_REQUIRE_BROWSER=1 but %s is missing: %v", chromiumPath, err)
		}
		t.Skipf("%s is missing; set KINERJA_REQUIRE_BROWSER=1 to fail instead", chromiumPath)
	}
	h := newHarness(t)
	st := h.seedAgency(60)
	srv := httptest.NewServer(h.handler)
	defer srv.Close()
	axe := axeSource(t)
	for _, c := range []struct {
		who        caller
		link, shot string
	}{
		{caller{st.Cast.HRAdmin, []string{"HR_ADMIN"}}, "/konsekuensi", "konsekuensi"},
		{analyst, "/kalibrasi", "kalibrasi"},
	} {
		allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), browserFlags(t.TempDir())...)
		ctx, cancel := chromedp.NewContext(allocCtx)
		if err := chromedp.Do(ctx); err != nil {
			t.Fatalf("start %s: %v", chromiumPath, err)
		}
		b := &tab{t: t, ctx: ctx, base: srv.URL, shots: screenshotDir(t)}
		code, _, err := h.codes.Issue(c.who.principal(), 0)
		if err != nil {
			t.Fatal(err)
		}
		b.open("/masuk/tautan?kode=" + code)
		b.click("#signin-submit")
		b.click(`nav a[href="` + c.link + `"]`)
		if got := b.location(); got != c.link {
			t.Fatalf("the navigation's link went to %s", got)
		}
		b.open(c.link + "?year=2025")
		if body := b.text("main"); !strings.Contains(body, "2025") {
			t.Errorf("%s: %q", c.link, body[:min(200, len(body))])
		}
		for _, v := range b.axe(axe) {
			t.Errorf("axe-core on %s: %s", c.link, v)
		}
		b.screenshot(c.shot)
		b.do("phone viewport", chromedp.EmulateViewport(375, 812, chromedp.EmulateMobile))
		b.open(c.link + "?year=2025")
		b.noHorizontalScroll(c.link)
		b.screenshot(c.shot + "-375")
		cancel()
		cancelAlloc()
	}
}
