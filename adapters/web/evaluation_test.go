package web

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kinerja-ledger/kinerja/domain"
	"github.com/kinerja-ledger/kinerja/domain/policy"
	"github.com/kinerja-ledger/kinerja/domain/skp"
)

var (
	apprA = caller{nipA, nil}
	supS  = caller{nipS, nil}
	empP  = caller{nipP, nil}
	empQ  = caller{nipQ, nil}
	hendT = caller{nipT, nil}
)

// formRevision reads the revision the form in body carries.
func formRevision(t *testing.T, body string) string {
	t.Helper()
	m := regexp.MustCompile(`name="_revision" value="([0-9]+)"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no _revision in the form:\n%s", body)
	}
	return m[1]
}

// formOf returns the hidden fields of the form in body with values set.
func formOf(t *testing.T, body string, kv ...string) url.Values {
	t.Helper()
	v := url.Values{"_key": {formKey(t, body)}}
	if regexp.MustCompile(`name="_revision"`).MatchString(body) {
		v.Set("_revision", formRevision(t, body))
	}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v
}

// The evaluations of an SKP, period by period: each caller is offered
// what they may do, and nobody else sees the SKP.
func TestEvaluationOverview(t *testing.T) {
	h := seeded(t)
	p := "/skp/" + h.ag.skpE + "/penilaian"
	r := h.must200(apprA, p)
	for _, want := range []string{`id="rate-2026-Q3"`, `id="rate-2026-Q4"`, `data-period="2026"`, "Baik"} {
		if !strings.Contains(r.body, want) {
			t.Errorf("the appraiser's overview lacks %s", want)
		}
	}
	if en := h.must200(apprA, p+"?lang=en"); !strings.Contains(en.body, "Performance evaluations") || !strings.Contains(en.body, "Change the rating") && !strings.Contains(en.body, ">Rate<") {
		t.Error("the overview has no English")
	}
	if strings.Contains(r.body, `id="rate-2026"`) || strings.Contains(r.body, `id="rate-2026-Q1"`) {
		t.Error("the overview offers to rate an issued period")
	}
	if r := h.must200(empE, p); strings.Contains(r.body, `id="rate-`) || strings.Contains(r.body, `id="issue-`) {
		t.Error("the employee is offered the appraiser's forms")
	}
	if r := h.get(&empX, p); r.status != http.StatusNotFound {
		t.Errorf("an outsider's overview = %d, want 404", r.status)
	}
	q := h.must200(apprA, "/skp/"+h.ag.skpQ+"/penilaian")
	if !strings.Contains(q.body, `id="issue-2026"`) {
		t.Error("the overview does not offer to issue Q's rated annual evaluation")
	}
}

// The rating form: offered to the appraiser only, the predikat previewed
// by the matrix before anything is recorded, problems beside the fields
// with the input kept, a double submit recorded once, a stale form shown
// with what changed and applied when sent again.
func TestRateForm(t *testing.T) {
	h := seeded(t)
	stream := domain.SKPStream(h.ag.skpE)
	p := "/skp/" + h.ag.skpE + "/penilaian/2026-Q3/nilai"
	for _, c := range []struct {
		who  caller
		want int
	}{{empE, 403}, {empX, 404}, {supS, 403}, {hrAdmin, 403}, {auditor, 403}} {
		if r := h.get(&c.who, p); r.status != c.want {
			t.Errorf("the rating form as %s = %d, want %d", c.who.sub, r.status, c.want)
		}
	}
	for _, bad := range []string{"2025", "2026-05", "2026-Q9", "x"} {
		if r := h.get(&apprA, "/skp/"+h.ag.skpE+"/penilaian/"+bad+"/nilai"); r.status != http.StatusBadRequest {
			t.Errorf("period %s = %d, want 400", bad, r.status)
		}
	}
	form := h.must200(apprA, p)
	// The matrix the script reads is rating.Derive's, nine cells; the
	// targets are beside the form.
	if n := strings.Count(form.body, "data-predikat="); n != 9 {
		t.Errorf("the matrix has %d cells, want 9", n)
	}
	if !strings.Contains(form.body, `data-wr="DI_ATAS_EKSPEKTASI" data-bh="DI_BAWAH_EKSPEKTASI" data-predikat="KURANG_MISCONDUCT"`) {
		t.Error("the matrix does not say DI_ATAS/DI_BAWAH is KURANG_MISCONDUCT")
	}
	if !strings.Contains(form.body, "Puskesmas yang melaksanakan imunisasi") || !strings.Contains(form.body, "/static/rating.js?v=") {
		t.Error("the form lacks the indicators or the live-predikat script")
	}
	if !strings.Contains(form.body, `id="self-none"`) {
		t.Error("the form does not say there is no self-assessment")
	}
	if _, err := h.skps.SubmitSelfAssessment(h.ctx, req(empE), skp.SubmitSelfAssessment{SKPID: h.ag.skpE, Period: "2026-Q3",
		Text: "Triwulan III: semua puskesmas terjangkau", RHKNotes: []skp.RHKNote{{RHKID: h.ag.rhkE, Note: "5 dari 5 puskesmas"}}}); err != nil {
		t.Fatal(err)
	}
	form = h.must200(apprA, p)
	if !strings.Contains(form.body, `id="self-assessment"`) || !strings.Contains(form.body, "5 dari 5 puskesmas") {
		t.Error("the form does not show the employee's self-assessment with its notes")
	}
	events := h.streamLen(stream)

	// Preview: the matrix's answer, nothing recorded, the same form.
	pv := h.post(&apprA, p, formOf(t, form.body, "work_result", "DI_ATAS_EKSPEKTASI", "behaviour", "DI_BAWAH_EKSPEKTASI", "rationale", "Perilaku perlu dibina", "_step", "pratinjau"))
	if pv.status != http.StatusOK || !regexp.MustCompile(`id="predikat-live"[^>]*><strong>Kurang/Misconduct</strong>`).MatchString(pv.body) {
		t.Fatalf("preview = %d, want 200 with Kurang/Misconduct\n%s", pv.status, pv.body)
	}
	if formKey(t, pv.body) != formKey(t, form.body) || !strings.Contains(pv.body, "Perilaku perlu dibina") {
		t.Error("the preview did not keep the form's key and input")
	}
	if pv := h.post(&apprA, p, formOf(t, form.body, "work_result", "DI_ATAS_EKSPEKTASI", "_step", "pratinjau")); pv.status != 422 || !strings.Contains(pv.body, `id="behaviour-error"`) {
		t.Errorf("a preview without behaviour = %d, want 422 beside behaviour", pv.status)
	}
	if h.streamLen(stream) != events {
		t.Fatal("a preview recorded something")
	}

	// Problems beside the fields, input kept, nothing recorded.
	for name, c := range map[string]struct {
		kv    []string
		field string
	}{
		"no rationale":   {[]string{"work_result", "SESUAI_EKSPEKTASI", "behaviour", "SESUAI_EKSPEKTASI"}, "rationale"},
		"control char":   {[]string{"work_result", "SESUAI_EKSPEKTASI", "behaviour", "SESUAI_EKSPEKTASI", "rationale", "baik\x07"}, "rationale"},
		"huge rationale": {[]string{"work_result", "SESUAI_EKSPEKTASI", "behaviour", "SESUAI_EKSPEKTASI", "rationale", strings.Repeat("a", skp.MaxLongTextLen+1)}, "rationale"},
		"a predikat":     {[]string{"work_result", "BAIK", "behaviour", "SESUAI_EKSPEKTASI", "rationale", "ok"}, "work_result"},
		"no behaviour":   {[]string{"work_result", "SESUAI_EKSPEKTASI", "rationale", "ok"}, "behaviour"},
		"invalid UTF-8":  {[]string{"work_result", "SESUAI_EKSPEKTASI", "behaviour", "SESUAI_EKSPEKTASI", "rationale", "ba\xffik"}, "rationale"},
	} {
		r := h.post(&apprA, p, formOf(t, form.body, c.kv...))
		if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, `id="`+c.field+`-error"`) || !strings.Contains(r.body, `role="alert"`) {
			t.Errorf("%s: = %d, want 422 beside %s\n%s", name, r.status, c.field, r.body)
		}
		if !strings.Contains(r.body, `value="SESUAI_EKSPEKTASI" checked`) && name != "a predikat" {
			t.Errorf("%s: the chosen rating was not kept", name)
		}
	}
	if r := h.post(&apprA, p, formOf(t, form.body, "rationale", strings.Repeat("x", 1<<20+1))); r.status != http.StatusRequestEntityTooLarge {
		t.Errorf("a body over 1 MiB = %d, want 413", r.status)
	}
	if h.streamLen(stream) != events {
		t.Fatal("a refused form recorded something")
	}

	// Stale: the employee writes a self-assessment meanwhile. The form is
	// refused (412), shows what changed and the self-assessment, keeps
	// the input, and carries the new revision to send again.
	if _, _, err := h.skps.GiveFeedback(h.ctx, req(empE), skp.GiveFeedback{SKPID: h.ag.skpE, About: skp.FeedbackAbout{RHKID: h.ag.rhkE},
		Text: "Saya menuntaskan 5 puskesmas pada triwulan III."}); err != nil {
		t.Fatal(err)
	}
	good := formOf(t, form.body, "work_result", "DI_ATAS_EKSPEKTASI", "behaviour", "SESUAI_EKSPEKTASI", "rationale", "Melampaui target triwulan III", "_step", "simpan")
	stale := h.post(&apprA, p, good)
	if stale.status != http.StatusPreconditionFailed || !strings.Contains(stale.body, `id="stale"`) ||
		!regexp.MustCompile(`<li data-revision="[0-9]+"><span class="rev">#[0-9]+</span> Umpan balik`).MatchString(stale.body) {
		t.Fatalf("a stale form = %d, want 412 with the changes\n%s", stale.status, stale.body)
	}
	if !strings.Contains(stale.body, "Saya menuntaskan 5 puskesmas") || !strings.Contains(stale.body, "Melampaui target triwulan III") {
		t.Error("the stale form does not show the self-assessment or lost the input")
	}
	if formRevision(t, stale.body) == good.Get("_revision") {
		t.Error("the stale form still carries the old revision")
	}
	if h.streamLen(stream) != events+1 {
		t.Fatal("the stale form recorded something")
	}
	again := formOf(t, stale.body, "work_result", "DI_ATAS_EKSPEKTASI", "behaviour", "SESUAI_EKSPEKTASI", "rationale", "Melampaui target triwulan III", "_step", "simpan")
	first := h.post(&apprA, p, again)
	if first.status != http.StatusSeeOther || first.header.Get("Location") != "/skp/"+h.ag.skpE+"/penilaian?selesai=nilai" {
		t.Fatalf("submit = %d to %q\n%s", first.status, first.header.Get("Location"), first.body)
	}
	if second := h.post(&apprA, p, again); second.status != http.StatusSeeOther {
		t.Errorf("a double submit = %d, want the same redirect", second.status)
	}
	if n := h.streamLen(stream); n != events+2 {
		t.Errorf("the SKP's stream grew by %d after a double submit, want 1 rating", n-events-1)
	}
	v, err := h.skps.Evaluation(h.ctx, apprA.principal(), h.ag.skpE, "2026-Q3")
	if err != nil || v.Predikat != "BAIK" {
		t.Errorf("Q3 = %+v, %v; want BAIK", v.Scores, err)
	}
	// Replacing the rating needs a reason.
	re := h.must200(apprA, p)
	if !strings.Contains(re.body, `id="reason"`) || !strings.Contains(re.body, `value="DI_ATAS_EKSPEKTASI" checked`) {
		t.Error("the form of a rated period does not start from the rating or ask for a reason")
	}
	if r := h.post(&apprA, p, formOf(t, re.body, "work_result", "SESUAI_EKSPEKTASI", "behaviour", "SESUAI_EKSPEKTASI", "rationale", "Koreksi")); r.status != 422 || !strings.Contains(r.body, `id="reason-error"`) {
		t.Errorf("a replacement without a reason = %d, want 422 beside reason", r.status)
	}
	// Someone else's SKP: the appraiser's own (rated by S), the superior
	// posting to E's.
	if r := h.post(&apprA, "/skp/"+h.ag.skpA+"/penilaian/2026-Q3/nilai", formOf(t, form.body, "work_result", "SESUAI_EKSPEKTASI", "behaviour", "SESUAI_EKSPEKTASI", "rationale", "x")); r.status != http.StatusForbidden {
		t.Errorf("the appraiser rating their own SKP = %d, want 403", r.status)
	}
	if r := h.post(&hendT, p, formOf(t, form.body, "work_result", "SESUAI_EKSPEKTASI", "behaviour", "SESUAI_EKSPEKTASI", "rationale", "x")); r.status != http.StatusNotFound {
		t.Errorf("an outsider posting the form = %d, want 404", r.status)
	}
}

