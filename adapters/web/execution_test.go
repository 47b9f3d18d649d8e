package web

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/kinerja-ledger/kinerja/adapters/app"
	"github.com/kinerja-ledger/kinerja/domain/skp"
)

// upload posts a multipart form with fields and a file (name, content,
// the client's content type) to path as c, same-origin.
func (h *harness) upload(c *caller, path string, fields url.Values, filename string, content []byte, clientType string) response {
	h.t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	for k, vs := range fields {
		for _, v := range vs {
			w.WriteField(k, v)
		}
	}
	if filename != "" {
		hdr := make(map[string][]string)
		hdr["Content-Disposition"] = []string{`form-data; name="file"; filename="` + filename + `"`}
		hdr["Content-Type"] = []string{clientType}
		part, err := w.CreatePart(hdr)
		if err != nil {
			h.t.Fatal(err)
		}
		part.Write(content)
	}
	w.Close()
	r := httptest.NewRequest(http.MethodPost, path, &body)
	r.Header.Set("Content-Type", w.FormDataContentType())
	r.Header.Set("Sec-Fetch-Site", "same-origin")
	if c != nil {
		r.AddCookie(h.signIn(*c))
	}
	return h.serve(r)
}

// The employee records a realisation: problems beside the fields, a
// period already issued refused, recorded once on a double submit, a stale
// form shown with the change and re-applied; only the employee is offered
// the form.
func TestRealisationForm(t *testing.T) {
	h := seeded(t)
	id := h.ag.skpE
	path := "/skp/" + id + "/realisasi"
	stream := "skp-" + id
	form := h.must200(empE, path)
	if !strings.Contains(form.body, `<option value="`+h.ag.indE+`"`) || !strings.Contains(form.body, `<option value="2026" selected>`) {
		// Today (March 2027) is after the SKP's year: its annual period.
		t.Errorf("the form does not offer the indicator or today's period\n%s", form.body)
	}
	for _, c := range []caller{{nipA, nil}, empX, auditor} {
		if r := h.get(&c, path); r.status != http.StatusNotFound {
			t.Errorf("the realisation form as %s = %d, want 404", c.sub, r.status)
		}
	}
	n := h.streamLen(stream)
	v := h.fill(empE, path, "period", "2026-Q4", "indicator_id", h.ag.indE, "value", "tiga", "narrative", "3 puskesmas")
	wantProblem(t, "a value that is not a number", h.post(&empE, path, v), http.StatusUnprocessableEntity, "value")
	v.Set("value", "3")
	v.Set("narrative", "tiga\x00puskesmas")
	wantProblem(t, "a NUL in the narrative", h.post(&empE, path, v), http.StatusUnprocessableEntity, "narrative")
	v.Set("narrative", strings.Repeat("panjang ", 1001))
	wantProblem(t, "a huge narrative", h.post(&empE, path, v), http.StatusUnprocessableEntity, "narrative")
	v.Set("narrative", "3 puskesmas")
	v.Set("period", "2031-Q1")
	wantProblem(t, "a period of another year", h.post(&empE, path, v), http.StatusUnprocessableEntity, "period")
	v.Set("period", "2026")
	if r := h.post(&empE, path, v); r.status != http.StatusConflict || !strings.Contains(r.body, `role="alert"`) || !strings.Contains(r.body, "3 puskesmas") {
		t.Errorf("a realisation of an issued period = %d, want 409 on the form with the input kept", r.status)
	}
	if h.streamLen(stream) != n {
		t.Fatal("a refused realisation recorded something")
	}
	v.Set("period", "2026-Q4")
	r := h.post(&empE, path, v)
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/skp/"+id+"#real-h" {
		t.Fatalf("realisation = %d to %q\n%s", r.status, r.header.Get("Location"), r.body)
	}
	if h.post(&empE, path, v); h.streamLen(stream) != n+1 {
		t.Errorf("a double submit recorded %d events", h.streamLen(stream)-n)
	}
	// Someone else's SKP: X sends E's form.
	if r := h.post(&empX, path, h.fill(empE, path, "period", "2026-Q4", "indicator_id", h.ag.indE, "value", "9")); r.status != http.StatusNotFound || h.streamLen(stream) != n+1 {
		t.Errorf("a realisation on someone else's SKP = %d, want 404", r.status)
	}
	// Stale: rendered, then another realisation recorded elsewhere.
	old := h.fill(empE, path, "period", "2026-Q4", "indicator_id", h.ag.indE, "value", "4")
	if _, _, err := h.skps.RecordRealisation(h.ctx, req(empE), skp.RecordRealisation{SKPID: id, Period: "2026-Q3", IndicatorID: h.ag.indE, Value: 3}); err != nil {
		t.Fatal(err)
	}
	r = h.post(&empE, path, old)
	if r.status != http.StatusPreconditionFailed || !strings.Contains(r.body, `id="stale"`) || !strings.Contains(r.body, `value="4"`) {
		t.Fatalf("a stale realisation = %d, want 412 with the change listed and the input kept\n%s", r.status, r.body)
	}
	old.Set("_revision", formRevision(t, r.body))
	if r := h.post(&empE, path, old); r.status != http.StatusSeeOther || h.streamLen(stream) != n+3 {
		t.Errorf("re-applying the stale realisation = %d", r.status)
	}
}

