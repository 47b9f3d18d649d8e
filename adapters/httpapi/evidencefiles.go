package httpapi

import (
	"errors"
	"mime"
	"net/http"
	"strconv"

	"github.com/gorilla/mux"

	"github.com/kinerja-ledger/kinerja/adapters/app"
)

// Evidence files, in two steps so that each is safe to repeat:
//
//  1. POST /v1/skps/{id}/evidence/files (multipart/form-data, the part
//     "file") stores the file, content-addressed by its SHA-256, and
//     answers 201 with its hash, ni: URI, name, size and the type sniffed
//     from its content (an upload records no event; storing the same
//     content again changes nothing, so it needs no Idempotency-Key);
//  2. POST /v1/skps/{id}/evidence with those fields records the evidence
//     (a keyed command, as every mutation); a ni: URI must name a stored
//     file with that size and type.
//
// GET /v1/skps/{id}/evidence/{sha256} downloads a stored file of the SKP,
// for whoever may read the SKP, after checking its hash: always as an
// attachment, with nosniff.

// Paths of the evidence file routes.
const (
	evidenceFilesPath = "/v1/skps/{id}/evidence/files"
	evidenceFilePath  = "/v1/skps/{id}/evidence/{sha256}"
)

// uploadSlack is what a multipart body may hold besides the file.
const uploadSlack = 64 << 10

// EvidenceFileResponse is the answer of POST …/evidence/files: the fields
// of POST …/evidence that record the stored file.
type EvidenceFileResponse struct {
	SHA256    string `json:"sha256"`
	URI       string `json:"uri"`
	Filename  string `json:"filename"`
	MediaType string `json:"media_type"`
	Size      int64  `json:"size"`
}

// registerEvidenceFiles registers the upload and the download.
func (s *Server) registerEvidenceFiles(r *mux.Router) {
	s.addRoute(r, http.MethodPost, evidenceFilesPath, s.handle(s.uploadEvidence))
	s.read(r, http.MethodGet, evidenceFilePath, s.downloadEvidence)
}

// bodyLimit is the body limit of r's route: the evidence upload's is the
// evidence file limit (and some room), every other MaxBodyBytes.
func (s *Server) bodyLimit(r *http.Request) int64 {
	if route := mux.CurrentRoute(r); route != nil {
		if tpl, err := route.GetPathTemplate(); err == nil && tpl == evidenceFilesPath {
			return s.app.MaxEvidenceBytes() + uploadSlack
		} else if err == nil && tpl == importsPath {
			return s.imports.MaxBytes() + uploadSlack
		}
	}
	return s.cfg.MaxBodyBytes
}

func (s *Server) uploadEvidence(w http.ResponseWriter, r *http.Request) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		return badRequest("Content-Type", "must be multipart/form-data with the file in the part \"file\"")
	}
	if err := r.ParseMultipartForm(s.cfg.MaxBodyBytes); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return errTooLarge
		}
		return badRequest("", "the multipart body could not be read")
	}
	defer r.MultipartForm.RemoveAll()
	file, hdr, err := r.FormFile("file")
	if err != nil {
		return badRequest("file", "required: the part \"file\" with a filename")
	}
	defer file.Close()
	f, err := s.app.StoreEvidence(r.Context(), principal(r), pathVar(r, "id"), hdr.Filename, file)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, EvidenceFileResponse{SHA256: f.SHA256, URI: f.URI, Filename: f.Filename, MediaType: f.MediaType, Size: f.Size})
}

func (s *Server) downloadEvidence(w http.ResponseWriter, r *http.Request) error {
	ev, data, err := s.app.EvidenceContent(r.Context(), principal(r), pathVar(r, "id"), pathVar(r, "sha256"))
	if err != nil {
		return err
	}
	ct := ev.MediaType
	if app.SniffEvidence(data) != ct {
		ct = "application/octet-stream"
	}
	h := w.Header()
	h.Set("Content-Type", ct)
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": ev.Filename}))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	h.Set("Content-Length", strconv.Itoa(len(data)))
	h.Set("ETag", `"`+ev.SHA256+`"`)
	w.WriteHeader(http.StatusOK)
	_, err = w.Write(data)
	return err
}
