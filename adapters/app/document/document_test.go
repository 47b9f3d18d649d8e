package document

import (
	"bytes"
	"context"
	"errors"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	qr "github.com/piglig/go-qr"

	"github.com/kinerja-ledger/kinerja/adapters/internal/idfmt"
	"github.com/kinerja-ledger/kinerja/domain/berakhlak"
	"github.com/kinerja-ledger/kinerja/domain/employee"
	"github.com/kinerja-ledger/kinerja/domain/rating"
	"github.com/kinerja-ledger/kinerja/domain/skp"
	"github.com/kinerja-ledger/kinerja/projections/audit/merkle"
)

const nipE, nipA, nipS = "199001012015031001", "197503032000031003", "196504041990031004"

func testKey(t *testing.T, seed byte) *merkle.Signer {
	t.Helper()
	skey, _, err := merkle.GenerateKey("kinerja.test/audit", bytes.NewReader(bytes.Repeat([]byte{seed}, 32)))
	if err != nil {
		t.Fatal(err)
	}
	s, err := merkle.ParseSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func testInput() Input {
	at := time.Date(2026, 4, 10, 2, 30, 0, 0, time.UTC)
	plan := []skp.RHK{
		{ID: "rhk-1", Kind: "UTAMA", Text: "Tersusunnya laporan kinerja Dinas Kesehatan yang akuntabel dan tepat waktu", IntervenedRHKID: "rhk-k1", IntervenedSKPID: nipA + "-2026",
			Indicators: []skp.Indicator{
				{ID: "ind-1", Aspect: "KUANTITAS", Text: "Jumlah laporan kinerja yang disusun", Target: skp.Target{Value: 1961, Unit: "dokumen"}},
				{ID: "ind-2", Aspect: "KUALITAS", Text: "Persentase laporan tanpa revisi", Target: skp.Target{Value: 78.3, Unit: "%"}},
			}},
		{ID: "rhk-2", Kind: "TAMBAHAN", Text: "Pendampingan puskesmas\tSukamaju 🙂 — Ávila", Indicators: []skp.Indicator{
			{ID: "ind-3", Aspect: "WAKTU", Text: "Waktu penyelesaian", Target: skp.Target{Value: 12, Unit: "bulan"}}}},
	}
	v := skp.View{
		ID: nipE + "-2026", NIP: nipE, Year: 2026, Approach: "KUANTITATIF", Status: "ESTABLISHED", Version: 1,
		Employee:     skp.Snapshot{Name: "Budi Santoso", UnitID: "DINKES", Position: employee.Position{Kind: "PELAKSANA", Title: "Analis Laporan Kinerja"}},
		AppraiserNIP: nipA, AppraiserSuperiorNIP: nipS, Plan: plan,
		Versions:     []skp.PlanVersion{{Version: 1, EstablishedAt: at.AddDate(0, -3, 0), AppraiserNIP: nipA, RHK: plan}},
		Expectations: []skp.Expectation{{Value: berakhlak.Values()[0], Expectation: "Melayani pemohon dengan ramah"}},
		Realisations: []skp.Realisation{{ID: "r1", Period: "2026-Q1", IndicatorID: "ind-1", RHKID: "rhk-1", Value: 490, Narrative: "Laporan triwulan I"}},
		Feedback:     []skp.Feedback{{ID: "f1", About: skp.FeedbackAbout{IndicatorID: "ind-1"}, Text: "Pertahankan", GiverNIP: nipA, OccurredAt: at.AddDate(0, 0, -20)}},
		Evaluations: []skp.EvaluationView{{Period: "2026-Q1", Scores: skp.Scores{WorkResult: rating.AboveExpectation, Behaviour: rating.MeetsExpectation,
			Predikat: rating.Derive(rating.AboveExpectation, rating.MeetsExpectation)}, AppraiserNIP: nipA, Status: "ISSUED", Rationale: "Capaian di atas target"}},
		Revision: 17,
	}
	var h [32]byte
	for i := range h {
		h[i] = byte(i * 7)
	}
	return Input{View: v, Names: map[string]string{nipA: "Siti Rahayu", nipS: "Agus Wibowo"}, Titles: map[string]string{nipS: "Sekretaris Daerah"}, Units: map[string]string{"DINKES": "Dinas Kesehatan"},
		Position: 4242, ChainHash: h, Checkpoint: &Checkpoint{Size: 4000, RootHash: strings.Repeat("ab", 32), SignedAt: at.Add(-time.Hour), KeyID: "0a1b2c3d"},
		OrgPredikat: "BAIK", PrintedAt: at, Loc: idfmt.WITA, VerifyURL: "https://kinerja.example/verify/"}
}

func needPoppler(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("pdftotext"); err != nil {
		if os.Getenv("KINERJA_REQUIRE_INTEGRATION") != "" {
			t.Fatal("pdftotext (poppler-utils) is required")
		}
		t.Skip("pdftotext (poppler-utils) not installed")
	}
}

func TestSKPDocumentReadsBackAndVerifies(t *testing.T) {
	needPoppler(t)
	key := testKey(t, 1)
	doc, err := Render(testInput(), key)
	if err != nil {
		t.Fatal(err)
	}
	text, err := ExtractText(context.Background(), doc.PDF)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"SASARAN KINERJA PEGAWAI", "PENDEKATAN HASIL KERJA KUANTITATIF", "1 JANUARI 2026 S.D. 31 DESEMBER 2026",
		"Budi Santoso", nipE, "Siti Rahayu", "Dinas Kesehatan", "Analis Laporan Kinerja (Pelaksana)", "A. UTAMA", "B. TAMBAHAN",
		"Jumlah laporan kinerja yang disusun", "1.961 dokumen", "78,3 %", "Kuantitas", "Berorientasi Pelayanan", "Melayani pemohon dengan ramah",
		"Pejabat Penilai Kinerja,", "Pegawai yang Dinilai,", "10 April 2026", "BLOK VERIFIKASI DOKUMEN", "ID SKP: " + nipE + "-2026",
		"Revisi: 17", "Posisi buku besar: 4242", "00070e151c232a31", "4000 entri", "10 April 2026 10.30 WITA", "kunci 0a1b2c3d",
		"https://kinerja.example/verify/", "Ávila", "Sukamaju ? — Ávila"} {
		if !contains(text, want) {
			t.Errorf("the PDF's text lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("text:\n%s", text)
	}
	code, err := CodeOf(doc.PDF)
	if err != nil || code != doc.Code {
		t.Fatalf("CodeOf = %q, %v; want %q", code, err, doc.Code)
	}
	c, err := Check(text, code, key.Verifier())
	if err != nil {
		t.Fatalf("the printed document does not verify: %v\ncanonical printed:   %s\ncanonical extracted: %s", err,
			Canonical(doc.Text, code), Canonical(text, code))
	}
	if c.Kind != KindSKP || c.SKPID != nipE+"-2026" || c.Revision != 17 || c.Position != 4242 || c.Period != "" ||
		!c.PrintedAt.Equal(testInput().PrintedAt) || c.ChainHash[1] != 7 {
		t.Errorf("code = %+v", c)
	}
	// Another key does not verify it.
	if _, err := Check(text, code, testKey(t, 2).Verifier()); !errors.Is(err, ErrBadCode) {
		t.Errorf("check with another key = %v", err)
	}
}

func TestEvaluationDocument(t *testing.T) {
	needPoppler(t)
	key := testKey(t, 1)
	in := testInput()
	in.Period = "2026-Q1"
	doc, err := Render(in, key)
	if err != nil {
		t.Fatal(err)
	}
	text, err := ExtractText(context.Background(), doc.PDF)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"DOKUMEN EVALUASI KINERJA PEGAWAI", "PERIODE: TRIWULAN I 2026", "1 JANUARI 2026 S.D. 31 MARET 2026",
		"CAPAIAN KINERJA ORGANISASI: BAIK", "ATASAN PEJABAT PENILAI KINERJA Agus Wibowo - NIP " + nipS + " - Sekretaris Daerah", "REALISASI BERDASARKAN BUKTI DUKUNG", "490 dokumen: Laporan triwulan I", "Pertahankan",
		"RATING HASIL KERJA", "Di Atas Ekspektasi", "RATING PERILAKU KERJA", "Sesuai Ekspektasi", "PREDIKAT KINERJA PEGAWAI BAIK",
		"Capaian di atas target"} {
		if !contains(text, want) {
			t.Errorf("the evaluation's text lacks %q", want)
		}
	}
	c, err := Check(text, doc.Code, key.Verifier())
	if err != nil || c.Kind != KindEvaluation || c.Period != "2026-Q1" {
		t.Fatalf("check = %+v, %v", c, err)
	}
	in.Period = "2026-Q2"
	if _, err := Render(in, key); err == nil {
		t.Error("an evaluation of a period never rated was printed")
	}
}

func TestDoctoredDocumentFails(t *testing.T) {
	needPoppler(t)
	key := testKey(t, 1)
	in := testInput()
	in.Period = "2026-Q1"
	doc, err := Render(in, key, Options{Uncompressed: true})
	if err != nil {
		t.Fatal(err)
	}
	text, _ := ExtractText(context.Background(), doc.PDF)
	if _, err := Check(text, doc.Code, key.Verifier()); err != nil {
		t.Fatalf("the original does not verify: %v", err)
	}
	// Same-length edits keep the file valid: the predikat and a target
	// changed in the page stream, the metadata and code untouched.
	for _, edit := range [][2]string{{"(Di Atas Ekspektasi)", "(Di Atas Ekspektasa)"}, {"(1.961)", "(9.961)"}, {"Budi Santoso", "Budi Santosa"}} {
		if !bytes.Contains(doc.PDF, []byte(edit[0])) {
			t.Fatalf("%q is not in the page stream", edit[0])
		}
		forged := bytes.ReplaceAll(doc.PDF, []byte(edit[0]), []byte(edit[1]))
		ft, err := ExtractText(context.Background(), forged)
		if err != nil {
			t.Fatal(err)
		}
		code, _ := CodeOf(forged)
		if _, err := Check(ft, code, key.Verifier()); !errors.Is(err, ErrContentChanged) {
			t.Errorf("a document with %q changed to %q: check = %v, want ErrContentChanged", edit[0], edit[1], err)
		}
	}
	// The code of another document does not fit this one's text.
	other, _ := Render(testInput(), key)
	if _, err := Check(text, other.Code, key.Verifier()); !errors.Is(err, ErrContentChanged) {
		t.Errorf("another document's code: %v", err)
	}
	if _, err := CodeOf([]byte("%PDF-1.4 nothing")); !errors.Is(err, ErrNoCode) {
		t.Errorf("CodeOf without a code = %v", err)
	}
}

// Texts at the domain's limits (2,000 characters an RHK, long words,
// control characters) print over as many pages as they need, every
// character readable and the document verifiable.
func TestLongTextsSpanPages(t *testing.T) {
	needPoppler(t)
	key := testKey(t, 1)
	in := testInput()
	long := strings.Repeat("Pelaksanaan kegiatan imunisasi terpadu\u0007 di wilayah kerja ", 40)[:2000]
	word := strings.Repeat("X", 300)
	in.View.Plan[0].Text = long
	in.View.Plan[0].Indicators[0].Text = word
	in.View.Versions[0].RHK = in.View.Plan
	for i := 0; i < 12; i++ {
		in.View.Plan = append(in.View.Plan, skp.RHK{ID: "x" + strings.Repeat("y", i), Kind: "UTAMA", Text: long[:500],
			Indicators: []skp.Indicator{{ID: "i", Aspect: "KUALITAS", Text: long[:300], Target: skp.Target{Value: 1, Unit: "laporan"}}}})
	}
	in.View.Versions[0].RHK = in.View.Plan
	doc, err := Render(in, key)
	if err != nil {
		t.Fatal(err)
	}
	text, err := ExtractText(context.Background(), doc.PDF)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Check(text, doc.Code, key.Verifier()); err != nil {
		a, b := Canonical(doc.Text, doc.Code), Canonical(text, doc.Code)
		for i := range min(len(a), len(b)) {
			if a[i] != b[i] {
				t.Fatalf("a long document does not verify: %v; differs at %d: printed %q, read %q", err, i, a[max(0, i-60):min(len(a), i+60)], b[max(0, i-60):min(len(b), i+60)])
			}
		}
		t.Fatalf("a long document does not verify: %v (lengths %d, %d)", err, len(a), len(b))
	}
	if pages := strings.Count(text, "\f"); pages < 4 {
		t.Errorf("%d pages, want the long plan over several", pages)
	}
	want := strings.Count(long, "Pelaksanaan") + 12*(strings.Count(long[:500], "Pelaksanaan")+strings.Count(long[:300], "Pelaksanaan"))
	if strings.ContainsRune(text, '\u0007') || strings.Count(text, "Pelaksanaan") != want || strings.Count(strings.Join(strings.Fields(text), ""), word) != 1 {
		t.Errorf("the long texts are not printed whole (%d of %d), or a control character is", strings.Count(text, "Pelaksanaan"), want)
	}
}

func TestQRCodeScansToTheVerificationURL(t *testing.T) {
	needPoppler(t)
	doc, err := Render(testInput(), testKey(t, 1))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	pdf := filepath.Join(dir, "skp.pdf")
	if err := os.WriteFile(pdf, doc.PDF, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("pdftoppm", "-png", "-r", "200", pdf, filepath.Join(dir, "p")).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm: %v %s", err, out)
	}
	pages, _ := filepath.Glob(filepath.Join(dir, "p*.png"))
	var found []string
	for _, p := range pages {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if s, err := qr.Decode(img); err == nil {
			found = append(found, s)
		}
	}
	if len(found) != 1 || found[0] != doc.URL || !strings.HasSuffix(doc.URL, "/verify/"+doc.Code) {
		t.Errorf("QR codes found %q, want %q", found, doc.URL)
	}
}

func TestCodes(t *testing.T) {
	key := testKey(t, 1)
	c := Code{Kind: KindEvaluation, SKPID: "x-2026", Period: "2026", Revision: 1 << 40, Position: 3, PrintedAt: time.Unix(1_800_000_000, 0).UTC()}
	c.ContentHash[0] = 9
	s, err := Seal(c, key)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Open(s, key.Verifier())
	c.KeyID = key.Verifier().KeyIDNumber()
	if err != nil || got != c {
		t.Fatalf("Open = %+v, %v; want %+v", got, err, c)
	}
	raw, _ := b64.DecodeString(s)
	for name, bad := range map[string]string{
		"empty":        "",
		"garbage":      "not a code at all!",
		"too long":     strings.Repeat("A", MaxCodeLen+1),
		"flipped":      b64.EncodeToString(append([]byte{raw[0]}, append([]byte{raw[1] ^ 1}, raw[2:]...)...)),
		"truncated":    s[:len(s)-4],
		"other key":    mustSeal(t, c, testKey(t, 3)),
		"padded":       s + "=",
		"control char": s[:10] + "\x00" + s[11:],
	} {
		if _, err := Open(bad, key.Verifier()); !errors.Is(err, ErrBadCode) {
			t.Errorf("%s: Open = %v, want ErrBadCode", name, err)
		}
	}
	if _, err := Seal(Code{Kind: 'Z', SKPID: "x"}, key); err == nil {
		t.Error("a code of an unknown kind sealed")
	}
	if _, err := Seal(Code{Kind: KindSKP, SKPID: strings.Repeat("x", 101)}, key); err == nil {
		t.Error("a code with a huge ID sealed")
	}
}

func mustSeal(t *testing.T, c Code, k *merkle.Signer) string {
	s, err := Seal(c, k)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// contains reports whether want is in text, line breaks and runs of
// spaces (cells wrap) read as one space.
func contains(text, want string) bool {
	return strings.Contains(strings.Join(strings.Fields(text), " "), want)
}

// The same input prints the same bytes (fonts in a fixed order, the
// printing time as the PDF's dates, a deterministic signature).
func TestRenderingIsDeterministic(t *testing.T) {
	key := testKey(t, 1)
	a, err := Render(testInput(), key)
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		b, _ := Render(testInput(), key)
		if !bytes.Equal(a.PDF, b.PDF) || a.Code != b.Code {
			t.Fatal("two renderings of the same input differ")
		}
	}
}
