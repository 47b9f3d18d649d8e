package web

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/kinerja-ledger/kinerja/adapters/app"
)

// The evidence form in Chromium: the script says at once, beside the
// field, that a chosen file is over the limit and keeps the form from
// being sent (nothing is uploaded); a file within the limit is uploaded,
// recorded once and shown on the SKP page.
func TestEvidenceUploadInBrowser(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("KINERJA_REQUIRE_BROWSER") == "1" {
			t.Fatalf("KINERJA_REQUIRE_BROWSER=1 but %s is missing: %v", chromiumPath, err)
		}
		t.Skipf("%s is missing; set KINERJA_REQUIRE_BROWSER=1 to fail instead", chromiumPath)
	}
	h := seeded(t)
	h.rebuild(func(c *app.Config) { c.MaxEvidenceBytes = 2048 })
	srv := httptest.NewServer(h.handler)
	defer srv.Close()
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), browserFlags(t.TempDir())...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(allocCtx)
	defer cancel()
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start %s: %v", chromiumPath, err)
	}
	b := &tab{t: t, ctx: ctx, base: srv.URL, shots: t.TempDir()}
	code, _, err := h.codes.Issue(empE.principal(), 0)
	if err != nil {
		t.Fatal(err)
	}
	b.open("/masuk/tautan?kode=" + code)
	b.click("#signin-submit")

	dir := t.TempDir()
	big := filepath.Join(dir, "besar.pdf")
	small := filepath.Join(dir, "laporan-q4.pdf")
	if err := os.WriteFile(big, append([]byte("%PDF-1.7\n"), make([]byte, 4096)...), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(small, []byte("%PDF-1.7\n1 0 obj <<>> endobj\n%%EOF\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	path := "/skp/" + h.ag.skpE + "/bukti"
	stream := "skp-" + h.ag.skpE
	n := h.streamLen(stream)
	b.open(path)
	if !eval[bool](b, `document.getElementById("file-size-error").hidden`) {
		t.Error("the size message shows before a file is chosen")
	}
	b.do("choose a large file", chromedp.SetUploadFiles(chromedp.CSS("#file"), []string{big}))
	if eval[bool](b, `document.getElementById("file-size-error").hidden`) || eval[string](b, `document.getElementById("file").getAttribute("aria-invalid")`) != "true" {
		t.Error("a file over the limit is not flagged beside the field")
	}
	b.do("send the form", chromedp.Click(chromedp.CSS("#evidence-submit")))
	if got := b.location(); got != path || h.streamLen(stream) != n {
		t.Errorf("the form with a large file was sent: at %s, %d events recorded", got, h.streamLen(stream)-n)
	}
	b.do("choose a small file", chromedp.SetUploadFiles(chromedp.CSS("#file"), []string{small}))
	if !eval[bool](b, `document.getElementById("file-size-error").hidden`) {
		t.Error("the size message stays for a file within the limit")
	}
	b.click("#evidence-submit")
	if got := b.location(); !strings.HasPrefix(got, "/skp/"+h.ag.skpE) || got == path {
		t.Errorf("after the upload at %s", got)
	}
	if !strings.Contains(b.text("main"), "laporan-q4.pdf") || h.streamLen(stream) != n+1 {
		t.Error("the SKP page does not show the uploaded file, or it was not recorded once")
	}
}
