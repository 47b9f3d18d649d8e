package web

// The end-to-end test in a real browser: headless Chromium (the Debian
// packages chromium and chromium-driver, /usr/bin/chromium) driven over
// the DevTools protocol by chromedp, against the dashboard on httptest
// with the seeded agency. It skips when Chromium is missing, and fails
// then when KINERJA_REQUIRE_BROWSER=1 (CI sets it).
//
// Screenshots (PNG) of every page go to $KINERJA_SCREENSHOTS, or to a new
// temporary directory that is kept; the test logs where.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/csv"
	"errors"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/kinerja-ledger/kinerja/adapters/app/document"
	"github.com/kinerja-ledger/kinerja/adapters/web/session"
	"github.com/xuri/excelize/v2"
)

// chromiumPath is where Debian's chromium package puts the browser.
const chromiumPath = "/usr/bin/chromium"

// browserFlags are the flags the CI's browser runs with, besides a fresh
// --user-data-dir.
func browserFlags(userData string) []chromedp.ExecAllocatorOption {
	opts := append([]chromedp.ExecAllocatorOption{}, chromedp.DefaultExecAllocatorOptions[:]...)
	return append(opts,
		chromedp.ExecPath(chromiumPath),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(userData),
		chromedp.WindowSize(1280, 900),
	)
}

// screenshotDir returns where the screenshots go.
func screenshotDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("KINERJA_SCREENSHOTS")
	if dir == "" {
		d, err := os.MkdirTemp("", "kinerja-screenshots-")
		if err != nil {
			t.Fatal(err)
		}
		dir = d
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

// tab is one browser tab in a test: its steps fail the test on error.
type tab struct {
	t     *testing.T
	ctx   context.Context
	base  string
	shots string
}

// do runs actions with a timeout.
func (b *tab) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

// run runs one action with a timeout and returns its value.
func run[T any](b *tab, what string, a chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
	return v
}

// open navigates to path and waits for the page's load.
func (b *tab) open(path string) {
	b.t.Helper()
	b.do("open "+path, chromedp.Navigate(b.base+path))
}

// click clicks the element sel and waits for the page it loads.
func (b *tab) click(sel string) {
	b.t.Helper()
	run(b, "click "+sel, chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Click(chromedp.CSS(sel))))
}

// text returns the text of the element sel.
func (b *tab) text(sel string) string {
	b.t.Helper()
	return strings.TrimSpace(run(b, "text of "+sel, chromedp.Text(chromedp.CSS(sel))))
}