// Evidence files: uploaded, typed by content, stored by hash, recorded
// once; downloaded by who may read the SKP, after the hash is checked,
// always as an attachment; HTML, empty, missing and oversized files are
// refused with nothing recorded.
func TestEvidenceUpload(t *testing.T) {
	h := seeded(t)
	id := h.ag.skpE
	path := "/skp/" + id + "/bukti"
	stream := "skp-" + id
	pdf := []byte("%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n")
	n := h.streamLen(stream)
	fill := func() url.Values { return h.fill(empE, path, "indicator_id", h.ag.indE) }

	if r := h.get(&empX, path); r.status != http.StatusNotFound {
		t.Errorf("the upload form as an outsider = %d", r.status)
	}
	// The SKP page offers the execution forms to the employee only (and the
	// plan, where the employee may open an amendment: issue 11).
	if r := h.must200(empE, "/skp/"+id); !strings.Contains(r.body, `id="act-evidence"`) || !strings.Contains(r.body, `id="act-realise"`) {
		t.Error("the SKP page does not offer the employee the execution forms")
	}
	if r := h.must200(auditor, "/skp/"+id); regexp.MustCompile(`id="act-(plan|realise|evidence|feedback|self)"`).MatchString(r.body) {
		t.Error("the SKP page offers an auditor a form")
	}
	for name, c := range map[string]struct {
		file, ctype, body string
	}{
		"HTML named as a PDF": {"laporan.pdf", "application/pdf", "<!doctype html><script>alert(1)</script>"},
		"SVG":                 {"grafik.svg", "image/svg+xml", `<svg xmlns="http://www.w3.org/2000/svg"/>`},
		"an empty file":       {"kosong.pdf", "application/pdf", ""},
	} {
		r := h.upload(&empE, path, fill(), c.file, []byte(c.body), c.ctype)
		wantProblem(t, name, r, http.StatusUnprocessableEntity, "file")
	}
	wantProblem(t, "no file", h.upload(&empE, path, fill(), "", nil, ""), http.StatusUnprocessableEntity, "file")
	v := fill()
	v.Set("indicator_id", "bukan-indikator")
	wantProblem(t, "an unknown indicator", h.upload(&empE, path, v, "laporan.pdf", pdf, "application/pdf"), http.StatusUnprocessableEntity, "indicator_id")
	if h.streamLen(stream) != n {
		t.Fatal("a refused upload recorded something")
	}

	v = fill()
	r := h.upload(&empE, path, v, `C:\Dokumen\laporan q4.pdf`, pdf, "text/html")
	if r.status != http.StatusSeeOther {
		t.Fatalf("upload = %d\n%s", r.status, r.body)
	}
	if h.upload(&empE, path, v, `C:\Dokumen\laporan q4.pdf`, pdf, "text/html"); h.streamLen(stream) != n+1 {
		t.Errorf("a double upload recorded %d events", h.streamLen(stream)-n)
	}
	view, _ := h.skps.Read(h.ctx, empE.principal(), id, skp.AsOf{})
	ev := view.Evidence[len(view.Evidence)-1]
	if !ev.Stored() || ev.Filename != "laporan q4.pdf" || ev.MediaType != app.MediaPDF || ev.Size != int64(len(pdf)) || ev.URI != skp.EvidenceURI(ev.SHA256) {
		t.Fatalf("recorded evidence = %+v", ev)
	}
	// The same rendered form with another file: another request, refused.
	if r := h.upload(&empE, path, v, "lain.txt", []byte("laporan lain"), "text/plain"); r.status != http.StatusUnprocessableEntity || h.streamLen(stream) != n+1 {
		t.Errorf("the same form with another file = %d", r.status)
	}

	// Download: the parties and auditors, as an attachment, checked; the
	// SKP page links to it.
	dl := "/skp/" + id + "/bukti/" + ev.SHA256
	if r := h.must200(auditor, "/skp/"+id); !strings.Contains(r.body, `class="evidence-file" href="`+dl+`"`) {
		t.Error("the SKP page does not link to the stored evidence file")
	}
	for _, c := range []caller{empE, {nipA, nil}, auditor} {
		r := h.get(&c, dl)
		if r.status != http.StatusOK || r.body != string(pdf) {
			t.Errorf("download as %s = %d", c.sub, r.status)
			continue
		}
		if cd := r.header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment;") || !strings.Contains(cd, "laporan q4.pdf") {
			t.Errorf("Content-Disposition = %q", cd)
		}
		if r.header.Get("Content-Type") != app.MediaPDF || r.header.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(r.header.Get("Content-Security-Policy"), "sandbox") {
			t.Errorf("download headers = %v", r.header)
		}
	}
	if r := h.get(&empX, dl); r.status != http.StatusNotFound {
		t.Errorf("download as an outsider = %d, want 404", r.status)
	}
	// The seeded evidence is a link, not a stored file; a hash of no
	// evidence of this SKP is not found either.
	for _, sum := range []string{strings.Repeat("ab", 32), strings.Repeat("0", 64), "ABCDEF", "%2e%2e%2fkinerja.db"} {
		if r := h.get(&empE, "/skp/"+id+"/bukti/"+sum); r.status != http.StatusNotFound {
			t.Errorf("download of %s = %d, want 404", sum, r.status)
		}
	}
	// A damaged file is never served.
	if err := os.WriteFile(filepath.Join(h.dir, "blobs", ev.SHA256[:2], ev.SHA256), []byte("%PDF-1.7 tampered!!"), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := h.get(&empE, dl); r.status != http.StatusInternalServerError || strings.Contains(r.body, "tampered") || r.header.Get("Content-Disposition") != "" {
		t.Errorf("download of a damaged file = %d", r.status)
	}

	// Over the limit: refused, nothing recorded.
	h.rebuild(func(c *app.Config) { c.MaxEvidenceBytes = 1024 })
	big := append([]byte("%PDF-1.7\n"), bytes.Repeat([]byte("x"), 2048)...)
	if r := h.upload(&empE, path, fill(), "besar.pdf", big, "application/pdf"); r.status != http.StatusRequestEntityTooLarge {
		t.Errorf("a file over the limit = %d, want 413", r.status)
	}
	huge := append([]byte("%PDF-1.7\n"), bytes.Repeat([]byte("x"), 200<<10)...)
	if r := h.upload(&empE, path, fill(), "besar.pdf", huge, "application/pdf"); r.status != http.StatusRequestEntityTooLarge {
		t.Errorf("a body over the limit = %d, want 413", r.status)
	}
	if h.streamLen(stream) != n+1 {
		t.Error("an oversized upload recorded something")
	}
}

