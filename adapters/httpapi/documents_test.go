package httpapi

import (
	"context"
	"errors"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/kinerja-ledger/kinerja/adapters/app"
	"github.com/kinerja-ledger/kinerja/adapters/app/document"
)

func TestDocuments(t *testing.T) {
	h := newHarness(t)
	h.cast()
	_, rhkA := h.establishedA()
	id, _, indE := h.establishedE(rhkA)
	h.clock.Advance(80 * 24 * time.Hour)
	h.must(http.StatusCreated, empE, "POST", "/v1/skps/"+id+"/realisations", RealisationBody{Period: "2026-Q1", IndicatorID: indE, Value: 4, Narrative: "4 puskesmas"})
	h.clock.Set(time.Date(2026, 4, 2, 10, 0, 0, 0, time.UTC)) // the quarter has ended
	h.must(http.StatusOK, apprA, "PUT", "/v1/skps/"+id+"/evaluations/2026-Q1",
		RateBody{WorkResult: "DI_ATAS_EKSPEKTASI", Behaviour: "SESUAI_EKSPEKTASI", Rationale: "Melampaui target"})
	h.catchUp()
	h.sign()

	// The employee, the appraiser and HR print; the SKP's document and the
	// evaluation's.
	for _, who := range []caller{empE, apprA, hr} {
		r := h.must(http.StatusOK, who, "GET", "/v1/skps/"+id+"/document.pdf", nil)
		if r.header.Get("Content-Type") != "application/pdf" || !strings.HasPrefix(string(r.body), "%PDF-") ||
			r.header.Get("Content-Disposition") != `attachment; filename="SKP-`+id+`.pdf"` || r.header.Get(DocumentCodeHeader) == "" {
			t.Fatalf("%v: SKP document: %v %q", who, r.header, r.body[:min(len(r.body), 20)])
		}
	}
	r := h.must(http.StatusOK, empE, "GET", "/v1/skps/"+id+"/evaluations/2026-Q1/document.pdf", nil)
	code := r.header.Get(DocumentCodeHeader)
	if c, err := document.Open(code, h.vkey); err != nil || c.Kind != document.KindEvaluation || c.SKPID != id || c.Period != "2026-Q1" {
		t.Fatalf("evaluation code %q: %+v, %v", code, c, err)
	}
	if _, err := exec.LookPath("pdftotext"); err == nil {
		text, err := document.ExtractText(context.Background(), r.body)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"DOKUMEN EVALUASI KINERJA PEGAWAI", "Pegawai 19900101", "Pegawai " + nipA[:8], "Di Atas Ekspektasi", "4 puskesmas"} {
			if !strings.Contains(strings.Join(strings.Fields(text), " "), want) {
				t.Errorf("evaluation document lacks %q:\n%s", want, text)
			}
		}
		if _, err := document.Check(text, code, h.vkey); err != nil {
			t.Errorf("the served document does not verify: %v", err)
		}
	}

	// Adversarial: others' SKPs, unknown SKPs and periods, bad periods,
	// no token.
	h.refused(http.StatusNotFound, "not_found", &outX, "GET", "/v1/skps/"+id+"/document.pdf", nil)
	h.refused(http.StatusNotFound, "not_found", &peerP, "GET", "/v1/skps/"+id+"/evaluations/2026-Q1/document.pdf", nil)
	h.refused(http.StatusNotFound, "not_found", &empE, "GET", "/v1/skps/nope-2026/document.pdf", nil)
	h.refused(http.StatusNotFound, "not_found", &empE, "GET", "/v1/skps/"+id+"/evaluations/2026-Q2/document.pdf", nil)
	for _, p := range []string{"2026-Q9", strings.Repeat("9", 5000), "2026%0A", "%E2%80%AE2026"} {
		if r := h.request(&empE, "GET", "/v1/skps/"+id+"/evaluations/"+p+"/document.pdf", nil); r.status != http.StatusUnprocessableEntity && r.status != http.StatusNotFound {
			t.Errorf("period %.20q: status %d", p, r.status)
		}
	}
	if r := h.request(nil, "GET", "/v1/skps/"+id+"/document.pdf", nil); r.status != http.StatusUnauthorized {
		t.Errorf("document without a token = %d", r.status)
	}

	// The ledger check of the code: matches, then reports what changed.
	core, err := app.New(h.cfg.appConfig)
	if err != nil {
		t.Fatal(err)
	}
	chk, err := core.VerifyDocument(context.Background(), code)
	if err != nil || !chk.Matches || chk.ChangesTotal != 0 || chk.SKPID != id || chk.Kind != "evaluation" {
		t.Fatalf("check = %+v, %v", chk, err)
	}
	h.must(http.StatusOK, apprA, "POST", "/v1/skps/"+id+"/evaluations/2026-Q1/issue", nil)
	chk, _ = core.VerifyDocument(context.Background(), code)
	if !chk.Matches || chk.ChangesTotal != 1 || chk.Changes[0].Type != "skp.evaluation_issued.v1" || chk.CurrentRevision != chk.Revision+1 {
		t.Errorf("check after issue = %+v", chk)
	}
	// The last character changed (to "A", or to "B" when it already is
	// "A": the same code would verify).
	last := "A"
	if strings.HasSuffix(code, "A") {
		last = "B"
	}
	for _, bad := range []string{"", "x", code[:len(code)-1] + last, strings.Repeat("A", 5000)} {
		if _, err := core.VerifyDocument(context.Background(), bad); !errors.Is(err, app.ErrBadDocumentCode) {
			t.Errorf("bad code %.20q: %v", bad, err)
		}
	}
}