// Issuing with the delivery: the date within what the domain allows (not
// in the future, not before the rating), a double submit recorded once,
// the objection window then shown with the days left.
func TestIssueForm(t *testing.T) {
	h := seeded(t)
	stream := domain.SKPStream(h.ag.skpQ)
	p := "/skp/" + h.ag.skpQ + "/penilaian/2026/terbitkan"
	if r := h.get(&empQ, p); r.status != http.StatusForbidden {
		t.Errorf("the issue form as the employee = %d, want 403", r.status)
	}
	if r := h.get(&apprA, "/skp/"+h.ag.skpQ+"/penilaian/2026-Q4/terbitkan"); r.status != http.StatusNotFound {
		t.Errorf("the issue form of an unrated period = %d, want 404", r.status)
	}
	form := h.must200(apprA, p)
	other := h.must200(apprA, p) // rendered before the issue, sent after
	events := h.streamLen(stream)
	future := h.clock.Now().Add(48 * time.Hour).In(policy.WIB).Format("2006-01-02T15:04")
	for name, v := range map[string]string{
		"in the future":        future,
		"before the rating":    "2027-02-10T10:00",
		"beyond the tolerance": h.clock.Now().Add(-time.Hour).In(policy.WIB).Format("2006-01-02T15:04"),
		"not a time":           "kemarin",
		"a control char":       "2027-03-02\x00",
	} {
		r := h.post(&apprA, p, formOf(t, form.body, "delivered_at", v))
		if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, `id="delivered_at-error"`) {
			t.Errorf("%s: = %d, want 422 beside delivered_at\n%s", name, r.status, r.body)
		}
	}
	if h.streamLen(stream) != events {
		t.Fatal("a refused issue recorded something")
	}
	if strings.Contains(form.body, `id="paper_ref"`) {
		t.Error("the appraiser is asked for a paper reference")
	}
	deliveredAt := h.clock.Now().Add(-5 * time.Minute).Truncate(time.Minute)
	good := formOf(t, form.body, "delivered_at", deliveredAt.In(policy.WIB).Format("2006-01-02T15:04"))
	first := h.post(&apprA, p, good)
	if first.status != http.StatusSeeOther || first.header.Get("Location") != "/skp/"+h.ag.skpQ+"/penilaian?selesai=terbit" {
		t.Fatalf("issue = %d to %q\n%s", first.status, first.header.Get("Location"), first.body)
	}
	if second := h.post(&apprA, p, good); second.status != http.StatusSeeOther {
		t.Errorf("a double submit = %d", second.status)
	}
	if n := h.streamLen(stream); n != events+1 {
		t.Errorf("the stream grew by %d, want 1", n-events)
	}
	v, err := h.skps.Evaluation(h.ctx, apprA.principal(), h.ag.skpQ, "2026")
	if err != nil || v.DeliveredAt == nil || !v.DeliveredAt.Equal(deliveredAt) {
		t.Fatalf("delivered at %v, %v", v.DeliveredAt, err)
	}
	ov := h.must200(empQ, "/skp/"+h.ag.skpQ+"/penilaian?selesai=terbit")
	if !strings.Contains(ov.body, `id="days-2026"`) || !strings.Contains(ov.body, `id="objection-2026"`) {
		t.Error("the employee's overview does not show the days left and the objection form")
	}
	if r := h.must200(apprA, p); !strings.Contains(r.body, `id="locked"`) || strings.Contains(r.body, `id="issue-form"`) {
		t.Error("the issue page of an issued evaluation still offers the form")
	}
	// A form rendered before the issue: stale, and the page no longer
	// offers it.
	if r := h.post(&apprA, p, formOf(t, other.body)); r.status != http.StatusPreconditionFailed || !strings.Contains(r.body, `id="locked"`) {
		t.Errorf("issuing again from an older form = %d, want 412 without a form", r.status)
	}
	if r := h.must200(apprA, "/skp/"+h.ag.skpQ+"/penilaian/2026/nilai"); !strings.Contains(r.body, `id="locked"`) || strings.Contains(r.body, `id="rate-form"`) {
		t.Error("the rating page of an issued evaluation still offers the form")
	}
}

