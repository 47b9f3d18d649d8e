package web

import (
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/kinerja-ledger/kinerja/domain/calendar"
	"github.com/kinerja-ledger/kinerja/domain/employee"
	"github.com/kinerja-ledger/kinerja/domain/orgunit"
	"github.com/kinerja-ledger/kinerja/domain/skp"
)

// planned is the seeded agency with X appraised by A (superior S) from 1
// January, so that X can plan an SKP cascaded from A's.
func planned(t *testing.T) *harness {
	t.Helper()
	h := seeded(t)
	// A historical import, as the seed is (the seeded agency's today is
	// late December: 1 January lies beyond a backfill's maximum age).
	emps := *h.emps
	imp := *emps.Handler
	imp.Dating.Unchecked = true
	emps.Handler = &imp
	_, err := emps.AssignReportingLine(h.ctx, req(hrAdmin), employee.AssignReportingLine{NIP: nipX, AppraiserNIP: nipA,
		SuperiorNIP: nipS, EffectiveFrom: calendar.MustNew(2026, 1, 1)})
	if err != nil {
		t.Fatal(err)
	}
	h.catchUp()
	return h
}

// fields is url.Values from name, value pairs.
func fields(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v
}

// formRevision reads the revision of the form in body.
// fill is the hidden fields of the form at path as c renders it, with kv.
func (h *harness) fill(c caller, path string, kv ...string) url.Values {
	h.t.Helper()
	body := h.must200(c, path).body
	v := fields(kv...)
	v.Set("_key", formKey(h.t.(*testing.T), body))
	if m := regexp.MustCompile(`name="_revision" value="([0-9]+)"`).FindStringSubmatch(body); m != nil {
		v.Set("_revision", m[1])
	}
	return v
}

// wantProblem checks that r is the form again with status and a problem
// beside field.
func wantProblem(t *testing.T, what string, r response, status int, field string) {
	t.Helper()
	if r.status != status {
		t.Errorf("%s: = %d, want %d\n%s", what, r.status, status, r.body)
		return
	}
	if field != "" && (!strings.Contains(r.body, `id="`+field+`-error"`) || !strings.Contains(r.body, `aria-invalid="true"`)) {
		t.Errorf("%s: no problem beside %s\n%s", what, field, r.body)
	}
	if !strings.Contains(r.body, `role="alert"`) {
		t.Errorf("%s: no error summary", what)
	}
}

