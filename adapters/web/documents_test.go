package web

import (
	"context"
	"encoding/json"
	"net/http"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kinerja-ledger/kinerja/adapters/app/document"
	"github.com/kinerja-ledger/kinerja/domain/skp"
	"github.com/kinerja-ledger/kinerja/projections/audit/merkle"
)

func TestDocumentsAndVerification(t *testing.T) {
	h := seeded(t)
	// The SKP page links to the documents, which list one PDF per rated
	// period besides the SKP.
	if body := h.must200(empE, "/skp/"+h.ag.skpE).body; !strings.Contains(body, `href="/skp/`+h.ag.skpE+`/dokumen"`) {
		t.Error("the SKP page does not link to its documents")
	}
	list := h.must200(empE, "/skp/"+h.ag.skpE+"/dokumen").body
	for _, want := range []string{`id="doc-skp" href="/skp/` + h.ag.skpE + `/dokumen.pdf"`, `id="doc-eval-2026-Q1"`, `id="doc-eval-2026"`, "Dokumen Evaluasi Kinerja Pegawai"} {
		if !strings.Contains(list, want) {
			t.Errorf("documents page lacks %s", want)
		}
	}
	r := h.must200(empE, "/skp/"+h.ag.skpE+"/evaluasi/2026/dokumen.pdf")
	if r.header.Get("Content-Type") != "application/pdf" || !strings.HasPrefix(r.body, "%PDF-") ||
		r.header.Get("Content-Disposition") != `attachment; filename="Evaluasi-`+h.ag.skpE+`-2026.pdf"` {
		t.Fatalf("evaluation PDF: %v", r.header)
	}
	code, err := document.CodeOf([]byte(r.body))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := exec.LookPath("pdftotext"); err == nil {
		text, err := document.ExtractText(context.Background(), []byte(r.body))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := document.Check(text, code, h.vkey); err != nil {
			t.Errorf("the dashboard's evaluation document does not verify: %v", err)
		}
		if !strings.Contains(text, "http://example.com/verify/") {
			t.Errorf("verification URL not from the request's address:\n%s", text)
		}
	}

	// Adversarial: another employee's SKP, an unknown one, a period never
	// rated, a malformed period, nobody signed in.
	for _, c := range []struct {
		path   string
		who    *caller
		status int
	}{
		{"/skp/" + h.ag.skpE + "/dokumen.pdf", &empX, http.StatusNotFound},
		{"/skp/" + h.ag.skpE + "/dokumen", &empX, http.StatusNotFound},
		{"/skp/nope-2026/dokumen.pdf", &empE, http.StatusNotFound},
		{"/skp/" + h.ag.skpE + "/evaluasi/2026-Q4/dokumen.pdf", &empE, http.StatusNotFound},
		{"/skp/" + h.ag.skpE + "/evaluasi/2026-Q7/dokumen.pdf", &empE, http.StatusUnprocessableEntity},
		{"/skp/" + h.ag.skpE + "/evaluasi/" + strings.Repeat("2", 10000) + "/dokumen.pdf", &empE, http.StatusUnprocessableEntity},
		{"/skp/" + h.ag.skpE + "/evaluasi/2026%07/dokumen.pdf", &empE, http.StatusUnprocessableEntity},
	} {
		if got := h.get(c.who, c.path); got.status != c.status {
			t.Errorf("%.80s as %v = %d, want %d", c.path, c.who, got.status, c.status)
		}
	}
	if got := h.get(nil, "/skp/"+h.ag.skpE+"/dokumen.pdf"); got.status != http.StatusSeeOther {
		t.Errorf("document without sign-in = %d, want a redirect to sign in", got.status)
	}

	// The verification page is public: no sign-in, the ledger's facts, no
	// personal data.
	v := h.get(nil, "/verify/"+code)
	if v.status != http.StatusOK || !strings.Contains(v.body, `data-matches="true"`) || !strings.Contains(v.body, h.ag.skpE) ||
		!strings.Contains(v.body, `id="verify-period">2026<`) || !strings.Contains(v.body, `data-count="0"`) {
		t.Fatalf("verification page = %d %s", v.status, v.body)
	}
	for _, personal := range []string{"Budi Santoso", "Siti Rahmawati", "Satu puskesmas tertinggal", "Data Q4", nipA} {
		if strings.Contains(v.body, personal) {
			t.Errorf("the public verification page shows %q", personal)
		}
	}
	// What changed since printing.
	h.clock.Advance(time.Hour)
	if _, _, err := h.skps.GiveFeedback(context.Background(), req(caller{nipA, nil}), skp.GiveFeedback{SKPID: h.ag.skpE,
		About: skp.FeedbackAbout{RHKID: h.ag.rhkE}, Text: "Catatan setelah dicetak"}); err != nil {
		t.Fatal(err)
	}
	v = h.get(nil, "/verify/"+code+"?lang=en")
	if !strings.Contains(v.body, `data-matches="true"`) || !strings.Contains(v.body, `data-count="1"`) {
		t.Errorf("after a change: %s", v.body)
	}
	var j struct {
		Valid        bool   `json:"valid"`
		Matches      bool   `json:"matches"`
		ChangesTotal int    `json:"changes_total"`
		SKPID        string `json:"skp_id"`
	}
	jr := h.get(nil, "/verify/"+code+"?format=json")
	if err := json.Unmarshal([]byte(jr.body), &j); err != nil || !j.Valid || !j.Matches || j.ChangesTotal != 1 || j.SKPID != h.ag.skpE {
		t.Errorf("JSON check = %+v, %v (%s)", j, err, jr.body)
	}

	// Bad, altered and forged codes: one answer for all, nothing echoed.
	otherKey, _, _ := merkle.GenerateKey("kinerja-test", strings.NewReader(strings.Repeat("z", 32)))
	forger, _ := merkle.ParseSigner(otherKey)
	c, _ := document.Open(code, h.vkey)
	forged, _ := document.Seal(c, forger)
	c.Revision++
	resealed, _ := document.Seal(c, forger)
	var first string
	for i, bad := range []string{"no-such-code-here", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		code[:len(code)-2] + "AA", forged, resealed, strings.Repeat("A", 3000), "%3Cscript%3E"} {
		b := h.get(nil, "/verify/"+bad)
		if b.status != http.StatusNotFound || strings.Contains(b.body, "<script>") {
			t.Errorf("bad code %d: %d", i, b.status)
		}
		page := strings.ReplaceAll(b.body, bad, "")
		if i == 0 {
			first = page
		} else if page != first {
			t.Errorf("bad code %d is answered differently from the others:\n%s\n---\n%s", i, page, first)
		}
		if jb := h.get(nil, "/verify/"+bad+"?format=json"); jb.status != http.StatusNotFound || strings.TrimSpace(jb.body) != `{"valid":false}` {
			t.Errorf("bad code %d as JSON: %d %s", i, jb.status, jb.body)
		}
	}
}

