package web

// What the browser tests share: one headless Chromium for the whole test
// binary (started by the first test that needs it, stopped by TestMain),
// and a tab per person in a browser context of its own (its own cookies:
// two people signed in at once, as in two browsers), whose console errors
// fail the test.

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"
)

var sharedBrowser struct {
	once   sync.Once
	ctx    context.Context
	cancel func()
	err    error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if sharedBrowser.cancel != nil {
		sharedBrowser.cancel()
	}
	os.Exit(code)
}

// requireChromium skips the test when Chromium is missing, or fails it
// when KINERJA_REQUIRE_BROWSER=1 (CI).
func requireChromium(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("KINERJA_REQUIRE_BROWSER") == "1" {
			t.Fatalf("KINERJA_REQUIRE_BROWSER=1 but %s is missing (apt-get install chromium chromium-driver): %v", chromiumPath, err)
		}
		t.Skipf("%s is missing (apt-get install chromium chromium-driver); set KINERJA_REQUIRE_BROWSER=1 to fail instead", chromiumPath)
	}
}

// chromium returns the context of the shared browser, started on first use.
func chromium(t *testing.T) context.Context {
	t.Helper()
	requireChromium(t)
	sharedBrowser.once.Do(func() {
		dir, err := os.MkdirTemp("", "kinerja-chromium-")
		if err != nil {
			sharedBrowser.err = err
			return
		}
		allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), browserFlags(dir)...)
		ctx, cancel := chromedp.NewContext(allocCtx)
		sharedBrowser.ctx = ctx
		sharedBrowser.cancel = func() { cancel(); cancelAlloc(); os.RemoveAll(dir) }
		sharedBrowser.err = chromedp.Do(ctx) // starts the browser, without a timeout
	})
	if sharedBrowser.err != nil {
		t.Fatalf("start %s: %v", chromiumPath, sharedBrowser.err)
	}
	return sharedBrowser.ctx
}

// newTab opens a tab in a new browser context of the shared browser, on
// the dashboard at base; screenshots go to shots. Errors on the console
// (but for documents answered 4xx) fail the test when it ends.
func newTab(t *testing.T, base, shots string) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(chromium(t), chromedp.WithNewBrowserContext())
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		t.Fatalf("new tab: %v", err)
	}
	var mu sync.Mutex
	var errs []string
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.IsException() {
				if strings.Contains(m.Text, "the server responded with a status of 4") {
					// A form sent back with its problems (422, 409, 412)
					// is a page the tests ask for on purpose.
					continue
				}
				mu.Lock()
				errs = append(errs, fmt.Sprintf("%s (%s)", m.Text, m.URL))
				mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		mu.Lock()
		defer mu.Unlock()
		for _, e := range errs {
			t.Errorf("browser console: %s", e)
		}
	})
	return &tab{t: t, ctx: ctx, base: base, shots: shots}
}

// signInAs signs c in on this tab through a one-time sign-in link (what
// `kinerjactl login-link` prints) and its button, and lands on the start
// page.
func (b *tab) signInAs(h *harness, c caller) {
	b.t.Helper()
	code, _, err := h.codes.Issue(c.principal(), 0)
	if err != nil {
		b.t.Fatal(err)
	}
	b.open("/masuk/tautan?kode=" + code)
	b.click("#signin-submit")
	if got := b.location(); got != "/" {
		b.t.Fatalf("%s signed in at %s, want /", c.sub, got)
	}
}

// axeSource returns axe-core's script: $KINERJA_AXE_JS, else the copy npm
// installs under testdata/axe (.ci/run: npm ci --prefix
// adapters/web/testdata/axe). Missing, the test is skipped, or fails when
// KINERJA_REQUIRE_BROWSER=1.
func axeSource(t *testing.T) string {
	t.Helper()
	path := os.Getenv("KINERJA_AXE_JS")
	if path == "" {
		_, file, _, _ := runtime.Caller(0)
		path = filepath.Join(filepath.Dir(file), "testdata", "axe", "node_modules", "axe-core", "axe.min.js")
	}
	src, err := os.ReadFile(path)
	if err != nil {
		msg := fmt.Sprintf("axe-core is missing (%v): npm ci --prefix adapters/web/testdata/axe, or set KINERJA_AXE_JS", err)
		if os.Getenv("KINERJA_REQUIRE_BROWSER") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return string(src)
}

// axeViolation is one serious or critical violation axe-core found.
type axeViolation struct {
	ID, Impact, Help string
	Targets          []string
}

func (v axeViolation) String() string {
	return fmt.Sprintf("%s (%s): %s at %s", v.ID, v.Impact, v.Help, strings.Join(v.Targets, ", "))
}

// axe runs axe-core (src) on the page as it is and returns its serious and
// critical violations.
func (b *tab) axe(src string) []axeViolation {
	b.t.Helper()
	if !eval[bool](b, `typeof window.axe === "object"`) {
		// Evaluated over the DevTools protocol: the page's
		// Content-Security-Policy (script-src 'self') does not apply.
		run(b, "inject axe-core", chromedp.Evaluate[bool](src+";\ntrue"))
	}
	return eval[[]axeViolation](b, `(async () => {
		const r = await axe.run(document, {resultTypes: ["violations"]});
		return r.violations.filter(v => v.impact === "serious" || v.impact === "critical").map(v => ({
			ID: v.id, Impact: v.impact, Help: v.help,
			Targets: v.nodes.slice(0, 5).map(n => n.target.join(" ")),
		}));
	})()`)
}