// The employee's plan in the browser: draft, RHK cascaded from a list of
// the appraiser's RHK, indicators with targets, change, remove, submit;
// the appraiser returns it with a reason and establishes it. Each form:
// problems beside the field with the input kept, nothing recorded on a
// refusal, a double submit recorded once, someone else's SKP refused, a
// stale form shown with what changed and re-applied knowingly.
func TestPlanningForms(t *testing.T) {
	h := planned(t)
	empX := caller{nipX, nil}
	appr := caller{nipA, nil}
	id := skp.ID(nipX, 2026, 1)
	stream := "skp-" + id

	// Draft.
	form := h.must200(empX, "/skp/baru")
	// The harness's today is in 2027 (the 2026 evaluations are done after
	// the year ended): the form offers this year; X drafts 2026's.
	if !strings.Contains(form.body, `value="`+nipX+`"`) || !strings.Contains(form.body, `value="2027"`) {
		t.Error("the draft form is not filled with the caller's NIP and this year")
	}
	key := formKey(t, form.body)
	wantProblem(t, "a year that is not a number", h.post(&empX, "/skp/baru", fields("_key", key, "nip", nipX, "year", "dua ribu", "approach", "KUANTITATIF")),
		http.StatusUnprocessableEntity, "year")
	wantProblem(t, "a control character", h.post(&empX, "/skp/baru", fields("_key", key, "nip", nipX+"\x07", "year", "2026", "approach", "KUANTITATIF")),
		http.StatusUnprocessableEntity, "nip")
	wantProblem(t, "an unknown approach", h.post(&empX, "/skp/baru", fields("_key", key, "nip", nipX, "year", "2026", "approach", "LAINNYA")),
		http.StatusUnprocessableEntity, "approach")
	r := h.post(&empX, "/skp/baru", fields("_key", formKey(t, h.must200(empX, "/skp/baru").body), "nip", nipE, "year", "2027", "approach", "KUANTITATIF"))
	if r.status != http.StatusForbidden || h.streamLen("skp-"+skp.ID(nipE, 2027, 1)) != 0 {
		t.Errorf("drafting someone else's SKP = %d, want 403 and nothing recorded", r.status)
	}
	if h.streamLen(stream) != 0 {
		t.Fatal("a refused draft recorded something")
	}
	good := fields("_key", key, "nip", nipX, "year", "2026", "approach", "KUANTITATIF")
	r = h.post(&empX, "/skp/baru", good)
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/skp/"+id+"/rencana" {
		t.Fatalf("draft = %d to %q\n%s", r.status, r.header.Get("Location"), r.body)
	}
	if again := h.post(&empX, "/skp/baru", good); again.status != http.StatusSeeOther || h.streamLen(stream) != 1 {
		t.Errorf("a double draft = %d, stream holds %d events, want 1", again.status, h.streamLen(stream))
	}

	// The plan page: the employee may edit; the appraiser may not; an
	// outsider does not learn it exists.
	plan := "/skp/" + id + "/rencana"
	if r := h.must200(empX, plan); !strings.Contains(r.body, `id="rhk-add"`) || strings.Contains(r.body, `id="plan-establish"`) {
		t.Error("the plan page does not offer the employee to add an RHK, or offers to establish")
	}
	if r := h.must200(appr, plan); strings.Contains(r.body, `id="rhk-add"`) {
		t.Error("the plan page offers the appraiser to add an RHK")
	}
	if r := h.get(&empE, plan); r.status != http.StatusNotFound {
		t.Errorf("the plan page of X's SKP as E = %d, want 404", r.status)
	}
	if r := h.get(&appr, plan+"/rhk"); r.status != http.StatusNotFound {
		t.Errorf("the RHK form as the appraiser = %d, want 404", r.status)
	}

	// An RHK: the appraiser's RHK offered by its text, never its ID typed.
	rhkForm := h.must200(empX, plan+"/rhk")
	if !strings.Contains(rhkForm.body, `<option value="`+h.ag.rhkA+`"`) || !strings.Contains(rhkForm.body, "Meningkatnya cakupan imunisasi dasar lengkap") {
		t.Fatalf("the RHK form does not offer A's RHK to cascade from\n%s", rhkForm.body)
	}
	v := h.fill(empX, plan+"/rhk", "text", strings.Repeat("x", 2001), "kind", "UTAMA", "intervened_rhk_id", h.ag.rhkA)
	wantProblem(t, "a huge RHK text", h.post(&empX, plan+"/rhk", v), http.StatusUnprocessableEntity, "text")
	v.Set("text", "Terkoordinasinya data imunisasi")
	v.Set("intervened_rhk_id", "bukan-rhk")
	r = h.post(&empX, plan+"/rhk", v)
	wantProblem(t, "an RHK not in A's SKP", r, http.StatusUnprocessableEntity, "intervened_rhk_id")
	if !strings.Contains(r.body, "Terkoordinasinya data imunisasi") {
		t.Error("the RHK form did not keep the text")
	}
	if h.streamLen(stream) != 1 {
		t.Fatal("a refused RHK recorded something")
	}
	v.Set("intervened_rhk_id", h.ag.rhkA)
	if r := h.post(&empX, plan+"/rhk", v); r.status != http.StatusSeeOther || r.header.Get("Location") != plan+"?ok=rhk-saved" {
		t.Fatalf("add RHK = %d to %q\n%s", r.status, r.header.Get("Location"), r.body)
	}
	if r := h.post(&empX, plan+"/rhk", v); r.status != http.StatusSeeOther || h.streamLen(stream) != 2 {
		t.Errorf("a double RHK = %d; the stream holds %d events, want 2", r.status, h.streamLen(stream))
	}
	view, err := h.skps.Read(h.ctx, empX.principal(), id, skp.AsOf{})
	if err != nil || len(view.Plan) != 1 || view.Plan[0].IntervenedRHKID != h.ag.rhkA {
		t.Fatalf("after the RHK form: %+v, %v", view.Plan, err)
	}
	rhk := view.Plan[0].ID
	// Someone else's SKP: E posts an RHK to X's SKP.
	hostile := h.fill(empE, "/skp/baru", "text", "Sisipan", "kind", "UTAMA", "_revision", "2")
	if r := h.post(&empE, plan+"/rhk", hostile); r.status != http.StatusNotFound || h.streamLen(stream) != 2 {
		t.Errorf("an RHK posted to someone else's SKP = %d, want 404 and nothing recorded", r.status)
	}

	// Submitting without indicators: the plan's problems, per RHK.
	page := h.must200(empX, plan)
	sub := fields("_key", formKeyOf(t, page.body, "/ajukan"), "_revision", formRevision(t, page.body))
	r = h.post(&empX, plan+"/ajukan", sub)
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, `id="rhk.`+rhk+`.indicators"`) {
		t.Errorf("submit without indicators = %d, want 422 with the RHK's problem\n%s", r.status, r.body)
	}

	// An indicator with a target.
	ind := plan + "/rhk/" + rhk + "/indikator"
	v = h.fill(empX, ind, "aspect", "KUANTITAS", "text", "Laporan data imunisasi", "target.value", "dua belas", "target.unit", "laporan")
	wantProblem(t, "a target that is not a number", h.post(&empX, ind, v), http.StatusUnprocessableEntity, "target.value")
	v.Set("target.value", "-3")
	wantProblem(t, "a negative target", h.post(&empX, ind, v), http.StatusUnprocessableEntity, "target.value")
	v.Set("target.value", "12")
	if r := h.post(&empX, ind, v); r.status != http.StatusSeeOther {
		t.Fatalf("add indicator = %d\n%s", r.status, r.body)
	}
	view, _ = h.skps.Read(h.ctx, empX.principal(), id, skp.AsOf{})
	indID := view.Plan[0].Indicators[0].ID

	// A stale form: the RHK form rendered, then the RHK changed in another
	// tab; sending the old form is refused, shows what changed, keeps the
	// input and carries the current revision, and sending it again applies.
	edit := plan + "/rhk/" + rhk
	old := h.fill(empX, edit, "text", "Terkoordinasinya data imunisasi se-kota", "kind", "UTAMA", "intervened_rhk_id", h.ag.rhkA)
	if _, err := h.skps.ChangeRHK(h.ctx, req(empX), skp.ChangeRHK{SKPID: id, RHKID: rhk, RHKFields: skp.RHKFields{Text: "Diubah di tab lain", Kind: "UTAMA", IntervenedRHKID: h.ag.rhkA}}); err != nil {
		t.Fatal(err)
	}
	n := h.streamLen(stream)
	r = h.post(&empX, edit, old)
	if r.status != http.StatusPreconditionFailed || !strings.Contains(r.body, `id="stale"`) || !strings.Contains(r.body, "se-kota") || !strings.Contains(r.body, "Diubah di tab lain") {
		t.Fatalf("a stale RHK form = %d, want 412 showing the change and the input kept\n%s", r.status, r.body)
	}
	now, _ := h.skps.Read(h.ctx, empX.principal(), id, skp.AsOf{})
	if h.streamLen(stream) != n || formRevision(t, r.body) != strconv.FormatUint(now.Revision, 10) {
		t.Errorf("the stale form recorded something, or does not carry the current revision (%s)", formRevision(t, r.body))
	}
	old.Set("_revision", formRevision(t, r.body))
	if r := h.post(&empX, edit, old); r.status != http.StatusSeeOther || h.streamLen(stream) != n+1 {
		t.Errorf("re-applying the stale form = %d\n%s", r.status, r.body)
	}

	// Remove an indicator and add it back; submit.
	page = h.must200(empX, plan)
	rm := fields("_key", formKeyOf(t, page.body, "/indikator/"+indID+"/hapus"), "_revision", formRevision(t, page.body))
	if r := h.post(&empX, plan+"/indikator/"+indID+"/hapus", rm); r.status != http.StatusSeeOther {
		t.Fatalf("remove indicator = %d\n%s", r.status, r.body)
	}
	v = h.fill(empX, ind, "aspect", "WAKTU", "text", "Laporan tepat waktu", "target.value", "12", "target.unit", "bulan")
	if r := h.post(&empX, ind, v); r.status != http.StatusSeeOther {
		t.Fatalf("add indicator again = %d\n%s", r.status, r.body)
	}
	page = h.must200(empX, plan)
	if strings.Contains(page.body, "Laporan data imunisasi") || !strings.Contains(page.body, "Laporan tepat waktu") {
		t.Error("the plan page does not show the indicators as they are")
	}
	sub = fields("_key", formKeyOf(t, page.body, "/ajukan"), "_revision", formRevision(t, page.body))
	if r := h.post(&empX, plan+"/ajukan", sub); r.status != http.StatusSeeOther || r.header.Get("Location") != plan+"?ok=submitted" {
		t.Fatalf("submit = %d\n%s", r.status, r.body)
	}
	if r := h.must200(empX, plan+"?ok=submitted"); strings.Contains(r.body, `id="rhk-add"`) || !strings.Contains(r.body, `data-done="submitted"`) {
		t.Error("after submission the plan page still offers editing, or says nothing")
	}

	// The appraiser: return without a reason (refused), with one; the
	// employee submits again; the appraiser establishes.
	ret := plan + "/kembalikan"
	if r := h.get(&empX, ret); r.status != http.StatusNotFound {
		t.Errorf("the return form as the employee = %d, want 404", r.status)
	}
	v = h.fill(appr, ret, "reason", "  ")
	wantProblem(t, "a return without a reason", h.post(&appr, ret, v), http.StatusUnprocessableEntity, "reason")
	v.Set("reason", "Target laporan perlu dirinci per bulan")
	if r := h.post(&appr, ret, v); r.status != http.StatusSeeOther {
		t.Fatalf("return = %d\n%s", r.status, r.body)
	}
	page = h.must200(empX, plan)
	if !strings.Contains(page.body, "Target laporan perlu dirinci per bulan") || !strings.Contains(page.body, `id="rhk-add"`) {
		t.Error("the returned plan does not show the reason or is not editable")
	}
	h.post(&empX, plan+"/ajukan", fields("_key", formKeyOf(t, page.body, "/ajukan"), "_revision", formRevision(t, page.body)))
	// The appraiser's behaviour expectations, while the plan is reviewed.
	expect := plan + "/ekspektasi"
	if r := h.get(&empX, expect); r.status != http.StatusNotFound {
		t.Errorf("the expectation form as the employee = %d, want 404", r.status)
	}
	v = h.fill(appr, expect, "value", "JAHAT", "expectation", "Aktif berbagi data")
	wantProblem(t, "an unknown BerAKHLAK value", h.post(&appr, expect, v), http.StatusUnprocessableEntity, "value")
	v.Set("value", "KOLABORATIF")
	v.Set("expectation", strings.Repeat("x", 2001))
	wantProblem(t, "a huge expectation", h.post(&appr, expect, v), http.StatusUnprocessableEntity, "expectation")
	v.Set("expectation", "Aktif berbagi data dengan puskesmas")
	if r := h.post(&appr, expect, v); r.status != http.StatusSeeOther {
		t.Fatalf("expectation = %d\n%s", r.status, r.body)
	}
	if r := h.must200(empX, plan); !strings.Contains(r.body, "Aktif berbagi data dengan puskesmas") || strings.Contains(r.body, `id="expect-add"`) {
		t.Error("the plan page does not show the expectation, or offers the employee to set one")
	}
	page = h.must200(appr, plan)
	if !strings.Contains(page.body, `id="plan-establish"`) || !strings.Contains(page.body, `id="plan-return"`) {
		t.Fatalf("the appraiser is not offered to establish or return\n%s", page.body)
	}
	est := fields("_key", formKeyOf(t, page.body, "/tetapkan"), "_revision", formRevision(t, page.body))
	if r := h.post(&empX, plan+"/tetapkan", est); r.status != http.StatusForbidden {
		t.Errorf("establish by the employee = %d, want 403", r.status)
	}
	if r := h.post(&appr, plan+"/tetapkan", est); r.status != http.StatusSeeOther {
		t.Fatalf("establish = %d\n%s", r.status, r.body)
	}
	if r := h.post(&appr, plan+"/tetapkan", est); r.status != http.StatusSeeOther {
		t.Errorf("a double establish = %d, want the same redirect", r.status)
	}
	view, _ = h.skps.Read(h.ctx, empX.principal(), id, skp.AsOf{})
	if view.Status != skp.StatusEstablished || view.Version != 1 {
		t.Errorf("after the forms: %s version %d", view.Status, view.Version)
	}

	// An amendment, opened by the appraiser with a reason; the employee
	// edits again and the appraiser establishes version 2.
	amend := plan + "/amandemen"
	// The employee may open an amendment too (domain.md §3.3, issue 11),
	// but not edit an established plan.
	if r := h.must200(empX, plan); !strings.Contains(r.body, `id="plan-amend"`) || strings.Contains(r.body, `id="rhk-add"`) {
		t.Error("the established plan does not offer the employee an amendment, or offers editing")
	}
	if r := h.get(&empX, amend); r.status != http.StatusOK {
		t.Errorf("the amendment form as the employee = %d, want 200", r.status)
	}
	if r := h.must200(appr, plan); !strings.Contains(r.body, `id="plan-amend"`) {
		t.Fatal("the appraiser is not offered an amendment of the established plan")
	}
	v = h.fill(appr, amend, "reason", "")
	wantProblem(t, "an amendment without a reason", h.post(&appr, amend, v), http.StatusUnprocessableEntity, "reason")
	v.Set("reason", "Target disesuaikan dengan anggaran perubahan")
	if r := h.post(&appr, amend, v); r.status != http.StatusSeeOther || r.header.Get("Location") != plan+"?ok=amended" {
		t.Fatalf("amendment = %d to %q\n%s", r.status, r.header.Get("Location"), r.body)
	}
	page = h.must200(empX, plan)
	if !strings.Contains(page.body, `id="plan-note"`) || !strings.Contains(page.body, "anggaran perubahan") || !strings.Contains(page.body, `id="rhk-add"`) {
		t.Error("the amended plan does not say why or is not editable")
	}
	h.post(&empX, plan+"/ajukan", fields("_key", formKeyOf(t, page.body, "/ajukan"), "_revision", formRevision(t, page.body)))
	page = h.must200(appr, plan)
	if r := h.post(&appr, plan+"/tetapkan", fields("_key", formKeyOf(t, page.body, "/tetapkan"), "_revision", formRevision(t, page.body))); r.status != http.StatusSeeOther {
		t.Fatalf("establish the amendment = %d\n%s", r.status, r.body)
	}
	if view, _ = h.skps.Read(h.ctx, empX.principal(), id, skp.AsOf{}); view.Status != skp.StatusEstablished || view.Version != 2 {
		t.Errorf("after the amendment: %s version %d", view.Status, view.Version)
	}
}