// Feedback: from a colleague of the unit, the appraiser or the employee;
// not from outside the unit; problems beside the fields.
func TestFeedbackForm(t *testing.T) {
	h := seeded(t)
	id := h.ag.skpE
	path := "/skp/" + id + "/umpan-balik"
	stream := "skp-" + id
	peer := caller{nipP, nil}
	if r := h.get(&empX, path); r.status != http.StatusNotFound {
		t.Errorf("the feedback form as a colleague of another unit = %d, want 404", r.status)
	}
	n := h.streamLen(stream)
	v := h.fill(peer, path, "about.behaviour", "JAHAT", "text", "Sangat membantu")
	wantProblem(t, "an unknown behaviour", h.post(&peer, path, v), http.StatusUnprocessableEntity, "about.behaviour")
	v.Set("about.behaviour", "KOLABORATIF")
	v.Set("text", strings.Repeat("x", 8001))
	wantProblem(t, "a huge text", h.post(&peer, path, v), http.StatusUnprocessableEntity, "text")
	v.Set("text", "")
	wantProblem(t, "no text", h.post(&peer, path, v), http.StatusUnprocessableEntity, "text")
	if h.streamLen(stream) != n {
		t.Fatal("refused feedback recorded something")
	}
	v.Set("text", "Sangat membantu tim imunisasi")
	if r := h.post(&peer, path, v); r.status != http.StatusSeeOther {
		t.Fatalf("feedback = %d\n%s", r.status, r.body)
	}
	if h.post(&peer, path, v); h.streamLen(stream) != n+1 {
		t.Error("a double submit recorded twice")
	}
	if r := h.post(&empX, path, h.fill(peer, path, "text", "Dari luar unit")); r.status != http.StatusNotFound || h.streamLen(stream) != n+1 {
		t.Errorf("feedback from outside the unit = %d, want 404", r.status)
	}
	h.catchUp()
	if r := h.must200(empE, "/skp/"+id); !strings.Contains(r.body, "Sangat membantu tim imunisasi") {
		t.Error("the SKP page does not show the feedback received")
	}
}

