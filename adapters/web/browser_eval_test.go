package web

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// The rating form in a real browser: the predikat follows the ratings as
// they are chosen (page/static/rating.js reading the matrix the page
// renders from rating.Derive), the keyboard alone completes the form, the
// server's preview agrees, and the rating is saved once; then the
// superior's decision page shows the new predikat of a CHANGED outcome
// live. No console error (a CSP violation, a script exception).
func TestBrowserRating(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("KINERJA_REQUIRE_BROWSER") == "1" {
			t.Fatalf("KINERJA_REQUIRE_BROWSER=1 but %s is missing: %v", chromiumPath, err)
		}
		t.Skipf("%s is missing; set KINERJA_REQUIRE_BROWSER=1 to fail instead", chromiumPath)
	}
	h := seeded(t)
	srv := httptest.NewServer(h.handler)
	defer srv.Close()
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), browserFlags(t.TempDir())...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(allocCtx)
	defer cancel()
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start %s: %v", chromiumPath, err)
	}
	var consoleMu sync.Mutex
	var consoleErrs []string
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.IsException() {
				consoleMu.Lock()
				consoleErrs = append(consoleErrs, fmt.Sprintf("%s (%s)", m.Text, m.URL))
				consoleMu.Unlock()
			}
		}
	}()
	b := &tab{t: t, ctx: ctx, base: srv.URL, shots: screenshotDir(t)}
	signIn := func(c caller) {
		t.Helper()
		code, _, err := h.codes.Issue(c.principal(), 0)
		if err != nil {
			t.Fatal(err)
		}
		b.open("/masuk/tautan?kode=" + code)
		b.click("#signin-submit")
	}
	signIn(apprA)
	b.open("/skp/" + h.ag.skpE + "/penilaian")
	b.screenshot("penilaian")
	b.click("#rate-2026-Q3")
	live := func() string { return b.text("#predikat-live") }
	if got := live(); got != "pilih kedua penilaian" {
		t.Errorf("the predikat before any choice = %q", got)
	}
	// Keyboard only: focus the first work-result choice, arrows move
	// within the radio group (and choose), Tab to the next group.
	b.do("focus", chromedp.Focus(chromedp.CSS("#work_result-DI_ATAS_EKSPEKTASI")), chromedp.KeyEvent(" "))
	if got := live(); got != "pilih kedua penilaian" {
		t.Errorf("the predikat with one rating = %q", got)
	}
	b.do("behaviour", chromedp.Focus(chromedp.CSS("#behaviour-DI_ATAS_EKSPEKTASI")), chromedp.KeyEvent(" "))
	if got := live(); got != "Sangat Baik" {
		t.Errorf("DI_ATAS/DI_ATAS live = %q, want Sangat Baik", got)
	}
	b.do("arrow", chromedp.KeyEvent(kb.ArrowDown)) // to SESUAI_EKSPEKTASI
	if got := live(); got != "Baik" {
		t.Errorf("DI_ATAS/SESUAI live = %q, want Baik", got)
	}
	if cur := eval[string](b, `document.querySelector("#matrix td.current").dataset.predikat`); cur != "BAIK" {
		t.Errorf("the matrix highlights %q", cur)
	}
	b.do("rationale", chromedp.SendKeys(chromedp.CSS("#rationale"), "Target triwulan III terlampaui"))
	b.screenshot("penilaian-nilai")
	b.click("#rate-preview")
	if got := live(); got != "Baik" || b.location() != "/skp/"+h.ag.skpE+"/penilaian/2026-Q3/nilai" {
		t.Errorf("after the server's preview: %q at %s", got, b.location())
	}
	b.click("#rate-submit")
	if got := b.location(); got != "/skp/"+h.ag.skpE+"/penilaian?selesai=nilai" {
		t.Fatalf("after saving at %s", got)
	}
	if !strings.Contains(b.text(`tr[data-period="2026-Q3"]`), "Baik") {
		t.Error("the overview does not show the Q3 rating")
	}
	// The superior's decision on P's open objection.
	signIn(supS)
	b.open("/skp/" + h.ag.skpP + "/penilaian/2026/keberatan/putusan")
	b.do("changed", chromedp.Click(chromedp.CSS("#outcome-CHANGED")), chromedp.Click(chromedp.CSS("#work_result-SESUAI_EKSPEKTASI")),
		chromedp.Click(chromedp.CSS("#behaviour-DI_BAWAH_EKSPEKTASI")))
	if got := live(); got != "Kurang/Misconduct" {
		t.Errorf("the decision's new predikat = %q, want Kurang/Misconduct", got)
	}
	b.screenshot("keberatan-putusan")
	consoleMu.Lock()
	defer consoleMu.Unlock()
	if len(consoleErrs) > 0 {
		t.Errorf("console errors: %v", consoleErrs)
	}
}
