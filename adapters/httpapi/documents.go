package httpapi

import (
	"net/http"
	"strconv"

	"github.com/gorilla/mux"
)

// registerDocuments registers the printed documents of an SKP
// (docs/documents.md).
func (s *Server) registerDocuments(r *mux.Router) {
	s.read(r, http.MethodGet, "/v1/skps/{id}/document.pdf", s.skpDocument)
	s.read(r, http.MethodGet, "/v1/skps/{id}/evaluations/{period}/document.pdf", s.skpDocument)
}

// skpDocument serves the SKP's document, or its evaluation's when the
// route names a period, as a PDF attachment.
func (s *Server) skpDocument(w http.ResponseWriter, r *http.Request) error {
	doc, err := s.app.SKPDocument(r.Context(), principal(r), pathVar(r, "id"), pathVar(r, "period"), requestBase(r))
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Disposition", `attachment; filename="`+doc.FileName+`.pdf"`)
	w.Header().Set("Content-Length", strconv.Itoa(len(doc.PDF)))
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set(DocumentCodeHeader, doc.Code)
	w.WriteHeader(http.StatusOK)
	_, err = w.Write(doc.PDF)
	return err
}

// DocumentCodeHeader carries a printed document's verification code.
const DocumentCodeHeader = "Kinerja-Document-Code"

// requestBase is the service's address as r reached it (the verification
// URL's base when no public URL is configured).
func requestBase(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https" {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}
