package web

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/authz"
	"github.com/kinerja-ledger/kinerja/domain/policy"
	"github.com/kinerja-ledger/kinerja/domain/skp"
)

// issueQ issues Q's rated annual evaluation now, through the domain.
func (h *harness) issueQ() {
	h.t.Helper()
	if _, err := h.skps.Issue(h.ctx, req(apprA), skp.Issue{SKPID: h.ag.skpQ, Period: "2026"}); err != nil {
		h.t.Fatal(err)
	}
}

// Filing an objection: the employee within the window, with the days left;
// a grievance clerk recording a paper filing with its date; nobody else.
// Problems beside the fields, a double submit recorded once, a second
// objection refused, a withdrawal, and the window closed after its
// deadline.
func TestObjectionFiling(t *testing.T) {
	h := seeded(t)
	h.issueQ()
	stream := domain.SKPStream(h.ag.skpQ)
	base := "/skp/" + h.ag.skpQ + "/penilaian/2026/keberatan"
	pg := h.must200(empQ, base)
	if !strings.Contains(pg.body, `id="file-link"`) || !strings.Contains(pg.body, `<strong id="days-left">14</strong>`) {
		t.Fatalf("the employee's objection page lacks the filing link or the 14 days left\n%s", pg.body)
	}
	for _, c := range []struct {
		who  caller
		want int
	}{{apprA, 403}, {supS, 403}, {empX, 404}, {empP, 404}, {auditor, 403}} {
		if r := h.get(&c.who, base+"/ajukan"); r.status != c.want {
			t.Errorf("the filing form as %s = %d, want %d", c.who.sub, r.status, c.want)
		}
	}
	form := h.must200(empQ, base+"/ajukan")
	if strings.Contains(form.body, `id="filed_at"`) {
		t.Error("the employee is asked for a paper filing date")
	}
	clerkForm := h.must200(clerk, base+"/ajukan")
	if !strings.Contains(clerkForm.body, `id="filed_at"`) {
		t.Error("the clerk is not asked for the paper filing date")
	}
	events := h.streamLen(stream)
	for name, c := range map[string]struct {
		who   caller
		body  string
		kv    []string
		field string
	}{
		"no reasons":       {empQ, form.body, []string{"reasons", "  "}, "reasons"},
		"control char":     {empQ, form.body, []string{"reasons", "tidak\x1bsetuju"}, "reasons"},
		"huge reasons":     {empQ, form.body, []string{"reasons", strings.Repeat("k", skp.MaxLongTextLen+1)}, "reasons"},
		"paper before":     {clerk, clerkForm.body, []string{"reasons", "Berkas kertas", "filed_at", "2027-02-01T09:00"}, "filed_at"},
		"paper in future":  {clerk, clerkForm.body, []string{"reasons", "Berkas kertas", "filed_at", "2027-04-01T09:00"}, "filed_at"},
		"paper not a date": {clerk, clerkForm.body, []string{"reasons", "Berkas kertas", "filed_at", "besok"}, "filed_at"},
	} {
		r := h.post(&c.who, base+"/ajukan", formOf(t, c.body, c.kv...))
		if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, `id="`+c.field+`-error"`) {
			t.Errorf("%s: = %d, want 422 beside %s\n%s", name, r.status, c.field, r.body)
		}
	}
	if h.streamLen(stream) != events {
		t.Fatal("a refused filing recorded something")
	}
	spare := h.must200(empQ, base+"/ajukan")
	good := formOf(t, form.body, "reasons", "Realisasi triwulan IV belum dinilai")
	first := h.post(&empQ, base+"/ajukan", good)
	if first.status != http.StatusSeeOther || first.header.Get("Location") != base+"?selesai=ajukan" {
		t.Fatalf("filing = %d to %q\n%s", first.status, first.header.Get("Location"), first.body)
	}
	if second := h.post(&empQ, base+"/ajukan", good); second.status != http.StatusSeeOther {
		t.Errorf("a double submit = %d", second.status)
	}
	if n := h.streamLen(stream); n != events+1 {
		t.Fatalf("the stream grew by %d after a double submit, want 1", n-events)
	}
	pg = h.must200(empQ, base+"?selesai=ajukan")
	if !strings.Contains(pg.body, `id="done"`) || !strings.Contains(pg.body, "Realisasi triwulan IV belum dinilai") ||
		strings.Contains(pg.body, `id="file-link"`) || !strings.Contains(pg.body, `id="withdraw-link"`) {
		t.Errorf("after filing, the page does not show the objection with the withdrawal only\n%s", pg.body)
	}
	// A second objection while one is open: not offered; a form rendered
	// before the first was filed is stale.
	if r := h.post(&empQ, base+"/ajukan", formOf(t, spare.body, "reasons", "Lagi")); r.status != http.StatusPreconditionFailed ||
		!strings.Contains(r.body, `id="stale"`) || !strings.Contains(r.body, `id="closed"`) {
		t.Errorf("a second objection = %d, want 412 without a form", r.status)
	}
	// Withdrawn, it may be filed again within the window.
	wd := h.must200(empQ, base+"/tarik")
	if r := h.post(&empQ, base+"/tarik", formOf(t, wd.body, "reason", "Sudah dijelaskan langsung")); r.status != http.StatusSeeOther {
		t.Fatalf("withdrawal = %d\n%s", r.status, r.body)
	}
	pg = h.must200(empQ, base)
	if !strings.Contains(pg.body, `id="withdrawal"`) || !strings.Contains(pg.body, `id="file-link"`) {
		t.Error("after the withdrawal the page does not say so or offer to file again")
	}
	// After the deadline: shown closed, the filing refused.
	within := h.must200(empQ, base+"/ajukan")
	h.clock.Advance(20 * 24 * time.Hour)
	h.sessions = map[string]*http.Cookie{} // the sessions ended meanwhile
	late := h.must200(empQ, base+"/ajukan")
	if !strings.Contains(late.body, "Masa keberatan telah berakhir") || strings.Contains(late.body, `id="file-form"`) {
		t.Error("the filing page after the deadline does not say the window closed, or offers the form")
	}
	// A form rendered within the window and sent after it: refused.
	if r := h.post(&empQ, base+"/ajukan", formOf(t, within.body, "reasons", "Terlambat")); r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, `role="alert"`) {
		t.Errorf("a filing after the window = %d, want 422", r.status)
	}
}

