package main

import (
	"bytes"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/kinerja-ledger/kinerja/adapters/httpapi"
	"github.com/kinerja-ledger/kinerja/adapters/httpapi/authkey"
)

// uploadEvidence uploads content as an evidence file of SKP id through the
// API, as sub.
func uploadEvidence(t *testing.T, s *server, sub, id, name string, content []byte) (int, httpapi.EvidenceFileResponse) {
	t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	part, _ := w.CreateFormFile("file", name)
	part.Write(content)
	w.Close()
	req, err := http.NewRequest(http.MethodPost, s.base+"/v1/skps/"+id+"/evidence/files", &body)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := s.key.Sign(authkey.Claims{Subject: sub})
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", w.FormDataContentType())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var f httpapi.EvidenceFileResponse
	json.NewDecoder(resp.Body).Decode(&f)
	return resp.StatusCode, f
}

// evidenceJourney uploads a file, records it, downloads it, and returns
// its hash.
func evidenceJourney(t *testing.T, s *server, id, ind string) string {
	t.Helper()
	pdf := []byte("%PDF-1.7\n1 0 obj <<>> endobj\n%%EOF\n")
	status, f := uploadEvidence(t, s, nipE, id, "laporan.pdf", pdf)
	if status != http.StatusCreated || f.MediaType != "application/pdf" {
		t.Fatalf("upload = %d %+v", status, f)
	}
	s.must(201, nipE, nil, "POST", "/v1/skps/"+id+"/evidence", httpapi.EvidenceBody{IndicatorID: ind, URI: f.URI, SHA256: f.SHA256,
		Filename: f.Filename, MediaType: f.MediaType, Size: f.Size}, nil)
	a := s.must(200, nipA, nil, "GET", "/v1/skps/"+id+"/evidence/"+f.SHA256, nil, nil)
	if !bytes.Equal(a.body, pdf) || a.header.Get("Content-Disposition") == "" {
		t.Errorf("download = %q, %v", a.body, a.header)
	}
	return f.SHA256
}

// kinerjad keeps evidence files under --data in embedded mode, bounded by
// --evidence-max-bytes.
func TestEvidenceFilesEmbedded(t *testing.T) {
	data := t.TempDir()
	s := startServer(t, data, "--evidence-max-bytes", "4096")
	id, _, ind := established(t, s)
	sum := evidenceJourney(t, s, id, ind)
	if b, err := os.ReadFile(filepath.Join(data, "blobs", sum[:2], sum)); err != nil || len(b) == 0 {
		t.Errorf("the file is not in the data directory's blob folder: %v", err)
	}
	if status, _ := uploadEvidence(t, s, nipE, id, "besar.pdf", append([]byte("%PDF-1.7\n"), make([]byte, 8192)...)); status != http.StatusRequestEntityTooLarge {
		t.Errorf("a file over --evidence-max-bytes = %d, want 413", status)
	}
}

// With PostgreSQL read models, evidence files are kept in PostgreSQL.
func TestEvidenceFilesPostgres(t *testing.T) {
	pg := postgresURL(t)
	s := startServer(t, t.TempDir(), "--store", "postgres", "--postgres-url", pg, "--migrate")
	id, _, ind := established(t, s)
	evidenceJourney(t, s, id, ind)
}