// Over a generated agency: the employee's and the appraiser's SKPs print,
// each rated period too, and every document verifies against its text and
// the ledger.
func TestDocumentsOfASeededAgency(t *testing.T) {
	h := newHarness(t)
	st := h.seedAgency(40)
	h.sign()
	printed := 0
	for _, c := range []caller{{st.Cast.Employee, nil}, {st.Cast.Objectors[0], nil}} {
		for _, m := range skpLink.FindAllStringSubmatch(h.must200(c, "/").body, -1) {
			id := m[1]
			if !strings.HasPrefix(id, c.sub) {
				continue
			}
			list := h.must200(c, "/skp/"+id+"/dokumen").body
			for _, d := range regexp.MustCompile(`href="(/skp/[^"]+/dokumen\.pdf)"`).FindAllStringSubmatch(list, -1) {
				r := h.must200(c, d[1])
				code, err := document.CodeOf([]byte(r.body))
				if err != nil {
					t.Fatalf("%s: %v", d[1], err)
				}
				if _, err := exec.LookPath("pdftotext"); err == nil {
					text, err := document.ExtractText(context.Background(), []byte(r.body))
					if err != nil {
						t.Fatal(err)
					}
					if _, err := document.Check(text, code, h.vkey); err != nil {
						t.Errorf("%s: %v", d[1], err)
					}
				}
				if v := h.get(nil, "/verify/"+code); v.status != http.StatusOK || !strings.Contains(v.body, `data-matches="true"`) {
					t.Errorf("%s: verification %d", d[1], v.status)
				}
				printed++
			}
		}
	}
	if printed < 3 {
		t.Errorf("printed %d documents, want the SKPs and their evaluations", printed)
	}
}
