package web

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/skp"
)

// keys drives a tab with the keyboard only: Tab and Shift-Tab move the
// focus, typed keys fill the focused control, Space chooses a radio
// button, Enter presses the focused button. No mouse event is sent.
type keys struct {
	t *testing.T
	b *tab
}

// focused is the id of the focused element.
func (k keys) focused() string {
	return eval[string](k.b, "document.activeElement ? document.activeElement.id : ''")
}

// to moves the focus with Tab (or Shift-Tab, back) until it is on #id.
func (k keys) to(id string, back bool) {
	k.t.Helper()
	var opts []chromedp.KeyOption
	if back {
		opts = append(opts, chromedp.KeyModifiers(chromedp.ModifierShift))
	}
	for range 80 {
		if k.focused() == id {
			return
		}
		k.b.do("tab", chromedp.KeyEvent("\t", opts...))
	}
	k.t.Fatalf("the keyboard never reached #%s (focus on #%s)", id, k.focused())
}

// typeInto tabs to #id and types s.
func (k keys) typeInto(id, s string) {
	k.t.Helper()
	k.to(id, false)
	k.b.do("type into #"+id, chromedp.KeyEvent(s))
}

// choose tabs to the radio button #id and chooses it with Space.
func (k keys) choose(id string) {
	k.t.Helper()
	k.to(id, false)
	k.b.do("choose #"+id, chromedp.KeyEvent(" "))
}

// press tabs to the button #id and presses Enter, waiting for the page it
// loads.
func (k keys) press(id string) {
	k.t.Helper()
	k.to(id, false)
	run(k.b, "Enter on #"+id, chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.KeyEvent("\r")))
}

