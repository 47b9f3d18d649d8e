package web

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// importCSV is a file of two new DINKES staff appraised by A (the
// superior is A's own appraiser, from the ledger), and a row whose NIP
// Excel turned into a number.
const (
	nipImp1 = "199501012020011011"
	nipImp2 = "199602022020012012"
	// The TMT lies within a backfill's 90 days of the harness's today (3 March 2027).
	importCSV = "\ufeffNIP;Nama;Jenis Jabatan;Nama Jabatan;ID Unit;NIP Pejabat Penilai;TMT\n" +
		nipImp1 + ";Nina Kartika;PELAKSANA;Pengadministrasi Umum;DINKES;" + nipA + ";2027-01-04\n" +
		nipImp2 + ";Nando Saputra;JF;Perawat Ahli Pertama;DINKES;" + nipA + ";04-01-2027\n" +
		"1,99501E+17;Excel;JF;Perawat Ahli Pertama;DINKES;" + nipA + ";2027-01-04\n"
)

// startImport uploads data as HR and returns the job page's path.
func (h *harness) startImport(data string) string {
	h.t.Helper()
	r := h.upload(&hrAdmin, "/data-induk/impor", url.Values{"paper_ref": {"SK-IMPOR-1/2026"}}, "pegawai.csv", []byte(data), "text/csv")
	loc := r.header.Get("Location")
	if r.status != http.StatusSeeOther || !strings.HasPrefix(loc, "/data-induk/impor/") {
		h.t.Fatalf("upload = %d at %q\n%s", r.status, loc, r.body)
	}
	return loc
}

// awaitImportPage polls the job page until the job is no longer running.
func (h *harness) awaitImportPage(path string) response {
	h.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		r := h.must200(hrAdmin, path)
		if !strings.Contains(r.body, `data-state="RUNNING"`) {
			return r
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("%s still running", path)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// The import pages: upload (a dry run) → preview with the refused row's
// problem in Indonesian → apply → the employees are recorded once.
func TestImportPages(t *testing.T) {
	h := seeded(t)
	if r := h.get(&empE, "/data-induk/impor"); r.status != http.StatusForbidden {
		t.Errorf("an employee opens the import page: %d", r.status)
	}
	if r := h.upload(&empE, "/data-induk/impor", nil, "x.csv", []byte(importCSV), "text/csv"); r.status != http.StatusForbidden {
		t.Errorf("an employee uploads: %d", r.status)
	}
	if r := h.upload(&hrAdmin, "/data-induk/impor", nil, "", nil, ""); r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "Pilih berkas") {
		t.Errorf("no file: %d\n%s", r.status, r.body)
	}
	stream := "employee-" + nipImp1
	loc := h.startImport(importCSV)
	page := h.awaitImportPage(loc)
	for _, want := range []string{`data-state="DONE"`, "telah diubah Excel menjadi angka", `id="apply-submit"`, "Akan dicatat"} {
		if !strings.Contains(page.body, want) {
			t.Errorf("the preview lacks %q", want)
		}
	}
	if h.streamLen(stream) != 0 {
		t.Fatal("the dry run recorded the employee")
	}
	// The same upload again is the same job.
	if again := h.startImport(importCSV); again != loc {
		t.Errorf("a double upload started %s besides %s", again, loc)
	}
	r := h.post(&hrAdmin, loc+"/terapkan", nil)
	if r.status != http.StatusSeeOther {
		t.Fatalf("apply = %d\n%s", r.status, r.body)
	}
	applied := h.awaitImportPage(r.header.Get("Location"))
	if !strings.Contains(applied.body, `id="count-applied">2<`) || strings.Contains(applied.body, `id="apply-submit"`) {
		t.Errorf("the applied job's page:\n%s", applied.body)
	}
	n := h.streamLen(stream)
	if n != 2 {
		t.Errorf("%s holds %d events, want 2 (registered, line)", stream, n)
	}
	// Applying the same dry run again records nothing new.
	r = h.post(&hrAdmin, loc+"/terapkan", nil)
	h.awaitImportPage(r.header.Get("Location"))
	if h.streamLen(stream) != n {
		t.Error("a second apply recorded events")
	}
	// The English switch shows the English messages.
	if en := h.must200(hrAdmin, loc+"?lang=en"); !strings.Contains(en.body, "Excel turned NIP") {
		t.Error("the English page lacks the English problem")
	}
	list := h.must200(hrAdmin, "/data-induk/impor")
	if !strings.Contains(list.body, "pegawai.csv") {
		t.Error("the import page does not list the imports")
	}
	if r := h.get(&empE, loc); r.status != http.StatusForbidden {
		t.Errorf("an employee opens a job: %d", r.status)
	}
	// Another HR admin neither sees the job nor applies it.
	other := caller{"hr-admin-2", []string{"HR_ADMIN"}}
	if r := h.get(&other, loc); r.status != http.StatusNotFound {
		t.Errorf("another HR admin opens the job: %d", r.status)
	}
	if r := h.post(&other, loc+"/terapkan", nil); r.status != http.StatusNotFound {
		t.Errorf("another HR admin applies the job: %d", r.status)
	}
	if r := h.get(&hrAdmin, "/data-induk/impor/..%2f..%2fetc"); r.status != http.StatusNotFound {
		t.Errorf("a malformed job ID: %d", r.status)
	}
}

// The import preview in Chromium: choose a file, check it, see the
// refused row with its problem in Indonesian, apply. The screenshot
// impor-pratinjau.png is the README's.
func TestImportPreviewInBrowser(t *testing.T) {
	chromium(t)
	h := seeded(t)
	srv := httptest.NewServer(h.handler)
	defer srv.Close()
	b := newTab(t, srv.URL, screenshotDir(t))
	b.signInAs(h, hrAdmin)
	file := filepath.Join(t.TempDir(), "pegawai-dinkes.csv")
	if err := os.WriteFile(file, []byte(importCSV), 0o644); err != nil {
		t.Fatal(err)
	}
	b.open("/data-induk/impor")
	b.do("choose the file", chromedp.SetUploadFiles(chromedp.CSS("#file"), []string{file}))
	b.fill("#paper_ref", "SK-IMPOR-1/2026")
	b.click("#import-submit")
	if got := b.location(); !strings.HasPrefix(got, "/data-induk/impor/") {
		t.Fatalf("after the upload at %s", got)
	}
	deadline := time.Now().Add(time.Minute)
	for b.text("#job-state") != "Selesai" {
		if time.Now().After(deadline) {
			t.Fatal("the dry run did not finish")
		}
		b.click("#refresh")
	}
	if got := b.text("#refused"); !strings.Contains(got, "telah diubah Excel menjadi angka") || !strings.Contains(got, "4") {
		t.Errorf("the refused rows: %q", got)
	}
	if got := b.text("#count-applied"); got != "2" {
		t.Errorf("would record %q rows, want 2", got)
	}
	b.screenshot("impor-pratinjau")
	b.click("#apply-submit")
	deadline = time.Now().Add(time.Minute)
	for b.text("#job-state") != "Selesai" {
		if time.Now().After(deadline) {
			t.Fatal("the apply did not finish")
		}
		b.click("#refresh")
	}
	if got := b.text("#count-applied"); got != "2" {
		t.Errorf("recorded %q rows, want 2", got)
	}
	if h.streamLen("employee-"+nipImp2) != 2 {
		t.Error("the applied import did not record the employee")
	}
}
