package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kinerja-ledger/kinerja/adapters/app/document"
	"github.com/kinerja-ledger/kinerja/cmd/internal/wiring"
	"github.com/kinerja-ledger/kinerja/domain/employee"
	"github.com/kinerja-ledger/kinerja/domain/skp"
)

func TestVerifyDocument(t *testing.T) {
	if _, err := exec.LookPath("pdftotext"); err != nil {
		if os.Getenv("KINERJA_REQUIRE_INTEGRATION") != "" {
			t.Fatal("pdftotext (poppler-utils) is required")
		}
		t.Skip("pdftotext (poppler-utils) not installed")
	}
	dir := t.TempDir()
	key, err := wiring.LoadOrCreateAuditKey(filepath.Join(dir, wiring.AuditKeyFile), "kinerja-test")
	if err != nil {
		t.Fatal(err)
	}
	in := document.Input{View: skp.View{ID: "199001012015031001-2026", NIP: "199001012015031001", Year: 2026, Approach: "KUANTITATIF", Status: "DRAFT",
		Employee: skp.Snapshot{Name: "Budi Santoso", UnitID: "DINKES", Position: employee.Position{Kind: "PELAKSANA", Title: "Analis"}},
		Plan:     []skp.RHK{{ID: "r1", Kind: "UTAMA", Text: "Laporan kinerja tersusun", Indicators: []skp.Indicator{{ID: "i1", Aspect: "KUANTITAS", Text: "Jumlah laporan", Target: skp.Target{Value: 12, Unit: "dokumen"}}}}},
		Revision: 3}, Position: 99, PrintedAt: time.Date(2026, 2, 1, 3, 0, 0, 0, time.UTC), VerifyURL: "https://kinerja.example/verify/"}
	doc, err := document.Render(in, key, document.Options{Uncompressed: true})
	if err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "skp.pdf")
	if err := os.WriteFile(good, doc.PDF, 0o600); err != nil {
		t.Fatal(err)
	}
	verify := func(args ...string) (documentReport, error) {
		t.Helper()
		var out, errb bytes.Buffer
		err := run(context.Background(), append([]string{"verify-document", "--data", dir}, args...), func(string) string { return "" }, &out, &errb)
		var rep documentReport
		if jerr := json.Unmarshal(out.Bytes(), &rep); jerr != nil && err == nil {
			t.Fatalf("output %q: %v (stderr %s)", out.String(), jerr, errb.String())
		}
		return rep, err
	}
	rep, err := verify(good)
	if err != nil || !rep.Valid || rep.SKPID != in.View.ID || rep.Revision != 3 || rep.Position != 99 || rep.Kind != "skp" {
		t.Fatalf("a good document: %+v, %v", rep, err)
	}

	// A doctored copy: a target changed in the page.
	bad := filepath.Join(dir, "doctored.pdf")
	if !bytes.Contains(doc.PDF, []byte("(12 dokumen)")) {
		t.Fatal("target not in the page stream")
	}
	os.WriteFile(bad, bytes.ReplaceAll(doc.PDF, []byte("(12 dokumen)"), []byte("(92 dokumen)")), 0o600)
	rep, err = verify(bad)
	if !errors.Is(err, errProblems) || rep.Valid || !strings.Contains(rep.Problem, "changed") {
		t.Errorf("a doctored document: %+v, %v", rep, err)
	}
	// Stripped metadata: the code given by hand still checks the text.
	stripped := filepath.Join(dir, "stripped.pdf")
	os.WriteFile(stripped, bytes.ReplaceAll(doc.PDF, []byte(document.Keyword), []byte("xxxxxxx-xxxxxx:")), 0o600)
	if rep, err = verify(stripped); !errors.Is(err, errProblems) || rep.Valid {
		t.Errorf("a document without its code: %+v, %v", rep, err)
	}
	if rep, err = verify("--code", doc.Code, stripped); err != nil || !rep.Valid {
		t.Errorf("the code given by hand: %+v, %v", rep, err)
	}
	// Another service's key does not verify it.
	other := t.TempDir()
	wiring.LoadOrCreateAuditKey(filepath.Join(other, wiring.AuditKeyFile), "kinerja-test")
	if rep, err = verify("--key", filepath.Join(other, wiring.AuditPubKeyFile), good); !errors.Is(err, errProblems) || rep.Valid || rep.SKPID != "" {
		t.Errorf("another key: %+v, %v", rep, err)
	}

	// --url asks the service's public verification.
	answer := `{"valid":true,"matches":true,"changes_total":2}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/verify/"+doc.Code || r.URL.Query().Get("format") != "json" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte(answer))
	}))
	defer srv.Close()
	if rep, err = verify("--url", srv.URL, good); err != nil || !rep.Valid || !strings.Contains(strings.Join(strings.Fields(string(rep.Ledger)), ""), `"changes_total":2`) {
		t.Errorf("--url: %+v, %v", rep, err)
	}
	answer = `{"valid":true,"matches":false}`
	if rep, err = verify("--url", srv.URL, good); !errors.Is(err, errProblems) || rep.Valid {
		t.Errorf("--url, ledger rewritten: %+v, %v", rep, err)
	}
}