// eval evaluates a JavaScript expression.
func eval[T any](b *tab, expr string) T {
	b.t.Helper()
	return run(b, "evaluate "+expr, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
}

// location is the page's path and query.
func (b *tab) location() string {
	b.t.Helper()
	return eval[string](b, "location.pathname + location.search")
}

// screenshot saves the whole page as name.png.
func (b *tab) screenshot(name string) {
	b.t.Helper()
	shot := run(b, "screenshot "+name, chromedp.FullScreenshot(100))
	if !bytes.HasPrefix(shot, []byte("\x89PNG\r\n\x1a\n")) {
		b.t.Fatalf("screenshot %s is not a PNG", name)
	}
	if err := os.WriteFile(filepath.Join(b.shots, name+".png"), shot, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// noHorizontalScroll fails unless the page fits the viewport's width.
func (b *tab) noHorizontalScroll(page string) {
	b.t.Helper()
	type fit struct {
		Scroll, Inner int
		Widest        string
	}
	f := run(b, "measure "+page, chromedp.Evaluate[fit](`(() => {
		const inner = window.innerWidth;
		let widest = "";
		for (const el of document.querySelectorAll("body *")) {
			const r = el.getBoundingClientRect();
			if (r.right > inner + 1 && !el.closest(".table-wrap")) {
				widest = el.tagName + "." + el.className + " right=" + Math.round(r.right);
				break;
			}
		}
		return {Scroll: document.documentElement.scrollWidth, Inner: inner, Widest: widest};
	})()`))
	if f.Inner != 375 {
		b.t.Fatalf("%s: viewport is %d px wide, want 375", page, f.Inner)
	}
	if f.Scroll > f.Inner {
		b.t.Errorf("%s at 375 px: document is %d px wide, scrolls horizontally (first overflowing element: %s)", page, f.Scroll, f.Widest)
	}
}

func TestBrowser(t *testing.T) {
	chromium(t)
	h := seeded(t)
	srv := httptest.NewServer(h.handler)
	defer srv.Close()

	shots := screenshotDir(t)
	downloads := t.TempDir()
	t.Logf("screenshots: %s", shots)

	// The shared browser (one per test binary), a tab of its own whose
	// console errors (a CSP violation, a failed load, a script exception)
	// fail the test.
	b := newTab(t, srv.URL, shots)
	ctx := b.ctx

	// Sign-in: the start page sends an anonymous visitor to the form.
	b.open("/")
	if got := b.location(); got != "/masuk?next=%2F" {
		t.Fatalf("anonymous / went to %s, want the sign-in form", got)
	}
	if lang := eval[string](b, "document.documentElement.lang"); lang != "id" {
		t.Errorf("html lang = %q, want id (Indonesian first)", lang)
	}
	b.screenshot("masuk")
	// The one-time link kinerjactl login-link prints: its page, then its
	// button.
	code, _, err := h.codes.Issue(inspektr.principal(), 0)
	if err != nil {
		t.Fatal(err)
	}
	b.open("/masuk/tautan?kode=" + code)
	b.screenshot("masuk-tautan")
	b.click("#signin-submit")
	if got := b.location(); got != "/" {
		t.Fatalf("after sign-in at %s, want /", got)
	}
	cookies, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{})
	if err != nil {
		t.Fatalf("cookies: %v", err)
	}
	var sess *network.Cookie
	for _, c := range cookies.Cookies {
		if c.Name == session.CookieName {
			sess = c
		}
	}
	if sess == nil || !sess.HTTPOnly || sess.SameSite != network.CookieSameSiteStrict {
		t.Fatalf("session cookie = %+v, want HttpOnly and SameSite=Strict", sess)
	}
	if dc := eval[string](b, "document.cookie"); strings.Contains(dc, session.CookieName) {
		t.Errorf("document.cookie = %q: the session token is readable by scripts", dc)
	}
	b.screenshot("beranda")
	// Keyboard: the first Tab reaches the skip link, shown on focus;
	// following it puts the focus on the main content.
	b.do("tab", chromedp.KeyEvent("\t"))
	type focus struct {
		Class string
		Left  float64
	}
	if f := eval[focus](b, `(() => { const e = document.activeElement;
		return {Class: e.className, Left: e.getBoundingClientRect().left}; })()`); f.Class != "skip" || f.Left < 0 {
		t.Errorf("first Tab focuses %+v, want the visible skip link", f)
	}
	b.do("follow the skip link", chromedp.KeyEvent("\r"))
	if id := eval[string](b, "document.activeElement.id"); id != "konten" {
		t.Errorf("after the skip link the focus is on #%s, want #konten", id)
	}

	// Unit dashboard: from the city to the health office.
	b.click(`a[href^="/unit/PEMKOT?"]`)
	// The start page links this year's (2027's: the harness's today is in
	// March, after the 2026 evaluations); the figures are 2026's.
	b.open("/unit/PEMKOT?year=2026")
	b.click(`a.drill[href^="/unit/DINKES?"]`)
	if got := b.location(); !strings.HasPrefix(got, "/unit/DINKES?") {
		t.Fatalf("drill-down went to %s", got)
	}
	if got := b.text("#fig-late"); got != "1" {
		t.Errorf("late SKPs in DINKES = %s, want 1 (the puskesmas midwife's)", got)
	}
	if got := eval[string](b, `document.querySelector('g.row[data-predikat="BAIK"]').dataset.count`); got != "2" {
		t.Errorf("BAIK count in the chart = %s, want 2", got)
	}
	if !eval[bool](b, `document.querySelector('g.row[data-predikat="BUTUH_PERBAIKAN"]').classList.contains("viol")`) ||
		eval[bool](b, `document.querySelector('g.row[data-predikat="BAIK"]').classList.contains("viol")`) {
		t.Errorf("violation highlighting: BUTUH_PERBAIKAN should be marked (at least one required), BAIK not (2 of 3 ≤ 70%%)")
	}
	b.screenshot("dasbor-unit")

	// Export: click the CSV button and read the downloaded file; fetch the
	// Excel link as the page would and open the workbook.
	csvBody := b.download("#export-progress-csv", downloads)
	cr := csv.NewReader(strings.NewReader(strings.TrimPrefix(string(csvBody), "\uFEFF")))
	cr.Comma = ';' // for Excel in the Indonesian locale
	rows, err := cr.ReadAll()
	if err != nil || len(rows) < 3 || rows[0][0] != "Kode unit" || rows[1][0] != "DINKES" || rows[2][0] != "PKM-SUKAMAJU" {
		t.Errorf("downloaded progress CSV = %q (%v), want a header and DINKES, PKM-SUKAMAJU", csvBody, err)
	}
	b.checkXLSX("#export-dist-xlsx", "distribution-DINKES-2026", "Butuh Perbaikan")

	// The SKP page, and the as-of control moved back through the history.
	b.click(`a[href="/skp/` + h.ag.skpE + `"]`)
	if got := b.text("#pred-2026"); got != "Baik" {
		t.Errorf("annual predikat now = %q, want Baik (after the objection decision)", got)
	}
	b.screenshot("skp")
	// Printed documents: the list, a PDF download, and its code's public
	// verification page.
	b.click("#documents-link")
	b.screenshot("dokumen")
	pdf := b.download("#doc-eval-2026", downloads)
	docCode, err := document.CodeOf(pdf)
	if err != nil || !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		t.Fatalf("downloaded evaluation document: %v (%d bytes)", err, len(pdf))
	}
	// The PDF and its first page as an image beside the screenshots (the
	// README shows it).
	if err := os.WriteFile(filepath.Join(shots, "dokumen-evaluasi.pdf"), pdf, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := exec.LookPath("pdftoppm"); err == nil {
		if out, err := exec.Command("pdftoppm", "-png", "-r", "90", "-f", "1", "-l", "1", "-singlefile",
			filepath.Join(shots, "dokumen-evaluasi.pdf"), filepath.Join(shots, "dokumen-evaluasi")).CombinedOutput(); err != nil {
			t.Errorf("pdftoppm: %v %s", err, out)
		}
	}
	b.open("/verify/" + docCode)
	if got := b.text("#verify-match"); !strings.Contains(got, "Cocok dengan buku besar") {
		t.Errorf("verification page says %q", got)
	}
	b.screenshot("verifikasi")
	b.open("/skp/" + h.ag.skpE)
	// A datetime-local control keeps whole minutes without seconds.
	local := func(tm time.Time) string {
		if tm.Second() == 0 {
			return tm.In(h.appCfg.Policy.Location).Format("2006-01-02T15:04")
		}
		return tm.In(h.appCfg.Policy.Location).Format("2006-01-02T15:04:05")
	}
	b.do("set as of after the revision", chromedp.SetValue(chromedp.CSS("#as_of"), local(h.ag.afterRevision)))
	b.click("#asof-submit")
	if got := b.text("#pred-2026"); got != "Butuh Perbaikan" {
		t.Errorf("annual predikat as of the revision = %q, want Butuh Perbaikan", got)
	}
	if !strings.Contains(b.text("#asof-banner"), "Ditampilkan sebagaimana tercatat pada") {
		t.Errorf("no as-of banner")
	}
	b.screenshot("skp-as-of")
	b.do("set as of after the first rating", chromedp.SetValue(chromedp.CSS("#as_of"), local(h.ag.afterRating)))
	b.click("#asof-submit")
	if got, st := b.text("#pred-2026"), b.text("#evalstatus-2026"); got != "Baik" || !strings.HasPrefix(st, "Draf") {
		t.Errorf("annual evaluation as of the first rating = %q %q, want Baik, Draf", got, st)
	}
	b.click(`#timeline li[data-revision="0"] a.asof-link`)
	if got := b.text("#skp-status"); got != "Draf" {
		t.Errorf("SKP as of its first event: status %q, want Draf", got)
	}

	// English and back.
	b.click("#lang-switch")
	if lang := eval[string](b, "document.documentElement.lang"); lang != "en" || b.text("#skp-status") != "Draft" ||
		!strings.Contains(b.text("nav"), "Home") {
		t.Errorf("after the language switch: lang %q, status %q, nav %q", lang, b.text("#skp-status"), b.text("nav"))
	}
	b.open("/skp/" + h.ag.skpE) // the cookie keeps English
	if got := b.text("#pred-2026"); got != "Good" {
		t.Errorf("predikat in English = %q, want Good", got)
	}
	b.screenshot("skp-en")
	b.click("#lang-switch")
	if got := b.text("#pred-2026"); got != "Baik" {
		t.Errorf("predikat after switching back = %q, want Baik", got)
	}

	// The objection register: P's open objection is overdue; E's changed
	// the predikat.
	b.open("/keberatan")
	if n := eval[int](b, `document.querySelectorAll("#register tr.overdue").length`); n != 1 ||
		!strings.Contains(b.text("#register tr.overdue"), "Dewi Lestari") {
		t.Errorf("overdue rows = %d, want P's only", n)
	}
	if row := b.text(`#register tr[data-status="DECIDED"]`); !strings.Contains(row, "Diubah") || !strings.Contains(row, "Butuh Perbaikan ⇒ Baik") {
		t.Errorf("decided row = %q, want Diubah and Butuh Perbaikan ⇒ Baik", row)
	}
	b.screenshot("keberatan")
	objCSV := b.download("#export-obj-csv", downloads)
	if !strings.Contains(string(objCSV), "ID keberatan;ID SKP;NIP") || !strings.Contains(string(objCSV), h.ag.skpP) {
		t.Errorf("objection register CSV = %q", objCSV)
	}

	// Audit: verify now, then an entry's inclusion proof, checked by the
	// server and again by the page's script.
	b.open("/audit")
	b.click("#verify-now")
	if ok := eval[string](b, `document.getElementById("verify-result").dataset.ok`); ok != "true" {
		t.Errorf("verification result = %q, want true: %s", ok, b.text("#verify-result"))
	}
	// The trail of E's SKP; the proof of its first rating revision.
	b.do("filter by stream", chromedp.SetValue(chromedp.CSS("#f-stream"), "skp-"+h.ag.skpE))
	b.click("#audit-filter")
	if n := eval[int](b, `[...document.querySelectorAll("#trail tbody tr")].filter(r => !r.textContent.includes("skp-`+h.ag.skpE+`")).length`); n != 0 {
		t.Errorf("filtered by stream: %d rows of other streams", n)
	}
	b.click(`#trail tr[data-type="skp.rating_revised.v1"] a`)
	if ok := eval[string](b, `document.getElementById("proof-server").dataset.ok`); ok != "true" {
		t.Errorf("server proof = %q: %s", ok, b.text("#proof-server"))
	}
	run(b, "browser proof", chromedp.Poll[bool](`document.getElementById("proof-browser").dataset.ok === "true"`,
		chromedp.WithPollingTimeout(10*time.Second)))
	auditProof := b.location()
	b.screenshot("audit")
	b.open("/audit")
	b.do("filter by actor", chromedp.SetValue(chromedp.CSS("#f-actor"), nipS))
	b.click("#audit-filter")
	if n := eval[int](b, `[...document.querySelectorAll("#trail tbody tr")].filter(r => !r.textContent.includes("`+nipS+`")).length`); n != 0 {
		t.Errorf("filtered by actor %s: %d rows of others", nipS, n)
	}
	b.checkXLSX("#export-audit-xlsx", "audit", nipS)

	// A phone, 375 px wide: every page fits without horizontal scroll.
	b.do("phone viewport", chromedp.EmulateViewport(375, 812, chromedp.EmulateMobile))
	for _, p := range []struct{ name, path string }{
		{"beranda-375", "/"},
		{"dasbor-unit-375", "/unit/DINKES?year=2026"},
		{"skp-375", "/skp/" + h.ag.skpE},
		{"keberatan-375", "/keberatan"},
		{"audit-375", auditProof},
	} {
		b.open(p.path)
		b.noHorizontalScroll(p.path)
		b.screenshot(p.name)
	}
	b.open("/masuk")
	b.noHorizontalScroll("/masuk")

}

// download clicks the link sel and returns the file the browser saved.
func (b *tab) download(sel, dir string) []byte {
	b.t.Helper()
	if _, err := chromedp.CallBrowser(b.ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: dir, EventsEnabled: new(true),
		BrowserContextID: chromedp.FromContext(b.ctx).BrowserContextID}); err != nil {
		b.t.Fatalf("download behaviour: %v", err)
	}
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	progress := chromedp.BrowserEvents(ctx, browser.DownloadProgress)
	b.do("click "+sel, chromedp.Click(chromedp.CSS(sel)))
	for ev, err := range progress {
		if err != nil {
			b.t.Fatalf("download %s: %v", sel, err)
		}
		switch ev.State {
		case browser.DownloadProgressStateCompleted:
			p := ev.FilePath
			if p == "" {
				p = filepath.Join(dir, ev.GUID)
			}
			body, err := os.ReadFile(p)
			if err != nil {
				b.t.Fatalf("download %s: %v", sel, err)
			}
			return body
		case browser.DownloadProgressStateCanceled:
			b.t.Fatalf("download %s canceled", sel)
		}
	}
	b.t.Fatalf("download %s: %v", sel, errors.New("no completion"))
	return nil
}

// checkXLSX fetches the link sel from the page (with the session cookie)
// and checks it is a workbook with a sheet named sheet holding want.
func (b *tab) checkXLSX(sel, sheet, want string) {
	b.t.Helper()
	type answer struct {
		Type string
		Data string
	}
	a := eval[answer](b, `(async () => {
		const r = await fetch(document.querySelector('`+sel+`').href);
		const buf = new Uint8Array(await r.arrayBuffer());
		let s = "";
		for (const c of buf) s += String.fromCharCode(c);
		return {Type: r.headers.get("content-type"), Data: btoa(s)};
	})()`)
	if a.Type != mediaXLSX {
		b.t.Errorf("%s: Content-Type %q, want %s", sel, a.Type, mediaXLSX)
	}
	raw, err := base64.StdEncoding.DecodeString(a.Data)
	if err != nil {
		b.t.Fatal(err)
	}
	f, err := excelize.OpenReader(bytes.NewReader(raw))
	if err != nil {
		b.t.Fatalf("%s: not a workbook: %v", sel, err)
	}
	defer f.Close()
	rows, err := f.GetRows(sheet)
	if err != nil {
		b.t.Fatalf("%s: sheet %s: %v (sheets %v)", sel, sheet, err, f.GetSheetList())
	}
	found := false
	for _, r := range rows {
		for _, c := range r {
			found = found || c == want
		}
	}
	if len(rows) < 2 || !found {
		b.t.Errorf("%s: workbook rows %v, want a cell %q", sel, rows, want)
	}
}
