package httpapi

import (
	"bytes"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kinerja-ledger/kinerja/adapters/app"
)

// multipartFile is a multipart body with the file in the part "file", and
// its Content-Type.
func multipartFile(t *testing.T, name string, content []byte) ([]byte, string) {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	part, err := w.CreateFormFile("file", name)
	if err != nil {
		t.Fatal(err)
	}
	part.Write(content)
	w.Close()
	return b.Bytes(), w.FormDataContentType()
}

// Evidence files through the API: upload (typed by content, stored by
// hash, nothing recorded), record with POST …/evidence (a ni: URI must name
// a stored file of that size and type), download (checked, attachment,
// for who may read the SKP).
func TestEvidenceFiles(t *testing.T) {
	h := newHarness(t)
	h.cast()
	_, rhkA := h.establishedA()
	id, _, ind := h.establishedE(rhkA)
	files := "/v1/skps/" + id + "/evidence/files"
	stream := "skp-" + id
	pdf := []byte("%PDF-1.7\n1 0 obj <<>> endobj\n%%EOF\n")
	n := h.streamLen(stream)

	body, ct := multipartFile(t, "laporan.pdf", pdf)
	h.refused(http.StatusNotFound, "not_found", &outX, "POST", files, body, "Content-Type", ct)
	h.refused(http.StatusForbidden, "forbidden", &apprA, "POST", files, body, "Content-Type", ct)
	h.refused(http.StatusBadRequest, "invalid_request", &empE, "POST", files, `{"file":"x"}`)
	html, hct := multipartFile(t, "laporan.pdf", []byte("<html><script>alert(1)</script></html>"))
	if p := h.refused(http.StatusUnprocessableEntity, "validation_failed", &empE, "POST", files, html, "Content-Type", hct); p.Errors[0].Field != "file" {
		t.Errorf("HTML as a PDF: %+v", p)
	}
	r := h.must(http.StatusCreated, empE, "POST", files, body, "Content-Type", ct)
	var f EvidenceFileResponse
	if err := json.Unmarshal(r.body, &f); err != nil {
		t.Fatal(err)
	}
	if f.MediaType != app.MediaPDF || f.Size != int64(len(pdf)) || f.Filename != "laporan.pdf" || !strings.HasPrefix(f.URI, "ni:///sha-256;") {
		t.Fatalf("upload answer = %+v", f)
	}
	if h.streamLen(stream) != n {
		t.Fatal("an upload recorded an event")
	}

	// Recording: the stored file's fields only.
	ev := EvidenceBody{IndicatorID: ind, URI: f.URI, SHA256: f.SHA256, Filename: f.Filename, MediaType: f.MediaType, Size: f.Size}
	wrong := ev
	wrong.Size++
	h.refused(http.StatusUnprocessableEntity, "validation_failed", &empE, "POST", "/v1/skps/"+id+"/evidence", wrong)
	wrong = ev
	wrong.MediaType = "text/html"
	h.refused(http.StatusUnprocessableEntity, "validation_failed", &empE, "POST", "/v1/skps/"+id+"/evidence", wrong)
	never := strings.Repeat("cd", 32)
	wrong = EvidenceBody{IndicatorID: ind, URI: "ni:///sha-256;zc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc0", SHA256: never, Filename: "x.pdf", MediaType: app.MediaPDF, Size: 10}
	h.refused(http.StatusUnprocessableEntity, "validation_failed", &empE, "POST", "/v1/skps/"+id+"/evidence", wrong)
	if h.streamLen(stream) != n {
		t.Fatal("a refused evidence recorded something")
	}
	h.must(http.StatusCreated, empE, "POST", "/v1/skps/"+id+"/evidence", ev, "Idempotency-Key", "ev-1")
	h.must(http.StatusCreated, empE, "POST", "/v1/skps/"+id+"/evidence", ev, "Idempotency-Key", "ev-1")
	if h.streamLen(stream) != n+1 {
		t.Errorf("recording the file twice with one key appended %d events", h.streamLen(stream)-n)
	}

	// Download.
	dl := "/v1/skps/" + id + "/evidence/" + f.SHA256
	for _, c := range []caller{empE, apprA, aud} {
		r := h.must(http.StatusOK, c, "GET", dl, nil)
		if !bytes.Equal(r.body, pdf) || r.header.Get("Content-Type") != app.MediaPDF || r.header.Get("X-Content-Type-Options") != "nosniff" ||
			!strings.HasPrefix(r.header.Get("Content-Disposition"), "attachment;") {
			t.Errorf("download as %s: %v", c.sub, r.header)
		}
	}
	h.refused(http.StatusNotFound, "not_found", &outX, "GET", dl, nil)
	h.refused(http.StatusNotFound, "not_found", &empE, "GET", "/v1/skps/"+id+"/evidence/"+never, nil)
	if err := os.WriteFile(filepath.Join(h.dir, "blobs", f.SHA256[:2], f.SHA256), []byte("%PDF-1.7 tampered file!!!!!!!!!!!"), 0o600); err != nil {
		t.Fatal(err)
	}
	h.refused(http.StatusInternalServerError, "integrity_violation", &empE, "GET", dl, nil)

	// Over the limit.
	if err := h.idem.Close(); err != nil {
		t.Fatal(err)
	}
	h.openServer(func(s *settings) { s.appConfig.MaxEvidenceBytes = 1024 })
	big, bct := multipartFile(t, "besar.pdf", append([]byte("%PDF-1.7\n"), bytes.Repeat([]byte("x"), 4096)...))
	h.refused(http.StatusRequestEntityTooLarge, "payload_too_large", &empE, "POST", files, big, "Content-Type", bct)
	huge, uct := multipartFile(t, "besar.pdf", append([]byte("%PDF-1.7\n"), bytes.Repeat([]byte("x"), 200<<10)...))
	h.refused(http.StatusRequestEntityTooLarge, "payload_too_large", &empE, "POST", files, huge, "Content-Type", uct)
}