// formKeyOf reads the key of the form in body whose action ends in suffix.
func formKeyOf(t *testing.T, body, suffix string) string {
	t.Helper()
	re := regexp.MustCompile(`action="[^"]*` + regexp.QuoteMeta(suffix) + `"[^>]*>\s*<input type="hidden" name="_key" value="([^"]+)"`)
	m := re.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no form posting to …%s in:\n%s", suffix, body)
	}
	return m[1]
}

// A feature links to another's page by path only when it is registered
// (Site.Routed): the catch-all does not count.
func TestRouted(t *testing.T) {
	h := newHarness(t)
	s := h.handler.site
	for path, want := range map[string]bool{
		"/skp/1-2026/rencana":    true,
		"/skp/1-2026/bukti/abc":  true,
		"/riwayat-saya":          true,
		"/skp/1-2026/tidak-ada":  false,
		"/sama-sekali-tidak-ada": false,
	} {
		if got := s.Routed(http.MethodGet, path); got != want {
			t.Errorf("Routed(GET %s) = %v, want %v", path, got, want)
		}
	}
	if s.Routed(http.MethodPost, "/riwayat-saya") {
		t.Error("Routed(POST /riwayat-saya): the page has no POST")
	}
	wantLink := s.Routed(http.MethodGet, "/skp/x/penilaian")
	h.seed()
	if r := h.must200(empE, "/skp/"+h.ag.skpE); strings.Contains(r.body, `id="act-evaluations"`) != wantLink {
		t.Errorf("the SKP page's link to the evaluations: %v, want %v (the page registered)", !wantLink, wantLink)
	}
}

// importedHead records nip as the head of unit from 1 January 2026 as a
// historical import (as the seed does): the seeded agency's today lies
// beyond a backfill's maximum age from that day.
func importedHead(t *testing.T, h *harness, unit, nip string) {
	t.Helper()
	units := *h.units
	imp := *units.Handler
	imp.Dating.Unchecked = true
	units.Handler = &imp
	if _, err := units.AssignHead(h.ctx, req(hrAdmin), orgunit.AssignHead{UnitID: unit, HeadNIP: nip, EffectiveFrom: calendar.MustNew(2026, 1, 1)}); err != nil {
		t.Fatal(err)
	}
	h.catchUp()
}
