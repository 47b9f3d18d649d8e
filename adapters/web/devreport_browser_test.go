package web

import (
	"context"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/kinerja-ledger/kinerja/domain/skp"
)

// The 360° page with a closed round (the peers' aggregate shown, no giver
// named) and the development report, in a real browser: reached from the
// navigation, no serious or critical axe-core violation, no horizontal
// scroll at a phone's width (screenshots umpan-balik-360 and
// pengembangan-unit, for the README).
func TestBrowserFeedback360AndDevelopment(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("KINERJA_REQUIRE_BROWSER") == "1" {
			t.Fatalf("KINERJA_REQUIRE_BROWSER=1 but %s is missing: %v", chromiumPath, err)
		}
		t.Skipf("%s is missing; set KINERJA_REQUIRE_BROWSER=1 to fail instead", chromiumPath)
	}
	h := seeded(t)
	id := h.ag.skpE
	apprA := caller{nipA, nil}
	closedRound(t, h, id)
	for _, c := range []string{"Analisis data", "Analisis data", "Penulisan laporan"} {
		if _, _, err := h.skps.IdentifyGap(h.ctx, req(apprA), skp.IdentifyGap{SKPID: id, Competency: c}); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := h.skps.PlanDevelopment(h.ctx, req(apprA), skp.PlanDevelopment{SKPID: id, Kind: "TRAINING", Title: "Pelatihan analisis data", DueDate: "2026-11-30"}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h.handler)
	defer srv.Close()
	axe := axeSource(t)
	for _, c := range []struct {
		who             caller
		nav, open, shot string
		want            string
	}{
		{empE, `a[href="/skp/` + id + `/umpan-balik-360"]`, "/skp/" + id + "/umpan-balik-360", "umpan-balik-360", "BerAKHLAK"},
		{analyst, `nav a[href="/pengembangan-unit"]`, "/pengembangan-unit?year=2026", "pengembangan-unit", "Pelatihan analisis data"},
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
		if c.who.sub == nipE {
			b.open("/skp/" + id)
		}
		b.click(c.nav)
		b.open(c.open)
		if body := b.text("main"); !strings.Contains(body, c.want) {
			t.Errorf("%s lacks %q: %q", c.open, c.want, body[:min(300, len(body))])
		}
		for _, v := range b.axe(axe) {
			t.Errorf("axe-core on %s: %s", c.open, v)
		}
		b.screenshot(c.shot)
		b.do("phone viewport", chromedp.EmulateViewport(375, 812, chromedp.EmulateMobile))
		b.open(c.open)
		b.noHorizontalScroll(c.open)
		cancel()
		cancelAlloc()
	}
}