// A grievance clerk enters a delivery done on paper: the paper's reference
// and its signer (the appraiser then) are asked, the date may lie back
// within the backfill's maximum age; nobody else is offered it.
func TestPaperDelivery(t *testing.T) {
	h := seeded(t)
	stream := domain.SKPStream(h.ag.skpQ)
	p := "/skp/" + h.ag.skpQ + "/penilaian/2026/terbitkan"
	if r := h.get(&analyst, p); r.status != http.StatusForbidden {
		t.Errorf("the delivery form as HR_ANALYST = %d, want 403", r.status)
	}
	if r := h.must200(clerk, "/skp/"+h.ag.skpQ+"/penilaian"); !strings.Contains(r.body, `id="issue-2026"`) {
		t.Error("the overview does not offer the clerk the paper delivery")
	}
	form := h.must200(clerk, p)
	if !strings.Contains(form.body, `id="paper_ref"`) || !strings.Contains(form.body, `<option value="`+nipA+`" selected>`) {
		t.Fatalf("the clerk's form lacks the paper reference or the signer\n%s", form.body)
	}
	events := h.streamLen(stream)
	for name, c := range map[string]struct {
		kv    []string
		field string
	}{
		"no paper_ref": {[]string{"on_behalf_of", nipA, "delivered_at", "2027-03-02T09:30"}, "paper_ref"},
		"control char": {[]string{"on_behalf_of", nipA, "paper_ref", "ND/12\x07", "delivered_at", "2027-03-02T09:30"}, "paper_ref"},
		"too old":      {[]string{"on_behalf_of", nipA, "paper_ref", "ND-1", "delivered_at", "2026-06-01T09:00"}, "delivered_at"},
		"not a time":   {[]string{"on_behalf_of", nipA, "paper_ref", "ND-1", "delivered_at", "29/12"}, "delivered_at"},
	} {
		if r := h.post(&clerk, p, formOf(t, form.body, c.kv...)); r.status != 422 || !strings.Contains(r.body, `id="`+c.field+`-error"`) {
			t.Errorf("%s: = %d, want 422 beside %s\n%s", name, r.status, c.field, r.body)
		}
	}
	if r := h.post(&clerk, p, formOf(t, form.body, "on_behalf_of", nipS, "paper_ref", "ND-1", "delivered_at", "2027-03-02T09:30")); r.status != http.StatusForbidden {
		t.Errorf("a paper signed by someone who was not the appraiser = %d, want 403", r.status)
	}
	if h.streamLen(stream) != events {
		t.Fatal("a refused paper delivery recorded something")
	}
	good := formOf(t, form.body, "on_behalf_of", nipA, "paper_ref", "ND-800/2026", "delivered_at", "2027-03-02T09:30")
	if r := h.post(&clerk, p, good); r.status != http.StatusSeeOther {
		t.Fatalf("the paper delivery = %d\n%s", r.status, r.body)
	}
	h.post(&clerk, p, good)
	if n := h.streamLen(stream); n != events+1 {
		t.Errorf("the stream grew by %d, want 1", n-events)
	}
	v, err := h.skps.Evaluation(h.ctx, clerk.principal(), h.ag.skpQ, "2026")
	if err != nil || v.DeliveryBackfill == nil || v.DeliveryBackfill.PaperRef != "ND-800/2026" || v.AppraiserNIP != nipA ||
		!v.DeliveredAt.Equal(time.Date(2027, 3, 2, 9, 30, 0, 0, policy.WIB)) {
		t.Fatalf("the paper delivery: %+v, %v", v, err)
	}
	if r := h.must200(empQ, "/skp/"+h.ag.skpQ+"/penilaian"); !strings.Contains(r.body, "ND-800/2026") {
		t.Error("the overview does not flag the backfilled delivery")
	}
}

