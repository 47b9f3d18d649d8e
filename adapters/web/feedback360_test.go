package web

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/kinerja-ledger/kinerja/domain/berakhlak"
)

// The 360° pages: the appraiser opens a round, an invited peer answers
// (anyone else gets the same 404), the employee sees "not enough answers"
// and no giver, the appraiser closes the round.
func TestFeedback360Pages(t *testing.T) {
	h := seeded(t)
	id := h.ag.skpE
	base := "/skp/" + id + "/umpan-balik-360"
	apprA, peerP, outU := caller{nipA, nil}, caller{nipP, nil}, caller{nipU, nil}

	if r := h.get(&empE, base+"/buka"); r.status != http.StatusNotFound {
		t.Errorf("the employee is offered the opening form: %d", r.status)
	}
	form := h.must200(apprA, base+"/buka")
	bad := h.post(&apprA, base+"/buka", formOf(t, form.body, "period", "2026-Q4", "peer", "12345\n"+nipX))
	if bad.status != http.StatusUnprocessableEntity || !strings.Contains(bad.body, "12345") {
		t.Errorf("an invalid NIP: %d", bad.status)
	}
	ok := h.post(&apprA, base+"/buka", formOf(t, form.body, "period", "2026-Q4", "self", "true", "peer", nipP+"\n"+nipX+", "+nipQ))
	if ok.status != http.StatusSeeOther {
		t.Fatalf("open: %d\n%s", ok.status, ok.body)
	}
	if again := h.post(&apprA, base+"/buka", formOf(t, form.body, "period", "2026-Q4", "self", "true", "peer", nipP+"\n"+nipX+", "+nipQ)); again.status != http.StatusSeeOther {
		t.Errorf("the same form again (double submit) = %d, want the redirect of the one applied", again.status)
	}

	if r := h.get(&outU, base+"/r1/jawab"); r.status != http.StatusNotFound {
		t.Errorf("an outsider's answer form: %d", r.status)
	}
	if r := h.get(&outU, base+"/r9/jawab"); r.status != http.StatusNotFound {
		t.Errorf("a missing round's answer form: %d", r.status)
	}
	af := h.must200(peerP, base+"/r1/jawab")
	if !strings.Contains(af.body, `id="anonymous"`) {
		t.Error("the peer is not told the answer is anonymous")
	}
	kv := []string{}
	for i, v := range berakhlak.Values() { // as a browser sends the hidden values
		n := "answers." + strconv.Itoa(i)
		kv = append(kv, n+".value", string(v), n+".rating", "SESUAI_EKSPEKTASI", n+".comment", "Rapi")
	}
	missing := h.post(&peerP, base+"/r1/jawab", formOf(t, af.body, kv[:len(kv)-6]...))
	if missing.status != http.StatusUnprocessableEntity {
		t.Errorf("an answer without the last value: %d", missing.status)
	}
	ctl := append(append([]string{}, kv...), "answers.0.comment", "a\x07b")
	if r := h.post(&peerP, base+"/r1/jawab", formOf(t, af.body, ctl...)); r.status != http.StatusUnprocessableEntity {
		t.Errorf("a control character: %d", r.status)
	}
	if r := h.post(&peerP, base+"/r1/jawab", formOf(t, af.body, kv...)); r.status != http.StatusSeeOther {
		t.Fatalf("answer: %d\n%s", r.status, r.body)
	}
	if r := h.must200(peerP, base+"/r1/jawab"); !strings.Contains(r.body, `id="answer-sent"`) {
		t.Error("the giver does not see their answer recorded")
	}

	if sp := h.must200(empE, "/skp/"+id); !strings.Contains(sp.body, `id="act-feedback360"`) {
		t.Error("the SKP page does not link the 360° page")
	}
	h.catchUp()
	all := h.must200(auditor, "/audit?type=skp.feedback_round_answered.v1")
	if !strings.Contains(all.body, "REDACTED") || strings.Contains(all.body, nipP) {
		t.Errorf("the audit page shows the giver of an answer:\n%s", all.body)
	}
	if by := h.must200(auditor, "/audit?actor="+nipP); strings.Contains(by.body, "Jawaban umpan balik 360° diterima") {
		t.Error("the audit page's actor filter finds the answer")
	}
	page := h.must200(empE, base)
	if !strings.Contains(page.body, `data-group="PEER" data-shown="false"`) || !strings.Contains(page.body, "Jawaban belum cukup") {
		t.Errorf("the employee's page does not say not enough answers:\n%s", page.body)
	}
	if strings.Contains(page.body, "Dewi Lestari") || strings.Contains(page.body, nipP) {
		t.Error("the employee's page names the peer")
	}
	rp := h.must200(apprA, base)
	if !strings.Contains(rp.body, `id="close-r1"`) {
		t.Fatal("the appraiser is not offered closing")
	}
	if r := h.post(&apprA, base+"/r1/tutup", formOf(t, rp.body)); r.status != http.StatusSeeOther {
		t.Errorf("close: %d", r.status)
	}
	if en := h.must200(empE, base+"?lang=en"); !strings.Contains(en.body, "Not enough answers") {
		t.Error("no English")
	}
	// Beside the rating form: the same summary, by its hash.
	hash := regexp.MustCompile(`id="round-r1" data-hash="([0-9a-f]{64})"`).FindStringSubmatch(h.must200(empE, base).body)
	rate := h.must200(apprA, "/skp/"+id+"/penilaian/2026-Q4/nilai")
	if hash == nil || !strings.Contains(rate.body, `id="feedback360" data-round="r1" data-hash="`+hash[1]+`"`) ||
		!strings.Contains(rate.body, `data-group="PEER" data-shown="false"`) {
		t.Errorf("the rating form lacks the employee's 360° summary (%v)", hash)
	}
}