// The self-assessment: the employee's only, per period with a note per
// RHK, problems beside the fields, once per rendered form, shown on the
// SKP page to the appraiser, and the form starts from the one in effect.
func TestSelfAssessmentForm(t *testing.T) {
	h := seeded(t)
	id := h.ag.skpE
	path := "/skp/" + id + "/penilaian-diri"
	stream := "skp-" + id
	appr := caller{nipA, nil}
	for _, c := range []caller{appr, empX, auditor} {
		if r := h.get(&c, path); r.status != http.StatusNotFound {
			t.Errorf("the self-assessment form as %s = %d, want 404", c.sub, r.status)
		}
	}
	form := h.must200(empE, path)
	if !strings.Contains(form.body, `name="rhk_notes.0.rhk_id" value="`+h.ag.rhkE+`"`) {
		t.Fatalf("the form has no note for E's RHK\n%s", form.body)
	}
	n := h.streamLen(stream)
	v := h.fill(empE, path, "period", "2026-Q4", "text", "", "rhk_notes.0.rhk_id", h.ag.rhkE, "rhk_notes.0.note", "Lima puskesmas")
	wantProblem(t, "no text", h.post(&empE, path, v), http.StatusUnprocessableEntity, "text")
	v.Set("text", "Target tercapai")
	v.Set("rhk_notes.0.note", "Lima\x1bpuskesmas")
	wantProblem(t, "an escape in a note", h.post(&empE, path, v), http.StatusUnprocessableEntity, "rhk_notes.0.note")
	v.Set("rhk_notes.0.note", "Lima puskesmas")
	v.Set("rhk_notes.0.rhk_id", "rhk-lain")
	if r := h.post(&empE, path, v); r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, `id="rhk_notes.0.note-error"`) {
		t.Errorf("a note on an RHK of no version = %d", r.status)
	}
	v.Set("rhk_notes.0.rhk_id", h.ag.rhkE)
	v.Set("period", "2026")
	if r := h.post(&empE, path, v); r.status != http.StatusConflict {
		t.Errorf("a self-assessment of an issued period = %d, want 409", r.status)
	}
	if h.streamLen(stream) != n {
		t.Fatal("a refused self-assessment recorded something")
	}
	v.Set("period", "2026-Q4")
	if r := h.post(&empE, path, v); r.status != http.StatusSeeOther || r.header.Get("Location") != "/skp/"+id+"#self-h" {
		t.Fatalf("self-assessment = %d to %q\n%s", r.status, r.header.Get("Location"), r.body)
	}
	if h.post(&empE, path, v); h.streamLen(stream) != n+1 {
		t.Error("a double submit recorded twice")
	}
	if r := h.must200(appr, "/skp/"+id); !strings.Contains(r.body, "Target tercapai") || !strings.Contains(r.body, "Lima puskesmas") {
		t.Error("the appraiser does not see the self-assessment on the SKP page")
	}
	if r := h.must200(empE, path+"?periode=2026-Q4"); !strings.Contains(r.body, `id="self-current"`) || !strings.Contains(r.body, ">Target tercapai</textarea>") {
		t.Error("the form does not start from the self-assessment in effect")
	}
}

// Feedback carries no revision: what the employee records meanwhile does
// not make a colleague's feedback stale.
func TestFeedbackNotStale(t *testing.T) {
	h := seeded(t)
	id := h.ag.skpE
	path := "/skp/" + id + "/umpan-balik"
	peer := caller{nipP, nil}
	v := h.fill(peer, path, "text", "Terima kasih atas bantuannya")
	if v.Get("_revision") != "" {
		t.Fatal("the feedback form carries a revision")
	}
	if _, _, err := h.skps.RecordRealisation(h.ctx, req(empE), skp.RecordRealisation{SKPID: id, Period: "2026-Q4", IndicatorID: h.ag.indE, Value: 5}); err != nil {
		t.Fatal(err)
	}
	if r := h.post(&peer, path, v); r.status != http.StatusSeeOther || r.header.Get("Location") != "/" {
		t.Errorf("feedback after another change = %d to %q, want 303 home (a colleague may not read the SKP)", r.status, r.header.Get("Location"))
	}
}
