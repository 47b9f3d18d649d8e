package httpapi

import (
	"net/http"

	"github.com/gorilla/mux"

	"github.com/kinerja-ledger/kinerja/adapters/internal/tabular"
)

// registerDevelopment registers the development report (issue 14).
func (s *Server) registerDevelopment(r *mux.Router) {
	s.read(r, http.MethodGet, "/v1/reports/development", s.reportDevelopment)
}

func (s *Server) reportDevelopment(w http.ResponseWriter, r *http.Request) error {
	format, err := reportFormat(r)
	if err != nil {
		return err
	}
	year, unit, err := yearUnit(r)
	if err != nil {
		return err
	}
	rep, err := s.app.Development(r.Context(), principal(r), year, unit)
	if err != nil {
		return err
	}
	return writeReport(w, r, s.cfg.Policy.Location, format, tabular.FileName("development", unit, year), rep)
}