// The coaching and development pages: the appraiser records a gap, an
// action and its outcome; the employee reads them; nobody else gets a form.
func TestDevelopmentPages(t *testing.T) {
	h := seeded(t)
	id := h.ag.skpE
	base := "/skp/" + id + "/pengembangan"
	apprA := caller{nipA, nil}
	if r := h.get(&empE, base+"/kesenjangan"); r.status != http.StatusNotFound {
		t.Errorf("the employee is offered a form: %d", r.status)
	}
	if r := h.get(&empX, base); r.status != http.StatusNotFound {
		t.Errorf("an outsider reads the page: %d", r.status)
	}
	gf := h.must200(apprA, base+"/kesenjangan")
	if r := h.post(&apprA, base+"/kesenjangan", formOf(t, gf.body, "competency", "")); r.status != http.StatusUnprocessableEntity {
		t.Errorf("an empty competency: %d", r.status)
	}
	if r := h.post(&apprA, base+"/kesenjangan", formOf(t, gf.body, "competency", "Analisis data")); r.status != http.StatusSeeOther {
		t.Fatalf("gap: %d\n%s", r.status, r.body)
	}
	cf := h.must200(apprA, base+"/pembinaan")
	if r := h.post(&apprA, base+"/pembinaan", formOf(t, cf.body, "kind", "DIALOGUE", "period", "2026-Q3", "held_on", "1990-01-01", "text", "x")); r.status != http.StatusUnprocessableEntity ||
		!strings.Contains(r.body, `id="held_on-error"`) {
		t.Errorf("an old date: %d", r.status)
	}
	if r := h.post(&apprA, base+"/pembinaan", formOf(t, cf.body, "kind", "DIALOGUE", "period", "2026-Q3", "held_on", "2026-08-10", "text", "Capaian triwulan III dibahas")); r.status != http.StatusSeeOther {
		t.Fatalf("coaching: %d\n%s", r.status, r.body)
	}
	af := h.must200(apprA, base+"/tindakan")
	if r := h.post(&apprA, base+"/tindakan", formOf(t, af.body, "kind", "TRAINING", "title", "Pelatihan analisis data", "due_date", "2026-01-31")); r.status != http.StatusSeeOther {
		t.Fatalf("action: %d\n%s", r.status, r.body)
	}
	page := h.must200(empE, base)
	for _, want := range []string{"Analisis data", "Capaian triwulan III dibahas", "Pelatihan analisis data", `data-overdue="true"`} {
		if !strings.Contains(page.body, want) {
			t.Errorf("the employee's page lacks %s", want)
		}
	}
	m := regexp.MustCompile(`/pengembangan/tindakan/([^/"]+)/hasil`).FindStringSubmatch(h.must200(apprA, base).body)
	if m == nil {
		t.Fatal("no outcome link for the appraiser")
	}
	of := h.must200(apprA, base+"/tindakan/"+m[1]+"/hasil")
	if r := h.post(&apprA, base+"/tindakan/"+m[1]+"/hasil", formOf(t, of.body, "outcome", "COMPLETED")); r.status != http.StatusSeeOther {
		t.Fatalf("outcome: %d\n%s", r.status, r.body)
	}
	if p := h.must200(empE, base); !strings.Contains(p.body, "Selesai") || strings.Contains(p.body, `data-overdue="true"`) {
		t.Error("the concluded action is not shown as such")
	}
	if sp := h.must200(empE, "/skp/"+id); !strings.Contains(sp.body, `id="act-development"`) {
		t.Error("the SKP page does not link the development page")
	}
}