// A grievance clerk records a paper filing dated within the window.
func TestObjectionPaperFiling(t *testing.T) {
	h := seeded(t)
	h.issueQ()
	h.clock.Advance(3 * 24 * time.Hour)
	base := "/skp/" + h.ag.skpQ + "/penilaian/2026/keberatan"
	form := h.must200(clerk, base+"/ajukan")
	if r := h.post(&clerk, base+"/ajukan", formOf(t, form.body, "reasons", "Surat keberatan tertanggal 4 Maret", "filed_at", "2027-03-04T08:00")); r.status != 422 || !strings.Contains(r.body, `id="filed_at-error"`) {
		t.Errorf("an earlier filing date without the paper's reference = %d, want 422 beside filed_at", r.status)
	}
	r := h.post(&clerk, base+"/ajukan", formOf(t, form.body, "reasons", "Surat keberatan tertanggal 4 Maret", "filed_at", "2027-03-04T08:00", "paper_ref", "KB-07/2026"))
	if r.status != http.StatusSeeOther {
		t.Fatalf("the clerk's paper filing = %d\n%s", r.status, r.body)
	}
	e, err := h.skps.Evaluation(h.ctx, clerk.principal(), h.ag.skpQ, "2026")
	if err != nil || e.Objection == nil || e.Objection.RecordedByClerk != clerk.sub ||
		!e.Objection.FiledAt.Equal(time.Date(2027, 3, 4, 8, 0, 0, 0, policy.WIB)) || e.Objection.Backfill == nil || e.Objection.Backfill.PaperRef != "KB-07/2026" {
		t.Fatalf("the paper filing = %+v, %v", e.Objection, err)
	}
}

