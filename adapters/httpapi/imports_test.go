package httpapi

import (
	"bytes"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kinerja-ledger/kinerja/adapters/app/imports"
)

// Two new staff of DINKES appraised by A (the superior, S, is A's own
// appraiser, taken from the ledger).
const (
	nipN1      = "199501012020011001"
	nipN2      = "199602022020012002"
	importFile = "\ufeffNIP;Nama;Jenis Jabatan;Nama Jabatan;ID Unit;NIP Pejabat Penilai;TMT\n" +
		nipN1 + ";Nina;PELAKSANA;Pengadministrasi Umum;DINKES;" + nipA + ";2026-01-05\n" +
		nipN2 + ";Nando;JF;Perawat Ahli Pertama;DINKES;" + nipA + ";05-01-2026\n"
)

// awaitImport polls the job at loc until it is no longer RUNNING.
func (h *harness) awaitImport(who caller, loc string) ImportStatus {
	h.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		var st ImportStatus
		h.must(http.StatusOK, who, "GET", loc, nil).decode(h.t, &st)
		if st.State != imports.Running {
			return st
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("import %s still running", loc)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func multipartImport(t *testing.T, name string, content []byte, fields map[string]string) ([]byte, string) {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for k, v := range fields {
		w.WriteField(k, v)
	}
	part, err := w.CreateFormFile("file", name)
	if err != nil {
		t.Fatal(err)
	}
	part.Write(content)
	w.Close()
	return b.Bytes(), w.FormDataContentType()
}

// TestImports: dry run (records nothing), apply, the same file again
// (records nothing), who may import and see a job, and bad uploads.
func TestImports(t *testing.T) {
	h := newHarness(t)
	h.cast()
	head := h.headLen()

	r := h.must(http.StatusAccepted, hr, "POST", "/v1/imports?dry_run=true&paper_ref=SK-1%2F2026&filename=pegawai.csv", importFile, "Content-Type", "text/csv")
	loc := r.header.Get("Location")
	if !strings.HasPrefix(loc, "/v1/imports/") {
		t.Fatalf("Location = %q", loc)
	}
	st := h.awaitImport(hr, loc)
	if st.State != imports.Done || !st.DryRun || st.Total != 2 || st.Done != 2 || st.Applied != 2 || st.Events != 4 {
		t.Fatalf("dry run: %+v", st)
	}
	if h.headLen() != head {
		t.Fatal("a dry run recorded events")
	}
	// Another HR admin does not see the job; an employee may not import.
	h.refused(http.StatusNotFound, "not_found", &caller{"hr-2", []string{"HR_ADMIN"}}, "GET", loc, nil)
	h.refused(http.StatusForbidden, "forbidden", &empE, "POST", "/v1/imports", importFile, "Content-Type", "text/csv")
	h.refused(http.StatusForbidden, "forbidden", &empE, "GET", loc, nil)
	h.refused(http.StatusBadRequest, "invalid_request", &hr, "POST", "/v1/imports", importFile)
	h.refused(http.StatusBadRequest, "invalid_request", &hr, "POST", "/v1/imports?dry_run=maybe", importFile, "Content-Type", "text/csv")
	h.refused(http.StatusBadRequest, "invalid_request", &hr, "GET", loc+"?rows=some", nil)
	h.refused(http.StatusUnprocessableEntity, "validation_failed", &hr, "POST", "/v1/imports?paper_ref=a%01b", importFile, "Content-Type", "text/csv")

	// Apply, as a multipart upload.
	body, ct := multipartImport(t, "pegawai.csv", []byte(importFile), map[string]string{"paper_ref": "SK-1/2026"})
	r = h.must(http.StatusAccepted, hr, "POST", "/v1/imports", body, "Content-Type", ct)
	st = h.awaitImport(hr, r.header.Get("Location"))
	if st.State != imports.Done || st.DryRun || st.Applied != 2 || st.Refused != 0 {
		t.Fatalf("apply: %+v", st)
	}
	var emp struct {
		Line struct {
			AppraiserNIP string `json:"appraiser_nip"`
			SuperiorNIP  string `json:"appraiser_superior_nip"`
		} `json:"reporting_line"`
	}
	raw := h.must(http.StatusOK, hr, "GET", "/v1/employees/"+nipN2, nil).body
	if err := json.Unmarshal(raw, &emp); err != nil {
		t.Fatal(err)
	}
	if emp.Line.AppraiserNIP != nipA || emp.Line.SuperiorNIP != nipS {
		t.Errorf("imported line = %+v, want appraiser A and superior S (%s)", emp.Line, raw)
	}
	applied := h.headLen()

	// The same file again records nothing.
	r = h.must(http.StatusAccepted, hr, "POST", "/v1/imports", body, "Content-Type", ct)
	st = h.awaitImport(hr, r.header.Get("Location"))
	if st.Unchanged != 2 || st.Applied != 0 {
		t.Fatalf("re-import: %+v", st)
	}
	if h.headLen() != applied {
		t.Error("the same file again recorded events")
	}

	// A file that cannot be read ends FAILED with its problems, and
	// rows=refused lists only refused rows.
	utf16 := append([]byte{0xff, 0xfe}, []byte("N\x00I\x00P\x00")...)
	r = h.must(http.StatusAccepted, hr, "POST", "/v1/imports", utf16, "Content-Type", "application/octet-stream")
	st = h.awaitImport(hr, r.header.Get("Location"))
	if st.State != imports.Failed || len(st.Problems) == 0 || st.Problems[0].Code != imports.CodeEncoding {
		t.Fatalf("UTF-16: %+v", st)
	}
	bad := importFile + "1.97E+17;Excel;JF;Perawat;DINKES;;\n"
	r = h.must(http.StatusAccepted, hr, "POST", "/v1/imports?dry_run=1", bad, "Content-Type", "text/csv")
	h.awaitImport(hr, r.header.Get("Location"))
	var refused ImportStatus
	h.must(http.StatusOK, hr, "GET", r.header.Get("Location")+"?rows=refused", nil).decode(t, &refused)
	if len(refused.Rows) != 1 || refused.Rows[0].Row != 4 || refused.Rows[0].Problems[0].Code != imports.CodeNIPNumber {
		t.Errorf("refused rows = %+v", refused.Rows)
	}
	if h.headLen() != applied {
		t.Error("refused uploads recorded events")
	}
}

// TestImportTooLarge: a body over the import limit is 413; one over the
// API's 1 MiB but within the import limit is taken (and its 30,000 rows
// are over the row limit: the job fails with too_many_rows).
func TestImportTooLarge(t *testing.T) {
	h := newHarness(t)
	huge := bytes.Repeat([]byte("a;"), imports.DefaultMaxBytes/2+64<<10)
	h.refused(http.StatusRequestEntityTooLarge, "payload_too_large", &hr, "POST", "/v1/imports", huge, "Content-Type", "text/csv")
	big := "NIP;Nama;Jenis Jabatan;Nama Jabatan;ID Unit\n" + strings.Repeat(nipN1+";Nina;JF;Perawat Ahli Pertama;DINKES\n", 30_000)
	r := h.must(http.StatusAccepted, hr, "POST", "/v1/imports?dry_run=true", big, "Content-Type", "text/csv")
	if st := h.awaitImport(hr, r.header.Get("Location")); st.State != imports.Failed || st.Problems[0].Code != imports.CodeTooManyRows {
		t.Errorf("a 30,000-row file: %+v", st.Problems)
	}
}