// The employee acknowledges receipt of an issued evaluation once; a
// grievance clerk enters a receipt signed on paper, with its reference.
func TestReceipt(t *testing.T) {
	h := seeded(t)
	if _, err := h.skps.Issue(h.ctx, req(apprA), skp.Issue{SKPID: h.ag.skpQ, Period: "2026"}); err != nil {
		t.Fatal(err)
	}
	stream := domain.SKPStream(h.ag.skpQ)
	p := "/skp/" + h.ag.skpQ + "/penilaian/2026/terima"
	for _, c := range []struct {
		who  caller
		want int
	}{{apprA, 403}, {empX, 404}, {hrAdmin, 403}} {
		if r := h.get(&c.who, p); r.status != c.want {
			t.Errorf("the receipt form as %s = %d, want %d", c.who.sub, r.status, c.want)
		}
	}
	if r := h.must200(empQ, "/skp/"+h.ag.skpQ+"/penilaian"); !strings.Contains(r.body, `id="receipt-2026"`) {
		t.Error("the employee's overview does not offer the acknowledgement")
	}
	form := h.must200(empQ, p)
	if strings.Contains(form.body, `id="paper_ref"`) {
		t.Error("the employee is asked for a paper reference")
	}
	clerkForm := h.must200(clerk, p)
	events := h.streamLen(stream)
	for name, c := range map[string]struct {
		kv    []string
		field string
	}{
		"clerk without paper_ref": {[]string{"received_at", "2027-03-03T09:00"}, "paper_ref"},
		"clerk, not a time":       {[]string{"paper_ref", "TT-1", "received_at", "kemarin"}, "received_at"},
		"clerk, in the future":    {[]string{"paper_ref", "TT-1", "received_at", "2027-05-03T09:00"}, "received_at"},
		"clerk, before delivery":  {[]string{"paper_ref", "TT-1", "received_at", "2027-03-02T09:00"}, "received_at"},
	} {
		if r := h.post(&clerk, p, formOf(t, clerkForm.body, c.kv...)); r.status != 422 || !strings.Contains(r.body, `id="`+c.field+`-error"`) {
			t.Errorf("%s: = %d, want 422 beside %s\n%s", name, r.status, c.field, r.body)
		}
	}
	if h.streamLen(stream) != events {
		t.Fatal("a refused receipt recorded something")
	}
	good := formOf(t, form.body)
	if r := h.post(&empQ, p, good); r.status != http.StatusSeeOther || r.header.Get("Location") != "/skp/"+h.ag.skpQ+"/penilaian?selesai=terima" {
		t.Fatalf("the acknowledgement = %d to %q\n%s", r.status, r.header.Get("Location"), r.body)
	}
	h.post(&empQ, p, good)
	if n := h.streamLen(stream); n != events+1 {
		t.Errorf("the stream grew by %d after a double submit, want 1", n-events)
	}
	if r := h.must200(empQ, p); !strings.Contains(r.body, `id="locked"`) || strings.Contains(r.body, `id="receipt-form"`) {
		t.Error("the receipt page still offers the form once acknowledged")
	}
	if r := h.post(&clerk, p, formOf(t, clerkForm.body, "paper_ref", "TT-1", "received_at", "2027-03-03T10:00")); r.status != http.StatusPreconditionFailed {
		t.Errorf("the clerk's form rendered before the acknowledgement = %d, want 412", r.status)
	}
}
