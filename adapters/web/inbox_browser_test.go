package web

import (
	"context"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// The inbox in a real browser: reached from the navigation, S's overdue
// decision shown, no serious or critical axe-core violation, in
// Indonesian and at a phone's width (screenshots kotak-masuk and
// kotak-masuk-375).
func TestBrowserInbox(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("KINERJA_REQUIRE_BROWSER") == "1" {
			t.Fatalf("KINERJA_REQUIRE_BROWSER=1 but %s is missing: %v", chromiumPath, err)
		}
		t.Skipf("%s is missing; set KINERJA_REQUIRE_BROWSER=1 to fail instead", chromiumPath)
	}
	h := seeded(t)
	withInbox(h)
	srv := httptest.NewServer(h.handler)
	defer srv.Close()
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), browserFlags(t.TempDir())...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(allocCtx)
	defer cancel()
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start %s: %v", chromiumPath, err)
	}
	b := &tab{t: t, ctx: ctx, base: srv.URL, shots: screenshotDir(t)}
	code, _, err := h.codes.Issue(caller{nipS, nil}.principal(), 0)
	if err != nil {
		t.Fatal(err)
	}
	b.open("/masuk/tautan?kode=" + code)
	b.click("#signin-submit")
	b.click(`nav a[href="/kotak-masuk"]`)
	if got := b.location(); got != "/kotak-masuk" {
		t.Fatalf("the navigation's inbox link went to %s", got)
	}
	if row := b.text(`#inbox tr[data-kind="DECIDE_OBJECTION"]`); !strings.Contains(row, "Putuskan keberatan") || !strings.Contains(row, "Dewi Lestari") || !strings.Contains(row, "terlambat") {
		t.Errorf("S's decision row: %q", row)
	}
	if cur := eval[string](b, `document.querySelector('nav a[aria-current="page"]').getAttribute("href")`); cur != "/kotak-masuk" {
		t.Errorf("the navigation marks %s as current", cur)
	}
	// TestAccessibility scans every page, the inbox empty; here with rows.
	for _, v := range b.axe(axeSource(t)) {
		t.Errorf("axe-core on the inbox: %s", v)
	}
	b.screenshot("kotak-masuk")
	b.do("phone viewport", chromedp.EmulateViewport(375, 812, chromedp.EmulateMobile))
	b.open("/kotak-masuk")
	b.noHorizontalScroll("/kotak-masuk")
	b.screenshot("kotak-masuk-375")
}
