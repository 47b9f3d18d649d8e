package web

import (
	"net/http"
	"strings"
	"testing"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/skp"
)

// poorQuarterA has S rate A's first quarter BUTUH_PERBAIKAN and issue it:
// final at once (objections to quarters are not allowed by default).
func poorQuarterA(h *harness) string {
	h.t.Helper()
	s := caller{nipS, nil}
	mustC := func(_ domain.Committed, err error) error { return err }
	h.must(mustC(h.skps.Rate(h.ctx, req(s), skp.Rate{SKPID: h.ag.skpA, Period: "2026-Q1", WorkResult: "DI_BAWAH_EKSPEKTASI", Behaviour: "SESUAI_EKSPEKTASI", Rationale: "Target triwulan I tidak tercapai"})), "rate A Q1")
	h.must(mustC(h.skps.Issue(h.ctx, req(s), skp.Issue{SKPID: h.ag.skpA, Period: "2026-Q1"})), "issue A Q1")
	h.catchUp()
	return "/skp/" + h.ag.skpA + "/evaluasi/2026-Q1/rencana-perbaikan"
}

// The improvement plan page (issue 14): the appraiser is given the open
// form for a final BUTUH_PERBAIKAN evaluation, problems come back beside
// the fields with nothing recorded, a double submit records once, then
// the result form; others see the plan without a form, or nothing.
func TestImprovementForm(t *testing.T) {
	h := seeded(t)
	path := poorQuarterA(h)
	stream := domain.SKPStream(h.ag.skpA)
	if r := h.get(&empX, path); r.status != http.StatusNotFound {
		t.Errorf("an outsider = %d, want 404", r.status)
	}
	if r := h.must200(apprA, path); strings.Contains(r.body, `id="improvement-form"`) {
		t.Error("the employee is given the form")
	}
	if r := h.must200(supS, "/skp/"+h.ag.skpE+"/evaluasi/2026/rencana-perbaikan"); !strings.Contains(r.body, `id="not-needed"`) || strings.Contains(r.body, `id="improvement-form"`) {
		t.Error("a BAIK evaluation offers a plan")
	}
	body := h.must200(supS, path).body
	if !strings.Contains(body, `id="improvement-form"`) || !strings.Contains(body, "Buka rencana perbaikan") {
		t.Fatalf("the appraiser has no open form:\n%s", body)
	}
	n := h.streamLen(stream)
	for name, k := range map[string]struct {
		kv    []string
		field string
	}{
		"no goals":          {[]string{"goals", " ", "actions", "Pendampingan"}, "goals"},
		"control character": {[]string{"goals", "Laporan", "actions", "Pendamping\x1ban"}, "actions"},
		"huge":              {[]string{"goals", strings.Repeat("sasaran ", 1200), "actions", "a"}, "goals"},
		"an old date":       {[]string{"goals", "g", "actions", "a", "follow_up_on", "1999-01-01"}, "follow_up_on"},
		"not a date":        {[]string{"goals", "g", "actions", "a", "follow_up_on", "besok"}, "follow_up_on"},
	} {
		r := h.post(&supS, path, formOf(t, body, k.kv...))
		if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, `id="`+k.field+`-error"`) {
			t.Errorf("%s: = %d, want 422 beside %s", name, r.status, k.field)
		}
	}
	if h.streamLen(stream) != n {
		t.Fatal("a refused plan recorded something")
	}
	good := formOf(t, body, "goals", "Laporan triwulan tepat waktu", "actions", "Pendampingan mingguan oleh atasan")
	if r := h.post(&apprA, path, good); r.status != http.StatusForbidden {
		t.Errorf("the plan opened by the employee = %d, want 403", r.status)
	}
	r := h.post(&supS, path, good)
	if r.status != http.StatusSeeOther || r.header.Get("Location") != path+"?selesai=buka" {
		t.Fatalf("open = %d to %q\n%s", r.status, r.header.Get("Location"), r.body)
	}
	if r := h.post(&supS, path, good); r.status != http.StatusSeeOther || h.streamLen(stream) != n+1 {
		t.Errorf("a double submit = %d, %d events, want 1", r.status, h.streamLen(stream)-n)
	}
	body = h.must200(supS, path+"?selesai=buka").body
	if !strings.Contains(body, `id="done"`) || !strings.Contains(body, "Laporan triwulan tepat waktu") || !strings.Contains(body, `id="result-submit"`) {
		t.Fatalf("after opening:\n%s", body)
	}
	if r := h.post(&supS, path+"/hasil", formOf(t, body, "result", "NOT_IMPROVED", "note", " ")); r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, `id="note-error"`) {
		t.Errorf("a result without a note = %d", r.status)
	}
	if r := h.post(&supS, path+"/hasil", formOf(t, body, "result", "IMPROVED", "note", "Laporan kini tepat waktu")); r.status != http.StatusSeeOther {
		t.Fatalf("record the result = %d\n%s", r.status, r.body)
	}
	if body := h.must200(apprA, path).body; !strings.Contains(body, "Membaik") || strings.Contains(body, `id="improvement-form"`) {
		t.Error("the recorded result is not shown")
	}
}