// The superior's decision: both explanations, the SKP as of the filing and
// the score history side by side; requests for explanations and the
// parties' answers; a stale form shown with what changed; the decision
// recorded once.
func TestObjectionDecision(t *testing.T) {
	h := seeded(t)
	stream := domain.SKPStream(h.ag.skpP)
	base := "/skp/" + h.ag.skpP + "/penilaian/2026/keberatan"
	may, err := h.app.ObjectionActions(h.ctx, apprA.principal(), h.ag.skpP, "2026", authz.Explain, authz.DecideObjection)
	if err != nil || !may[authz.Explain] || may[authz.DecideObjection] {
		t.Errorf("the original appraiser may %v (%v), want explain but not decide", may, err)
	}
	for _, c := range []struct {
		who  caller
		want int
	}{{apprA, 403}, {empP, 403}, {empX, 404}, {clerk, 403}, {hendT, 404}} {
		if r := h.get(&c.who, base+"/putusan"); r.status != c.want {
			t.Errorf("the decision page as %s = %d, want %d", c.who.sub, r.status, c.want)
		}
	}
	pg := h.must200(supS, base)
	for _, id := range []string{`id="request-link"`, `id="decide-link"`} {
		if !strings.Contains(pg.body, id) {
			t.Errorf("the superior's objection page lacks %s", id)
		}
	}
	if r := h.must200(empP, base); strings.Contains(r.body, `id="decide-link"`) || strings.Contains(r.body, `id="request-link"`) {
		t.Error("the employee is offered the decision")
	}
	dec := h.must200(supS, base+"/putusan")
	for _, want := range []string{"Mohon penjelasan dasar penilaian perilaku", `id="expl-a-none"`, `id="asof-eval"`, `id="score-history"`,
		`data-period="2026-Q1"`, `id="asof-link"`, "/static/rating.js"} {
		if !strings.Contains(dec.body, want) {
			t.Errorf("the decision page lacks %s", want)
		}
	}
	events := h.streamLen(stream)
	// Deciding before the explanations were asked, without a waiver: the
	// rule's refusal, for the form.
	noExpl := formOf(t, dec.body, "outcome", "UPHELD", "decision_text", "Penilaian sudah tepat")
	if r := h.post(&supS, base+"/putusan", noExpl); r.status != http.StatusConflict || !strings.Contains(r.body, "Sangat Baik") {
		t.Errorf("a decision without explanations = %d, want 409 with the page", r.status)
	}
	// Requests for explanations: problems beside the fields, once each.
	rq := h.must200(supS, base+"/minta-keterangan")
	for name, c := range map[string]struct {
		kv    []string
		field string
	}{
		"no party":      {[]string{"due_at", ""}, "from"},
		"unknown party": {[]string{"from", "AUDITOR"}, "from"},
		"due in past":   {[]string{"from", "APPRAISER", "due_at", "2026-01-01T09:00"}, "due_at"},
		"due not time":  {[]string{"from", "APPRAISER", "due_at", "minggu depan"}, "due_at"},
	} {
		if r := h.post(&supS, base+"/minta-keterangan", formOf(t, rq.body, c.kv...)); r.status != 422 || !strings.Contains(r.body, `id="`+c.field+`-error"`) {
			t.Errorf("request, %s: = %d, want 422 beside %s\n%s", name, r.status, c.field, r.body)
		}
	}
	ask := formOf(t, rq.body, "from", "APPRAISER", "due_at", "2027-03-09T16:00")
	if r := h.post(&supS, base+"/minta-keterangan", ask); r.status != http.StatusSeeOther || r.header.Get("Location") != base+"?selesai=minta" {
		t.Fatalf("request = %d to %q\n%s", r.status, r.header.Get("Location"), r.body)
	}
	h.post(&supS, base+"/minta-keterangan", ask)
	if n := h.streamLen(stream); n != events+1 {
		t.Fatalf("the stream grew by %d after a double request, want 1", n-events)
	}
	if r := h.post(&apprA, base+"/minta-keterangan", formOf(t, h.must200(supS, base+"/minta-keterangan").body, "from", "EMPLOYEE")); r.status != http.StatusForbidden {
		t.Errorf("the appraiser requesting an explanation = %d, want 403", r.status)
	}
	// The employee was not asked: their explanation is refused; the
	// appraiser's is recorded.
	if r := h.post(&empP, base+"/keterangan", formOf(t, h.must200(empP, base+"/keterangan").body, "text", "Saya ingin menjelaskan")); r.status != http.StatusConflict {
		t.Errorf("an explanation nobody asked for = %d, want 409", r.status)
	}
	ex := h.must200(apprA, base+"/keterangan")
	if r := h.post(&apprA, base+"/keterangan", formOf(t, ex.body, "text", "Perilaku dinilai dari catatan kehadiran rapat")); r.status != http.StatusSeeOther {
		t.Fatalf("the appraiser's explanation = %d\n%s", r.status, r.body)
	}
	rq2 := h.must200(supS, base+"/minta-keterangan")
	if r := h.post(&supS, base+"/minta-keterangan", formOf(t, rq2.body, "from", "EMPLOYEE")); r.status != http.StatusSeeOther {
		t.Fatalf("request from the employee = %d", r.status)
	}
	// The superior opens the decision form; meanwhile the employee
	// explains. The form is stale: shown with what changed, then applied.
	dec = h.must200(supS, base+"/putusan")
	if !strings.Contains(dec.body, "Perilaku dinilai dari catatan kehadiran rapat") || !strings.Contains(dec.body, `id="expl-e-none"`) {
		t.Error("the decision page does not show the appraiser's explanation and the employee's pending one")
	}
	if r := h.post(&empP, base+"/keterangan", formOf(t, h.must200(empP, base+"/keterangan").body, "text", "Saya hadir di semua rapat; daftar hadir terlampir")); r.status != http.StatusSeeOther {
		t.Fatalf("the employee's explanation = %d", r.status)
	}
	for name, c := range map[string]struct {
		kv    []string
		field string
	}{
		"no outcome":      {[]string{"decision_text", "x"}, "outcome"},
		"same ratings":    {[]string{"outcome", "CHANGED", "work_result", "DI_ATAS_EKSPEKTASI", "behaviour", "DI_ATAS_EKSPEKTASI", "decision_text", "x"}, "outcome"},
		"no new ratings":  {[]string{"outcome", "CHANGED", "decision_text", "x"}, "work_result"},
		"no grounds":      {[]string{"outcome", "UPHELD"}, "decision_text"},
		"control char":    {[]string{"outcome", "UPHELD", "decision_text", "ok\x00"}, "decision_text"},
		"unknown outcome": {[]string{"outcome", "REJECTED", "decision_text", "x"}, "outcome"},
	} {
		fresh := h.must200(supS, base+"/putusan")
		if r := h.post(&supS, base+"/putusan", formOf(t, fresh.body, c.kv...)); r.status != 422 || !strings.Contains(r.body, `id="`+c.field+`-error"`) {
			t.Errorf("decision, %s: = %d, want 422 beside %s\n%s", name, r.status, c.field, r.body)
		}
	}
	decide := formOf(t, dec.body, "outcome", "CHANGED", "work_result", "DI_ATAS_EKSPEKTASI", "behaviour", "SESUAI_EKSPEKTASI", "decision_text", "Daftar hadir menunjukkan kehadiran penuh")
	stale := h.post(&supS, base+"/putusan", decide)
	if stale.status != http.StatusPreconditionFailed || !strings.Contains(stale.body, `class="changes"`) || !strings.Contains(stale.body, "daftar hadir terlampir") ||
		!strings.Contains(stale.body, "Daftar hadir menunjukkan kehadiran penuh") {
		t.Fatalf("a stale decision = %d, want 412 with the changes, the new explanation and the input\n%s", stale.status, stale.body)
	}
	again := formOf(t, stale.body, "outcome", "CHANGED", "work_result", "DI_ATAS_EKSPEKTASI", "behaviour", "SESUAI_EKSPEKTASI", "decision_text", "Daftar hadir menunjukkan kehadiran penuh")
	before := h.streamLen(stream)
	if r := h.post(&supS, base+"/putusan", again); r.status != http.StatusSeeOther || r.header.Get("Location") != base+"?selesai=putusan" {
		t.Fatalf("the decision sent again = %d\n%s", r.status, r.body)
	}
	h.post(&supS, base+"/putusan", again)
	if n := h.streamLen(stream); n != before+2 {
		t.Errorf("the decision recorded %d events, want 2 (decided, revised) once", n-before)
	}
	if r := h.must200(supS, base+"/putusan"); !strings.Contains(r.body, `id="closed"`) || strings.Contains(r.body, `id="decide-form"`) {
		t.Error("the decision page of a decided objection still offers the form")
	}
	e, err := h.skps.Evaluation(h.ctx, supS.principal(), h.ag.skpP, "2026")
	if err != nil || e.Predikat != "BAIK" || e.Objection.Decision == nil {
		t.Fatalf("after the decision: %+v, %v", e.Scores, err)
	}
	pg = h.must200(empP, base+"?selesai=putusan")
	if !strings.Contains(pg.body, `id="decision"`) || strings.Contains(pg.body, `id="withdraw-link"`) {
		t.Error("the decided objection's page does not show the decision, or still offers a withdrawal")
	}
}