// The main forms of each audience completed with the keyboard alone
// (issue 12): the employee adds an RHK (its cascade picked from the
// appraiser's RHK by typing in the closed list) and records a realisation;
// the appraiser rates a period; the superior decides an objection; a
// grievance clerk records a paper filing. Each lands where the form leads
// and records exactly one event.
func TestKeyboardOnlyForms(t *testing.T) {
	chromium(t)
	h := planned(t)
	h.issueQ()
	skpX, _, err := h.skps.Draft(h.ctx, req(empX), skp.Draft{NIP: nipX, Year: 2026, Approach: "KUANTITATIF"})
	if err != nil {
		t.Fatal(err)
	}
	h.catchUp()
	srv := httptest.NewServer(h.handler)
	defer srv.Close()
	shots := screenshotDir(t)
	as := func(t *testing.T, c caller) keys {
		b := newTab(t, srv.URL, shots)
		b.signInAs(h, c)
		return keys{t: t, b: b}
	}
	recorded := func(what, stream string, before int) {
		t.Helper()
		if n := h.streamLen(stream); n != before+1 {
			t.Errorf("%s recorded %d events, want 1", what, n-before)
		}
	}

	// The pages issue 12 added, in pictures (KINERJA_SCREENSHOTS), before
	// the forms below change what they show.
	t.Run("new pages", func(t *testing.T) {
		importedHead(t, h, "PEMKOT", nipS)
		for _, p := range []struct {
			who        caller
			path, name string
		}{
			{apprA, "/skp/" + h.ag.skpE + "/rencana/pemberi-umpan-balik", "skp-pemberi-umpan-balik"},
			{apprA, "/skp/" + skpX + "/rencana/batalkan", "skp-batalkan"},
			{hrAdmin, "/skp/" + h.ag.skpE + "/rencana/tutup", "skp-tutup"},
			{supS, "/skp/" + h.ag.skpP + "/penilaian/2026/keberatan/pemutus", "keberatan-pemutus"},
			{hrAdmin, "/data-induk/pejabat/baru", "data-induk-pejabat-baru"},
			{supS, "/unit/DINKES/distribusi/2026/justifikasi", "unit-justifikasi"},
		} {
			b := newTab(t, srv.URL, shots)
			b.signInAs(h, p.who)
			b.open(p.path)
			if got := b.location(); got != p.path {
				t.Errorf("%s opened at %s", p.path, got)
			}
			b.screenshot(p.name)
		}
	})

	t.Run("employee RHK", func(t *testing.T) {
		k := as(t, empX)
		stream := domain.SKPStream(skpX)
		n := h.streamLen(stream)
		k.b.open("/skp/" + skpX + "/rencana/rhk")
		k.typeInto("text", "Tersusunnya dokumen perencanaan imunisasi")
		k.choose("kind-UTAMA")
		k.to("intervened_rhk_id", false)
		// A typed letter picks the first option starting with it: the
		// appraiser's one RHK, "Meningkatnya …".
		k.b.do("pick the cascade", chromedp.KeyEvent("M"))
		// Back with Shift-Tab to correct the text, then on to the button.
		k.to("text", true)
		k.b.do("append", chromedp.KeyEvent(" 2026"))
		k.press("rhk-submit")
		if got := k.b.location(); got != "/skp/"+skpX+"/rencana?ok=rhk-saved" {
			t.Fatalf("after the RHK at %s", got)
		}
		recorded("the RHK", stream, n)
		v, _ := h.skps.Read(h.ctx, empX.principal(), skpX, skp.AsOf{})
		if len(v.Plan) != 1 || v.Plan[0].Text != "Tersusunnya dokumen perencanaan imunisasi 2026" || v.Plan[0].IntervenedRHKID != h.ag.rhkA {
			t.Errorf("the plan typed with the keyboard: %+v", v.Plan)
		}
	})

	t.Run("employee realisation", func(t *testing.T) {
		k := as(t, empE)
		stream := domain.SKPStream(h.ag.skpE)
		n := h.streamLen(stream)
		k.b.open("/skp/" + h.ag.skpE + "/realisasi")
		// The harness's today lies after the year, whose annual evaluation
		// is issued: the quarter is chosen by typing in the list.
		k.typeInto("period", "2026-Q4")
		k.typeInto("value", "4")
		k.typeInto("narrative", "4 puskesmas telah melaksanakan")
		k.press("realisation-submit")
		if got := k.b.location(); got != "/skp/"+h.ag.skpE {
			t.Fatalf("after the realisation at %s: %s", got, k.b.text("main"))
		}
		recorded("the realisation", stream, n)
	})

	t.Run("appraiser rating", func(t *testing.T) {
		k := as(t, apprA)
		stream := domain.SKPStream(h.ag.skpE)
		n := h.streamLen(stream)
		k.b.open("/skp/" + h.ag.skpE + "/penilaian/2026-Q3/nilai")
		k.choose("work_result-DI_ATAS_EKSPEKTASI")
		k.choose("behaviour-DI_ATAS_EKSPEKTASI")
		if got := k.b.text("#predikat-live"); got != "Sangat Baik" {
			t.Errorf("the live predikat = %q", got)
		}
		k.typeInto("rationale", "Target triwulan III terlampaui")
		k.press("rate-submit")
		if got := k.b.location(); got != "/skp/"+h.ag.skpE+"/penilaian?selesai=nilai" {
			t.Fatalf("after the rating at %s", got)
		}
		recorded("the rating", stream, n)
	})

	t.Run("superior decision", func(t *testing.T) {
		k := as(t, supS)
		stream := domain.SKPStream(h.ag.skpP)
		n := h.streamLen(stream)
		k.b.open("/skp/" + h.ag.skpP + "/penilaian/2026/keberatan/putusan")
		k.choose("outcome-UPHELD")
		k.typeInto("decision_text", "Penilaian perilaku sesuai catatan harian")
		k.typeInto("waiver_reason", "Berkas terlambat diterima dari unit")
		k.press("decide-submit")
		if got := k.b.location(); got != "/skp/"+h.ag.skpP+"/penilaian/2026/keberatan?selesai=putusan" {
			t.Fatalf("after the decision at %s\n%s", got, k.b.text("main"))
		}
		recorded("the decision", stream, n)
	})

	t.Run("clerk paper filing", func(t *testing.T) {
		k := as(t, clerk)
		stream := domain.SKPStream(h.ag.skpQ)
		n := h.streamLen(stream)
		k.b.open("/skp/" + h.ag.skpQ + "/penilaian/2026/keberatan/ajukan")
		k.typeInto("paper_ref", "KB-12/2026")
		// The filing date is left empty: the paper arrived today.
		k.typeInto("reasons", "Surat keberatan diterima di loket")
		k.press("file-submit")
		if got := k.b.location(); got != "/skp/"+h.ag.skpQ+"/penilaian/2026/keberatan?selesai=ajukan" {
			t.Fatalf("after the paper filing at %s\n%s", got, k.b.text("main"))
		}
		recorded("the paper filing", stream, n)
		if !strings.Contains(k.b.text("main"), "KB-12/2026") {
			t.Error("the objection page does not show the paper reference")
		}
	})
}
